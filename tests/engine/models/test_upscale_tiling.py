"""Tile grid choice: memory-bounded tiles with the least padding (no model needed)."""

from __future__ import annotations

import itertools

import pytest

from pixora_ui.engine.models.upscale import MODELS, _tiles


@pytest.mark.parametrize(
    ("height", "width", "max_overhead"),
    [(192, 192, 1.0), (268, 268, 1.0), (512, 512, 1.10), (2048, 2048, 1.20), (3000, 4000, 1.20), (37, 1999, 1.2)],
)
def test_tiles_cover_the_image_within_the_memory_bound(height: int, width: int, max_overhead: float) -> None:
    info = MODELS["quality"]
    tiles = _tiles(height, width, None, info.pad, info.tile_px)
    area = 0
    ys = sorted({(t.y0, t.y1) for t in tiles})
    xs = sorted({(t.x0, t.x1) for t in tiles})
    assert ys[0][0] == 0 and ys[-1][1] == height
    assert xs[0][0] == 0 and xs[-1][1] == width
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ys))
    assert all(a[1] == b[0] for a, b in itertools.pairwise(xs))
    for t in tiles:
        padded = (t.py1 - t.py0) * (t.px1 - t.px0)
        assert padded <= info.tile_px
        area += padded
        assert t.py0 == max(0, t.y0 - info.pad) and t.px1 == min(width, t.x1 + info.pad)
    assert area <= max_overhead * height * width


def test_small_photos_run_in_one_piece() -> None:
    info = MODELS["quality"]
    assert len(_tiles(200, 300, None, info.pad, info.tile_px)) == 1

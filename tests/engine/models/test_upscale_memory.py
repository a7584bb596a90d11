"""Regression: ncnn reads its input during extract(), so every buffer it gets must outlive the call.

`_Net.run` once wrapped a temporary array in `ncnn.Mat`; the array was freed before ncnn read it and
two quality upscales in three crashed the process. Odd sizes (a single row or column, a size with a
tail sub-tile, tiles that do not divide the image) all run in this one process.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

from pixora_ui.engine.models import upscale as up
from pixora_ui.settings import reset_settings
from tests.engine.conftest import require_model

pytestmark = pytest.mark.models

# (height, width, tile, pad): tile None uses the real grid; a small tile forces uneven edge tiles.
CASES: list[tuple[int, int, int | None, int | None]] = [
    (1, 23, None, None),
    (23, 1, None, None),
    (1, 97, None, None),  # longer than one 96-px tail sub-tile: a tail tile of 1 pixel
    (97, 1, None, None),
    (3, 5, None, None),
    (2, 130, None, None),
    (130, 2, None, None),
    (11, 13, 6, 2),  # tiles that do not divide the image
    (7, 19, 5, 2),
    (19, 7, 5, 2),
]
LARGE = (97, 131, None, None)  # two tail sub-tiles per axis; once, it is the slow one


def test_thirty_quality_upscales_of_odd_sizes_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    require_model("realesrgan-x4plus")
    # One engine thread: on a busy CI machine ncnn's spinning worker threads cost far more than they give.
    monkeypatch.setenv("ENGINE_THREADS", "1")
    reset_settings()
    rng = np.random.default_rng(14)
    cases = [LARGE, *CASES, *CASES, *CASES[:-1]]
    assert len(cases) == 30
    for height, width, tile, pad in cases:
        image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        out = up.upscale(image, scale=4, model="quality", tile=tile, pad=pad)
        assert out.shape == (height * 4, width * 4, 3)
        # The net saw the input: random noise does not come out black or white.
        assert 20 < float(out.mean()) < 235
        gc.collect()  # hand freed buffers back to the allocator, as a long-lived server would


def test_net_output_is_independent_of_the_callers_buffer() -> None:
    """The same input gives the same output even when the caller's array is reused at once."""
    require_model("realesr-animevideov3")
    net = up._get_net("fast")
    rng = np.random.default_rng(7)
    chw = rng.random((3, 9, 11), dtype=np.float32)
    with net.lock:
        first = net.run(chw.copy())
        scratch = chw.copy()
        second = net.run(scratch)
        scratch[:] = 0  # overwriting the caller's buffer after the call changes nothing already returned
    assert np.array_equal(first, second)

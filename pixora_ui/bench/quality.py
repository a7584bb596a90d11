"""`main.py bench --quality`: how good each local tool's output is, beside the obvious alternative.

Every input is generated here or ships with scikit-image, and every case has a known answer:
- cut-out: share of see-through pixels inside the cat of `chelsea` (a polygon that is only cat), and
  the colour error in the soft edge of the astronaut composited with a known alpha over green (the
  true foreground is known), beside rembg on the same ISNet weights, plain and alpha matting;
- upscale: a 2x-downscaled crop of `astronaut` brought back up, PSNR / SSIM / gradient energy
  (1.0 = as sharp as the original) against the original, beside Lanczos;
- denoise: `astronaut` with Gaussian noise (sigma 15), PSNR against the clean photo, beside
  OpenCV's non-local means;
- retouch: fine skin texture (after / before) and mean skin saturation change on the astronaut;
- erase: an object pasted on a texture (grass, brick, a brick wall) and a hole across a glaze/wood boundary, the
  error in the hole against the true background (blurred by 3 px: texture in the wrong phase is not
  an error a viewer sees) and its texture energy, beside OpenCV Telea / Navier-Stokes;
- expand: a texture with its right fifth cut off and expanded back, the same metrics in the margin.

`--tiny` runs every case on small inputs (the test suite uses it to check the table's shape);
`--sheets DIR` writes one before/after PNG per tool (docs/images/quality/, each at most 300 KB).

One module on purpose: every case shares the metrics, the timing and the table, and each case is
a short function best read beside the alternative it is measured against.
"""

from __future__ import annotations

import argparse
import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from pixora_ui.bench.cases.cutout_basic import _rembg_session
from pixora_ui.engine.models import faces, isnet, upscale
from pixora_ui.engine.ops import expand, inpaint, retouch
from pixora_ui.engine.tools.cutout import cut_out
from pixora_ui.engine.tools.registry import ImageArray

MetricValue = float | None  # None: the method could not run here (weights not installed)

COLUMNS: dict[str, tuple[str, ...]] = {
    "cut-out": ("see-through subject %", "edge colour error"),
    "upscale": ("PSNR dB", "SSIM", "gradient energy"),
    "denoise": ("PSNR dB",),
    "retouch": ("skin texture", "saturation change"),
    "erase": ("error in hole", "texture"),
    "expand": ("error in margin", "texture"),
}
CAT_ONLY = np.array(  # pixels of chelsea that are only cat (as in tests/engine/tools/test_cutout.py)
    [(40, 0), (330, 0), (355, 40), (345, 110), (350, 200), (340, 299), (0, 299), (0, 180), (20, 130), (40, 60)],
    dtype=np.int32,
)
_SHEET_HEIGHT = 200  # px: each picture in a before/after sheet
MAX_SHEET_BYTES = 300 * 1024


@dataclass(frozen=True, slots=True)
class Row:
    tool: str
    case: str
    method: str
    metrics: tuple[MetricValue, ...]
    seconds: float


@dataclass(slots=True)
class Bench:
    tiny: bool
    rows: list[Row] = field(default_factory=list)
    sheets: dict[str, list[tuple[str, ImageArray]]] = field(default_factory=dict)

    def add(self, tool: str, case: str, method: str, metrics: Sequence[MetricValue], seconds: float) -> None:
        assert len(metrics) == len(COLUMNS[tool]), (tool, metrics)
        self.rows.append(Row(tool, case, method, tuple(metrics), seconds))

    def picture(self, tool: str, label: str, image: ImageArray) -> None:
        self.sheets.setdefault(tool, []).append((label, image))


def _timed(run: Callable[[], ImageArray]) -> tuple[ImageArray, float]:
    start = time.perf_counter()
    out = run()
    return out, time.perf_counter() - start


def _gray(image: ImageArray) -> npt.NDArray[np.float32]:
    return np.asarray(image[:, :, :3].astype(np.float32).mean(axis=2), dtype=np.float32)


def gradient_energy(image: ImageArray, where: npt.NDArray[np.bool_] | None = None) -> float:
    g = _gray(image)
    e = np.abs(np.diff(g, axis=1))[:-1] + np.abs(np.diff(g, axis=0))[:, :-1]
    return float(e.mean() if where is None else e[where[:-1, :-1]].mean())


def blurred_error(a: ImageArray, b: ImageArray, where: npt.NDArray[np.bool_]) -> float:
    fa = cv2.GaussianBlur(a[:, :, :3].astype(np.float32), (0, 0), 3)
    fb = cv2.GaussianBlur(b[:, :, :3].astype(np.float32), (0, 0), 3)
    return float(np.abs(fa - fb)[where].mean())


def _resize(image: ImageArray, width: int, height: int) -> ImageArray:
    shrink = width * height < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(image, (width, height), interpolation=interpolation), dtype=np.uint8)


def psnr(truth: ImageArray, image: ImageArray) -> float:
    mse = float(np.mean((truth[:, :, :3].astype(np.float64) - image[:, :, :3].astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * float(np.log10(255.0**2 / mse))


def ssim(truth: ImageArray, image: ImageArray) -> float:
    metrics: Any = importlib.import_module("skimage.metrics")
    return float(metrics.structural_similarity(truth[:, :, :3], image[:, :, :3], channel_axis=2, data_range=255))


def _rgb(name: str) -> ImageArray:
    from skimage import data  # noqa: PLC0415 - optional dev-only dependency, benchmarks only

    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.dstack([image] * 3)
    return np.ascontiguousarray(image[:, :, :3])


# --- cut-out --------------------------------------------------------------------------------------------


def _on_green(side: int) -> tuple[ImageArray, npt.NDArray[np.float32], ImageArray]:
    """The astronaut composited over green with a known alpha: image, alpha, true foreground.

    The alpha is the standard cut-out of the original photo (needs ISNet), so every method meets the
    same subject; what is measured is how much green each leaves in the visible soft edge.
    """
    foreground = _resize(_rgb("astronaut"), side, side)
    cut = cut_out(foreground, "standard", lambda _f, _m: None, lambda: False)
    alpha = np.asarray(cut[:, :, 3], dtype=np.float32) / np.float32(255)
    green = np.array((40, 170, 60), np.float32)
    image = foreground.astype(np.float32) * alpha[:, :, None] + green * (1 - alpha[:, :, None])
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), alpha, foreground


def _edge_colour_error(rgba: ImageArray, alpha: npt.NDArray[np.float32], foreground: ImageArray) -> float:
    """Mean colour error in the true soft edge, weighted by the cut-out's own alpha (what is visible)."""
    band = (alpha > 0.05) & (alpha < 0.95)
    shown = rgba[:, :, 3].astype(np.float32)[band] / 255
    error = np.abs(rgba[:, :, :3].astype(np.float32) - foreground.astype(np.float32)).mean(axis=2)[band]
    return float((error * shown).sum() / max(float(shown.sum()), 1e-6))


def _cutout_methods() -> dict[str, Callable[[ImageArray], ImageArray]]:
    def ours(mode: str) -> Callable[[ImageArray], ImageArray]:
        return lambda image: cut_out(image, mode, lambda _f, _m: None, lambda: False)

    def rembg(matting: bool) -> Callable[[ImageArray], ImageArray]:
        def run(image: ImageArray) -> ImageArray:
            from rembg import remove  # noqa: PLC0415 - optional dev-only dependency, benchmarks only

            out = remove(Image.fromarray(image), session=_rembg_session(), alpha_matting=matting)
            return np.asarray(out.convert("RGBA"), dtype=np.uint8)

        return run

    return {"standard": ours("standard"), "pro": ours("pro"), "rembg": rembg(False), "rembg alpha matting": rembg(True)}


def bench_cutout(bench: Bench) -> None:
    cat = _rgb("chelsea")
    cat_only = np.zeros(cat.shape[:2], np.uint8)
    cv2.fillPoly(cat_only, [CAT_ONLY], 1)
    ready = isnet.availability()[0]
    # Tiny runs only the composite (its fully opaque inside is the subject): ISNet costs seconds per image.
    case = "astronaut on green" if bench.tiny else "chelsea / astronaut on green"
    if not ready:
        for method in _cutout_methods():
            bench.add("cut-out", case, method, (None, None), 0.0)
        return
    disc, alpha, foreground = _on_green(256 if bench.tiny else 512)
    for method, run in _cutout_methods().items():
        disc_out, seconds = _timed(lambda run=run: run(disc))  # type: ignore[misc]
        colour = _edge_colour_error(disc_out, alpha, foreground)
        if bench.tiny:
            see_through = 100.0 * float((disc_out[:, :, 3][alpha >= 1.0] < 0.95 * 255).mean())
        else:
            rgba, seconds_cat = _timed(lambda run=run: run(cat))  # type: ignore[misc]
            see_through = 100.0 * float((rgba[:, :, 3][cat_only > 0] < 0.95 * 255).mean())
            seconds += seconds_cat
        bench.add("cut-out", case, method, (see_through, colour), seconds)
        bench.picture("cut-out", method, _on_checker(disc_out))
    bench.picture("cut-out", "input", disc)


def _on_checker(rgba: ImageArray) -> ImageArray:
    """RGBA over a grey checkerboard, so a sheet shows what is see-through."""
    h, w = rgba.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    board = np.where(((yy // 12 + xx // 12) % 2)[:, :, None] == 0, 200, 150).astype(np.float32)
    a = rgba[:, :, 3:4].astype(np.float32) / 255
    return np.clip(rgba[:, :, :3] * a + board * (1 - a), 0, 255).astype(np.uint8)


# --- upscale, denoise, retouch -----------------------------------------------------------------------------


def bench_upscale(bench: Bench) -> None:
    side = 96 if bench.tiny else 256
    original = _resize(np.ascontiguousarray(_rgb("astronaut")[40 : 40 + 256, 140 : 140 + 256]), side, side)
    small = _resize(original, side // 2, side // 2)
    methods: dict[str, Callable[[], ImageArray]] = {
        "lanczos": lambda: np.asarray(cv2.resize(small, (side, side), interpolation=cv2.INTER_LANCZOS4)),
        "fast": lambda: upscale.upscale(small, scale=2, model="fast"),
        "quality": lambda: upscale.upscale(small, scale=2, model="quality"),
    }
    truth = gradient_energy(original)
    bench.picture("upscale", "original", original)
    for method, run in methods.items():
        if method != "lanczos" and not upscale.available(method)[0]:
            bench.add("upscale", "astronaut face, 2x", method, (None, None, None), 0.0)
            continue
        out, seconds = _timed(run)
        out = out[:, :, :3]
        metrics = (psnr(original, out), ssim(original, out), gradient_energy(out) / truth)
        bench.add("upscale", "astronaut face, 2x", method, metrics, seconds)
        bench.picture("upscale", method, out)


def bench_denoise(bench: Bench) -> None:
    side = 128 if bench.tiny else 384
    clean = _resize(_rgb("astronaut"), side, side)
    noise = np.random.default_rng(16).normal(0, 15, clean.shape)
    noisy = np.clip(np.rint(clean + noise), 0, 255).astype(np.uint8)
    methods: dict[str, Callable[[], ImageArray]] = {
        "noisy input": lambda: noisy,
        "opencv NLM": lambda: np.asarray(cv2.fastNlMeansDenoisingColored(noisy, None, 10, 10, 7, 21)),
        "pixora": lambda: retouch.denoise(noisy, strength=50),
    }
    for method, run in methods.items():
        out, seconds = _timed(run)
        bench.add("denoise", "astronaut + noise 15", method, (psnr(clean, out),), seconds)
        bench.picture("denoise", method, out)


def bench_retouch(bench: Bench) -> None:
    image = _rgb("astronaut")
    if bench.tiny:
        image = _resize(image, 256, 256)
    if not faces.availability()[0]:
        for strength in (50, 100):
            bench.add("retouch", "astronaut", f"pixora {strength}", (None, None), 0.0)
        return
    face = faces.detect_faces(image)[0]
    s = retouch.FACE_WORK_WIDTH / face.w
    small = _resize(image, round(image.shape[1] * s), round(image.shape[0] * s))
    marks = [(x * s, y * s) for x, y in face.landmarks]
    skin = retouch.skin_mask(small, (face.x * s, face.y * s, face.w * s, face.h * s), marks)
    region = np.asarray(cv2.resize(skin, image.shape[1::-1]) > 0.6)

    def texture_and_saturation(img: ImageArray) -> tuple[float, float]:
        y = cv2.cvtColor(img[:, :, :3], cv2.COLOR_RGB2GRAY).astype(np.float32)
        fine = np.abs(y - cv2.GaussianBlur(y, (0, 0), face.w / 120))
        saturation = cv2.cvtColor(img[:, :, :3], cv2.COLOR_RGB2HSV)[:, :, 1].astype(np.float32)
        return float(fine[region].mean()), float(saturation[region].mean())

    texture, saturation = texture_and_saturation(image)
    rows = slice(max(0, face.y - face.h // 4), face.y + face.h * 5 // 4)
    box = (rows, slice(max(0, face.x - face.w // 4), face.x + face.w * 5 // 4))
    bench.picture("retouch", "original", image[box])
    for strength in (50, 100):
        (out, _count), seconds = _timed_pair(lambda strength=strength: retouch.retouch(image, strength=strength))  # type: ignore[misc]
        after_texture, after_saturation = texture_and_saturation(out)
        metrics = (after_texture / texture, after_saturation - saturation)
        bench.add("retouch", "astronaut", f"pixora {strength}", metrics, seconds)
        bench.picture("retouch", f"strength {strength}", out[box])


def _timed_pair(run: Callable[[], tuple[ImageArray, int]]) -> tuple[tuple[ImageArray, int], float]:
    start = time.perf_counter()
    out = run()
    return out, time.perf_counter() - start


# --- erase and expand --------------------------------------------------------------------------------------


def _glaze_and_wood(h: int, w: int) -> ImageArray:
    """Left a red glaze, right wood with grain (the spoon-on-the-saucer case with a known answer)."""
    rng = np.random.default_rng(3)
    img = np.empty((h, w, 3), np.float32)
    img[:, : w // 2] = (170, 50, 35)
    grain = 30 * (np.sin(np.arange(h, dtype=np.float32)[:, None] * 2 * np.pi / 9) > 0.4)
    img[:, w // 2 :, 0] = 150 - grain
    img[:, w // 2 :, 1] = 105 - grain
    img[:, w // 2 :, 2] = 60 - grain * 0.6
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def brick_wall(h: int = 480, w: int = 640, course: int = 34, brick: int = 90, mortar: int = 5) -> ImageArray:
    """A running-bond wall: straight horizontal mortar every `course` px, joints offset by half a brick."""
    rng = np.random.default_rng(0)
    img = np.zeros((h, w, 3), np.float32)
    img[:] = (205, 200, 190)
    for row, y in enumerate(range(0, h, course)):
        offset = (brick // 2) * (row % 2)
        for x in range(-offset, w, brick):
            img[y + mortar : y + course, max(0, x + mortar) : max(0, x + brick)] = rng.normal((150, 60, 45), 12)
    img += rng.normal(0, 6, img.shape)
    return np.clip(cv2.GaussianBlur(img, (0, 0), 0.8), 0, 255).astype(np.uint8)


def _erase_cases(tiny: bool) -> dict[str, tuple[ImageArray, npt.NDArray[np.bool_]]]:
    """Known backgrounds and the hole an object pasted on them leaves (30 % of the side: ~150 px at 512)."""
    side = 192 if tiny else 512
    size = side * 3 // 10
    cases: dict[str, tuple[ImageArray, npt.NDArray[np.bool_]]] = {}
    backgrounds = {name: _rgb(name) for name in ("grass", "brick")}
    backgrounds["brick wall"] = brick_wall(side, side)
    for name, image in backgrounds.items():
        background = np.ascontiguousarray(image[:side, :side])
        hole = np.zeros((side, side), bool)
        top = (side - size) // 2
        hole[top : top + size, top : top + size] = True
        cases[f"cup pasted on {name}"] = (background, hole)
    scene = _glaze_and_wood(side * 3 // 4, side)
    hole = np.zeros(scene.shape[:2], bool)
    hole[side // 4 : side // 2, side * 3 // 8 : side * 5 // 8] = True
    cases["hole across glaze/wood"] = (scene, hole)
    return cases


def _erase_methods(photo: ImageArray, mask: npt.NDArray[np.uint8]) -> dict[str, Callable[[], ImageArray]]:
    return {
        "opencv telea": lambda: np.asarray(cv2.inpaint(photo, mask, 3, cv2.INPAINT_TELEA)),
        "opencv ns": lambda: np.asarray(cv2.inpaint(photo, mask, 3, cv2.INPAINT_NS)),
        "pixora": lambda: inpaint.erase(photo, mask),
    }


def bench_erase(bench: Bench) -> None:
    cup = _rgb("coffee")[30:330, 160:460]  # the object pasted over the known background
    for case, (truth, hole) in _erase_cases(bench.tiny).items():
        photo = truth.copy()
        ys, xs = np.nonzero(hole)
        y0, x0, y1, x1 = ys.min(), xs.min(), ys.max() + 1, xs.max() + 1
        photo[y0:y1, x0:x1] = _resize(cup, int(x1 - x0), int(y1 - y0))
        truth_energy = gradient_energy(truth, hole)
        for method, run in _erase_methods(photo, hole.astype(np.uint8) * 255).items():
            out, seconds = _timed(run)
            metrics = (blurred_error(out, truth, hole), gradient_energy(out, hole) / truth_energy)
            bench.add("erase", case, method, metrics, seconds)
            if case.startswith("hole across") or case.endswith("wall"):
                bench.picture("erase", f"{case}: {method}", _zoom(out, hole))
        if case.startswith("hole across") or case.endswith("wall"):
            bench.picture("erase", f"{case}: input", _zoom(photo, hole))


def _zoom(image: ImageArray, hole: npt.NDArray[np.bool_]) -> ImageArray:
    """The hole with a margin of half its size around it."""
    ys, xs = np.nonzero(hole)
    my, mx = (ys.max() - ys.min()) // 2, (xs.max() - xs.min()) // 2
    return np.ascontiguousarray(
        image[max(0, ys.min() - my) : ys.max() + my + 1, max(0, xs.min() - mx) : xs.max() + mx + 1]
    )


def _expand_methods(
    photo: ImageArray, margin: npt.NDArray[np.bool_], percent: float
) -> dict[str, Callable[[], ImageArray]]:

    extra = margin.shape[1] - photo.shape[1]
    padded = np.asarray(cv2.copyMakeBorder(photo, 0, 0, 0, extra, cv2.BORDER_REPLICATE), dtype=np.uint8)
    return {
        "opencv telea": lambda: np.asarray(cv2.inpaint(padded, margin.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)),
        "mirror + blur": lambda: expand.expand(photo, right=percent, mode="blur").image,
        "pixora": lambda: expand.expand(photo, right=percent).image,
    }


def bench_expand(bench: Bench) -> None:
    side = 192 if bench.tiny else 512
    for name in ("grass", "gravel"):
        truth = np.ascontiguousarray(_rgb(name)[:side, :side])
        keep = side * 4 // 5
        photo = np.ascontiguousarray(truth[:, :keep])
        percent = 100.0 * (side - keep) / keep
        margin = np.zeros(truth.shape[:2], bool)
        margin[:, keep:] = True
        truth_energy = gradient_energy(truth, margin)
        if name == "grass":
            bench.picture("expand", "original", truth)
        for method, run in _expand_methods(photo, margin, percent).items():
            out, seconds = _timed(run)
            out = out[:, :side]
            metrics = (blurred_error(out, truth, margin), gradient_energy(out, margin) / truth_energy)
            bench.add("expand", f"{name}, right fifth", method, metrics, seconds)
            if name == "grass":
                bench.picture("expand", method, out)


# --- output -------------------------------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[Bench], None]] = {
    "cut-out": bench_cutout,
    "upscale": bench_upscale,
    "denoise": bench_denoise,
    "retouch": bench_retouch,
    "erase": bench_erase,
    "expand": bench_expand,
}


def _cell(value: MetricValue) -> str:
    return "n/a" if value is None else f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def table(rows: Sequence[Row]) -> str:
    """One markdown table per tool: case, method, the tool's metrics, seconds."""
    lines: list[str] = []
    for tool, columns in COLUMNS.items():
        mine = [row for row in rows if row.tool == tool]
        if not mine:
            continue
        lines += [f"### {tool}", "", "| case | method | " + " | ".join(columns) + " | s |"]
        lines.append("|---|---|" + "---|" * (len(columns) + 1))
        for row in mine:
            cells = " | ".join(_cell(v) for v in row.metrics)
            lines.append(f"| {row.case} | {row.method} | {cells} | {row.seconds:.2f} |")
        lines.append("")
    return "\n".join(lines)


def write_sheets(bench: Bench, folder: Path) -> list[Path]:
    """One PNG per tool (at most 300 KB): its pictures side by side, labelled, each _SHEET_HEIGHT px tall."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for tool, pictures in bench.sheets.items():
        tiles = []
        for label, image in pictures:
            rgb = image[:, :, :3]
            scale = _SHEET_HEIGHT / rgb.shape[0]
            interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
            tile = cv2.resize(rgb, (max(1, round(rgb.shape[1] * scale)), _SHEET_HEIGHT), interpolation=interpolation)
            tile = cv2.copyMakeBorder(tile, 22, 0, 0, 6, cv2.BORDER_CONSTANT, value=(255, 255, 255))
            cv2.putText(tile, label[:40], (2, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
            tiles.append(tile)
        sheet = np.asarray(np.hstack(tiles), dtype=np.uint8)
        if sheet.shape[1] > 1800:  # keep the file small: shrink the whole row
            sheet = _resize(sheet, 1800, round(sheet.shape[0] * 1800 / sheet.shape[1]))
        path = folder / f"{tool}.png"
        cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        while path.stat().st_size > MAX_SHEET_BYTES:  # photos compress poorly as PNG: shrink until it fits
            sheet = _resize(sheet, round(sheet.shape[1] * 0.85), round(sheet.shape[0] * 0.85))
            cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        written.append(path)
    return written


def run(*, tiny: bool = False, tools: Sequence[str] = tuple(SECTIONS)) -> Bench:
    bench = Bench(tiny=tiny)
    for tool in tools:
        SECTIONS[tool](bench)
    return bench


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="main.py bench --quality", description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="small inputs (seconds, for tests)")
    parser.add_argument("--sheets", type=Path, help="write before/after PNGs into this folder")
    parser.add_argument("--tools", nargs="*", choices=list(SECTIONS), default=list(SECTIONS))
    args = parser.parse_args(list(argv))
    bench = run(tiny=args.tiny, tools=args.tools)
    print(table(bench.rows))
    if args.sheets:
        for path in write_sheets(bench, args.sheets):
            print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
    return 0

"""`main.py bench`: time each local tool on 1 MP and 12 MP photos and print a table.

Every case is measured end to end as a user sees it: an encoded JPEG in, the tool, an encoded
file out. Each (case, size) runs in a fresh process, so the peak memory (max RSS) is that of the
case alone with its models loaded; one warm-up run first (model load, JIT), then the median of
`--repeats` runs (at least 3).

Cases come from the modules of `pixora_ui.bench.cases`; each exposes `bench_cases() -> list[BenchCase]`.
To add cases, write such a module and list it in `all_cases`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pixora_ui.engine.ops import imageio
from pixora_ui.engine.tools import catalog  # looked up at call time: tests swap catalog.get_registry
from pixora_ui.engine.tools.registry import never_cancelled, no_progress
from pixora_ui.settings import get_settings

SIZES: dict[str, tuple[int, int]] = {"1 MP": (1155, 866), "12 MP": (4000, 3000)}


def _always() -> tuple[bool, str]:
    return True, ""


@dataclass(frozen=True, kw_only=True, slots=True)
class BenchCase:
    """One row of the table per size: `run` does the whole job on one encoded input file."""

    label: str  # unique across all modules, e.g. "remove-bg standard"
    run: Callable[[bytes], bytes]  # encoded JPEG in -> encoded output file
    available: Callable[[], tuple[bool, str]] = _always
    sizes: tuple[str, ...] = ("1 MP", "12 MP")
    targets: Mapping[str, float] = field(default_factory=dict)  # size label -> seconds, for the verdict
    # Untimed set-up on the same input before the warm-up (e.g. a cut-out whose mask is reused).
    prepare: Callable[[bytes], None] | None = None
    note: str = ""
    # A case that measures itself from this process (e.g. fresh processes it starts, run after run):
    # (size, repeats, photo) -> its rows. `run` is then unused.
    measure: Callable[[str, int, str], list[Measurement]] | None = None


@cache
def bench_photo(size: str, photo: str = "astronaut") -> bytes:
    """A JPEG (quality 90) of a scikit-image sample photo, cropped to 4:3 and scaled to the size."""
    from skimage import data  # noqa: PLC0415 - optional dev-only dependency, benchmarks only

    image = np.ascontiguousarray(getattr(data, photo)()[:, :, :3])
    h, w = image.shape[:2]
    if w * 3 > h * 4:
        cw = h * 4 // 3
        image = image[:, (w - cw) // 2 : (w - cw) // 2 + cw]
    else:
        ch = w * 3 // 4
        image = image[(h - ch) // 2 : (h - ch) // 2 + ch]
    width, height = SIZES[size]
    scaled = cv2.resize(image, (width, height), interpolation=cv2.INTER_CUBIC)
    return imageio.encode(np.ascontiguousarray(scaled), "jpeg", 90)


def tool_case(
    label: str,
    tool: str,
    params: Mapping[str, Any] | None = None,
    *,
    output_format: str | None = None,
    targets: Mapping[str, float] | None = None,
    prepare: Callable[[bytes], None] | None = None,
    note: str = "",
) -> BenchCase:
    """A case for a registry tool: decode with the upload limits, run, encode (the tool's format)."""

    def run(data: bytes) -> bytes:
        settings = get_settings()
        chosen = catalog.get_registry().get(tool)
        pixels = imageio.decode(data, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels).pixels
        result = chosen.run(pixels, chosen.validate(dict(params or {})), no_progress, never_cancelled)
        fmt = output_format or result.format_hint or "jpeg"
        return imageio.encode(result.image, fmt, int(result.extras.get("quality", settings.jpeg_quality)))  # type: ignore[arg-type]

    def available() -> tuple[bool, str]:
        return catalog.get_registry().get(tool).availability()

    return BenchCase(label=label, run=run, available=available, targets=dict(targets or {}), prepare=prepare, note=note)


def all_cases() -> list[tuple[str, BenchCase]]:
    """Every case with the name of its module, in table order (`--module` picks cases by that name)."""
    # Imported here: each case module builds on BenchCase and tool_case from this one.
    from pixora_ui.bench.cases import cold_start, cutout_basic, enhance, style  # noqa: PLC0415 - import cycle: the case modules import this one

    return [
        (module.__name__, case)
        for module in (cutout_basic, enhance, style, cold_start)
        for case in module.bench_cases()
    ]


@dataclass(frozen=True, kw_only=True, slots=True)
class Measurement:
    label: str
    size: str
    times: tuple[float, ...] = ()  # seconds, or the values of `unit`
    peak_rss_mb: float = 0.0
    output_bytes: int = 0
    error: str = ""
    target: float | None = None  # overrides the case's target for this row
    unit: str = "s"


def _measure(module_name: str, label: str, size: str, repeats: int, photo: str) -> Measurement:
    """Runs in a fresh process: set-up, one warm-up, then `repeats` timed runs."""
    case = next(c for name, c in all_cases() if name == module_name and c.label == label)
    data = bench_photo(size, photo)
    try:
        if case.prepare is not None:
            case.prepare(data)
        case.run(data)
        times = []
        out = b""
        for _ in range(repeats):
            started = time.perf_counter()
            out = case.run(data)
            times.append(time.perf_counter() - started)
    except Exception as exc:  # a failing case is reported in its row, the table goes on
        return Measurement(label=label, size=size, error=f"{type(exc).__name__}: {exc}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    return Measurement(label=label, size=size, times=tuple(times), peak_rss_mb=peak, output_bytes=len(out))


def _measure_in_child(module_name: str, label: str, size: str, repeats: int, photo: str) -> Measurement:
    """A fresh interpreter per row: its peak RSS is this case's alone (main.py itself would start the app)."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH", "")]))}
    command = [sys.executable, "-m", "pixora_ui.bench.runner", "--child", module_name, label, size, str(repeats), photo]
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Measurement(label=label, size=size, error=f"exit {done.returncode}: {tail}")
    raw = json.loads(lines[-1])
    return Measurement(**{**raw, "times": tuple(raw["times"])})


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{cpu}; {os.cpu_count()} logical CPUs; Python {platform.python_version()}; load average {load}"


def _row(case: BenchCase, m: Measurement) -> str:
    target = m.target if m.target is not None else case.targets.get(m.size)
    target_text = f"<= {target:g} {m.unit}".rstrip() if target is not None else ""
    if m.error:
        return f"| {m.label} | {m.size} | failed: {m.error} | | | | {target_text} | |"
    median = statistics.median(m.times)
    verdict = "" if target is None else ("yes" if median <= target else "NO")
    rss = f"{m.peak_rss_mb:.0f}" if m.peak_rss_mb else ""
    return (
        f"| {m.label} | {m.size} | {median:.3f} | {min(m.times):.3f} | {max(m.times):.3f} | "
        f"{rss} | {target_text} | {verdict} |"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="main.py bench", description="Benchmark the local tools.")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (at least 3; default 3)")
    parser.add_argument("--only", action="append", default=[], help="only cases whose label contains this")
    parser.add_argument(
        "--module", action="append", default=[], help="only cases from modules whose name contains this (e.g. enhance)"
    )
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated sizes (default: 1 MP,12 MP)")
    parser.add_argument("--photo", default="astronaut", help="scikit-image sample photo (default: astronaut)")
    args = parser.parse_args(argv[1:] if argv[:1] == ["--"] else argv)
    repeats = max(3, args.repeats)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        print(f"error: unknown size {unknown[0]!r}; choose from {', '.join(SIZES)}", file=sys.stderr)
        return 2
    print(f"Machine: {machine_description()}")
    print(f"Input: scikit-image '{args.photo}' photo as JPEG q90; median of {repeats} runs after one warm-up;")
    print("time is end to end (decode, tool, encode); peak RSS of a fresh process per row.\n")
    print("| case | input | median s | min s | max s | peak RSS MB | target | met |")
    print("|---|---|---|---|---|---|---|---|")
    failed = False
    for module_name, case in all_cases():
        if args.only and not any(word in case.label for word in args.only):
            continue
        if args.module and not any(word in module_name for word in args.module):
            continue
        available, reason = case.available()
        for size in (s for s in sizes if s in case.sizes):
            if not available:
                print(f"| {case.label} | {size} | skipped: {reason} | | | | | |", flush=True)
                continue
            if case.measure is not None:
                rows = case.measure(size, repeats, args.photo)
            else:
                rows = [_measure_in_child(module_name, case.label, size, repeats, args.photo)]
            for measurement in rows:
                failed = failed or bool(measurement.error)
                print(_row(case, measurement), flush=True)
    notes = [
        f"- {case.label}: {case.note}"
        for module_name, case in all_cases()
        if case.note
        and (not args.only or any(word in case.label for word in args.only))
        and (not args.module or any(word in module_name for word in args.module))
    ]
    if notes:
        print("\nNotes:")
        print("\n".join(notes))
    return 1 if failed else 0


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    _module, _label, _size, _repeats, _photo = sys.argv[2:7]
    print(json.dumps(asdict(_measure(_module, _label, _size, int(_repeats), _photo))))

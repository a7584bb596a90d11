"""Cold-start benchmark: one photo cut out by a fresh process, Pixora's command line against rembg.

What a person running `python main.py edit photo.jpg --tool remove-bg -o out.png` once pays:
the interpreter, the imports, the model load and the cut-out, end to end. rembg gets the same
photo, the same ISNet weights (`new_session("dis_custom", model_path=…)`) and does the least a
rembg user can: import, create the session, `remove()` the JPEG bytes, write the PNG.

Both commands run as fresh subprocesses, alternating (ABBA order, so a drift in the machine's
load hits both alike) after one untimed run of each (which fills the page cache and, for
Pixora, builds the optimised-graph cache on a machine that has none yet: its time is printed).
The rows are the medians of the wall times; peak RSS is each process's own (`wait4`); the ratio
row is Pixora's time over rembg's in each pair of neighbouring runs (median, min, max; target
<= 0.8), which cancels most of a shared machine's changing load.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pixora_ui.bench.runner import BenchCase, Measurement, bench_photo
from pixora_ui.engine.models import isnet
from pixora_ui.engine.models.weights import get_model
from pixora_ui.settings import get_settings

PIXORA_LABEL = "cold process: main.py edit --tool remove-bg"
REMBG_LABEL = "cold process: rembg (same ISNet weights)"
RATIO_LABEL = "cold process: Pixora / rembg"
RATIO_TARGET = 0.8
REPO = Path(__file__).resolve().parents[3]

REMBG_SCRIPT = """
import os, sys
source, target, model = sys.argv[1:4]
os.environ["U2NET_HOME"] = os.path.dirname(model)  # rembg loads custom models from its home folder
from rembg import new_session, remove
session = new_session("dis_custom", model_path=model)
with open(source, "rb") as handle:
    data = handle.read()
with open(target, "wb") as handle:
    handle.write(remove(data, session=session))
"""


def _isnet_path() -> Path:
    return get_settings().models_dir / get_model("isnet-medium").files[0].filename


def commands(photo: Path, folder: Path) -> dict[str, list[str]]:
    """The two cold runs, by row label."""
    return {
        PIXORA_LABEL: [
            sys.executable,
            str(REPO / "main.py"),
            "edit",
            str(photo),
            "--tool",
            "remove-bg",
            "-o",
            str(folder / "pixora.png"),
        ],
        REMBG_LABEL: [sys.executable, "-c", REMBG_SCRIPT, str(photo), str(folder / "rembg.png"), str(_isnet_path())],
    }


def run_once(command: list[str]) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in MB) of one fresh process; raises when it fails."""
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log)  # noqa: S603
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            log.seek(0)
            tail = (log.read().decode(errors="replace").strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"exit {process.returncode}: {tail}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def measure(size: str, repeats: int, photo_name: str) -> list[Measurement]:
    with tempfile.TemporaryDirectory(prefix="pixora-cold-") as tmp:
        folder = Path(tmp)
        photo = folder / "photo.jpg"
        photo.write_bytes(bench_photo(size, photo_name))
        runs = commands(photo, folder)
        labels = list(runs)
        walls: dict[str, list[float]] = {label: [] for label in labels}
        cpus: dict[str, list[float]] = {label: [] for label in labels}
        peaks: dict[str, float] = dict.fromkeys(labels, 0.0)
        try:
            first = {label: run_once(runs[label])[0] for label in labels}
            for repeat in range(repeats):
                for label in labels if repeat % 2 == 0 else labels[::-1]:
                    wall, cpu, peak = run_once(runs[label])
                    walls[label].append(wall)
                    cpus[label].append(cpu)
                    peaks[label] = max(peaks[label], peak)
        except RuntimeError as exc:
            return [Measurement(label=label, size=size, error=str(exc)) for label in labels]
    rows = [
        Measurement(label=label, size=size, times=tuple(walls[label]), peak_rss_mb=peaks[label]) for label in labels
    ]
    pairs = tuple(a / b for a, b in zip(walls[PIXORA_LABEL], walls[REMBG_LABEL], strict=True))
    rows.append(Measurement(label=RATIO_LABEL, size=size, times=pairs, target=RATIO_TARGET, unit="x"))
    print(
        "\n".join(
            f"<!-- {label}: untimed first run {first[label]:.2f} s; CPU s (user+sys) median "
            f"{statistics.median(cpus[label]):.2f} -->"
            for label in labels
        ),
        file=sys.stderr,
        flush=True,
    )
    return rows


def _available() -> tuple[bool, str]:
    try:
        import rembg  # noqa: F401, PLC0415 - optional dev-only dependency, benchmarks only
    except ImportError:
        return False, "rembg is not installed (pip install rembg)"
    return isnet.availability()


def bench_cases() -> list[BenchCase]:
    return [
        BenchCase(
            label="cold process: Pixora CLI vs rembg, remove background",
            run=lambda data: data,
            available=_available,
            sizes=("12 MP",),
            measure=measure,
            note=(
                "fresh processes, alternating, after one untimed run of each; the ratio row is Pixora's "
                "wall time over rembg's per pair of neighbouring runs. CPU times go to stderr."
            ),
        )
    ]

"""Batch benchmark: a batch of N photos against the same N edits one by one, on one engine worker,
and the web process's memory while the batch runs and while its ZIP streams. Prints a table.

    .venv/bin/python scripts/bench_batch.py [--photos 50] [--size "12 MP"] [--tool remove-bg]

This process plays the web process (the job service with ENGINE_WORKERS=1, models warm) on a fresh
data folder (SQLite) and a Pro user. Every photo differs (one 8x8 corner block), so no mask cache
serves a repeat; the two runs use different photos.
  1. Single jobs: each photo submitted alone and waited for; the sum of their submit-to-done times.
  2. The batch: services.batches.submit of N photos; the time from the submit to the last job done.
     Target: batch <= 1.1 x the sum of single jobs (the engine runs at full speed).
  3. Memory: this process's resident memory (VmRSS) sampled every 10 ms, before and at its peak,
     while the batch is submitted and runs, then while its ZIP (JPEG) is streamed and counted.
  4. Responsiveness: the event loop's lag (how late a 10 ms sleep wakes up) over the same spans.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from db.migrate import upgrade  # noqa: E402
from db.models import PLAN_PRO, User  # noqa: E402
from db.session import dispose_engine, session_scope  # noqa: E402
from pixora_ui.bench.runner import bench_photo  # noqa: E402
from pixora_ui.engine.ops import imageio  # noqa: E402
from pixora_ui.services import assets, batches, jobs  # noqa: E402
from pixora_ui.services.batch_zip import download_entries, stream_zip  # noqa: E402
from pixora_ui.settings import get_settings, reset_settings  # noqa: E402
from pixora_ui.workers import runner  # noqa: E402

TARGET_RATIO = 1.1


def _photos(count: int, size: str, offset: int) -> list[bytes]:
    base = imageio.decode(bench_photo(size), max_bytes=1 << 30, max_pixels=1 << 30).pixels
    out = []
    for index in range(offset, offset + count):
        pixels = base.copy()
        pixels[:8, :8] = (index * 37 % 256, index * 91 % 256, index * 53 % 256)
        out.append(imageio.encode(np.ascontiguousarray(pixels), "jpeg", 90))
    return out


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _Watch:
    """While the block runs, every 10 ms on the event loop: the process's resident memory (its peak)
    and how late the loop woke up (its lag: what a click's answer would wait on top of its own work)."""

    def __init__(self) -> None:
        self.before = self.peak = _rss_mb()
        self.lags_ms: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self.peak = max(self.peak, _rss_mb())
            asked = loop.time()
            await asyncio.sleep(0.01)
            self.lags_ms.append(max(0.0, (loop.time() - asked - 0.01) * 1000))

    def lag(self, share: float) -> float:
        ordered = sorted(self.lags_ms) or [0.0]
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    async def __aenter__(self) -> _Watch:
        self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.peak = max(self.peak, _rss_mb())


async def _setup(data_dir: Path) -> int:
    os.environ.update(
        {
            "DATA_DIR": str(data_dir),
            "APP_ENV": "development",
            "LOG_LEVEL": "WARNING",
            "LOG_JSON": "false",
            "SESSION_SECRET": "bench-" + "x" * 40,
            "AUTO_MIGRATE": "true",
            "ENGINE_WORKERS": "1",
            "WORKER_WARM_MODELS": "true",
            "QUEUE_URL": "",
        }
    )
    reset_settings()
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(upgrade, get_settings())
    async with session_scope() as session:
        user = User(email=f"bench-{uuid.uuid4().hex[:6]}@example.com", name="Bench", plan=PLAN_PRO, usage_limit=None)
        session.add(user)
        await session.flush()
        return user.id


async def _upload(user_id: int, photos: list[bytes]) -> list[str]:
    ids = []
    for index, data in enumerate(photos):
        async with session_scope() as session:
            view = await assets.upload(session, owner_id=user_id, data=data, filename=f"photo {index}.jpg")
        ids.append(view.id)
    return ids


async def _singles(user_id: int, photo_ids: list[str], tool: str) -> tuple[float, int]:
    total = 0.0
    ok = 0
    for photo_id in photo_ids:
        started = time.perf_counter()
        async with session_scope() as session:
            view = await jobs.submit(session, user_id=user_id, asset_id=photo_id, tool=tool)
        done = await jobs.wait_for(view.id, user_id=user_id, timeout=600)
        total += time.perf_counter() - started
        ok += done.status == "succeeded"
    return total, ok


async def _batch(user_id: int, photo_ids: list[str], tool: str) -> tuple[float, int, str]:
    started = time.perf_counter()
    async with session_scope() as session:
        view = await batches.submit(session, user_id=user_id, photo_ids=photo_ids, tool=tool)
    for item in view.items:
        await jobs.wait_for(item.job.id, user_id=user_id, timeout=3600)
    elapsed = time.perf_counter() - started
    async with session_scope() as session:
        final = await batches.get_batch(session, user_id=user_id, batch_id=view.id)
    return elapsed, final.succeeded, view.id


async def _zip(user_id: int, batch_id: str) -> tuple[float, int]:
    started = time.perf_counter()
    async with session_scope() as session:
        entries = await download_entries(session, user_id=user_id, batch_id=batch_id, fmt="jpeg")
    size = 0
    async for chunk in stream_zip(entries, "jpeg"):
        size += len(chunk)
    return time.perf_counter() - started, size


async def _main(args: argparse.Namespace) -> int:
    os.environ.setdefault("MODELS_DIR", str(REPO / "data" / "models"))
    with tempfile.TemporaryDirectory(prefix="pixora-bench-batch-") as folder:
        user_id = await _setup(Path(folder) / "data")
        single_ids = await _upload(user_id, _photos(args.photos, args.size, 0))
        batch_ids = await _upload(user_id, _photos(args.photos, args.size, args.photos))
        warm_ids = await _upload(user_id, _photos(1, args.size, 2 * args.photos))
        service = runner.Runner()
        await service.start()
        try:
            assert service.pool is not None
            if not await service.pool.wait_ready(300):
                raise RuntimeError("the engine worker did not start")
            # One untimed job: the worker's first run (allocations, lazy imports) is not the engine's speed.
            await _singles(user_id, warm_ids, args.tool)
            singles, singles_ok = await _singles(user_id, single_ids, args.tool)
            async with _Watch() as batch_rss:
                batch_s, batch_ok, batch_id = await _batch(user_id, batch_ids, args.tool)
            async with _Watch() as zip_rss:
                zip_s, zip_bytes = await _zip(user_id, batch_id)
        finally:
            await service.stop()
            await dispose_engine()
    label = f"{args.photos} × {args.tool} at {args.size}, 1 engine worker"
    rows = [
        (f"{label}: single jobs, sum", f"{singles:.1f} s", f"{singles_ok} of {args.photos} succeeded"),
        (f"{label}: one batch", f"{batch_s:.1f} s", f"{batch_ok} of {args.photos} succeeded"),
        ("batch / sum of single jobs", f"{batch_s / singles:.2f}×", f"target ≤ {TARGET_RATIO}×"),
        (
            "web process RSS during the batch",
            f"+{batch_rss.peak - batch_rss.before:.0f} MB",
            f"{batch_rss.before:.0f} → peak {batch_rss.peak:.0f} MB",
        ),
        (
            "web process event-loop lag during the batch: p99 / max",
            f"{batch_rss.lag(0.99):.0f} / {batch_rss.lag(1.0):.0f} ms",
            "a click's answer waits this on top of its own work (target: feedback ≤ 100 ms)",
        ),
        (
            "web process event-loop lag while the ZIP streams: p99 / max",
            f"{zip_rss.lag(0.99):.0f} / {zip_rss.lag(1.0):.0f} ms",
            "",
        ),
        (
            f"ZIP of the results as JPEG, streamed ({zip_bytes / 1e6:.0f} MB)",
            f"{zip_s:.1f} s",
            f"RSS {zip_rss.before:.0f} → peak {zip_rss.peak:.0f} MB",
        ),
    ]
    print(f"\ncores: {os.cpu_count()}  python: {sys.version.split()[0]}")
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>12}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>12}  {note}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--size", default="12 MP", choices=["1 MP", "12 MP"])
    parser.add_argument("--tool", default="remove-bg")
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())

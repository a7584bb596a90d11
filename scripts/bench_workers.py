"""Engine worker benchmark: throughput of 1 vs 2 worker processes, queue overhead on Redis, and the
web process's event-loop lag while every worker is busy. Prints a table.

    .venv/bin/python scripts/bench_workers.py [--jobs 40] [--megapixels 1] [--redis redis://127.0.0.1:6379/0]
                                              [--overhead-jobs 40] [--skip-throughput] [--skip-redis]

This process plays the web process (the job service with its worker pool, or in Celery mode with
one `main.py worker` subprocess) on a fresh data folder (SQLite) and a Pro user:
  1. N background removals ("remove-bg", standard) of a photo of M megapixels with ENGINE_WORKERS=1,
     then =2: wall time from the first submit to the last job finished; the ratio. While the
     2-worker run is busy, a probe measures how late this process's event loop wakes (10 ms sleeps).
  2. Queue overhead on Redis: jobs of a trivial tool (flip) submitted one at a time; the time from
     the job's creation to its claim by the worker (started_at - created_at), p50 / p95.
`/api/usage` under load is measured by scripts/bench_http.py (it runs `main.py serve`, whose
inference now runs in the engine workers).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import cv2
import redis
from PIL import Image
from skimage import data as skdata
from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from db.migrate import upgrade  # noqa: E402
from db.models import PLAN_PRO, Job, User, as_utc  # noqa: E402
from db.session import dispose_engine, session_scope  # noqa: E402
from pixora_ui.services import assets, jobs  # noqa: E402
from pixora_ui.settings import get_settings, reset_settings  # noqa: E402
from pixora_ui.workers import runner  # noqa: E402


def _photo(megapixels: float) -> bytes:
    side = int((megapixels * 1_000_000) ** 0.5)
    big = cv2.resize(skdata.astronaut(), (side, side), interpolation=cv2.INTER_CUBIC)
    out = io.BytesIO()
    Image.fromarray(big).save(out, format="JPEG", quality=90)
    return out.getvalue()


def _configure(data_dir: Path, **extra: str) -> None:
    os.environ.update(
        {
            "DATA_DIR": str(data_dir),
            "APP_ENV": "development",
            "LOG_LEVEL": "WARNING",
            "LOG_JSON": "false",
            "SESSION_SECRET": "bench-" + "x" * 40,
            "AUTO_MIGRATE": "true",
            **extra,
        }
    )
    reset_settings()


async def _user_and_photo(photo: bytes) -> tuple[int, str]:
    get_settings().data_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(upgrade, get_settings())
    async with session_scope() as session:
        user = User(email=f"bench-{uuid.uuid4().hex[:6]}@example.com", name="Bench", plan=PLAN_PRO, usage_limit=None)
        session.add(user)
        await session.flush()
        view = await assets.upload(session, owner_id=user.id, data=photo, filename="bench.jpg")
        return user.id, view.id


async def _submit(user_id: int, asset_id: str, tool: str, params: dict[str, Any]) -> str:
    async with session_scope() as session:
        view = await jobs.submit(session, user_id=user_id, asset_id=asset_id, tool=tool, params=params)
    return view.id


async def _wait_all(user_id: int, ids: list[str], timeout: float) -> list[Any]:  # noqa: ASYNC109 - bounded poll

    deadline = time.monotonic() + timeout
    while True:
        async with session_scope() as session:
            views = [await jobs.get_job(session, user_id=user_id, job_id=i) for i in ids]
        if all(v.done for v in views) or time.monotonic() > deadline:
            return views
        await asyncio.sleep(0.1)


async def _throughput(workers: int, count: int, photo: bytes, root: Path) -> dict[str, float]:
    _configure(root / f"w{workers}", ENGINE_WORKERS=str(workers), WORKER_WARM_MODELS="true", QUEUE_URL="")
    user_id, asset_id = await _user_and_photo(photo)
    service = runner.Runner()
    await service.start()
    lags: list[float] = []
    try:
        assert service.pool is not None
        if not await service.pool.wait_ready(300):
            raise RuntimeError("the engine workers did not start")
        started = time.perf_counter()
        ids = [await _submit(user_id, asset_id, "remove-bg", {}) for _ in range(count)]
        finished = asyncio.get_running_loop().create_task(_wait_all(user_id, ids, 3600))
        while not finished.done():  # the web process's loop while every worker is busy
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append((time.perf_counter() - before - 0.01) * 1000)
        views = finished.result()
        elapsed = time.perf_counter() - started
    finally:
        await service.stop()
        await dispose_engine()
    lags.sort()
    return {
        "seconds": elapsed,
        "jobs_per_min": count / elapsed * 60,
        "ok": sum(v.status == "succeeded" for v in views),
        "lag_p99_ms": lags[int(len(lags) * 0.99) - 1] if lags else float("nan"),
        "lag_max_ms": lags[-1] if lags else float("nan"),
    }


async def _redis_overhead(redis_url: str, count: int, root: Path) -> dict[str, float]:
    prefix = f"pixora-bench-{uuid.uuid4().hex[:8]}-"
    _configure(root / "redis", QUEUE_URL=redis_url, QUEUE_PREFIX=prefix, WORKER_WARM_MODELS="false", ENGINE_WORKERS="1")
    user_id, asset_id = await _user_and_photo(_photo(0.05))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "NICEGUI"))}
    env["PYTHONPATH"] = str(REPO)
    log = (root / "worker.log").open("wb")
    worker = subprocess.Popen(  # noqa: ASYNC220, S603 - our own worker, started once before measuring
        [sys.executable, str(REPO / "main.py"), "worker", "--queues", "cpu"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    service = runner.Runner()
    await service.start()
    overheads: list[float] = []
    try:
        # The first job warms the worker up (imports, connections); it is not counted.
        first = await _submit(user_id, asset_id, "flip", {})
        await _wait_all(user_id, [first], 300)
        for _ in range(count):
            job_id = await _submit(user_id, asset_id, "flip", {})
            await _wait_all(user_id, [job_id], 60)
            async with session_scope() as session:
                row = (await session.execute(select(Job.created_at, Job.started_at).where(Job.id == job_id))).one()
            if row.started_at is not None:
                overheads.append((as_utc(row.started_at) - as_utc(row.created_at)).total_seconds() * 1000)
    finally:
        await service.stop()
        await dispose_engine()
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()

        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
    overheads.sort()
    return {
        "n": len(overheads),
        "p50_ms": statistics.median(overheads),
        "p95_ms": overheads[max(0, int(len(overheads) * 0.95) - 1)],
        "max_ms": overheads[-1],
    }


async def _main(args: argparse.Namespace) -> int:
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="pixora-bench-workers-") as folder:
        root = Path(folder)
        os.environ.setdefault("MODELS_DIR", str(REPO / "data" / "models"))
        if not args.skip_throughput:
            photo = _photo(args.megapixels)
            one = await _throughput(1, args.jobs, photo, root)
            two = await _throughput(2, args.jobs, photo, root)
            label = f"{args.jobs} × remove-bg at {args.megapixels:g} MP"
            rows.append((f"{label}, 1 worker", f"{one['seconds']:.1f} s", f"{one['jobs_per_min']:.1f} jobs/min"))
            rows.append((f"{label}, 2 workers", f"{two['seconds']:.1f} s", f"{two['jobs_per_min']:.1f} jobs/min"))
            rows.append(("throughput ratio 2 : 1 workers", f"{one['seconds'] / two['seconds']:.2f}×", "target ≥ 1.6×"))
            rows.append(("jobs succeeded (1 / 2 workers)", f"{one['ok']:.0f} / {two['ok']:.0f}", f"of {args.jobs}"))
            rows.append(
                (
                    "web event-loop lag, all workers busy",
                    f"p99 {two['lag_p99_ms']:.1f} ms",
                    f"max {two['lag_max_ms']:.1f} ms",
                )
            )
        if not args.skip_redis:
            redis = await _redis_overhead(args.redis, args.overhead_jobs, root)
            rows.append(
                (
                    f"queue overhead submit → worker start (Redis, n={redis['n']:.0f})",
                    f"p95 {redis['p95_ms']:.1f} ms",
                    f"p50 {redis['p50_ms']:.1f} ms, max {redis['max_ms']:.1f} ms",
                )
            )
    print(f"\ncores: {os.cpu_count()}  python: {sys.version.split()[0]}")
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>18}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>18}  {note}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--megapixels", type=float, default=1.0)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--overhead-jobs", type=int, default=40)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-redis", action="store_true")
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())

"""Transformation URL benchmark on loopback: cached hits, first transforms, large photos under load.

    .venv/bin/python scripts/bench_transform.py [--duration 10] [--connections 32] [--runs 7]

Starts `main.py serve` in a subprocess on a fresh data folder (SQLite) with a public 12 MP and a
public 49 MP JPEG (scikit-image's astronaut, scaled), then measures from this process:
  1. a cached `/ik/…?tr=w-400` with wrk (apt-get install -y wrk)  (target >= 1,500 req/s, p99 <= 20 ms)
  2. the first `w-400` of the 12 MP photo, each run a new width   (target <= 150 ms)
  3. 8 concurrent first-time transforms of the 49 MP photo at near-full size (`w-6000+i`), and
  4. 8 concurrent first-time `/media/…?format=webp&quality=…` conversions of it:
     the peak RSS growth of the server and its render workers together (sampled every 10 ms;
     target <= 1 GB) and `/api/usage` latency
     polled every 50 ms meanwhile (target p99 <= 100 ms).
Prints one table. Figures are noisy on a shared 2-core machine: wrk and the server share the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from db.migrate import upgrade  # noqa: E402
from db.models import PLAN_PRO, User  # noqa: E402
from db.session import dispose_engine, session_scope  # noqa: E402
from pixora_ui.auth.sessions import create_session  # noqa: E402
from pixora_ui.services import assets, media  # noqa: E402
from pixora_ui.settings import get_settings, reset_settings  # noqa: E402
from scripts.bench_http import _env, _free_port, _photo, _wrk  # noqa: E402


async def _prepare(photos: dict[str, bytes]) -> tuple[str, dict[str, str]]:
    ids: dict[str, str] = {}
    async with session_scope() as session:
        user = User(email="bench@example.com", name="Bench", plan=PLAN_PRO, usage_limit=None)
        session.add(user)
        await session.flush()
        token = await create_session(session, user_id=user.id)
        for name, data in photos.items():
            view = await assets.upload(session, owner_id=user.id, data=data, filename=f"{name}.jpg")
            await assets.set_public(session, owner_id=user.id, asset_id=view.id, public=True)
            ids[name] = view.id
    await dispose_engine()
    return token, ids


def _own_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def _rss_kb(pid: int) -> int:
    """RSS of the server and its children (the render workers), in KB."""
    total = _own_rss_kb(pid)
    children: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):  # workers are started from worker threads
        try:
            children.update(int(child) for child in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total + sum(_own_rss_kb(child) for child in children)


class _Sampler(threading.Thread):
    """Samples the server's RSS every 10 ms and times /api/usage every 50 ms until stopped."""

    def __init__(self, pid: int, usage_url: str, cookie: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.usage_url = usage_url
        self.cookie = cookie
        self.stop = threading.Event()
        self.peak = 0
        self.usage_ms: list[float] = []

    def run(self) -> None:
        last_probe = 0.0
        with httpx.Client(timeout=30) as client:
            while not self.stop.is_set():
                self.peak = max(self.peak, _rss_kb(self.pid))
                now = time.monotonic()
                if now - last_probe >= 0.05:
                    last_probe = now
                    started = time.perf_counter()
                    client.get(self.usage_url, headers=self.cookie).raise_for_status()
                    self.usage_ms.append((time.perf_counter() - started) * 1000)
                    self.peak = max(self.peak, _rss_kb(self.pid))
                time.sleep(0.01)


def _concurrent(pid: int, base: str, cookie: dict[str, str], urls: list[str]) -> dict[str, float]:
    baseline = _rss_kb(pid)
    sampler = _Sampler(pid, f"{base}/api/usage", cookie)
    sampler.start()
    started = time.perf_counter()
    results: list[int] = []

    def fetch(url: str) -> None:
        results.append(httpx.get(base + url, timeout=600).status_code)

    threads = [threading.Thread(target=fetch, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    usage = sorted(sampler.usage_ms)
    return {
        "ok": float(sum(1 for status in results if status == 200)),
        "wall_s": elapsed,
        "rss_growth_mb": (sampler.peak - baseline) / 1024,
        "usage_p50_ms": statistics.median(usage),
        "usage_p99_ms": usage[max(0, int(len(usage) * 0.99) - 1)],
        "usage_max_ms": usage[-1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="pixora-bench-ik-"))
    port = _free_port()
    env = _env(workdir / "data", port)
    os.environ.update(env)

    reset_settings()
    upgrade(get_settings())
    token, ids = asyncio.run(_prepare({"12mp": _photo(4000, 3000), "49mp": _photo(8083, 6062)}))
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
        [sys.executable, "main.py", "serve", "--port", str(port), "--host", "127.0.0.1"], cwd=REPO, env=env
    )
    rows: list[tuple[str, dict[str, Any]]] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        cookie = {"Cookie": f"pixora_session={token}"}
        httpx.get(f"{base}/api/usage", headers=cookie).raise_for_status()
        twelve, big = ids["12mp"], ids["49mp"]

        # 2. First-time w-400 of the 12 MP photo (each run a new width, so nothing is cached).
        httpx.get(f"{base}/ik/{twelve}/warm.jpg?tr=w-10", timeout=60).raise_for_status()  # imports, thread pool
        firsts: list[float] = []
        for run in range(args.runs):
            started = time.perf_counter()
            response = httpx.get(f"{base}/ik/{twelve}/p.jpg?tr=w-{400 + run}", timeout=60)
            firsts.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
        rows.append(("first w-400 of a 12 MP JPEG", {"median_ms": statistics.median(firsts), "max_ms": max(firsts)}))

        # 1. A cached transformation URL under wrk.
        cached = f"{base}/ik/{twelve}/p.jpg?tr=w-400"
        httpx.get(cached, timeout=60).raise_for_status()
        load: dict[str, Any] = {"duration": args.duration, "connections": args.connections, "server_pid": server.pid}
        rows.append(("cached /ik w-400 (wrk)", _wrk(cached, headers={}, **load)))

        # 3. and 4. Eight concurrent first-time computations on the 49 MP photo.
        transforms = [f"/ik/{big}/p.jpg?tr=w-{6000 + i}" for i in range(8)]
        rows.append(("8 concurrent w-6000+i of 49 MP", _concurrent(server.pid, base, cookie, transforms)))

        conversions = [media.signed_url(big, fmt="webp", quality=60 + i, expires_in=3600) for i in range(8)]
        rows.append(("8 concurrent webp conversions, 49 MP", _concurrent(server.pid, base, cookie, conversions)))
        same = [media.signed_url(big, fmt="png", expires_in=3600)] * 8
        rows.append(("8 identical png conversions, 49 MP", _concurrent(server.pid, base, cookie, same)))
        rows.append(("RSS after all, server + workers (MB)", {"rss_mb": _rss_kb(server.pid) / 1024}))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"cores: {os.cpu_count()}  load average: {os.getloadavg()[0]:.1f}  "
        f"wrk: {args.duration}s, {args.connections} connections"
    )
    print(f"| {'case':40s} | figures |")
    print(f"|{'-' * 42}|---------|")
    for name, figures in rows:
        print(f"| {name:40s} | " + "  ".join(f"{k}={v:,.1f}" for k, v in figures.items()) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

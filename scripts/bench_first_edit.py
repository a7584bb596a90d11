"""The server's first edit after a start against a warm one (12 MP background removal).

    .venv/bin/python scripts/bench_first_edit.py [--rounds 3] [--warm 3]

Each round starts `main.py serve` afresh on one prepared data folder (SQLite, a Pro user, a 12 MP
photo) and measures, over HTTP as the studio does:
  - how long after launch /healthz first answers (target <= 3 s) and when the model warm-up
    it reports is ready;
  - the first remove-bg job (POST /api/jobs until the job reads `succeeded`) once the warm-up is
    ready, then `--warm` more jobs: the ratio first / median(warm) (target <= 1.2). Every job of a
    round gets a different photo (the astronaut, mirrored and brightened by a few levels per job):
    the server keeps the masks of recent photos, and a repeated photo would skip the network;
  - the same with WARM_UP_MODELS=false, where the first job waits for nothing: what the warm-up
    saves.
Job times are polled every 20 ms. Figures are noisy on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from bench_http import _env, _free_port, _photo  # noqa: E402

from db.migrate import upgrade  # noqa: E402
from db.models import PLAN_PRO, User  # noqa: E402
from db.session import dispose_engine, session_scope  # noqa: E402
from pixora_ui.auth.sessions import create_session  # noqa: E402
from pixora_ui.services import assets  # noqa: E402
from pixora_ui.settings import get_settings, reset_settings  # noqa: E402


def _variants(count: int) -> list[bytes]:
    """`count` different 12 MP JPEGs of the same scene."""
    base = np.asarray(Image.open(io.BytesIO(_photo(4000, 3000))).convert("RGB"))
    photos = []
    for i in range(count):
        pixels = base[:, ::-1] if i % 2 else base
        pixels = np.clip(pixels.astype(np.int16) + 3 * i, 0, 255).astype(np.uint8)
        out = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(pixels)).save(out, format="JPEG", quality=90)
        photos.append(out.getvalue())
    return photos


async def _prepare(photos: list[bytes]) -> tuple[str, list[str]]:
    """A Pro user with a session and the photos uploaded; (session token, asset ids)."""
    async with session_scope() as session:
        user = User(email="first-edit@example.com", name="Bench", plan=PLAN_PRO, usage_limit=None)
        session.add(user)
        await session.flush()
        token = await create_session(session, user_id=user.id)
        ids = []
        for i, data in enumerate(photos):
            view = await assets.upload(session, owner_id=user.id, data=data, filename=f"photo{i}.jpg")
            ids.append(view.id)
    await dispose_engine()
    return token, ids


def _job_seconds(client: Any, asset_id: str, key: str) -> float:
    started = time.perf_counter()
    response = client.post("/api/jobs", json={"asset_id": asset_id, "tool": "remove-bg", "idempotency_key": key})
    response.raise_for_status()
    job_id = response.json()["id"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = client.get(f"/api/jobs/{job_id}").json()["status"]
        if status == "succeeded":
            return time.perf_counter() - started
        if status in {"failed", "cancelled"}:
            raise SystemExit(f"job {job_id} {status}")
        time.sleep(0.02)
    raise SystemExit(f"job {job_id} did not finish")


def _warming(body: dict[str, Any]) -> bool:
    """The server's own warm-up (in-process mode) or its engine workers (the default) still loading."""
    if body.get("warm_up", {}).get("state") in {"pending", "running"}:
        return True
    workers = body.get("jobs", {}).get("workers", [])
    return any(w.get("alive") and not w.get("ready") for w in workers)


def _round(env: dict[str, str], port: int, job: tuple[str, list[str]], tag: str) -> dict[str, Any]:
    """One fresh server: time to /healthz and to a finished warm-up, the first job, then one per other photo."""
    token, asset_ids = job

    base = f"http://127.0.0.1:{port}"
    launched = time.perf_counter()
    server = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
        [sys.executable, "main.py", "serve", "--port", str(port), "--host", "127.0.0.1"], cwd=REPO, env=env
    )
    figures: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 600  # the warm-up takes minutes on a crowded machine
        body: dict[str, Any] = {}
        while "healthz_s" not in figures or _warming(body):
            try:
                response = httpx.get(f"{base}/healthz", timeout=1)
                body = response.json()
                figures.setdefault("healthz_s", time.perf_counter() - launched)
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"server did not start or warm up (exit {server.poll()}; last /healthz: {body})")
            time.sleep(0.02)
        figures["warm_up"] = body.get("warm_up", {}).get("state")
        figures["ready_s"] = time.perf_counter() - launched
        with httpx.Client(base_url=base, cookies={"pixora_session": token}, timeout=30) as client:
            figures["first_s"] = _job_seconds(client, asset_ids[0], f"{tag}-first")
            times = [_job_seconds(client, asset_id, f"{tag}-warm-{i}") for i, asset_id in enumerate(asset_ids[1:])]
        figures["warm_s"] = statistics.median(times)
        figures["ratio"] = figures["first_s"] / figures["warm_s"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm", type=int, default=3, help="warm jobs after the first, per round")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pixora-first-edit-"))
    port = _free_port()
    env = _env(workdir / "data", port)
    os.environ.update(env)

    reset_settings()
    upgrade(get_settings())
    token, asset_ids = asyncio.run(_prepare(_variants(args.warm + 1)))
    rows: list[tuple[str, dict[str, Any]]] = []
    try:
        for i in range(args.rounds):
            for warm_up in ("true", "false"):
                figures = _round({**env, "WARM_UP_MODELS": warm_up}, port, (token, asset_ids), f"{i}{warm_up}")
                rows.append((warm_up, figures))
                print(f"WARM_UP_MODELS={warm_up:5s} " + "  ".join(f"{k}={v}" for k, v in figures.items()), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\ncores: {os.cpu_count()}  load average: {os.getloadavg()[0]:.1f}")
    for warm_up in ("true", "false"):
        chosen = [f for w, f in rows if w == warm_up]

        def med(name: str, chosen: list[dict[str, Any]] = chosen) -> float:
            return float(statistics.median(f[name] for f in chosen))

        def top(name: str, chosen: list[dict[str, Any]] = chosen) -> float:
            return float(max(f[name] for f in chosen))

        print(
            f"WARM_UP_MODELS={warm_up}: /healthz after launch {med('healthz_s'):.2f} s (max {top('healthz_s'):.2f});"
            f" first edit {med('first_s'):.2f} s, warm {med('warm_s'):.2f} s;"
            f" first/warm {med('ratio'):.2f} (max {top('ratio'):.2f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

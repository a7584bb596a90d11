"""`main.py serve` with the default settings starts warm engine workers and ends them on stop:
the embedded default still needs nothing but `bash scripts/start.sh` (which runs `main.py serve`)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from tests.app_server import serve_app

pytestmark = pytest.mark.browser  # a real `main.py serve` subprocess, like the browser journeys


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3]


def test_serve_supervises_engine_workers_by_default_and_stops_them(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    # ENGINE_WORKERS empty = the default (the test suite's own "0" is not passed on).
    with serve_app(data_dir, {"ENGINE_WORKERS": "", "WORKER_WARM_MODELS": "true"}, cwd=tmp_path) as url:
        deadline = time.monotonic() + 300  # loading the models takes a while on a busy machine
        while True:
            jobs = httpx.get(f"{url}/healthz", timeout=10).json()["jobs"]
            workers = jobs["workers"]
            if workers and all(w["ready"] for w in workers):
                break
            assert time.monotonic() < deadline, f"the engine workers did not start: {jobs}"
            time.sleep(0.1)
        assert jobs["mode"] == "pool" and jobs["queue_depth"] == 0
        local = [w for w in workers if w["lane"] == "local"]
        assert len(local) == max(1, min(4, (os.cpu_count() or 1) // 2))
        assert [w for w in workers if w["lane"] == "remote"]
        assert all(w["alive"] and w["busy"] == 0 for w in workers)
        assert "isnet-medium" in local[0]["models_loaded"]  # loaded once, at start, and kept warm
        assert not [w for w in workers if w["lane"] == "remote" and w["models_loaded"]]  # it needs none
        pids = [w["pid"] for w in workers]
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids):
        assert time.monotonic() < deadline, "engine workers outlived the server"
        time.sleep(0.1)

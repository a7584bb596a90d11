"""Runs a job runner (ENGINE_WORKERS=0: jobs inside it) in a separate process, as a second web
instance would, so a test can restart another instance beside it or kill this one mid-job.

Usage: python -m tests.services.crash_worker JOB_ID  - prints RUNNING once the job is running, then
waits; on SIGTERM it stops its runner cleanly (its job fails with a refund) and exits.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from db.models import Job
from db.session import session_scope
from pixora_ui.engine.tools import catalog
from pixora_ui.workers import runner
from tests.services.conftest import build_test_registry


async def main(job_id: str) -> None:
    registry = build_test_registry()
    catalog.get_registry = lambda: registry  # type: ignore[assignment]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await runner.start()
    while True:
        async with session_scope() as session:
            job = await session.get(Job, job_id)
            if job is not None and job.status == "running" and job.progress > 0:
                break
        await asyncio.sleep(0.05)
    print("RUNNING", flush=True)
    await stop.wait()
    await runner.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))

"""Runs the job runner in a separate process so a test can kill it mid-job (a simulated crash).

Usage: python -m tests.jobs.crash_worker JOB_ID  - prints RUNNING once the job is running, then waits.
"""

from __future__ import annotations

import asyncio
import sys


async def main(job_id: str) -> None:
    from db.models import Job
    from db.session import session_scope
    from pixora_ui.engine import tools
    from pixora_ui.services import runner
    from tests.jobs.conftest import build_test_registry

    registry = build_test_registry()
    tools.get_registry = lambda: registry  # type: ignore[assignment]
    await runner.start()
    while True:
        async with session_scope() as session:
            job = await session.get(Job, job_id)
            if job is not None and job.status == "running" and job.progress > 0:
                break
        await asyncio.sleep(0.05)
    print("RUNNING", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))

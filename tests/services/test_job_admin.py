"""`main.py admin jobs`: list, retry (as a new job) and cancel, across users."""

from __future__ import annotations

import pytest

from db.session import session_scope
from pixora_ui.cli import main
from pixora_ui.services import job_admin, jobs
from pixora_ui.workers import runner
from tests.services.conftest import make_user, upload_photo, usage_count

pytestmark = pytest.mark.usefixtures("test_registry")


async def test_list_retry_and_cancel(capsys: pytest.CaptureFixture[str]) -> None:
    user_id = await make_user(limit=5)
    photo = await upload_photo(user_id)
    async with session_scope() as session:
        failing = await jobs.submit(session, user_id=user_id, asset_id=photo, tool="t-fail")
    await runner.start()
    try:
        failed = await jobs.wait_for(failing.id, user_id=user_id, timeout=30)
    finally:
        await runner.stop()
    assert failed.status == "failed" and await usage_count(user_id) == 0

    rows = await job_admin.list_jobs(status="failed")
    assert [row.id for row in rows] == [failing.id]
    assert rows[0].error is not None and "on purpose" in rows[0].error

    again = await job_admin.retry(failing.id)  # a new job, queued and charged like any submit
    assert again.id != failing.id and again.status == "queued" and again.tool == "t-fail"
    assert await usage_count(user_id) == 1
    with pytest.raises(jobs.JobError, match="only a failed or cancelled job"):
        await job_admin.retry(again.id)

    cancelled = await job_admin.cancel(again.id)
    assert cancelled.status == "cancelled" and cancelled.credit_state == "refunded"
    assert await usage_count(user_id) == 0
    with pytest.raises(jobs.JobNotFound):
        await job_admin.cancel("0" * 32)


def test_the_command_line_lists_jobs(capsys: pytest.CaptureFixture[str]) -> None:
    def no_server(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("not a server command")

    assert main(["admin", "jobs", "list", "--status", "queued"], run_server=no_server) == 0
    assert capsys.readouterr().out.splitlines()[0].split()[:4] == ["job", "user", "tool", "status"]
    assert main(["admin", "jobs", "cancel", "f" * 32], run_server=no_server) == 1
    assert "not found" in capsys.readouterr().err

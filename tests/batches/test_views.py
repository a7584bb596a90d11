"""BatchView and Quote as plain data: overall progress, one ETA, folding job events, the quote's sentence."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pixora_ui.services.batch_views import BatchItem, BatchView, Quote
from pixora_ui.services.job_views import JobView

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def _job(job_id: str, photo: str, status: str = "queued", **fields: object) -> JobView:
    values: dict[str, object] = {
        "id": job_id,
        "user_id": 1,
        "tool": "remove-bg",
        "tool_label": "Remove background",
        "status": status,
        "progress": 0.0,
        "message": "",
        "error": None,
        "eta_seconds": 4.0,
        "queue_position": None,
        "result_asset_id": None,
        "input_asset_id": photo,
        "credit_state": "reserved",
        "provider": "local",
        "created_at": T0,
        "batch_id": "b1",
    }
    values.update(fields)
    return JobView(**values)  # type: ignore[arg-type]


def _batch(*jobs: JobView, workers: int = 1) -> BatchView:
    return BatchView(
        id="b1",
        user_id=1,
        tool="remove-bg",
        tool_label="Remove background",
        params={},
        created_at=T0,
        cancelled_at=None,
        items=tuple(BatchItem(photo_id=j.input_asset_id or "", photo_name="p.jpg", job=j) for j in jobs),
        credits_charged=sum(j.credit_state in {"reserved", "kept"} for j in jobs),
        workers=workers,
    )


def _succeeded(job_id: str, photo: str, seconds: float) -> JobView:
    return _job(
        job_id,
        photo,
        "succeeded",
        progress=1.0,
        credit_state="kept",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=seconds),
        eta_seconds=None,
        result_asset_id=f"r-{photo}",
    )


def test_progress_and_one_eta_from_the_finished_photos() -> None:
    batch = _batch(
        _succeeded("j1", "p1", 2.0),
        _job("j2", "p2", "running", progress=0.5, eta_seconds=1.0),
        _job("j3", "p3"),
        _job("j4", "p4"),
    )
    assert batch.status == "running" and not batch.done and batch.active == 3
    assert batch.progress == (1 + 0.5 + 0 + 0) / 4
    # The running photo's own ETA, then 2 s a photo as observed, on one worker.
    assert batch.eta_seconds == 1.0 + 2.0 + 2.0
    assert replace(batch, workers=2).eta_seconds == 2.5  # two photos run side by side


def test_eta_before_any_photo_finished_uses_each_jobs_estimate() -> None:
    queued = _batch(_job("j1", "p1"), _job("j2", "p2"), workers=2)
    assert queued.status == "queued" and queued.eta_seconds == (4.0 + 4.0) / 2
    unknown = _batch(_job("j1", "p1", eta_seconds=None))
    assert unknown.eta_seconds is None
    done = _batch(_succeeded("j1", "p1", 1.0))
    assert done.done and done.status == "finished" and done.eta_seconds == 0.0 and done.progress == 1.0


def test_with_job_folds_events_and_retries_and_ignores_other_batches() -> None:
    batch = _batch(_job("j1", "p1", "running", progress=0.2), _job("j2", "p2"))
    failed = _job("j2", "p2", "failed", credit_state="refunded", error="Broken. Your credit was refunded.")
    batch = batch.with_job(_job("j1", "p1", "running", progress=0.7)).with_job(failed)
    assert batch.items[0].job.progress == 0.7 and batch.failed == 1 and batch.credits_charged == 1
    retry = _job("j3", "p2", created_at=T0 + timedelta(seconds=5))
    batch = batch.with_job(retry)
    assert batch.items[1].job.id == "j3" and batch.items[1].attempts == 2 and batch.credits_charged == 2
    assert batch.with_job(replace(failed, status="failed")) is batch  # the replaced attempt: no change
    assert batch.with_job(replace(retry, batch_id="other", progress=0.9)) is batch


def test_quote_sentences() -> None:
    short = Quote(photos=3, credits_needed=3, credits_left=2, unlimited=False)
    assert not short.covered and short.fits == 2
    assert short.message == (
        "3 photos will use 3 AI edits; you have 2 left. Run it on the first 2, or upgrade to Pro for unlimited edits."
    )
    none_left = Quote(photos=3, credits_needed=3, credits_left=0, unlimited=False)
    assert none_left.fits == 0 and none_left.message.endswith("Upgrade to Pro for unlimited edits.")
    enough = Quote(photos=2, credits_needed=2, credits_left=5, unlimited=False)
    assert enough.covered and enough.fits == 2 and enough.message == "2 photos will use 2 AI edits; you have 5 left."
    pro = Quote(photos=3, credits_needed=0, credits_left=None, unlimited=True)
    assert pro.message == "3 photos; unlimited AI edits on your plan."
    free_tool = Quote(photos=1, credits_needed=0, credits_left=3, unlimited=False, charges=False)
    assert free_tool.message == "1 photo; no AI edits needed."
    unverified = Quote(photos=2, credits_needed=2, credits_left=0, unlimited=False, needs_verification=True)
    assert "Confirm your e-mail" in unverified.message

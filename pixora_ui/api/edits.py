"""/api/v1/edits and /api/v1/jobs: submit an edit (a job), follow it, cancel it.

Submitting goes through services.jobs (parameters checked against the tool registry, the credit
reserved atomically, one job per Idempotency-Key). `?wait=N` answers once the job is finished (200)
or after N seconds with its state so far (202). `/jobs/{id}/events` streams Server-Sent Events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from db.session import session_scope
from pixora_ui.api import schemas
from pixora_ui.api.auth import api_owner
from pixora_ui.api.errors import NO_STORE, ApiError, not_found
from pixora_ui.api.keys import KeyOwner
from pixora_ui.engine.tools.registry import ToolError
from pixora_ui.providers import router as providers
from pixora_ui.services import jobs
from pixora_ui.services.jobs import JobNotFound, JobView

router = APIRouter(tags=["edits and jobs"])
Owner = Annotated[KeyOwner, Depends(api_owner)]

WAIT_MAX_S = 60
KEEPALIVE_S = 15.0
_ERRORS: dict[int | str, dict[str, Any]] = {
    402: {"model": schemas.ErrorBody, "description": "No AI edits left on the plan"},
    404: {"model": schemas.ErrorBody},
    409: {"model": schemas.ErrorBody, "description": "Idempotency-Key reused for a different edit"},
    422: {"model": schemas.ErrorBody},
}


def _job_response(view: JobView, status: int) -> JSONResponse:
    body = schemas.job(view).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers={**NO_STORE, "Location": f"/api/v1/jobs/{view.id}"})


async def _check_reuse(owner_id: int, key: str, body: schemas.EditRequest) -> None:
    """An Idempotency-Key names one edit: the same key for a different edit is a mistake (409)."""
    async with session_scope() as session:
        existing = await jobs.find_by_key(session, user_id=owner_id, key=key)
    if existing is None:
        return
    same = existing.tool == body.tool and existing.input_asset_id == body.photo_id
    if same:
        with contextlib.suppress(ToolError):
            clean = jobs.registry().get(body.tool).validate(dict(body.params))
            same = all((existing.params or {}).get(name) == value for name, value in clean.items())
    if not same:
        raise ApiError(
            409,
            "idempotency_key_reused",
            "This Idempotency-Key was already used for a different edit. Use a new key for a new edit.",
        )


async def json_only(request: Request) -> None:
    """415 for a body that is not JSON (checked before the body itself is validated)."""
    kind = request.headers.get("content-type", "application/json").split(";", 1)[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "Send the edit as JSON (Content-Type: application/json).")


@router.post(
    "/edits",
    dependencies=[Depends(json_only)],
    status_code=202,
    response_model=schemas.Job,
    summary="Start an edit (a job)",
    responses={200: {"model": schemas.Job, "description": "Finished within ?wait"}, **_ERRORS},
)
async def create_edit(
    body: schemas.EditRequest,
    owner: Owner,
    idempotency_key: Annotated[
        str | None, Header(max_length=100, description="Retries with the same key return the same job")
    ] = None,
    wait: Annotated[int, Query(ge=0, le=WAIT_MAX_S, description="Seconds to wait for the result")] = 0,
) -> Response:
    """Queues the tool on one of your photos. An AI tool takes one edit from a Free account, given back
    if the job fails or is cancelled."""
    if body.tool not in jobs.registry():
        raise ApiError(400, "unknown_tool", f"There is no tool named {body.tool!r}. See GET /api/v1/tools.")
    if body.provider is not None and body.provider not in providers.configured_providers():
        raise ApiError(400, "unknown_provider", f"No provider named {body.provider!r} is configured on this server.")
    key = (idempotency_key or "").strip() or None
    if key:
        await _check_reuse(owner.user_id, key, body)
    # The credit limit (402), an unknown photo (404) and a refused tool or parameter (400, 422, 503)
    # answer through the API's PixoraError translation (api.errors).
    async with session_scope() as session:
        view = await jobs.submit(
            session,
            user_id=owner.user_id,
            asset_id=body.photo_id,
            tool=body.tool,
            params=dict(body.params),
            idempotency_key=key,
            provider=body.provider,
        )
    if wait and not view.done:
        view = await jobs.wait_for(view.id, user_id=owner.user_id, timeout=float(wait))
    return _job_response(view, 200 if view.done else 202)


async def _job(owner_id: int, job_id: str) -> JobView:
    try:
        async with session_scope() as session:
            return await jobs.get_job(session, user_id=owner_id, job_id=job_id)
    except JobNotFound:
        raise not_found("job") from None


@router.get("/jobs", response_model=schemas.JobList, summary="Your recent jobs, newest first")
async def list_jobs(owner: Owner, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> schemas.JobList:
    async with session_scope() as session:
        views = await jobs.list_recent(session, user_id=owner.user_id, limit=limit)
    return schemas.JobList(data=[schemas.job(v) for v in views])


@router.get("/jobs/{job_id}", response_model=schemas.Job, summary="A job's state", responses=_ERRORS)
async def get_job(job_id: str, owner: Owner) -> schemas.Job:
    return schemas.job(await _job(owner.user_id, job_id))


@router.post("/jobs/{job_id}/cancel", response_model=schemas.Job, summary="Cancel a job", responses=_ERRORS)
async def cancel_job(job_id: str, owner: Owner) -> schemas.Job:
    """A queued job stops at once, a running one as soon as the tool notices; its credit comes back.
    A job that already succeeded or failed cannot be cancelled (409)."""
    try:
        async with session_scope() as session:
            view = await jobs.cancel(session, user_id=owner.user_id, job_id=job_id)
    except JobNotFound:
        raise not_found("job") from None
    if view.done and view.status != "cancelled":
        raise ApiError(409, "job_finished", f"This job has already {view.status}.")
    return schemas.job(view)


def _event_name(view: JobView) -> str:
    return {"succeeded": "done", "failed": "failed", "cancelled": "cancelled"}.get(view.status, "progress")


def _sse(view: JobView, seq: int) -> bytes:
    data = json.dumps(schemas.job(view).model_dump(mode="json"), separators=(",", ":"))
    return f"id: {seq}\nevent: {_event_name(view)}\ndata: {data}\n\n".encode()


async def _events(owner_id: int, first: JobView, queue: asyncio.Queue[JobView]) -> AsyncIterator[bytes]:
    seq = 1
    yield _sse(first, seq)
    last = first
    while not last.done:
        try:
            view = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
        except TimeoutError:
            yield b": keep-alive\n\n"
            continue
        while not queue.empty() and not view.done:  # only the newest progress matters
            view = queue.get_nowait()
        seq += 1
        last = view
        yield _sse(view, seq)


@router.get(
    "/jobs/{job_id}/events",
    summary="Follow a job as Server-Sent Events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "progress … then done, failed or cancelled"}},
)
async def job_events(job_id: str, owner: Owner) -> StreamingResponse:
    """Each event's data is the job (as GET /jobs/{id}). Events: `progress` while it is queued or
    running, then one of `done`, `failed` or `cancelled`, and the stream ends."""
    queue: asyncio.Queue[JobView] = asyncio.Queue()

    def on_change(view: JobView) -> None:
        queue.put_nowait(view)

    # Subscribed before the first read, so no change between the read and the stream is missed.
    unsubscribe = jobs.subscribe(job_id, on_change)
    try:
        first = await _job(owner.user_id, job_id)
    except BaseException:
        unsubscribe()
        raise

    async def stream() -> AsyncIterator[bytes]:
        try:
            async for chunk in _events(owner.user_id, first, queue):
                yield chunk
        finally:
            unsubscribe()

    headers = {**NO_STORE, "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

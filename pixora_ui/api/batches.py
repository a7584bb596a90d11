"""/api/v1/batches: one tool over many photos in one request, a job per photo; follow, cancel, download.

The studio's path (services.batches): every job goes through services.jobs (parameters checked, the
credit reserved atomically); a batch the credits left cannot cover is refused whole (402, saying how
many photos fit: send `limit_to` to run the first ones). The download streams one ZIP.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response, StreamingResponse

from db.session import session_scope
from pixora_ui.api import schemas
from pixora_ui.api.auth import api_owner
from pixora_ui.api.edits import WAIT_MAX_S, json_only
from pixora_ui.api.errors import NO_STORE, ApiError, not_found
from pixora_ui.api.keys import KeyOwner
from pixora_ui.engine.tools.registry import ToolError
from pixora_ui.providers import router as providers
from pixora_ui.services import batch_zip, batches, jobs
from pixora_ui.services.batches import BatchView

router = APIRouter(tags=["batches"])
Owner = Annotated[KeyOwner, Depends(api_owner)]
BatchId = Annotated[str, Path(alias="id", max_length=32, description="The batch's id")]

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": schemas.ErrorBody},
}
_SUBMIT_ERRORS: dict[int | str, dict[str, Any]] = {
    402: {"model": schemas.ErrorBody, "description": "The AI edits left do not cover every photo (nothing was queued)"},
    404: {"model": schemas.ErrorBody, "description": "One of the photos was not found (nothing was queued)"},
    409: {"model": schemas.ErrorBody, "description": "Idempotency-Key reused for a different batch"},
    422: {"model": schemas.ErrorBody},
    503: {"model": schemas.ErrorBody, "description": "The tool cannot run on this server"},
}


class BatchRequest(BaseModel):
    photo_ids: list[Annotated[str, Field(max_length=32)]] = Field(
        min_length=1, max_length=batches.MAX_PHOTOS, description="The photos, in order (repeats are dropped)"
    )
    tool: str = Field(max_length=60, description="A tool name from GET /api/v1/tools")
    params: dict[str, Any] = Field(default_factory=dict, description="The tool's parameters, the same for every photo")
    provider: str | None = Field(default=None, max_length=30, description="Ask for one provider (local, imagekit…)")
    limit_to: int | None = Field(
        default=None, ge=1, description="Run on the first N photos only (when the AI edits left cover N)"
    )


class Batch(BaseModel):
    id: str
    status: str = Field(description="queued, running or finished")
    done: bool
    tool: str
    tool_label: str
    params: dict[str, Any]
    total: int = Field(description="Photos in the batch")
    succeeded: int
    failed: int
    cancelled: int
    active: int = Field(description="Photos still queued or running")
    progress: float = Field(description="0 to 1 over the whole batch")
    eta_seconds: float | None = Field(description="One estimate for the rest of the batch")
    credits_charged: int = Field(description="AI edits the batch took from the account (refunds deducted)")
    created_at: datetime
    cancelled_at: datetime | None
    jobs: list[schemas.Job] = Field(description="Each photo's newest job, in the batch's order")
    download_url: str = Field(description="The results as one ZIP (?format=png|jpeg|webp converts them)")


def batch(view: BatchView) -> Batch:
    return Batch(
        id=view.id,
        status=view.status,
        done=view.done,
        tool=view.tool,
        tool_label=view.tool_label,
        params={k: v for k, v in view.params.items() if isinstance(v, str | int | float | bool | list | dict | None)},
        total=view.total,
        succeeded=view.succeeded,
        failed=view.failed,
        cancelled=view.cancelled,
        active=view.active,
        progress=round(view.progress, 3),
        eta_seconds=view.eta_seconds,
        credits_charged=view.credits_charged,
        created_at=view.created_at,
        cancelled_at=view.cancelled_at,
        jobs=[schemas.job(item.job) for item in view.items],
        download_url=f"{schemas.PREFIX}/batches/{view.id}/download",
    )


def _response(view: BatchView, status: int) -> JSONResponse:
    body = batch(view).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers={**NO_STORE, "Location": f"/api/v1/batches/{view.id}"})


def _same_request(view: BatchView, body: BatchRequest) -> bool:
    if view.tool != body.tool:
        return False
    try:
        clean = jobs.registry().get(body.tool).validate(dict(body.params))
    except ToolError:
        return False
    asked = list(dict.fromkeys(body.photo_ids))[: body.limit_to]
    return [item.photo_id for item in view.items] == asked and all(view.params.get(k) == v for k, v in clean.items())


async def _wait(view: BatchView, owner_id: int, seconds: float) -> BatchView:
    """The batch once every photo is finished, or as it stands after `seconds`."""
    pending = [item.job.id for item in view.items if not item.job.done]
    await asyncio.gather(*(jobs.wait_for(job_id, user_id=owner_id, timeout=seconds) for job_id in pending))
    async with session_scope() as session:
        return await batches.get_batch(session, user_id=owner_id, batch_id=view.id)


@router.post(
    "/batches",
    dependencies=[Depends(json_only)],
    status_code=202,
    response_model=Batch,
    summary="Run one tool on many photos (a job per photo)",
    responses={200: {"model": Batch, "description": "Every photo finished within ?wait"}, **_SUBMIT_ERRORS},
)
async def create_batch(
    body: BatchRequest,
    owner: Owner,
    idempotency_key: Annotated[
        str | None, Header(max_length=100, description="Retries with the same key return the same batch")
    ] = None,
    wait: Annotated[int, Query(ge=0, le=WAIT_MAX_S, description="Seconds to wait for every photo")] = 0,
) -> Response:
    """Queues the tool on each photo with the same parameters. An AI tool takes one edit per photo from
    a Free account, given back for each photo that fails or is cancelled. When the edits left cannot
    cover every photo, nothing is queued (402, the message says how many fit): send `limit_to` to run
    the first ones."""
    if body.tool not in jobs.registry():
        raise ApiError(400, "unknown_tool", f"There is no tool named {body.tool!r}. See GET /api/v1/tools.")
    if body.provider is not None and body.provider not in providers.configured_providers():
        raise ApiError(400, "unknown_provider", f"No provider named {body.provider!r} is configured on this server.")
    key = (idempotency_key or "").strip() or None
    # Service errors (credits short, unknown photo, bad parameters) answer through api.errors.
    async with session_scope() as session:
        view = await batches.submit(
            session,
            user_id=owner.user_id,
            photo_ids=body.photo_ids,
            tool=body.tool,
            params=dict(body.params),
            limit_to=body.limit_to,
            idempotency_key=key,
            provider=body.provider,
        )
    if key and not _same_request(view, body):
        raise ApiError(
            409,
            "idempotency_key_reused",
            "This Idempotency-Key was already used for a different batch. Use a new key for a new batch.",
        )
    if wait and not view.done:
        view = await _wait(view, owner.user_id, float(wait))
    return _response(view, 200 if view.done else 202)


async def _batch(owner_id: int, batch_id: str) -> BatchView:
    try:
        async with session_scope() as session:
            return await batches.get_batch(session, user_id=owner_id, batch_id=batch_id)
    except batches.BatchNotFound:
        raise not_found("batch") from None


@router.get("/batches/{id}", response_model=Batch, summary="A batch's state and its jobs", responses=_ERRORS)
async def get_batch(batch_id: BatchId, owner: Owner) -> Batch:
    return batch(await _batch(owner.user_id, batch_id))


@router.post("/batches/{id}/cancel", response_model=Batch, summary="Cancel every photo still to run", responses=_ERRORS)
async def cancel_batch(batch_id: BatchId, owner: Owner) -> Batch:
    """Queued photos stop at once, running ones as soon as the tool notices; each gives its AI edit back.
    Photos already finished keep their results."""
    try:
        async with session_scope() as session:
            view = await batches.cancel_all(session, user_id=owner.user_id, batch_id=batch_id)
    except batches.BatchNotFound:
        raise not_found("batch") from None
    return batch(view)


@router.get(
    "/batches/{id}/download",
    summary="Download the results as one ZIP",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/zip": {}}, "description": "The finished photos' results, streamed"},
        400: {"model": schemas.ErrorBody},
        404: {"model": schemas.ErrorBody},
        409: {"model": schemas.ErrorBody, "description": "No photo of the batch has a result yet"},
    },
)
async def download_batch(
    batch_id: BatchId,
    owner: Owner,
    format: Annotated[
        str | None, Query(description="png, jpeg or webp (default: each result as stored)", max_length=10)
    ] = None,
) -> StreamingResponse:
    """Each succeeded photo's result, named after the photo and the tool (`beach-remove-bg.png`;
    repeated names are numbered). Photos that failed or were cancelled are left out."""
    fmt = batch_zip.parse_format(format)
    if fmt is None:
        raise ApiError(400, "bad_format", "format must be png, jpeg or webp.")
    view = await _batch(owner.user_id, batch_id)
    try:
        async with session_scope() as session:
            entries = await batch_zip.download_entries(session, user_id=owner.user_id, batch_id=batch_id, fmt=fmt)
    except batches.BatchNotFound:
        raise not_found("batch") from None
    headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{batch_zip.archive_name(view)}"'}
    return StreamingResponse(batch_zip.stream_zip(entries, fmt), media_type="application/zip", headers=headers)

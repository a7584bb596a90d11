"""/api/v1/generations: pictures from a description (text-to-image), one job and one AI edit each.

The same path as the studio's "Create with AI": each picture is a `generate` job through
services.jobs (credit reserved atomically, refunded when the provider refuses or sends nothing);
finished pictures are new photos in the library, named "Created from: <prompt>".
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from db.session import session_scope
from pixora_ui.api import schemas
from pixora_ui.api.auth import api_owner
from pixora_ui.api.edits import WAIT_MAX_S, json_only
from pixora_ui.api.errors import NO_STORE, ApiError
from pixora_ui.api.keys import KeyOwner
from pixora_ui.engine.tools.create_options import MAX_COUNT
from pixora_ui.services import create, jobs
from pixora_ui.services.jobs import JobView

router = APIRouter(tags=["generations"])
Owner = Annotated[KeyOwner, Depends(api_owner)]
GENERATE_TOOL = "generate"


class GenerationRequest(BaseModel):
    prompt: str = Field(min_length=1, max_length=1000, description="What to draw")
    aspect: Literal["1:1", "4:3", "3:4", "16:9", "9:16"] = Field(default="1:1", description="The picture's shape")
    count: int = Field(default=1, ge=1, le=MAX_COUNT, description=f"How many pictures, 1 to {MAX_COUNT}")


_ERRORS: dict[int | str, dict[str, Any]] = {
    402: {"model": schemas.ErrorBody, "description": "No AI edits left on the plan"},
    503: {"model": schemas.ErrorBody, "description": "No generative provider is configured on this server"},
}


@router.post(
    "/generations",
    dependencies=[Depends(json_only)],
    status_code=202,
    response_model=schemas.JobList,
    summary="Create pictures from a description",
    responses={200: {"model": schemas.JobList, "description": "All finished within ?wait"}, **_ERRORS},
)
async def create_generation(
    body: GenerationRequest,
    owner: Owner,
    idempotency_key: Annotated[
        str | None, Header(max_length=90, description="Retries with the same key return the same jobs")
    ] = None,
    wait: Annotated[int, Query(ge=0, le=WAIT_MAX_S, description="Seconds to wait for the pictures")] = 0,
) -> Response:
    """One job per picture, each taking one AI edit from a Free account (given back if the provider
    refuses). With fewer edits left than pictures asked, the pictures that fit are queued; with none
    left, 402. Each finished job's `result_photo_id` is the new photo."""
    if not " ".join(body.prompt.split()):
        raise ApiError(422, "invalid_params", "Describe the picture to create.")
    if GENERATE_TOOL not in jobs.registry() or create.generate_provider() is None:
        raise ApiError(503, "tool_unavailable", "Creating pictures needs a generative provider on this server.")
    key = (idempotency_key or "").strip() or None
    # The studio's own path: one job per picture, the pictures that fit the edits left.
    # No edit left (402) and a refused prompt (400) answer through the API's PixoraError translation.
    states = await create.submit_generation(
        owner.user_id, prompt=body.prompt, aspect=body.aspect, count=body.count, idempotency_key=key
    )
    async with session_scope() as session:
        views = [await jobs.get_job(session, user_id=owner.user_id, job_id=state.id) for state in states]
    if wait:
        views = list(await asyncio.gather(*(_finished(v, owner.user_id, float(wait)) for v in views)))
    status = 200 if all(v.done for v in views) else 202
    body_out = schemas.JobList(data=[schemas.job(v) for v in views]).model_dump(mode="json")
    return JSONResponse(body_out, status_code=status, headers=NO_STORE)


async def _finished(view: JobView, owner_id: int, wait_s: float) -> JobView:
    """The job once finished, or as it stands after `wait_s` seconds."""
    return view if view.done else await jobs.wait_for(view.id, user_id=owner_id, timeout=wait_s)

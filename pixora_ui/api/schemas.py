"""The public API's JSON bodies (pydantic models: they validate requests and document responses)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from pixora_ui.services.assets import AssetView
from pixora_ui.services.jobs import JobView
from pixora_ui.services.plans import Usage

PREFIX = "/api/v1"


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable code for programs, e.g. not_found, invalid_api_key, rate_limited")
    message: str = Field(description="A sentence that is safe to show to people")


class ErrorBody(BaseModel):
    error: ErrorDetail


class Photo(BaseModel):
    id: str
    name: str
    mime: str
    size: int = Field(description="Bytes of the stored file")
    width: int
    height: int
    sha256: str
    created_at: datetime
    original_id: str = Field(description="The upload this photo descends from (its own id for an upload)")
    parent_id: str | None = Field(description="The photo this edit was made from (null for an upload)")
    tool: str | None = Field(description="The tool that made this version (null for an upload)")
    file_url: str


class PhotoSummary(Photo):
    versions: int = Field(description="Edits made from this upload")
    latest: Photo = Field(description="The newest version (the upload itself when there are no edits)")


class PhotoPage(BaseModel):
    data: list[PhotoSummary]
    limit: int
    offset: int
    has_more: bool


class VersionList(BaseModel):
    data: list[Photo]


class EditRequest(BaseModel):
    photo_id: str = Field(max_length=32, description="The photo to edit")
    tool: str = Field(max_length=60, description="A tool name from GET /api/v1/tools")
    params: dict[str, Any] = Field(default_factory=dict, description="The tool's parameters; defaults fill the rest")
    provider: str | None = Field(default=None, max_length=30, description="Ask for one provider (local, imagekit…)")


class Job(BaseModel):
    id: str
    status: str = Field(description="queued, running, succeeded, failed or cancelled")
    done: bool
    tool: str
    tool_label: str
    provider: str
    progress: float = Field(description="0 to 1")
    message: str
    error: str | None
    retryable: bool | None = Field(
        description="A failed job: true when the same request can work if sent again (a timeout, a busy or "
        "unreachable AI service, a server restart), false when it would fail the same way (the photo or the "
        "parameters: the error says why); null for a job that did not fail"
    )
    eta_seconds: float | None
    queue_position: int | None
    photo_id: str | None = Field(description="The photo that was edited")
    result_photo_id: str | None = Field(description="The new version, once the job succeeded")
    result_url: str | None = Field(description="Download address of the result")
    credits_charged: int = Field(description="AI edits this job took from the account (0 or 1)")
    params: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobList(BaseModel):
    data: list[Job]


class ToolParam(BaseModel):
    name: str
    label: str
    type: str = Field(description="choice, int, float, bool, color, text or image (a photo id)")
    default: Any
    required: bool
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: list[str] | None = None
    max_length: int | None = None
    help: str = ""


class ToolProvider(BaseModel):
    name: str
    label: str
    available: bool
    reason: str


class ToolInfo(BaseModel):
    name: str
    label: str
    group: str
    description: str
    credit_cost: int = Field(description="AI edits one run takes from a Free account (paid plans: unlimited)")
    available: bool
    reason: str
    params: list[ToolParam]
    providers: list[ToolProvider]


class ToolList(BaseModel):
    data: list[ToolInfo]


class UsageInfo(BaseModel):
    plan: str
    used: int
    limit: int | None = Field(description="null: unlimited")
    remaining: int | None = Field(description="null: unlimited")
    team_id: int | None


def file_url(asset_id: str) -> str:
    return f"{PREFIX}/photos/{asset_id}/file"


def photo(view: AssetView) -> Photo:
    return Photo(
        id=view.id,
        name=view.name,
        mime=view.mime,
        size=view.size,
        width=view.width,
        height=view.height,
        sha256=view.sha256,
        created_at=view.created_at,
        original_id=view.root_id,
        parent_id=view.parent_id,
        tool=view.tool,
        file_url=file_url(view.id),
    )


def job(view: JobView) -> Job:
    return Job(
        id=view.id,
        status=view.status,
        done=view.done,
        tool=view.tool,
        tool_label=view.tool_label,
        provider=view.provider,
        progress=round(view.progress, 3),
        message=view.message,
        error=view.error,
        retryable=view.retryable if view.status == "failed" else None,
        eta_seconds=view.eta_seconds,
        queue_position=view.queue_position,
        photo_id=view.input_asset_id,
        result_photo_id=view.result_asset_id,
        result_url=file_url(view.result_asset_id) if view.result_asset_id else None,
        credits_charged=1 if view.credit_state in {"reserved", "kept"} else 0,
        params={k: v for k, v in (view.params or {}).items() if _jsonable(v)},
        created_at=view.created_at,
        started_at=view.started_at,
        finished_at=view.finished_at,
    )


def usage_info(current: Usage, team_id: int | None) -> UsageInfo:
    return UsageInfo(
        plan=current.plan, used=current.used, limit=current.limit, remaining=current.remaining, team_id=team_id
    )


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | list | dict)

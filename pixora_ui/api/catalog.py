"""/api/v1/tools (every tool with its parameters, cost and providers) and /api/v1/usage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select

from db.models import User
from db.session import session_scope
from pixora_ui.api import schemas
from pixora_ui.api.auth import api_owner
from pixora_ui.api.keys import KeyOwner
from pixora_ui.engine.tools.registry import Param, Tool
from pixora_ui.providers import router as providers
from pixora_ui.services import jobs, usage

router = APIRouter(tags=["account and tools"])
Owner = Annotated[KeyOwner, Depends(api_owner)]


def _param(param: Param) -> schemas.ToolParam:
    numeric = param.kind in {"int", "float"}
    return schemas.ToolParam(
        name=param.name,
        label=param.label,
        type=param.kind,
        default=param.default,
        required=param.required,
        min=param.min if numeric else None,
        max=param.max if numeric else None,
        step=param.step if numeric else None,
        choices=list(param.choices) if param.kind == "choice" else None,
        max_length=param.max_length if param.kind == "text" else None,
        help=param.help,
    )


def tool_info(tool: Tool) -> schemas.ToolInfo:
    choices = providers.choices_for(tool.name)
    available = any(choice.available for choice in choices)
    reasons = "; ".join(dict.fromkeys(c.reason for c in choices if c.reason and not c.available))
    return schemas.ToolInfo(
        name=tool.name,
        label=tool.label,
        group=tool.group,
        description=tool.description,
        credit_cost=1 if tool.costs_credit else 0,
        available=available,
        reason="" if available else (reasons or "No provider on this server can run this tool."),
        params=[_param(p) for p in tool.params],
        providers=[
            schemas.ToolProvider(name=c.name, label=c.label, available=c.available, reason=c.reason) for c in choices
        ],
    )


@router.get("/tools", response_model=schemas.ToolList, summary="Every tool, its parameters, cost and providers")
async def list_tools(_owner: Owner) -> schemas.ToolList:
    return schemas.ToolList(data=[tool_info(tool) for tool in jobs.registry().all()])


@router.get("/usage", response_model=schemas.UsageInfo, summary="Your plan and AI edits used")
async def get_usage(owner: Owner) -> schemas.UsageInfo:
    async with session_scope() as session:
        current = await usage.get_usage(session, user_id=owner.user_id)
        team_id = await session.scalar(select(User.team_id).where(User.id == owner.user_id))
    return schemas.usage_info(current, team_id)

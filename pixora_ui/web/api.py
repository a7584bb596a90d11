"""The JSON API: the seed's /api/usage and /api/gemini/edit, plus job status, submit and masks.

    GET  /api/usage               200 {plan, used, limit, remaining} (null limit/remaining: unlimited)
                                  401 signed out; 403 {error: "limit_reached", upgrade_url} when a Free
                                  user has no AI edits left (the studio opens the upgrade dialog)
    POST /api/gemini/edit         {image: base64 or data URL, prompt} -> {image: base64, mimeType, jobId}
                                  through the same job and credit rules; 400 bad image or prompt, 401,
                                  403 at the limit, 413 too large, 503 when no generative provider is
                                  configured, 502 when the provider failed (credit refunded), 504 when
                                  it is still running after the wait (poll /api/jobs/{jobId})
    POST /api/jobs                {asset_id, tool, params?, idempotency_key?, provider?} -> job (202)
    GET  /api/jobs/{id}           the job's status to its owner; 404 for anyone else
    POST /api/jobs/{id}/cancel    cancel one of your jobs
    POST /api/assets/{id}/mask    PNG body (or {"image": data URL}) -> {id}: an erase mask for a photo

State-changing routes check the request's Origin (web.csrf.check_origin).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import Depends, FastAPI, Request
from starlette.responses import JSONResponse, Response

from db.session import session_scope
from pixora_ui.auth.current import current_user
from pixora_ui.auth.sessions import SESSION_COOKIE
from pixora_ui.engine.ops.imageio import ImageInputError
from pixora_ui.engine.tools.registry import ToolError
from pixora_ui.errors import PixoraError
from pixora_ui.providers import router
from pixora_ui.services import assets, jobs, usage
from pixora_ui.services.assets import AssetNotFound, QuotaExceeded
from pixora_ui.services.jobs import JobNotFound, JobView, LimitReached
from pixora_ui.services.plans import Usage
from pixora_ui.settings import get_settings
from pixora_ui.web import fastlane
from pixora_ui.web.csrf import check_origin
from pixora_ui.web.edge import contains_nul
from pixora_ui.web.responses import BodyTooLarge, error_from, json_error, json_response, read_capped

log = logging.getLogger("pixora.web")

UPGRADE_URL = "/billing"
PROMPT_MAX = 1000
PHOTO_NAME_MAX = 60
_DATA_URL = re.compile(r"^data:(image/[a-z0-9.+-]+)?(;[a-z0-9=-]+)*;base64,", re.IGNORECASE)
_GEMINI_WAIT_EXTRA_S = 15.0


def _unauthorized() -> JSONResponse:
    return json_error(401, "unauthorized", "Sign in first")


def _limit_body(current: Usage) -> dict[str, Any]:
    return {
        "error": "limit_reached",
        "message": usage.LIMIT_MESSAGE,
        "upgrade_url": UPGRADE_URL,
        "plan": current.plan,
        "used": current.used,
        "limit": current.limit,
        "remaining": 0,
    }


def job_json(view: JobView) -> dict[str, Any]:
    body = dataclasses.asdict(view)
    body.pop("params", None)
    for key, value in body.items():
        if isinstance(value, datetime):
            body[key] = value.isoformat()
    body["done"] = view.done
    body["result_url"] = f"/media/{view.result_asset_id}" if view.result_asset_id else None
    return body


async def _user(request: Request) -> Any:
    return await current_user(request)


async def session_user(request: Request) -> tuple[int, Usage] | None:
    """(user id, usage) of the signed-in user, from the short session cache when it has them.

    The cache is dropped at once on sign-out, credit changes and account changes in this process
    (services.usage), so it answers exactly what a fresh lookup would.
    """
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    if not get_settings().free_monthly_reset:
        cached = usage.cached_session_usage(token)
        if cached is not None:
            return cached
    user = await _user(request)
    if user is None:
        return None
    current: Usage = user.usage
    if get_settings().free_monthly_reset:
        async with session_scope() as session:
            current = await usage.get_usage(session, user_id=user.id)
    usage.remember_session_usage(token, user.id, current)
    return user.id, current


async def _origin(request: Request) -> None:
    await check_origin(request)


# --- /api/usage ---------------------------------------------------------------------------------------


async def api_usage(request: Request) -> Response:
    found = await session_user(request)
    if found is None:
        return _unauthorized()
    current = found[1]
    if current.exhausted:
        return json_response(_limit_body(current), 403)
    return json_response(
        {"plan": current.plan, "used": current.used, "limit": current.limit, "remaining": current.remaining}
    )


# --- jobs ---------------------------------------------------------------------------------------------


_INLINE_JSON_BYTES = 64 * 1024


async def _read_json(request: Request, max_bytes: int) -> tuple[Any, JSONResponse | None]:
    try:
        body = await read_capped(request, max_bytes)
    except BodyTooLarge:
        return None, json_error(413, "too_large", f"The request is larger than {max_bytes // (1024 * 1024)} MB.")
    try:
        # A body of many MB (a base64 photo) takes a while to parse: keep it off the event loop.
        parsed = json.loads(body) if len(body) < _INLINE_JSON_BYTES else await asyncio.to_thread(json.loads, body)
    except (ValueError, UnicodeDecodeError):
        return None, json_error(400, "bad_json", "The request body must be JSON.")
    # PostgreSQL refuses NUL in text (a 500 deep inside); no field of ours can mean one.
    if contains_nul(parsed):
        return None, json_error(400, "bad_request", "The request contains a character that is not allowed.")
    return parsed, None


def _submit_error(exc: PixoraError, current: Usage) -> JSONResponse:
    if isinstance(exc, LimitReached):  # the studio reads the usage figures to open the upgrade dialog
        return json_response({**_limit_body(current), "message": exc.message}, 403)
    return error_from(exc)


async def api_submit(request: Request) -> Response:
    found = await session_user(request)
    if found is None:
        return _unauthorized()
    user_id, current = found
    body, problem = await _read_json(request, 256 * 1024)
    if problem is not None:
        return problem
    if not isinstance(body, dict) or not isinstance(body.get("asset_id"), str) or not isinstance(body.get("tool"), str):
        return json_error(400, "bad_request", "asset_id and tool are required.")
    params = body.get("params") or {}
    if not isinstance(params, dict):
        return json_error(400, "bad_request", "params must be an object.")
    key = body.get("idempotency_key") or request.headers.get("idempotency-key")
    provider = body.get("provider")
    try:
        async with session_scope() as session:
            view = await jobs.submit(
                session,
                user_id=user_id,
                asset_id=body["asset_id"],
                tool=body["tool"],
                params=params,
                idempotency_key=str(key) if key else None,
                provider=str(provider) if provider else None,
            )
    except (LimitReached, AssetNotFound, ToolError) as exc:
        return _submit_error(exc, current)
    return json_response(job_json(view), 202)


async def _job_route(request: Request, job_id: str, action: Callable[..., Awaitable[JobView]]) -> Response:
    """The signed-in user's job through `action(session, user_id=..., job_id=...)`, as JSON."""
    found = await session_user(request)
    if found is None:
        return _unauthorized()
    user_id, _usage = found
    try:
        async with session_scope() as session:
            view = await action(session, user_id=user_id, job_id=job_id)
    except JobNotFound:
        return json_error(404, "not_found", "That job was not found.")
    return json_response(job_json(view))


async def api_job(request: Request, job_id: str) -> Response:
    return await _job_route(request, job_id, jobs.get_job)


async def api_cancel(request: Request, job_id: str) -> Response:
    return await _job_route(request, job_id, jobs.cancel)


# --- masks --------------------------------------------------------------------------------------------


def _decode_base64_image(raw: str) -> bytes | None:
    text = raw.strip()
    match = _DATA_URL.match(text)
    if match:
        text = text[match.end() :]
    elif text.startswith("data:"):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        try:  # browsers and SDKs sometimes send URL-safe base64 or drop the padding
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            return None


async def api_mask(request: Request, asset_id: str) -> Response:
    user = await _user(request)
    if user is None:
        return _unauthorized()
    limit = get_settings().max_upload_bytes
    if request.headers.get("content-type", "").startswith("application/json"):
        body, problem = await _read_json(request, limit * 4 // 3 + 4096)
        if problem is not None:
            return problem
        raw_image = body.get("image") if isinstance(body, dict) else None
        if not isinstance(raw_image, str):
            return json_error(400, "bad_image", "Send the mask as base64 text or as a data URL of a PNG.")
        data = await asyncio.to_thread(_decode_base64_image, raw_image)
    else:
        try:
            data = await read_capped(request, limit)
        except BodyTooLarge:
            return json_error(413, "too_large", "The mask is too large.")
    if not data:
        return json_error(400, "bad_image", "Send the mask as a PNG.")
    try:
        async with session_scope() as session:
            view = await assets.create_mask_asset(session, owner_id=user.id, for_asset_id=asset_id, data=data)
    except AssetNotFound:
        return json_error(404, "not_found", "That photo was not found.")
    except ImageInputError as exc:
        return json_error(400, "bad_image", str(exc))
    return json_response({"id": view.id, "width": view.width, "height": view.height}, 201)


# --- /api/gemini/edit ---------------------------------------------------------------------------------


def _generative_provider(tool: str, params: dict[str, Any]) -> str | None:
    """The first available remote provider for `tool` (Gemini, ImageKit), in the router's order."""
    for choice in router.choices_for(tool, params):
        provider = router.configured_providers().get(choice.name)
        if provider is not None and provider.remote and choice.available:
            return choice.name
    return None


def photo_name(prompt: str) -> str:
    """The library name of a photo sent for a prompt edit: the prompt, shortened at a word, so a
    library of such photos is not a list of identical names."""
    text = " ".join(prompt.replace("/", " ").replace("\\", " ").split())  # a name, never a path
    if len(text) > PHOTO_NAME_MAX:
        text = text[: PHOTO_NAME_MAX - 1].rsplit(" ", 1)[0].rstrip(",.;:") + "…"
    return text[:1].upper() + text[1:]


async def api_gemini_edit(request: Request) -> Response:
    user = await _user(request)
    if user is None:
        return _unauthorized()
    settings = get_settings()
    limit = settings.max_upload_bytes
    body, problem = await _read_json(request, limit * 4 // 3 + 64 * 1024)
    if problem is not None:
        return problem
    if not isinstance(body, dict):
        return json_error(400, "bad_request", "Send JSON with image and prompt.")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return json_error(400, "bad_prompt", "Describe the edit you want in the prompt.")
    if len(prompt) > PROMPT_MAX:
        return json_error(400, "bad_prompt", f"The prompt is longer than {PROMPT_MAX} characters.")
    raw_image = body.get("image")
    data = await asyncio.to_thread(_decode_base64_image, raw_image) if isinstance(raw_image, str) else None
    if not data:
        return json_error(400, "bad_image", "Send the photo as base64 text or as a data URL.")
    if len(data) > limit:
        return json_error(413, "too_large", f"The image is larger than the {settings.max_upload_mb} MB limit.")
    if user.usage.exhausted and not settings.free_monthly_reset:
        return json_response(_limit_body(user.usage), 403)
    provider = _generative_provider("prompt", {"prompt": prompt.strip()})
    if provider is None:
        log.info("prompt edit refused: no generative provider (set GEMINI_API_KEY or the ImageKit keys)")
        return json_error(
            503,
            "no_provider",
            "Prompt edits need a generative AI service, and none is connected to this server. "
            "Ask the person who runs it to connect Gemini or ImageKit.",
        )
    # A retry with the client's Idempotency-Key is the same job (no second upload, no second credit);
    # without one, every request is a new edit (a generative model may answer differently each time).
    key = (request.headers.get("idempotency-key") or "").strip()[:90] or None
    try:
        async with session_scope() as session:
            existing = await jobs.find_by_key(session, user_id=user.id, key=key) if key else None
            if existing is None:
                asset = await assets.upload(session, owner_id=user.id, data=data, filename=photo_name(prompt))
                asset_id = asset.id
            else:
                asset_id = existing.input_asset_id or ""
            view = await jobs.submit(
                session,
                user_id=user.id,
                asset_id=asset_id,
                tool="prompt",
                params={"prompt": prompt.strip()},
                idempotency_key=key,
                provider=provider,
            )
    except ImageInputError as exc:
        # This route predates the image-input codes: it answers bad_image (400) or too_large (413).
        return json_error(exc.status, "bad_image" if exc.status == 400 else "too_large", exc.message)
    except (QuotaExceeded, LimitReached, AssetNotFound, ToolError) as exc:
        return _submit_error(exc, user.usage)

    done = await jobs.wait_for(view.id, user_id=user.id, timeout=settings.gemini_timeout_s + _GEMINI_WAIT_EXTRA_S)
    if not done.done:
        return json_error(504, "still_running", "The edit is taking longer than expected.", jobId=done.id)
    if done.status != "succeeded" or not done.result_asset_id:
        return json_error(502, "edit_failed", done.error or "The edit was cancelled.", jobId=done.id)
    async with session_scope() as session:
        result = await assets.get_asset(session, owner_id=user.id, asset_id=done.result_asset_id)
    image = await assets.read_bytes(result)
    encoded = await asyncio.to_thread(lambda: base64.b64encode(image).decode())
    return json_response({"image": encoded, "mimeType": result.mime, "jobId": done.id})


def register(app: FastAPI) -> None:
    fastlane.install(app)
    csrf = [Depends(_origin)]
    app.add_api_route("/api/usage", api_usage, methods=["GET"], include_in_schema=False)
    app.add_api_route("/api/gemini/edit", api_gemini_edit, methods=["POST"], dependencies=csrf, include_in_schema=False)
    app.add_api_route("/api/jobs", api_submit, methods=["POST"], dependencies=csrf, include_in_schema=False)
    app.add_api_route("/api/jobs/{job_id}", api_job, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        "/api/jobs/{job_id}/cancel", api_cancel, methods=["POST"], dependencies=csrf, include_in_schema=False
    )
    app.add_api_route(
        "/api/assets/{asset_id}/mask", api_mask, methods=["POST"], dependencies=csrf, include_in_schema=False
    )

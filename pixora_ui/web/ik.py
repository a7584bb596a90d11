"""Transformation URLs in ImageKit's syntax: `/ik/{photo_id}/{any-name}.{ext}?tr=…` and `/ik/tr:…/{photo_id}/…`.

Who may open one: anyone, for a public photo (plain transformations); otherwise the URL must carry a
valid, unexpired signature (`ik-t`, `ik-s`: services in transform.signing). AI effects always need a
signature, so that nobody but the owner's links can spend the owner's credits. A bad transformation
answers 400 naming the step; a missing or bad signature 401, the same whether or not the photo
exists; a signed link to a photo that is gone 404. Results carry a strong ETag and a long
Cache-Control, so a CDN can sit in front; `If-None-Match` answers 304. While an AI effect is still
running the answer is 202 with `Retry-After` (and ImageKit's `is-intermediate-response: true`).
"""

from __future__ import annotations

import asyncio
import os
import time
from urllib.parse import unquote

from fastapi import FastAPI, Request
from starlette.responses import FileResponse, JSONResponse, Response

from pixora_ui.services import transforms
from pixora_ui.services.assets import AssetView
from pixora_ui.transform import signing
from pixora_ui.transform.syntax import Plan, TransformError, parse_all
from pixora_ui.web.media import lookup_asset

LONG_CACHE = "public, max-age=31536000, immutable"
LARGE_BODY = 4 * 1024 * 1024
_PLAN_CACHE_MAX = 2048
_plans: dict[str, Plan] = {}


def error(status: int, code: str, message: str, **extra: str) -> JSONResponse:
    body = {"error": {"code": code, "message": message, **extra}}
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _plan(path_tr: str | None, query_tr: str | None) -> Plan:
    text = f"{path_tr or ''}\x1f{query_tr or ''}"
    plan = _plans.get(text)
    if plan is None:
        plan = parse_all(path_tr, query_tr)
        if len(_plans) >= _PLAN_CACHE_MAX:
            _plans.clear()
        _plans[text] = plan
    return plan


def _split_path(rest: str) -> tuple[str | None, str]:
    """`tr:w-400/ID/name.jpg` -> ("w-400", "ID"); `ID/name.jpg` -> (None, "ID")."""
    parts = rest.split("/")
    path_tr = None
    if parts and parts[0].startswith("tr:"):
        path_tr = parts.pop(0)[3:]
    return path_tr, (parts[0] if parts else "")


def _etag_matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    return header.strip() == "*" or etag in [part.strip().removeprefix("W/") for part in header.split(",")]


async def _lookup(photo_id: str) -> AssetView | None:
    return await lookup_asset(photo_id)


async def serve(request: Request, rest: str) -> Response:
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    raw = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else str(raw_path)
    path_tr, photo_id = _split_path(unquote(raw[len(signing.PREFIX) :]) if raw.startswith(signing.PREFIX) else rest)
    query = request.query_params
    try:
        plan = _plan(path_tr, query.get("tr"))
    except TransformError as exc:
        return error(400, "bad_transformation", exc.reason + f': "{exc.step}"', step=exc.step)

    signed_until: int | None = None
    if "ik-s" in query or "ik-t" in query:
        relative = signing.relative_of(raw, request.scope.get("query_string", b"").decode("latin-1"))
        if not signing.verify(relative, query.get("ik-t"), query.get("ik-s")):
            return error(401, "bad_signature", "The link's signature is wrong or has expired.")
        signed_until = int(query["ik-t"])
    view = await _lookup(photo_id) if 0 < len(photo_id) <= 32 else None
    if signed_until is None:
        if view is None or not view.public:
            return error(401, "signature_required", "This link needs a signature (ik-t and ik-s).")
        if plan.ai:
            return error(401, "signature_required", "AI effects need a signed link, even for a public photo.")
    if view is None:
        return error(404, "not_found", "That photo was not found.")

    accepts_webp = plan.format == "auto" and "image/webp" in request.headers.get("accept", "")
    outcome = await transforms.transform(view, plan, accepts_webp=accepts_webp)
    if outcome.pending:
        return JSONResponse(
            {"status": "processing", "message": "The image is being prepared. Try again in a few seconds."},
            status_code=202,
            headers={
                "Retry-After": str(transforms.RETRY_AFTER_S),
                "Cache-Control": "no-store",
                "is-intermediate-response": "true",
            },
        )
    if outcome.entry is None or outcome.data is None:
        return error(outcome.status, outcome.code, outcome.message)
    entry = outcome.entry
    if signed_until is None:
        cache_control = LONG_CACHE
    else:
        cache_control = f"public, max-age={max(0, min(31536000, signed_until - int(time.time())))}"
    headers = {
        "ETag": entry.etag,
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
        "Access-Control-Allow-Origin": "*",
    }
    if plan.format == "auto":
        headers["Vary"] = "Accept"
    if _etag_matches(request, entry.etag):
        return Response(status_code=304, headers=headers)
    if len(outcome.data) > LARGE_BODY:
        # Streamed from the cache file in chunks: a big body does not hold up other requests.
        try:
            stat = await asyncio.to_thread(os.stat, entry.path)
            return FileResponse(entry.path, headers=headers, media_type=entry.mime, stat_result=stat)
        except FileNotFoundError:
            pass  # evicted meanwhile: send the bytes we hold
    return Response(outcome.data, media_type=entry.mime, headers=headers)


def register(app: FastAPI) -> None:
    app.add_api_route("/ik/{rest:path}", serve, methods=["GET", "HEAD"], include_in_schema=False)

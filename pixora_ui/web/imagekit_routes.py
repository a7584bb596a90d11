"""`GET /api/upload-auth`: one-time credentials for a browser to upload straight to ImageKit.

Answers `{token, expire, signature, publicKey, urlEndpoint}` (signature = hmac-sha1 of token+expire
with the private key, computed by the SDK; the private key itself never leaves the server) to a
signed-in user, 401 JSON to anyone else, 503 JSON while ImageKit is not configured. The studio
itself uploads server-side either way.
"""

from __future__ import annotations

import time
import uuid

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse

from pixora_ui.auth.current import current_user
from pixora_ui.settings import get_settings
from pixora_ui.storage.imagekit import sync_client, user_folder
from pixora_ui.web.responses import NO_STORE, json_error

# ImageKit refuses an expire more than an hour ahead; ten minutes is plenty to start an upload.
UPLOAD_AUTH_TTL_S = 600


async def upload_auth(request: Request) -> JSONResponse:
    settings = get_settings()
    user = await current_user(request)
    if user is None:
        return json_error(401, "unauthorized", "Sign in first")
    if not settings.imagekit_enabled:
        return json_error(503, "imagekit_off", "Direct uploads are not available on this server.")
    auth = sync_client(settings).helper.get_authentication_parameters(
        token=str(uuid.uuid4()), expire=int(time.time()) + UPLOAD_AUTH_TTL_S
    )
    body = {
        "token": auth["token"],
        "expire": auth["expire"],
        "signature": auth["signature"],
        "publicKey": settings.imagekit_public_key,
        "urlEndpoint": settings.imagekit_url_endpoint,
        "folder": user_folder(user.id),
    }
    return JSONResponse(body, headers=NO_STORE)


def register(app: FastAPI) -> None:
    app.add_api_route("/api/upload-auth", upload_auth, methods=["GET"], include_in_schema=False)

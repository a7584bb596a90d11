"""Caps the request body of NiceGUI's upload route before it spools the multipart form to disk.

NiceGUI's `POST /_nicegui/client/<id>/upload/<id>` reads the whole body before any of our handlers see
a file, so the per-file size check in the upload zone comes too late to protect the disk. This pure ASGI
middleware refuses a declared Content-Length over the cap at once (413, body unread) and counts the
bytes of a chunked body, aborting with 413 as soon as they pass the cap.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pixora_ui.settings import get_settings

# The upload zone accepts at most this many files per request (components/upload_zone.py `max_files`).
UPLOAD_MAX_FILES = 20
# Multipart framing (boundaries, part headers) on top of the files themselves.
UPLOAD_SLACK_BYTES = 1024 * 1024

_UPLOAD_PATH = re.compile(r"^/_nicegui/client/[^/]+/upload/[^/]+/?$")


def upload_body_limit() -> int:
    return get_settings().max_upload_bytes * UPLOAD_MAX_FILES + UPLOAD_SLACK_BYTES


class _BodyTooLarge(Exception):
    pass


async def _refuse(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not _UPLOAD_PATH.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes if self.max_bytes is not None else upload_body_limit()
        too_large = f"The upload is too large (at most {limit // (1024 * 1024)} MB per request)."
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _refuse(send, 400, "Invalid Content-Length.")
                    return
                if declared > limit:
                    await _refuse(send, 413, too_large)
                    return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if response_started:  # cannot happen for the upload route (it answers after the whole form)
                raise
            await _refuse(send, 413, too_large)

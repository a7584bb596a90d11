"""ImageKit's text-to-image for `generate`: a URL, no upload.

`{endpoint}/ik-genimg-prompte-<base64 prompt>/<folder>/<name>.jpg` (the path form: ImageKit accepts this
prefix nowhere else) asks ImageKit to draw the prompt and store the result at that path; a resize step
(`w-…,h-…`, ImageKit's default crop fills the box) gives the shape asked. The URL is signed like the
provider's other delivery URLs and polled through ImageKit's "being prepared" answers the same way.
"""

from __future__ import annotations

import asyncio
import base64
import time
import urllib.parse
import uuid
from typing import TYPE_CHECKING

from pixora_ui.engine.tools.create import aspect_size
from pixora_ui.engine.tools.create_options import ASPECTS
from pixora_ui.engine.tools.registry import ToolError, ToolResult, TransientToolError
from pixora_ui.providers.base import ProviderRequest
from pixora_ui.providers.imaging import decode_image, prompt_of
from pixora_ui.storage.imagekit import sync_client, user_folder

if TYPE_CHECKING:
    from pixora_ui.providers.imagekit import ImageKitProvider

LONG_SIDE = 1024


def ik_prompt(text: str) -> str:
    """The base64 prompt form ("prompte-…"): the SDK does not URL-encode raw prompts."""
    return "prompte-" + urllib.parse.quote(base64.b64encode(text.encode()).decode(), safe="")


def genimg_src(prompt: str, owner_id: int | None) -> str:
    """The path that makes ImageKit draw `prompt` (a fresh name each time, so nothing cached is served)."""
    folder = user_folder(owner_id, "created")
    return f"/ik-genimg-{ik_prompt(prompt)}/{folder.strip('/')}/{uuid.uuid4().hex}.jpg"


async def generate(provider: ImageKitProvider, request: ProviderRequest) -> ToolResult:
    settings = provider.settings
    text = prompt_of(request.params)
    if not text:
        raise ToolError("Describe the picture you want, for example “a red bicycle on a beach”.")
    aspect = str(request.params.get("aspect") or "1:1")
    if aspect not in ASPECTS:
        raise ToolError(f"Choose one of the shapes {', '.join(ASPECTS)}.")
    width, height = aspect_size(aspect, LONG_SIDE)
    url = sync_client(settings).helper.build_url(
        url_endpoint=settings.imagekit_url_endpoint,
        src=genimg_src(text, request.user_id),
        transformation=[{"raw": f"w-{width},h-{height}"}],
        signed=True,
        expires_in=int(settings.imagekit_timeout_s) + 600,
    )
    deadline = time.monotonic() + settings.imagekit_timeout_s
    request.progress(0.05, "ImageKit is drawing the picture")
    try:
        async with asyncio.timeout(settings.imagekit_timeout_s):
            data = await provider.wait_for_result(url, request, deadline)
    except TimeoutError as exc:
        raise TransientToolError(
            f"ImageKit did not finish within {settings.imagekit_timeout_s:g} seconds. Try again in a few minutes."
        ) from exc
    image = await asyncio.to_thread(decode_image, data)
    return ToolResult(
        image=image,
        summary=f"ImageKit created: {text}",
        format_hint="png" if image.shape[2] == 4 else None,
        extras={"provider": provider.name, "transformation": f"ik-genimg,w-{width},h-{height}"},
    )

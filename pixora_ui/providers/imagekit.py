"""ImageKit provider: tools as URL transformations on a temporary upload.

The input is uploaded (private, into the user's tmp folder) with the SDK, a signed URL with the
transformation chain is built with the SDK helper, and that same URL is re-requested with backoff
while ImageKit answers its intermediate "being prepared" page (`is-intermediate-response: true`).
An `ik-error` header is a real failure; the whole run stops at `IMAGEKIT_TIMEOUT_S`. Either way the
temporary upload is deleted afterwards. Each chain step holds at most one AI operation, as
ImageKit requires. A timeout or an upload that failed on the way (unreachable, 429, 5xx) is
retryable; a refusal of the photo or of the request is not.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from PIL import Image

from pixora_ui.engine.tools.crop import crop_size
from pixora_ui.engine.tools.registry import ImageArray, ToolCancelled, ToolError, ToolResult, TransientToolError
from pixora_ui.engine.tools.style import restyle_instruction
from pixora_ui.providers.base import Provider, ProviderRequest
from pixora_ui.providers.imagekit_create import generate, ik_prompt
from pixora_ui.providers.imaging import Canvas, decode_image, expand_canvas, prompt_of, source_for_upload
from pixora_ui.settings import Settings
from pixora_ui.storage.base import StorageError
from pixora_ui.storage.imagekit import async_client, sdk_error_message, sync_client, upload_private, user_folder

log = logging.getLogger("pixora.providers.imagekit")

TOOLS = frozenset(
    {"remove-bg", "change-bg", "prompt", "expand", "upscale", "retouch", "smart-crop", "shadow", "style", "generate"}
)
# Parameters that start an asynchronous AI operation (at most one per chain step).
AI_PREFIXES = (
    "e-bgremove",
    "e-removedotbg",
    "e-changebg",
    "e-edit",
    "e-upscale",
    "e-retouch",
    "e-genvar",
    "e-dropshadow",
    "bg-genfill",
)
MAX_AI_INPUT_PIXELS = 16_000_000  # e-upscale and e-retouch refuse larger inputs
_FILE_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def _unchanged(image: ImageArray) -> ImageArray:
    return image


def _cutout_finish(params: dict[str, Any]) -> Callable[[ImageArray], ImageArray]:
    """The local remove-bg options on ImageKit's cut-out: crop to the subject (with margin), mask only."""
    crop, as_mask = bool(params.get("crop")), params.get("output") == "mask"
    margin = float(params.get("margin") or 0)

    def finish(image: ImageArray) -> ImageArray:
        if image.shape[2] != 4:
            return image
        if crop:
            visible = image[..., 3] > 16
            rows, cols = np.flatnonzero(visible.any(axis=1)), np.flatnonzero(visible.any(axis=0))
            if rows.size:
                pad = round(max(rows[-1] - rows[0], cols[-1] - cols[0]) * margin / 100)
                y0, y1 = max(0, rows[0] - pad), min(image.shape[0], rows[-1] + 1 + pad)
                x0, x1 = max(0, cols[0] - pad), min(image.shape[1], cols[-1] + 1 + pad)
                image = image[y0:y1, x0:x1]
        if as_mask:
            image = np.repeat(image[..., 3:4], 3, axis=2)
        return np.ascontiguousarray(image)

    return finish


def _fit_back(width: int, height: int) -> Callable[[ImageArray], ImageArray]:
    """e-edit answers in a fixed size (1024 square, else 1536×1024 or 1024×1536, padded): cut the
    photo's own aspect back out of the centre and return it at the photo's size."""

    def finish(image: ImageArray) -> ImageArray:
        h, w = image.shape[:2]
        if (w, h) == (width, height):
            return image
        if abs(w / h - width / height) > 0.01:
            if w / h > width / height:
                inner_w, inner_h = round(h * width / height), h
            else:
                inner_w, inner_h = w, round(w * height / width)
            x, y = (w - inner_w) // 2, (h - inner_h) // 2
            image = image[y : y + inner_h, x : x + inner_w]
        resized = Image.fromarray(np.ascontiguousarray(image)).resize((width, height), Image.Resampling.LANCZOS)
        return np.asarray(resized)

    return finish


@dataclass(frozen=True, kw_only=True, slots=True)
class Chain:
    steps: list[str]  # each a "," joined step; joined by ":" in the URL
    summary: str
    png: bool = True  # ask for PNG (keeps alpha) rather than a lossy format
    # Local finishing of ImageKit's answer (what the chain cannot express, e.g. "mask only").
    finish: Callable[[ImageArray], ImageArray] = _unchanged

    def transformation(self) -> list[dict[str, Any]]:
        """The chain in the SDK's transformation form (raw steps pass through unchanged)."""
        steps = list(self.steps)
        if self.png:
            steps[-1] = f"{steps[-1]},f-png"
        return [{"raw": step} for step in steps]


def check_one_ai_per_step(steps: list[str]) -> None:
    for step in steps:
        ai = [p for p in step.split(",") if p.startswith(AI_PREFIXES)]
        if len(ai) > 1:
            raise ValueError(f"more than one AI operation in the chain step {step!r}")


def _int(params: dict[str, Any], *names: str) -> int:
    for name in names:
        value = params.get(name)
        if value not in (None, ""):
            return int(value)
    return 0


def _crop_size(width: int, height: int, params: dict[str, Any]) -> tuple[int, int]:
    """Output size of a smart crop, as the local tool computes it: an exact width and height, else the
    largest box of exactly the asked ratio."""
    w, h = _int(params, "width"), _int(params, "height")
    if (w > 0) != (h > 0):
        raise ToolError("Give both a width and a height for an exact size, or neither")
    if w and h:
        return w, h
    raw = str(params.get("ratio") or "1:1")
    try:
        rw, rh = (int(x) for x in raw.split(":", 1))
    except ValueError as exc:
        raise ToolError(f"Unknown aspect ratio {raw!r}") from exc
    return crop_size(width, height, rw, rh)


def chain_for(tool: str, params: dict[str, Any], width: int, height: int, *, has_alpha: bool = False) -> Chain:
    """The transformation chain for one tool run (pure; raises ToolError for what ImageKit cannot do)."""
    if tool == "remove-bg":
        pro = params.get("mode") == "pro"
        steps = ["e-removedotbg" if pro else "e-bgremove"]
        if params.get("shadow"):
            steps.append("e-dropshadow")
        return Chain(
            steps=steps,
            summary="ImageKit background removal" + (" (remove.bg)" if pro else ""),
            finish=_cutout_finish(params),
        )
    if tool == "shadow":
        opts = [
            f"{key}-{_int(params, name)}"
            for key, name in (("az", "azimuth"), ("el", "elevation"), ("st", "strength"))
            if params.get(name) not in (None, "")
        ]
        shadow = "e-dropshadow" + (f"-{'_'.join(opts)}" if opts else "")
        # The shadow follows the subject's outline, so an opaque photo is cut out first.
        steps = [shadow] if has_alpha else ["e-bgremove", shadow]
        return Chain(steps=steps, summary="ImageKit drop shadow")
    if tool == "change-bg":
        text = prompt_of(params)
        if not text:
            raise ToolError(
                "ImageKit changes backgrounds from a description. Describe the new background, or run "
                "this tool on the local engine for a colour, blur or picture background."
            )
        return Chain(steps=[f"e-changebg-{ik_prompt(text)}"], summary=f"ImageKit background: {text}", png=False)
    if tool == "prompt":
        text = prompt_of(params)
        if not text:
            raise ToolError("Describe the edit you want, for example “make it look like a watercolour”.")
        return Chain(
            steps=[f"e-edit-{ik_prompt(text)}"],
            summary=f"ImageKit edit: {text}",
            png=False,
            finish=_fit_back(width, height),
        )
    if tool == "style":
        text = prompt_of(params)
        if params.get("reference") is not None or not text:
            raise ToolError(
                "ImageKit restyles from a description only. Describe the style, or use Gemini to match another "
                "photo's style."
            )
        return Chain(
            steps=[f"e-edit-{ik_prompt(restyle_instruction(text, with_reference=False))}"],
            summary=f"ImageKit restyle: {text}",
            png=False,
            finish=_fit_back(width, height),
        )
    if tool == "expand":
        canvas = expand_canvas(np.zeros((height, width, 1), dtype=np.uint8), params)
        text = prompt_of(params)
        fill = f"bg-genfill-{ik_prompt(text)}" if text else "bg-genfill"
        step = f"{fill},w-{canvas.width},h-{canvas.height},cm-pad_resize"
        focus = _pad_focus(canvas, width, height)
        if focus:
            step += f",fo-{focus}"
        return Chain(steps=[step], summary=f"ImageKit generative fill to {canvas.width}×{canvas.height}", png=False)
    if tool == "upscale":
        if width * height > MAX_AI_INPUT_PIXELS:
            raise ToolError(
                f"ImageKit upscales photos up to 16 megapixels; this one has {width * height / 1e6:.1f}. "
                "Use the local upscaler or crop the photo first."
            )
        scale = _int(params, "scale", "factor") or 2
        # e-upscale picks its own output size; a plain resize step then gives the factor asked for.
        return Chain(steps=["e-upscale", f"w-{width * scale},h-{height * scale}"], summary=f"ImageKit upscale {scale}×")
    if tool == "retouch":
        if width * height > MAX_AI_INPUT_PIXELS:
            raise ToolError("ImageKit retouches photos up to 16 megapixels. Use the local retouch or resize first.")
        return Chain(steps=["e-retouch"], summary="ImageKit retouch", png=False)
    if tool == "smart-crop":
        target = str(params.get("focus") or params.get("target") or "subject")
        focus = "face" if target in {"face", "faces", "person"} else "auto"
        w, h = _crop_size(width, height, params)
        return Chain(steps=[f"fo-{focus},w-{w},h-{h}"], summary=f"ImageKit smart crop ({focus})", png=False)
    raise ToolError(f"ImageKit cannot run {tool!r}")


def _pad_focus(canvas: Canvas, width: int, height: int) -> str:
    """Where pad_resize puts the photo: centred unless the new margins are all on one side."""
    right = canvas.width - width - canvas.left
    bottom = canvas.height - height - canvas.top
    if canvas.left == 0 and right > 0:
        return "left"
    if right == 0 and canvas.left > 0:
        return "right"
    if canvas.top == 0 and bottom > 0:
        return "top"
    if bottom == 0 and canvas.top > 0:
        return "bottom"
    return ""


class ImageKitProvider(Provider):
    name = "imagekit"
    label = "ImageKit"
    remote = True
    # Backoff between re-requests of a URL that is still being prepared (tests shorten these).
    poll_initial_s = 1.0
    poll_max_s = 8.0

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @property
    def settings(self) -> Settings:
        return self._settings

    def supports(self, tool: str) -> bool:
        return tool in TOOLS

    def accepts(self, tool: str, params: dict[str, Any]) -> bool:
        # ImageKit changes a background only from a description (e-changebg-prompt).
        if tool == "change-bg":
            return params.get("background") == "generative" or bool(prompt_of(params))
        return self.supports(tool)

    async def run(self, request: ProviderRequest) -> ToolResult:
        if request.tool == "generate":
            return await generate(self, request)
        height, width = request.image.shape[:2]
        chain = chain_for(request.tool, request.params, width, height, has_alpha=request.image.shape[2] == 4)
        check_one_ai_per_step(chain.steps)
        if request.tool == "upscale":
            scale = _int(request.params, "scale") or 2
            limit = self._settings.upscale_max_mp
            if width * height * scale * scale > limit * 1_000_000:
                raise ToolError(f"The upscaled photo would be larger than {limit:g} megapixels; pick a smaller scale.")
        deadline = time.monotonic() + self._settings.imagekit_timeout_s
        uploaded: tuple[str, str] | None = None
        try:
            async with asyncio.timeout(self._settings.imagekit_timeout_s):
                request.progress(0.05, "Uploading to ImageKit")
                uploaded = await self._upload(request)
                url = sync_client(self._settings).helper.build_url(
                    url_endpoint=self._settings.imagekit_url_endpoint,
                    src=uploaded[1],
                    transformation=chain.transformation(),  # type: ignore[arg-type]
                    signed=True,
                    expires_in=int(self._settings.imagekit_timeout_s) + 600,
                )
                data = await self._wait_for_result(url, request, deadline)
        except TimeoutError as exc:
            raise TransientToolError(
                f"ImageKit did not finish within {self._settings.imagekit_timeout_s:g} seconds. "
                "Try again in a few minutes."
            ) from exc
        finally:
            if uploaded is not None:
                # Shielded: a cancelled job must still not leave its input in the media library.
                await asyncio.shield(self._delete(uploaded[0]))
        request.progress(0.95, "Decoding the result")
        image = await asyncio.to_thread(lambda: chain.finish(decode_image(data)))
        return ToolResult(
            image=image,
            summary=chain.summary,
            format_hint="png" if image.shape[2] == 4 else None,
            extras={"provider": self.name, "transformation": ":".join(chain.steps)},
        )

    async def _upload(self, request: ProviderRequest) -> tuple[str, str]:
        data, mime = await asyncio.to_thread(source_for_upload, request)
        try:
            return await upload_private(
                self._settings,
                data,
                file_name=f"input.{_FILE_EXT.get(mime, 'png')}",
                mime=mime,
                folder=user_folder(request.user_id, "tmp"),
                unique=True,
                tags=["pixora-tmp"],
                what="photo",
            )
        except StorageError as exc:  # the job fails as a tool error, with the same reason
            raise ToolError(exc.message, retryable=_passing(exc.__cause__)) from exc

    async def _delete(self, file_id: str) -> None:
        import imagekitio  # noqa: PLC0415 - ImageKit SDK, loaded only when ImageKit is configured

        try:
            async with async_client(self._settings) as client:
                await client.files.delete(file_id)
        except imagekitio.APIError as exc:
            log.warning("could not delete temporary ImageKit file %s: %s", file_id, sdk_error_message(exc))

    async def wait_for_result(self, url: str, request: ProviderRequest, deadline: float) -> bytes:
        """The image behind a transformation URL, re-requested while ImageKit is still preparing it."""
        return await self._wait_for_result(url, request, deadline)

    async def _wait_for_result(self, url: str, request: ProviderRequest, deadline: float) -> bytes:
        delay = self.poll_initial_s
        started = time.monotonic()
        async with httpx.AsyncClient(follow_redirects=True) as http:
            while True:
                if request.cancelled():
                    raise ToolCancelled()
                remaining = max(0.5, deadline - time.monotonic())
                try:
                    response = await http.get(url, timeout=remaining)
                except httpx.TimeoutException as exc:
                    raise TimeoutError from exc
                except httpx.HTTPError as exc:
                    log.warning("imagekit delivery request failed: %s", exc)
                    response = None
                if response is not None:
                    ik_error = response.headers.get("ik-error")
                    if ik_error:
                        reason = ik_error.split(" - ", 1)[-1].strip()
                        raise ToolError(f"ImageKit could not process the photo: {reason}")
                    intermediate = response.headers.get("is-intermediate-response", "").lower() == "true"
                    content_type = response.headers.get("content-type", "")
                    if response.status_code == 200 and not intermediate and content_type.startswith("image/"):
                        return response.content
                    if 400 <= response.status_code < 500 and response.status_code != 429:
                        raise ToolError(f"ImageKit refused the request (HTTP {response.status_code}).")
                waited = time.monotonic() - started
                request.progress(min(0.9, 0.2 + waited / 60), f"ImageKit is preparing the result ({waited:.0f} s)")
                await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, self.poll_max_s)


def _passing(cause: BaseException | None) -> bool:
    """Whether an SDK error is a passing one: unreachable, timed out, over the rate limit (429) or 5xx."""
    import imagekitio  # noqa: PLC0415 - ImageKit SDK, loaded only when ImageKit is configured

    if isinstance(cause, imagekitio.APIConnectionError):
        return True
    status = getattr(cause, "status_code", 0) if isinstance(cause, imagekitio.APIStatusError) else 0
    return status == 429 or status >= 500


def create(settings: Settings) -> ImageKitProvider | None:
    return ImageKitProvider(settings) if settings.imagekit_enabled else None

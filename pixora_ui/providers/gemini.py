"""Gemini provider: generative edits through the google-genai SDK (async client).

The photo (and, for magic erase, the mask as a second image) goes with one instruction to
`models.generate_content`; the edited image comes back in an `inline_data` part or, with some
model versions, as base64 inside a text part. Blocked prompts, safety finishes and answers
without an image become a clear ToolError (the runner refunds the credit); 429 and 5xx answers
are retried with backoff first, because the SDK itself does not retry by default. Timeouts, an
unreachable service and 429/5xx answers that outlast the retries are retryable (TransientToolError,
or ToolError(retryable=True)); refusals and bad requests are not.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from pixora_ui.engine.ops.inpaint import mask_from_array
from pixora_ui.engine.tools.registry import ImageArray, ToolCancelled, ToolError, ToolResult, TransientToolError
from pixora_ui.providers.base import Provider, ProviderRequest
from pixora_ui.providers.create_plans import plan_parts
from pixora_ui.providers.imaging import (
    decode_image,
    encode_png,
    expand_canvas,
    prompt_of,
    source_for_upload,
)
from pixora_ui.settings import Settings

log = logging.getLogger("pixora.providers.gemini")

TOOLS = frozenset({"prompt", "change-bg", "expand", "erase", "style", "generate"})
_SAFETY_FINISH = {
    "SAFETY",
    "PROHIBITED_CONTENT",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "RECITATION",
    "IMAGE_RECITATION",
}
_DATA_URL = re.compile(r"data:image/[a-z0-9.+-]+;base64,([A-Za-z0-9+/=\s]+)", re.IGNORECASE)
_BARE_BASE64 = re.compile(r"[A-Za-z0-9+/\r\n]{200,}={0,2}")


@dataclass(frozen=True, kw_only=True, slots=True)
class _Plan:
    instruction: str
    images: list[tuple[bytes, str]]  # (bytes, mime) in the order the model should see them
    finish: Callable[[ImageArray], ImageArray]
    summary: str
    aspect: str | None = None  # asked of the model for a new picture (text-to-image)


def _identity(image: ImageArray) -> ImageArray:
    return image


def image_from_text(text: str) -> bytes | None:
    """An image embedded as base64 in a text part: a data URL first, else the longest bare base64 run."""
    candidates = [m.group(1) for m in _DATA_URL.finditer(text)]
    candidates += sorted((m.group(0) for m in _BARE_BASE64.finditer(text)), key=len, reverse=True)
    for candidate in candidates:
        try:
            data = base64.b64decode(re.sub(r"\s+", "", candidate), validate=True)
        except (binascii.Error, ValueError):
            continue
        try:
            with Image.open(io.BytesIO(data)) as probe:
                probe.verify()
        except Exception:  # noqa: S112 - anything unreadable is simply not an image
            continue
        return data
    return None


def _enum_name(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def extract_image(response: Any) -> bytes:
    """The image bytes of a generate_content response, or a ToolError saying why there are none."""
    candidates = response.candidates or []
    if not candidates:
        feedback = response.prompt_feedback
        reason = _enum_name(feedback.block_reason) if feedback is not None else ""
        detail = f" ({reason.replace('_', ' ').lower()})" if reason else ""
        raise ToolError(f"Gemini refused this request{detail}. Try wording the instruction differently.")
    candidate = candidates[0]
    parts = (candidate.content.parts if candidate.content else None) or []
    for part in parts:
        if part.inline_data is not None and part.inline_data.data:
            return bytes(part.inline_data.data)
    texts = [part.text for part in parts if part.text]
    for text in texts:
        embedded = image_from_text(text)
        if embedded is not None:
            return embedded
    finish = _enum_name(candidate.finish_reason)
    if finish in _SAFETY_FINISH:
        raise ToolError(
            "Gemini's safety filter stopped this edit "
            f"({finish.replace('_', ' ').lower()}). Try a different instruction or photo."
        )
    said = " ".join(texts).strip()
    quoted = f' It said: "{said[:200]}"' if said else ""
    raise ToolError(f"Gemini answered without an image.{quoted} Try a more specific instruction.")


class GeminiProvider(Provider):
    name = "gemini"
    label = "Gemini"
    remote = True
    # Waits before the 2nd, 3rd, 4th attempt after a 429 or 5xx (tests shorten them).
    retry_delays_s: tuple[float, ...] = (2.0, 5.0, 10.0)

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def supports(self, tool: str) -> bool:
        return tool in TOOLS

    def accepts(self, tool: str, params: dict[str, Any]) -> bool:
        # Gemini draws a described, coloured or blurred background; it cannot place another photo.
        return self.supports(tool) and not (tool == "change-bg" and params.get("background") == "image")

    def _client(self) -> Any:
        from google import genai  # noqa: PLC0415 - Gemini SDK, loaded only when the Gemini provider runs
        from google.genai import types  # noqa: PLC0415 - Gemini SDK, loaded only when the Gemini provider runs

        options = types.HttpOptions(
            base_url=self._settings.gemini_base_url or None,
            api_version="v1beta",
            timeout=int(self._settings.gemini_timeout_s * 1000),
        )
        return genai.Client(api_key=self._settings.gemini_api_key, http_options=options)

    async def run(self, request: ProviderRequest) -> ToolResult:
        plan = await asyncio.to_thread(_plan_for, request)
        request.progress(0.1, "Sending to Gemini")
        response = await self._generate(plan, request)
        data = extract_image(response)
        request.progress(0.9, "Receiving the result")
        image = await asyncio.to_thread(lambda: plan.finish(decode_image(data)))
        return ToolResult(image=image, summary=plan.summary, extras={"provider": self.name})

    async def _generate(self, plan: _Plan, request: ProviderRequest) -> Any:
        from google.genai import types  # noqa: PLC0415 - Gemini SDK, loaded only when the Gemini provider runs

        contents: list[Any] = [plan.instruction]
        contents += [types.Part.from_bytes(data=data, mime_type=mime) for data, mime in plan.images]
        config = types.GenerateContentConfig(
            response_modalities=["TEXT", "IMAGE"],
            image_config=types.ImageConfig(aspect_ratio=plan.aspect) if plan.aspect else None,
        )
        client = self._client()
        try:
            # Closed every time: an open HTTP session left to the garbage collector logs an error.
            async with client.aio as aio:
                return await self._with_retries(aio, contents, config, request)
        finally:
            client.close()

    async def _with_retries(self, aio: Any, contents: list[Any], config: Any, request: ProviderRequest) -> Any:
        from google.genai import errors  # noqa: PLC0415 - Gemini SDK, loaded only when the Gemini provider runs

        attempts = len(self.retry_delays_s) + 1
        for attempt in range(attempts):
            if request.cancelled():
                raise ToolCancelled()
            last = attempt == attempts - 1
            try:
                return await asyncio.wait_for(
                    aio.models.generate_content(
                        model=self._settings.gemini_image_model, contents=contents, config=config
                    ),
                    timeout=self._settings.gemini_timeout_s,
                )
            except errors.APIError as exc:
                code = int(exc.code or 0)
                retryable = code == 429 or code >= 500
                log.warning("gemini answered %s %s (attempt %d/%d)", code, exc.status, attempt + 1, attempts)
                if not retryable or last:
                    message = _api_error_message(code, str(exc.message or ""), self._settings.gemini_image_model)
                    # Busy (429) or broken (5xx) for longer than our retries: the same request can work later.
                    raise ToolError(message, retryable=retryable) from exc
            except TimeoutError as exc:
                raise TransientToolError(
                    f"Gemini did not answer within {self._settings.gemini_timeout_s:g} seconds. Try again later."
                ) from exc
            except (OSError, ConnectionError) as exc:
                log.warning("gemini unreachable: %s (attempt %d/%d)", exc, attempt + 1, attempts)
                if last:
                    raise TransientToolError("Gemini could not be reached. Try again later.") from exc
            except Exception as exc:
                # Transport errors of the SDK's HTTP client (httpx, httpx2 or aiohttp) share no base class.
                if type(exc).__module__.split(".")[0] not in {"httpx", "httpx2", "aiohttp"}:
                    raise
                log.warning("gemini transport error: %s (attempt %d/%d)", exc, attempt + 1, attempts)
                if last:
                    raise TransientToolError("Gemini could not be reached. Try again later.") from exc
            delay = self.retry_delays_s[attempt]
            request.progress(0.1, f"Gemini is busy, retrying in {delay:g} s")
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")


def _api_error_message(code: int, detail: str, model: str) -> str:
    """What the person is told (the operator's detail goes to the log: key, model name)."""
    if code in {401, 403} or "api key" in detail.lower():
        log.warning("gemini refused the API key (GEMINI_API_KEY): %s %s", code, detail)
        return "Gemini does not accept this server's key at the moment, so AI edits through Gemini are off."
    if code == 429:
        return "Gemini is over its usage limit right now. Try again in a minute."
    if code >= 500:
        return "Gemini is having trouble right now. Try again in a few minutes."
    if code == 404:
        log.warning("gemini model %r is not available (GEMINI_IMAGE_MODEL): %s", model, detail)
        return "The Gemini model this server uses is not available, so AI edits through Gemini are off."
    return "Gemini could not process this request. Try a smaller photo or a different instruction."


def _plan_for(request: ProviderRequest) -> _Plan:
    """The instruction and images for one tool (runs in a thread: it may encode images)."""
    tool, params = request.tool, request.params
    if tool in {"generate", "style"}:
        parts = plan_parts(request)
        return _Plan(
            instruction=parts.instruction,
            images=parts.images,
            finish=parts.finish,
            summary=f"Gemini {parts.summary}",
            aspect=parts.aspect,
        )
    photo = source_for_upload(request)
    if tool == "prompt":
        text = prompt_of(params)
        if not text:
            raise ToolError("Describe the edit you want, for example “make the sky a sunset”.")
        return _Plan(
            instruction=f"Edit this photo as follows: {text}. Return the edited photo as an image.",
            images=[photo],
            finish=_identity,
            summary=f"Gemini edit: {text}",
        )
    if tool == "change-bg":
        text = prompt_of(params) or _described_background(params)
        return _Plan(
            instruction=(
                f"Replace the background of this photo with {text}. Keep the main subject exactly as it is: "
                "same shape, pose, colours, details, size and position. Change only the background, and match "
                "the lighting so the subject looks natural in it. Return the edited photo as an image."
            ),
            images=[photo],
            finish=_identity,
            summary=f"Gemini background: {text}",
        )
    if tool == "expand":
        canvas = expand_canvas(request.image, params)
        hint = prompt_of(params)
        padded = np.full((canvas.height, canvas.width, 3), 128, dtype=np.uint8)
        rgb = request.image[..., :3]
        h, w = rgb.shape[:2]
        padded[canvas.top : canvas.top + h, canvas.left : canvas.left + w] = rgb
        extra = f" The new areas should show {hint}." if hint else ""
        out_w, out_h = canvas.width, canvas.height

        def finish(result: ImageArray) -> ImageArray:
            # Gemini picks its own output size; bring the answer back to the canvas the user asked for.
            if result.shape[1] != out_w or result.shape[0] != out_h:
                result = np.asarray(Image.fromarray(result).resize((out_w, out_h), Image.Resampling.LANCZOS))
            return result

        return _Plan(
            instruction=(
                "This photo sits on a flat grey canvas. Fill the grey areas by extending the scene outward "
                "naturally and seamlessly, continuing the perspective, lighting and textures. Keep the original "
                f"photo area unchanged and keep the same framing and aspect ratio.{extra} Return the result as "
                "an image."
            ),
            images=[(encode_png(padded), "image/png")],
            finish=finish,
            summary=f"Gemini expand to {out_w}×{out_h}",
        )
    if tool == "erase":
        mask = params.get("mask")
        if not isinstance(mask, np.ndarray):
            raise ToolError("Paint over what you want to erase first.")
        binary = _mask_to_binary(mask, request.image.shape[1], request.image.shape[0])
        if not binary.any():
            raise ToolError("Paint over what you want to erase first.")
        original = request.image

        def finish(result: ImageArray) -> ImageArray:
            return _composite(original, result, binary)

        return _Plan(
            instruction=(
                "The first image is a photo. The second image is a black-and-white mask of the same size. "
                "Remove everything under the white area of the mask from the photo and fill that area so it "
                "blends naturally with its surroundings. Do not change anything outside the white area. "
                "Return the edited photo as an image."
            ),
            images=[photo, (encode_png(binary.astype(np.uint8) * 255), "image/png")],
            finish=finish,
            summary="Gemini magic erase",
        )
    raise ToolError(f"Gemini cannot run {tool!r}")


def _described_background(params: dict[str, Any]) -> str:
    """The change-bg choices of the local tool, in words for the model."""
    kind = str(params.get("background") or "color")
    if kind == "color" and params.get("color"):
        return f"a plain, evenly lit {params['color']} studio background"
    if kind == "gradient":
        return f"a smooth studio gradient from {params.get('color', '#ffffff')} to {params.get('color2', '#c7d2fe')}"
    if kind == "blur":
        return "a softly blurred version of the same background, like a portrait-mode photo"
    raise ToolError(
        "Describe the new background, for example “a sunny beach”; to put another photo behind the subject, "
        "use the Pixora engine."
    )


def _mask_to_binary(mask: ImageArray, width: int, height: int) -> np.ndarray:
    """A boolean mask (True = erase) at the photo's size, read exactly as the local magic erase reads it."""
    result: np.ndarray = mask_from_array(mask, height, width)
    return result


def _composite(original: ImageArray, generated: ImageArray, mask: np.ndarray) -> ImageArray:
    """Keep the original pixels outside the (slightly feathered) mask; take Gemini's inside it."""
    h, w = original.shape[:2]
    if generated.shape[:2] != (h, w):
        generated = np.asarray(Image.fromarray(generated).resize((w, h), Image.Resampling.LANCZOS))
    feather = max(2, round(min(h, w) / 200))
    soft = Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(2 * feather + 1))
    alpha = np.asarray(soft.filter(ImageFilter.GaussianBlur(feather)), dtype=np.float32)[..., None] / 255.0
    base = original[..., :3].astype(np.float32)
    mixed = base * (1 - alpha) + generated[..., :3].astype(np.float32) * alpha
    out = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    if original.shape[2] == 4:
        out = np.dstack([out, original[..., 3]])
    return out


def create(settings: Settings) -> GeminiProvider | None:
    return GeminiProvider(settings) if settings.gemini_enabled else None

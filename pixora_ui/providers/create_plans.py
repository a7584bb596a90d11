"""What a generative provider is asked for `generate` (text-to-image) and `style` (AI restyle).

Shared by the Gemini and ImageKit providers: the instruction, the images that go with it, and how the
answer is brought back to what the user asked for (a restyle keeps the photo's size).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from pixora_ui.engine.tools.create_options import ASPECTS
from pixora_ui.engine.tools.registry import ImageArray, ToolError
from pixora_ui.engine.tools.style import restyle_instruction
from pixora_ui.providers.base import ProviderRequest
from pixora_ui.providers.imaging import encode_png, prompt_of, source_for_upload

REFERENCE_SIDE = 1024  # a style reference needs no more detail than this


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanParts:
    instruction: str
    images: list[tuple[bytes, str]]
    finish: Callable[[ImageArray], ImageArray]
    summary: str
    aspect: str | None = None


def _unchanged(image: ImageArray) -> ImageArray:
    return image


def _to_size(width: int, height: int) -> Callable[[ImageArray], ImageArray]:
    def finish(result: ImageArray) -> ImageArray:
        if result.shape[1] == width and result.shape[0] == height:
            return result
        resized = Image.fromarray(np.ascontiguousarray(result)).resize((width, height), Image.Resampling.LANCZOS)
        return np.asarray(resized)

    return finish


def _reference_png(reference: ImageArray) -> bytes:
    image = Image.fromarray(np.ascontiguousarray(reference[..., :3]))
    image.thumbnail((REFERENCE_SIDE, REFERENCE_SIDE), Image.Resampling.LANCZOS)
    return encode_png(np.asarray(image))


def generate_instruction(prompt: str, aspect: str) -> str:
    return (
        f"Create a high-quality image: {prompt}. Use a {aspect} aspect ratio. "
        "Return the image itself, with no text about it."
    )


def plan_parts(request: ProviderRequest) -> PlanParts:
    params = request.params
    text = prompt_of(params)
    if request.tool == "generate":
        if not text:
            raise ToolError("Describe the picture you want, for example “a red bicycle on a beach”.")
        aspect = str(params.get("aspect") or "1:1")
        if aspect not in ASPECTS:
            raise ToolError(f"Choose one of the shapes {', '.join(ASPECTS)}.")
        return PlanParts(
            instruction=generate_instruction(text, aspect),
            images=[],
            finish=_unchanged,
            summary=f"created: {text}",
            aspect=aspect,
        )
    reference = params.get("reference")
    has_reference = isinstance(reference, np.ndarray)
    if not text and not has_reference:
        raise ToolError("Describe a style, for example “as a 1950s travel poster”, or choose a photo to match.")
    images = [source_for_upload(request)]
    if has_reference:
        assert isinstance(reference, np.ndarray)
        images.append((_reference_png(reference), "image/png"))
    height, width = request.image.shape[:2]
    look = text or "in the style of another photo"
    return PlanParts(
        instruction=restyle_instruction(text, with_reference=has_reference),
        images=images,
        finish=_to_size(width, height),
        summary=f"restyle: {look}",
    )

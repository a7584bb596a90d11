"""Shared helpers for the provider tests: small sample photos and provider requests."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image
from skimage import data

from pixora_ui.engine.tools.registry import never_cancelled, no_progress
from pixora_ui.providers.base import ProviderRequest


def photo(size: int = 96, name: str = "astronaut") -> np.ndarray:
    image = Image.fromarray(getattr(data, name)()).convert("RGB")
    image.thumbnail((size, size))
    return np.asarray(image)


def png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG")
    return out.getvalue()


def make_request(tool: str, image: np.ndarray, params: dict[str, Any] | None = None, **kw: Any) -> ProviderRequest:
    return ProviderRequest(
        tool=tool,
        image=image,
        source_bytes=png(image),
        source_mime="image/png",
        params=params or {},
        progress=kw.pop("progress", no_progress),
        cancelled=kw.pop("cancelled", never_cancelled),
        user_id=kw.pop("user_id", 7),
    )

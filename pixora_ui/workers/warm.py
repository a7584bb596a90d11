"""Load the local models once when a worker starts, so its first job does not pay for it.

The cut-out and face models also run once on a small image (`engine.warmup`), which compiles
their kernels too; the upscalers are only loaded (a run costs seconds).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pixora_ui.engine.models import upscale
from pixora_ui.engine.models.warmup import warm_up_models

log = logging.getLogger("pixora.workers")


def _run_once(name: str) -> Callable[[], bool]:
    def warm() -> bool:
        return warm_up_models((name,)).get(name) == "ready"

    return warm


def _upscaler(model: str) -> Callable[[], bool]:
    def load() -> bool:
        if not upscale.available(model)[0]:
            return False
        upscale._get_net(model)
        return True

    return load


WARMERS: dict[str, Callable[[], bool]] = {
    "isnet-medium": _run_once("isnet-medium"),
    "centerface": _run_once("centerface"),
    "realesrgan-x4plus": _upscaler("quality"),
    "realesr-animevideov3": _upscaler("fast"),
}


def warm_models() -> list[str]:
    """Load every installed local model; the names of those now in memory."""
    loaded: list[str] = []
    for name, warm in WARMERS.items():
        try:
            if warm():
                loaded.append(name)
        except Exception:
            log.warning("could not load the %s model at worker start", name, exc_info=True)
    return loaded

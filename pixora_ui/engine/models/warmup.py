"""Model warm-up: load the local models and run each once before the first edit asks for them.

A cold process pays for more than the model load on its first edit: onnxruntime's first run
allocates its arena and starts its thread pool, pymatting compiles its kernels (~4 s for the pro
edges), and the cut-out's own code paths import and initialise what they use. `warm_up_models()`
does all of that on small inputs, so the first real edit costs what a warm one does.

- `warm_up_models()` is synchronous and safe to call from any thread or process (each model's
  session is created once per process behind its own lock); a worker process calls it at start.
- The server calls `start_background_warm_up()` at start-up: the work runs in the engine executor
  (the one low-priority thread that runs local inference), never on the event loop, and
  `/healthz` reports `warm_up_state()` meanwhile. A job that arrives first simply waits its turn
  in that executor.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from pixora_ui.engine.tools import catalog  # looked up at call time: tests swap catalog.get_registry
from pixora_ui.engine.tools.registry import never_cancelled, no_progress

log = logging.getLogger("pixora.engine")

State = Literal["off", "pending", "running", "ready", "failed"]
ModelResult = Literal["ready", "not installed", "failed"]


def _cut_out() -> bool:
    from pixora_ui.engine.models import isnet  # noqa: PLC0415 - kept out of the web server's start
    from pixora_ui.engine.ops import imageio, matting  # noqa: PLC0415 - kept out of the web server's start

    if not isnet.availability()[0]:
        return False
    # The whole tool once per mode on a small photo-like image: the session, one network run (the
    # pro run finds the mask in the cache), and the tool's own code paths.
    yy, xx = np.mgrid[0:96, 0:128]
    image = np.zeros((96, 128, 3), dtype=np.uint8)
    image[..., 0] = (xx * 2).astype(np.uint8)
    image[..., 1] = (yy * 2).astype(np.uint8)
    image[24:72, 40:88] = (220, 60, 40)
    tool = catalog.get_registry().get("remove-bg")
    for mode in ("standard", "pro"):
        result = tool.run(image, tool.validate({"mode": mode}), no_progress, never_cancelled)
        imageio.encode(result.image, "png", 90)
    isnet.forget(image)  # the warm-up's mask must not take a real photo's place in the cache
    # pymatting compiles its kernels on first use (~4 s): the pro edges of a real photo use them.
    square = np.zeros((48, 48), dtype=np.float32)
    square[12:36, 12:36] = 1.0
    matting.closed_form_alpha(np.full((48, 48, 3), 128, dtype=np.uint8), square)
    return True


def _faces() -> bool:
    from pixora_ui.engine.models import faces  # noqa: PLC0415 - kept out of the web server's start

    return faces.warm_up()


# Model name (as in `main.py models list`) -> warm-up, False when the model is not installed.
WARM_UPS: dict[str, Callable[[], bool]] = {
    "isnet-medium": _cut_out,
    "centerface": _faces,
}


def warm_up_models(names: tuple[str, ...] | None = None) -> dict[str, ModelResult]:
    """Load and run each installed model once (default: all of WARM_UPS); what happened to each.

    A model that fails to warm up is logged and reported, never raised: its first edit will report
    the error to the user as usual.
    """
    results: dict[str, ModelResult] = {}
    for name, warm_up in WARM_UPS.items():
        if names is not None and name not in names:
            continue
        started = time.perf_counter()
        try:
            results[name] = "ready" if warm_up() else "not installed"
        except Exception:
            log.exception("warming up %s failed", name)
            results[name] = "failed"
        else:
            log.info("model %s: %s in %.2f s", name, results[name], time.perf_counter() - started)
    return results


@dataclass(frozen=True, slots=True)
class WarmUpState:
    state: State = "off"
    models: dict[str, ModelResult] = field(default_factory=dict)
    seconds: float | None = None  # how long the warm-up took, once finished

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "models": dict(self.models), "seconds": self.seconds}


_state = WarmUpState()
_state_lock = threading.Lock()


def warm_up_state() -> WarmUpState:
    return _state


def _set(**changes: Any) -> None:
    global _state  # noqa: PLW0603 - one warm-up per process
    with _state_lock:
        _state = replace(_state, **changes)


def start_background_warm_up(executor: Executor) -> Future[dict[str, ModelResult]] | None:
    """Warm the models up in `executor` (the engine's); None when already started in this process."""
    with _state_lock:
        if _state.state in {"pending", "running", "ready"}:
            return None
    _set(state="pending", models={}, seconds=None)
    started = time.perf_counter()

    def run() -> dict[str, ModelResult]:
        _set(state="running")
        try:
            results = warm_up_models()
        except BaseException:
            _set(state="failed", seconds=round(time.perf_counter() - started, 3))
            raise
        failed = any(result == "failed" for result in results.values())
        _set(state="failed" if failed else "ready", models=results, seconds=round(time.perf_counter() - started, 3))
        return results

    return executor.submit(run)


def reset_state() -> None:
    """Forget an earlier warm-up (a server started again in the same process, tests)."""
    _set(state="off", models={}, seconds=None)

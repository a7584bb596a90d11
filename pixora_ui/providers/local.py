"""The local engine provider: runs registry tools in the ONE engine executor.

All local inference goes through a single ThreadPoolExecutor sized by LOCAL_JOB_CONCURRENCY, so
models are loaded once per process (tools cache their sessions) and the event loop only awaits a
future. The executor's size is also the hard bound on concurrent local inference: a job whose
timeout fired keeps its thread until the tool notices the cancel flag, and new work waits for it.

The engine's own messages are written for the operator (the command line shows them as they are:
"run main.py models install", "configure GEMINI_API_KEY"). This provider serves people using the
studio and the API, so it logs those hints and says what the person can do instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pixora_ui.engine.tools import catalog
from pixora_ui.engine.tools.registry import NeedsGenerativeProvider, Tool, ToolResult, ToolUnavailable
from pixora_ui.providers.base import Provider, ProviderRequest
from pixora_ui.settings import Settings, get_settings

# Background work runs at a lower CPU priority than the thread serving requests: on a small machine
# inference saturates every core, and the event loop must still answer within milliseconds. Linux
# keeps a nice value per thread, and threads started from these (onnxruntime's and OpenCV's pools,
# created lazily by the first inference) inherit it.
BACKGROUND_NICE = 10

T = TypeVar("T")

log = logging.getLogger("pixora.providers.local")

# What a person sees instead of the engine's operator hints (which go to the log).
NOT_INSTALLED = "Not installed on this server yet"
NOT_INSTALLED_RUN = (
    "This edit needs a tool that is not installed on this server yet. The other tools work meanwhile; "
    "the server's administrator can add it."
)
NO_GENERATIVE_SERVICE = (
    "no generative AI service is connected to this server, so this edit cannot be made here. The local "
    "tools (cut-out, background, crop, adjust and more) still work."
)
_logged_reasons: set[str] = set()


def _log_once(tool: str, reason: str) -> None:
    """The operator's hint, once per process (availability is asked on every page load)."""
    if reason not in _logged_reasons:
        _logged_reasons.add(reason)
        log.warning("%s is unavailable: %s", tool, reason)


def for_users(exc: NeedsGenerativeProvider) -> NeedsGenerativeProvider:
    """The engine's "needs a generative model" message without its configuration hint."""
    from pixora_ui.engine.tools.enhance import GENERATIVE_HINT  # noqa: PLC0415 - kept out of the web server's start

    text = str(exc)
    if GENERATIVE_HINT not in text:
        return exc
    reason = text.replace(GENERATIVE_HINT, "").rstrip(" :.") or "This edit needs a generative model"
    return NeedsGenerativeProvider(f"{reason}: {NO_GENERATIVE_SERVICE}")


_executor: ThreadPoolExecutor | None = None
_background: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _lower_priority() -> None:
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)


def engine_executor() -> ThreadPoolExecutor:
    """The process-wide executor for local inference (created on first use)."""
    global _executor  # noqa: PLW0603 - one executor per process
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=get_settings().local_job_concurrency,
                thread_name_prefix="pixora-engine",
                initializer=_lower_priority,
            )
        return _executor


def background_executor() -> ThreadPoolExecutor:
    """Low-priority threads for a job's decoding and encoding (not inference, not user uploads)."""
    global _background  # noqa: PLW0603
    with _executor_lock:
        if _background is None:
            _background = ThreadPoolExecutor(
                max_workers=2, thread_name_prefix="pixora-job-io", initializer=_lower_priority
            )
        return _background


async def in_background(function: Callable[..., T], *args: Any) -> T:
    """Run a blocking function on the low-priority background executor."""
    return await asyncio.get_running_loop().run_in_executor(background_executor(), function, *args)


def shutdown_engine_executor() -> None:
    """Let running inference finish in the background and start fresh executors next time."""
    global _executor, _background  # noqa: PLW0603
    with _executor_lock:
        for pool in (_executor, _background):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        _executor = None
        _background = None


def _tool(name: str) -> Tool | None:
    reg = catalog.get_registry()  # looked up on each call: tests swap the registry
    return reg.get(name) if name in reg else None


class LocalProvider(Provider):
    name = "local"
    label = "Pixora engine"
    remote = False

    def supports(self, tool: str) -> bool:
        spec = _tool(tool)
        return spec is not None and spec.local

    def accepts(self, tool: str, params: dict[str, Any]) -> bool:
        # A "generative" choice (a described background, a generated canvas) is a remote provider's job.
        return self.supports(tool) and "generative" not in (params.get("background"), params.get("mode"))

    def availability(self, tool: str) -> tuple[bool, str]:
        spec = _tool(tool)
        if spec is None or not spec.local:
            return False, f"{self.label} cannot run this tool"
        available, reason = spec.availability()
        if available:
            return True, ""
        _log_once(tool, reason)
        return False, NOT_INSTALLED

    async def run(self, request: ProviderRequest) -> ToolResult:
        spec = _tool(request.tool)
        if spec is None:
            raise ToolUnavailable(f"{self.label} cannot run this tool")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                engine_executor(), spec.run, request.image, request.params, request.progress, request.cancelled
            )
        except ToolUnavailable as exc:
            log.warning("%s could not run: %s", request.tool, exc)
            raise ToolUnavailable(NOT_INSTALLED_RUN) from exc
        except NeedsGenerativeProvider as exc:
            raise for_users(exc) from exc


def create(settings: Settings) -> Provider:
    return LocalProvider()

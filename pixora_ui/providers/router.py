"""Routing: which provider runs a tool.

Each tool runs on the first configured provider in a per-tool preference order. The local engine
is always configured; remote providers join when their keys are set. `PROVIDER_PREFERENCE`
(setting) overrides the order per tool, e.g. "prompt=gemini,imagekit,local;remove-bg=local,imagekit".

Generative requests (a plain-language edit the local interpreter cannot do, a background or
canvas described in words) go to a generative provider first, in two places:
- `choose(tool, requested, params=...)` at submit time, when the caller passes the parameters (each
  tool declares which requests need a generative model: `Tool.needs_generative`);
- at run time, the local provider hands a request its tool refuses with NeedsGenerativeProvider to
  the first configured generative provider for that tool (see `HandOffProvider`), so a job queued
  on the local engine still ends with the edit the user asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pixora_ui.engine.tools import catalog
from pixora_ui.engine.tools.registry import NeedsGenerativeProvider, ToolResult, ToolUnavailable
from pixora_ui.providers.base import Provider, ProviderRequest
from pixora_ui.settings import Settings, get_settings

log = logging.getLogger("pixora.providers")

DEFAULT_ORDER: tuple[str, ...] = ("local", "imagekit", "gemini")
# Local first wherever the local engine can do the job (free, private, no network); remote services
# after it, in the order that suits the tool.
DEFAULT_TOOL_ORDER: dict[str, tuple[str, ...]] = {
    "remove-bg": ("local", "imagekit"),
    "change-bg": ("local", "gemini", "imagekit"),
    "smart-crop": ("local", "imagekit"),
    "upscale": ("local", "imagekit"),
    "retouch": ("local", "imagekit"),
    "erase": ("local", "gemini"),
    "expand": ("local", "imagekit", "gemini"),
    "prompt": ("local", "gemini", "imagekit"),
    "shadow": ("imagekit",),
    "style": ("local", "gemini", "imagekit"),
    "generate": ("gemini", "imagekit"),
}
# Order for requests that need a generative model: Gemini first for prompts, ImageKit's genfill for
# canvases; the local engine last, so its clear "needs a generative provider" message is the fallback.
GENERATIVE_ORDER: dict[str, tuple[str, ...]] = {
    "prompt": ("gemini", "imagekit", "local"),
    "change-bg": ("gemini", "imagekit", "local"),
    "expand": ("imagekit", "gemini", "local"),
    "style": ("gemini", "imagekit", "local"),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class ProviderChoice:
    name: str
    label: str
    available: bool
    reason: str


def _parse_preference(raw: str) -> dict[str, tuple[str, ...]]:
    order: dict[str, tuple[str, ...]] = {}
    for part in raw.split(";"):
        if "=" in part:
            tool, names = part.split("=", 1)
            order[tool.strip()] = tuple(n.strip() for n in names.split(",") if n.strip())
    return order


def needs_generative(tool: str, params: Mapping[str, Any] | None) -> bool:
    """Whether this request needs a generative model, as the tool declares it (pure and fast: safe at
    submit time). Unknown tools need none."""
    registry = catalog.get_registry()
    return tool in registry and registry.get(tool).needs_generative(params)


class HandOffProvider(Provider):
    """The local engine, handing requests it cannot do (NeedsGenerativeProvider) to a generative provider."""

    def __init__(self, inner: Provider, settings: Settings) -> None:
        self.inner = inner
        self.name = inner.name
        self.label = inner.label
        self.remote = inner.remote
        self._settings = settings

    def supports(self, tool: str) -> bool:
        return self.inner.supports(tool)

    def availability(self, tool: str) -> tuple[bool, str]:
        return self.inner.availability(tool)

    def accepts(self, tool: str, params: dict[str, Any]) -> bool:
        return self.inner.accepts(tool, params)

    async def run(self, request: ProviderRequest) -> ToolResult:
        try:
            return await self.inner.run(request)
        except NeedsGenerativeProvider as exc:
            fallback = _generative_fallback(request.tool, self._settings)
            if fallback is None:
                raise
            log.info("handing %s from %s to %s: %s", request.tool, self.name, fallback.name, exc)
            request.progress(0.05, f"Sending to {fallback.label}")
            result = await fallback.run(request)
            result.extras.setdefault("provider", fallback.name)
            result.extras["handed_off_from"] = self.name
            return result


def _generative_fallback(tool: str, settings: Settings) -> Provider | None:
    providers = _providers(settings)
    for name in GENERATIVE_ORDER.get(tool, ("gemini", "imagekit")):
        provider = providers.get(name)
        if provider is None or not provider.remote or not provider.supports(tool):
            continue
        if provider.availability(tool)[0]:
            return provider
    return None


@cache
def _providers(settings: Settings) -> dict[str, Provider]:
    # Imported when the providers are first built, not with the router: the remote providers load
    # numpy, Pillow and HTTP clients, which the command line's help and the router's callers do without.
    from pixora_ui.providers import gemini, imagekit, local  # noqa: PLC0415 - kept out of the web server's start

    # Each factory returns its Provider, or None when that provider is not configured.
    factories: dict[str, Callable[[Settings], Provider | None]] = {
        "local": local.create,
        "imagekit": imagekit.create,
        "gemini": gemini.create,
    }
    built: dict[str, Provider] = {}
    for name, factory in factories.items():
        provider = factory(settings)
        if provider is not None:
            built[name] = provider
    on_this_machine = built.get("local")
    if on_this_machine is not None and any(p.remote for p in built.values()):
        built["local"] = HandOffProvider(on_this_machine, settings)
    return built


def configured_providers() -> dict[str, Provider]:
    return _providers(get_settings())


def order_for(tool: str, settings: Settings | None = None, *, generative: bool = False) -> tuple[str, ...]:
    settings = settings or get_settings()
    preference = _parse_preference(settings.provider_preference)
    if tool in preference:
        return preference[tool]
    if generative and tool in GENERATIVE_ORDER:
        return GENERATIVE_ORDER[tool]
    return DEFAULT_TOOL_ORDER.get(tool) or DEFAULT_ORDER


def choices_for(tool: str, params: Mapping[str, Any] | None = None) -> list[ProviderChoice]:
    """Configured providers that support `tool`, in preference order, with availability.

    With `params`, a request that needs a generative model lists the generative providers first.
    """
    providers = configured_providers()
    result = []
    for name in order_for(tool, generative=needs_generative(tool, params)):
        provider = providers.get(name)
        if provider is None or not provider.supports(tool):
            continue
        available, reason = provider.availability(tool)
        result.append(ProviderChoice(name=name, label=provider.label, available=available, reason=reason))
    return result


def choose(tool: str, requested: str | None = None, params: Mapping[str, Any] | None = None) -> Provider:
    """The provider to run `tool`: the requested one if usable, else the first available in order."""
    providers = configured_providers()
    choices = choices_for(tool, params)
    if requested:
        for choice in choices:
            if choice.name == requested:
                if not choice.available:
                    raise ToolUnavailable(choice.reason)
                return providers[choice.name]
        raise ToolUnavailable(f"{requested} is not configured for this tool on this server")
    for choice in choices:
        if choice.available:
            return providers[choice.name]
    reasons = "; ".join(c.reason for c in choices if c.reason)
    raise ToolUnavailable(reasons or "No configured provider can run this tool")


def reset_providers() -> None:
    """Forget built providers (tests switch settings)."""
    _providers.cache_clear()

"""Routing: which provider runs a tool.

Each tool runs on the first configured provider in a per-tool preference order. The local engine
is always configured; remote providers join when their keys are set. `PROVIDER_PREFERENCE`
(setting) overrides the order per tool, e.g. "prompt=gemini,imagekit,local;remove-bg=local,imagekit".
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache

from pixora_ui.engine.registry import ToolUnavailable
from pixora_ui.providers.base import Provider
from pixora_ui.settings import Settings, get_settings

# name -> "module:factory"; a factory takes Settings and returns a Provider, or None when not configured.
PROVIDER_FACTORIES: dict[str, str] = {
    "local": "pixora_ui.providers.local:create",
}

DEFAULT_ORDER: tuple[str, ...] = ("local", "imagekit", "gemini")
# Generative requests go to a generative model first; the local interpreter is the fallback.
DEFAULT_TOOL_ORDER: dict[str, tuple[str, ...]] = {}


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


@cache
def _providers(settings: Settings) -> dict[str, Provider]:
    built: dict[str, Provider] = {}
    for name, target in PROVIDER_FACTORIES.items():
        module_name, factory_name = target.split(":")
        provider = getattr(importlib.import_module(module_name), factory_name)(settings)
        if provider is not None:
            built[name] = provider
    return built


def configured_providers() -> dict[str, Provider]:
    return _providers(get_settings())


def order_for(tool: str, settings: Settings | None = None) -> tuple[str, ...]:
    settings = settings or get_settings()
    preference = _parse_preference(settings.provider_preference)
    return preference.get(tool) or DEFAULT_TOOL_ORDER.get(tool) or DEFAULT_ORDER


def choices_for(tool: str) -> list[ProviderChoice]:
    """Configured providers that support `tool`, in preference order, with availability."""
    providers = configured_providers()
    result = []
    for name in order_for(tool):
        provider = providers.get(name)
        if provider is None or not provider.supports(tool):
            continue
        available, reason = provider.availability(tool)
        result.append(ProviderChoice(name=name, label=provider.label, available=available, reason=reason))
    return result


def choose(tool: str, requested: str | None = None) -> Provider:
    """The provider to run `tool`: the requested one if usable, else the first available in order."""
    providers = configured_providers()
    choices = choices_for(tool)
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

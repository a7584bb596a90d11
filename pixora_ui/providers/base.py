"""The provider interface: who runs a tool (the local engine, ImageKit, Gemini).

Each provider declares which tools it supports; the router picks the first configured provider in
a per-tool preference order. Providers are async: remote ones await the network, the local one
hands inference to the single engine executor so the event loop never blocks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from pixora_ui.engine.tools.registry import Cancelled, ImageArray, Progress, ToolResult


@dataclass(kw_only=True, slots=True)
class ProviderRequest:
    tool: str
    image: ImageArray  # decoded input, RGB or RGBA
    source_bytes: bytes  # the stored input file as is (remote providers upload this)
    source_mime: str
    params: dict[str, Any]  # validated; "image" parameters already resolved to arrays
    progress: Progress
    cancelled: Cancelled
    user_id: int | None = None


class Provider(ABC):
    name: str
    label: str
    remote: bool

    @abstractmethod
    def supports(self, tool: str) -> bool:
        """Whether this provider can run the tool at all."""

    def accepts(self, tool: str, params: dict[str, Any]) -> bool:
        """Whether this provider can run `tool` with these settings (forms offer only those that can)."""
        return self.supports(tool)

    def availability(self, tool: str) -> tuple[bool, str]:
        """(available, reason): configured and able to run `tool` now."""
        return (True, "") if self.supports(tool) else (False, f"{self.label} cannot run this tool")

    @abstractmethod
    async def run(self, request: ProviderRequest) -> ToolResult:
        """Run the tool. Raise ToolError with a message for the user, ToolCancelled on cancel."""

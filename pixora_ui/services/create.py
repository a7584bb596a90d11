"""Create and restyle, for the studio: which AI provider can restyle or create, style preview URLs,
and text-to-image requests (one job, and one AI edit, per image).

No NiceGUI here; pages call these functions and get plain data back.
"""

from __future__ import annotations

from pixora_ui.providers.router import choices_for

STYLE_TOOL = "style"


def restyle_provider() -> tuple[str, str] | None:
    """(name, label) of the generative provider that restyles photos here, or None without one."""
    for choice in choices_for(STYLE_TOOL, {"prompt": "restyle"}):
        if choice.name != "local" and choice.available:
            return choice.name, choice.label
    return None


def style_preview_url(photo_preview_url: str, preset: str) -> str:
    """The URL of a filter's small preview on a photo, from the photo's signed preview URL."""
    path, _, query = photo_preview_url.partition("?")
    return f"{path}/style/{preset}" + (f"?{query}" if query else "")

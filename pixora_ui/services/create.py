"""Create and restyle, for the studio: which AI provider can restyle or create, style preview URLs,
and text-to-image requests (one job, and one AI edit, per image).

No NiceGUI here; pages call these functions and get plain data back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from db.session import session_scope
from pixora_ui.engine.tools.create_options import MAX_COUNT
from pixora_ui.engine.tools.registry import ToolError
from pixora_ui.providers.router import choices_for
from pixora_ui.services import assets, jobs
from pixora_ui.services.studio import LimitReachedError, StudioError
from pixora_ui.services.usage import LimitReached

if TYPE_CHECKING:
    from pixora_ui.services.job_views import JobView

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


GENERATE_TOOL = "generate"


def creation_prompt(text: str) -> str | None:
    """The description when a sentence asks for a new picture ("create an image of …"), else None."""
    from pixora_ui.engine.tools.interpret import interpret  # noqa: PLC0415 - kept out of the web server's start

    return interpret(text).create or None


def generate_provider() -> tuple[str, str] | None:
    """(name, label) of the provider that creates pictures here, or None without one."""
    for choice in choices_for(GENERATE_TOOL):
        if choice.available:
            return choice.name, choice.label
    return None


async def submit_generation(
    user_id: int,
    *,
    prompt: str,
    aspect: str = "1:1",
    count: int = 1,
    idempotency_key: str | None = None,
) -> list[JobView]:
    """Queue `count` (1-4) text-to-image jobs, one AI edit each (reserved by the jobs service).

    Raises LimitReachedError when the user has no AI edit left for the first picture, StudioError with
    the reason otherwise. With fewer edits left than pictures asked, the pictures that fit are queued.
    """
    if not 1 <= int(count) <= MAX_COUNT:
        raise StudioError(f"Choose between 1 and {MAX_COUNT} pictures.")
    states: list[JobView] = []
    for index in range(int(count)):
        key = f"{idempotency_key}-{index}" if idempotency_key else None
        try:
            async with session_scope() as session:
                view = await jobs.submit(
                    session,
                    user_id=user_id,
                    asset_id=None,
                    tool=GENERATE_TOOL,
                    params={"prompt": prompt, "aspect": aspect},
                    idempotency_key=key,
                )
        except LimitReached as exc:
            if states:
                break  # the pictures that fit the remaining edits are on their way
            raise LimitReachedError(str(exc)) from exc
        except (ToolError, jobs.JobError, assets.AssetError) as exc:
            if "No configured provider" in str(exc):
                raise StudioError("Creating pictures needs Gemini or ImageKit on this server.") from exc
            raise StudioError(str(exc)) from exc
        states.append(view)
    return states

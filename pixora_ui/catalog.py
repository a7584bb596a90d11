"""Product copy shared by the landing page, the upgrade dialog and the billing page."""

from __future__ import annotations

from dataclasses import dataclass

from db.models import PLAN_FREE
from pixora_ui.services.plans import limit_for
from pixora_ui.settings import Settings, get_settings


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCard:
    icon: str
    title: str
    text: str


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanCard:
    key: str
    name: str
    price: str
    period: str
    tagline: str
    features: tuple[str, ...]
    cta: str
    highlight: bool = False


TOOL_CARDS: tuple[ToolCard, ...] = (
    ToolCard(icon="content_cut", title="Remove background", text="Clean cut-outs with real hair edges, in seconds."),
    ToolCard(icon="wallpaper", title="Change background", text="Colour, gradient, blur or one of your own photos."),
    ToolCard(icon="zoom_in", title="Upscale 4x", text="Real-ESRGAN restores detail at 2x, 3x or 4x."),
    ToolCard(icon="face_retouching_natural", title="Retouch", text="Natural skin smoothing and gentle tone fixes."),
    ToolCard(icon="crop", title="Smart crop", text="Crop to the subject or the faces, at any ratio."),
    ToolCard(icon="open_in_full", title="Expand canvas", text="Continue the background to a new aspect ratio."),
    ToolCard(icon="auto_fix_normal", title="Magic erase", text="Paint over an object and it is gone."),
    ToolCard(icon="chat", title="Edit with a sentence", text="“Remove the background and make it square.”"),
)


def plans(settings: Settings | None = None) -> tuple[PlanCard, ...]:
    """Free, Pro and Team as the plan rules (`services.plans`) make them: every tool on every plan;
    Free has a number of AI edits, Pro and Team have no limit. Nothing else differs, so nothing else
    is sold as Pro."""
    free_edits = limit_for(PLAN_FREE, settings or get_settings())
    return (
        PlanCard(
            key="free",
            name="Free",
            price="$0",
            period="forever",
            tagline="Try every tool.",
            features=(
                f"{free_edits} AI edits",
                "Every tool, 4x upscaling and fine cut-outs included",
                "Unlimited basic edits",
                "Full-resolution downloads",
                "Version history",
            ),
            cta="Start free",
        ),
        PlanCard(
            key="pro",
            name="Pro",
            price="$12",
            period="/ month",
            tagline="For creators who edit every day.",
            features=("Unlimited AI edits", "Everything in Free", "Cancel any time"),
            cta="Go Pro",
            highlight=True,
        ),
        PlanCard(
            key="team",
            name="Team",
            price="$12",
            period="/ month",
            tagline="Share your Pro subscription with your team.",
            features=("Everything in Pro", "5 people on one plan", "One bill", "Invite by e-mail"),
            cta="Start a team",
        ),
    )

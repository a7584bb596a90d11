"""Plans and usage limits: the one place that turns a plan into a usage limit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import object_session

from db.models import PLAN_FREE, PLAN_PRO, PLAN_TEAM, User
from pixora_ui.services import user_events
from pixora_ui.settings import Settings

PLANS = (PLAN_FREE, PLAN_PRO, PLAN_TEAM)
PLAN_LABELS = {PLAN_FREE: "Free", PLAN_PRO: "Pro", PLAN_TEAM: "Team"}


def limit_for(plan: str, settings: Settings) -> int | None:
    """Free plans have a number of AI edits; paid plans have none (stored as NULL, shown as Unlimited)."""
    if plan not in PLANS:
        raise ValueError(f"unknown plan {plan!r}; choose one of {', '.join(PLANS)}")
    return settings.free_edit_limit if plan == PLAN_FREE else None


def apply_plan(user: User, plan: str, settings: Settings) -> None:
    """Move a user to `plan`. Usage already spent is kept: going back to Free never grants new credits."""
    user.usage_limit = limit_for(plan, settings)
    user.plan = plan
    session = object_session(user)
    if session is not None and user.id is not None:  # open pages show the new plan once it is committed
        user_events.changed(session, user.id)


@dataclass(frozen=True, kw_only=True, slots=True)
class Usage:
    plan: str
    used: int
    limit: int | None

    @property
    def unlimited(self) -> bool:
        return self.limit is None

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.used >= self.limit

    @property
    def plan_label(self) -> str:
        return PLAN_LABELS.get(self.plan, self.plan.title())

    @property
    def label(self) -> str:
        """Short text for the top bar: "2 of 3 free edits left" or "Pro · unlimited"."""
        if self.limit is None:
            return f"{self.plan_label} · unlimited"
        return f"{self.remaining} of {self.limit} free edits left"


def usage_of(user: User) -> Usage:
    return Usage(plan=user.plan, used=user.usage_count, limit=user.usage_limit)

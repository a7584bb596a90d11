"""The pricing page, the upgrade dialog's comparison and the tool palette say what the plan rules do:
every tool on every plan; Free has FREE_EDIT_LIMIT AI edits, Pro has no limit. 4x upscaling and the
fine cut-out cost one AI edit like any other, so they are not sold as Pro features."""

from __future__ import annotations

import re

import pytest
from nicegui.testing import User as SimUser

from db.models import PLAN_FREE, PLAN_PRO
from pixora_ui.engine.tools import catalog
from pixora_ui.services.plans import limit_for
from pixora_ui.settings import get_settings, reset_settings
from tests.pages.conftest import make_user, sign_in

PRO_ONLY_CLAIMS = re.compile(r"4x|upscal|cut-out|cutout|edges|priority", re.IGNORECASE)


@pytest.fixture(autouse=True)
def five_free_edits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FREE_EDIT_LIMIT", "5")
    reset_settings()


def _card_text(user: SimUser, marker: str) -> str:
    (card,) = user.find(marker=marker).elements
    return " ".join(str(getattr(e, "text", "")) for e in card.descendants())


def test_the_rules_give_every_tool_to_every_plan() -> None:
    settings = get_settings()
    assert limit_for(PLAN_FREE, settings) == 5 and limit_for(PLAN_PRO, settings) is None
    registry = catalog.get_registry()
    upscale, cutout = registry.get("upscale"), registry.get("remove-bg")
    assert upscale.charges(upscale.validate({"scale": "4"})) == upscale.charges(upscale.validate({"scale": "2"}))
    assert cutout.charges(cutout.validate({"mode": "pro"})) == cutout.charges(cutout.validate({"mode": "standard"}))
    # The palette's quality choice does not read like a plan ("Pro") either.
    assert not any("Pro" in label for label in cutout.param("mode").choice_labels)


async def test_the_pricing_page_says_the_same(user: SimUser) -> None:
    await user.open("/")
    await user.should_see("5 free AI edits · no credit card · works offline")
    await user.should_see("AI edits: 5 on Free, unlimited on Pro", retries=1)
    free, pro = _card_text(user, "plan-free"), _card_text(user, "plan-pro")
    assert "5 AI edits" in free and "4x upscaling" in free
    assert "Unlimited AI edits" in pro
    assert not PRO_ONLY_CLAIMS.search(pro), pro


async def test_the_billing_comparison_says_the_same(user: SimUser) -> None:
    await make_user()
    await sign_in(user, next_path="/billing")
    await user.should_see(marker="plan-pro")
    free, pro = _card_text(user, "plan-free"), _card_text(user, "plan-pro")
    assert "5 AI edits" in free
    assert not PRO_ONLY_CLAIMS.search(pro), pro

"""Billing fixtures: the fake Stripe API switched on for the app, and users in the database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from db.models import PLAN_FREE, User
from db.session import session_scope
from pixora_ui.services.plans import apply_plan
from pixora_ui.settings import get_settings, reset_settings
from tests.fakes.stripe_fake import FakeStripe, running_fake_stripe


@pytest.fixture
def fake_stripe(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    with running_fake_stripe() as fake:
        for key, value in fake.env().items():
            monkeypatch.setenv(key, value)
        reset_settings()
        yield fake
    reset_settings()


async def make_user(
    email: str = "ada@example.com",
    *,
    plan: str = PLAN_FREE,
    usage_count: int = 0,
    customer: str | None = None,
    subscription: str | None = None,
    status: str | None = None,
) -> int:
    async with session_scope() as session:
        user = User(email=email, name="Ada", password_hash=None, usage_count=usage_count)
        apply_plan(user, plan, get_settings())
        user.stripe_customer_id = customer
        user.stripe_subscription_id = subscription
        user.subscription_status = status
        session.add(user)
        await session.flush()
        return user.id


async def load_user(user_id: int) -> User:
    async with session_scope() as session:
        user = await session.get(User, user_id)
        assert user is not None
        session.expunge(user)
        return user

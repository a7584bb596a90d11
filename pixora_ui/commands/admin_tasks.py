"""Operator tasks behind `main.py admin`: create a user with a password, change a user's plan, make an API key."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from db.migrate import upgrade
from db.models import User
from db.session import dispose_engine, session_scope
from pixora_ui.api.keys import ApiKeyError, create_key_for_email
from pixora_ui.auth import passwords
from pixora_ui.auth.accounts import create_password_user, normalise_email, validate_email
from pixora_ui.auth.errors import AccountError
from pixora_ui.errors import PixoraError
from pixora_ui.services.plans import PLANS, apply_plan
from pixora_ui.settings import get_settings


class AdminError(PixoraError):
    """An admin command that cannot be done; the message is printed as is."""


def _check_plan(plan: str) -> None:
    if plan not in PLANS:
        raise AdminError(f"unknown plan {plan!r}; choose one of {', '.join(PLANS)}")


async def _migrate() -> None:
    settings = get_settings()
    if settings.auto_migrate:
        await asyncio.to_thread(upgrade, settings)


async def create_user(*, email: str, password: str, name: str, plan: str, is_admin: bool) -> None:
    _check_plan(plan)
    try:
        address = validate_email(email)
        passwords.check_policy(password)
    except AccountError as exc:
        raise AdminError(str(exc)) from exc
    password_hash = await passwords.hash_password(password)
    await _migrate()
    try:
        async with session_scope() as session:
            await create_password_user(
                session, email=address, password_hash=password_hash, name=name, plan=plan, is_admin=is_admin
            )
    except AccountError as exc:
        raise AdminError(f"{address}: {exc}") from exc
    finally:
        await dispose_engine()


async def set_plan(*, email: str, plan: str) -> None:
    _check_plan(plan)
    address = normalise_email(email)
    await _migrate()
    try:
        async with session_scope() as session:
            user = await session.scalar(select(User).where(User.email == address))
            if user is None:
                raise AdminError(f"no user with the email {address}")
            apply_plan(user, plan, get_settings())
    finally:
        await dispose_engine()


async def create_api_key(*, email: str, name: str) -> str:
    """A new API key for the user with this email; returns the key (shown once, never stored)."""
    await _migrate()
    try:
        created = await create_key_for_email(email, name=name)
    except ApiKeyError as exc:
        raise AdminError(str(exc)) from exc
    finally:
        await dispose_engine()
    return created.secret

"""Teams: one paid subscription shared with invited members.

The owner is a Pro (or Team) subscriber. Members join by an e-mailed invitation (token stored
hashed, valid 7 days, single use, bound to the invited address, which must be confirmed) and get
the Team plan: unlimited edits for as long as the owner's subscription lasts. Sign-up and sign-in
carry an invitation by its key (the stored hash; pixora_ui/auth/invitations.py). `sync_members`
follows the owner's plan, so when the subscription ends the members fall back to Free with
everybody else.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import PLAN_FREE, PLAN_PRO, PLAN_TEAM, ROLE_MEMBER, ROLE_OWNER, Invitation, Team, User, as_utc
from db.session import session_scope
from pixora_ui.errors import PixoraError
from pixora_ui.mail import send_mail
from pixora_ui.services.plans import apply_plan
from pixora_ui.settings import get_settings
from pixora_ui.tokens import hash_token

INVITATION_DAYS = 7
PAID_PLANS = frozenset({PLAN_PRO, PLAN_TEAM})


class TeamError(PixoraError):
    """A team action was refused; the message says why and is safe to show."""


@dataclass(frozen=True, kw_only=True, slots=True)
class MemberView:
    id: int
    name: str
    email: str
    role: str


@dataclass(frozen=True, kw_only=True, slots=True)
class InvitationView:
    id: int
    email: str
    expires_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class TeamView:
    id: int
    name: str
    seats: int
    members: tuple[MemberView, ...]
    invitations: tuple[InvitationView, ...]
    viewer_is_owner: bool

    @property
    def seats_left(self) -> int:
        return max(0, self.seats - len(self.members) - len(self.invitations))


@dataclass(frozen=True, kw_only=True, slots=True)
class InvitationInfo:
    key: str  # what the database keeps of the token (its hash): the form an invitation is carried in
    team_name: str
    email: str
    invited_by: str
    expired: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class Joined:
    team_name: str
    owner_name: str

    @property
    def notice(self) -> str:
        return (
            f"You joined {self.owner_name}'s team, {self.team_name}"
            if self.owner_name
            else f"You joined {self.team_name}"
        )


def _now() -> datetime:
    return datetime.now(UTC)


async def _user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise TeamError("Your account no longer exists")
    return user


async def _owned_team(session: AsyncSession, owner_id: int) -> tuple[User, Team]:
    owner = await _user(session, owner_id)
    if owner.team_id is None or owner.role != ROLE_OWNER:
        raise TeamError("Only the team's owner can do that")
    team = await session.get(Team, owner.team_id)
    assert team is not None
    return owner, team


async def team_for(session: AsyncSession, *, user_id: int) -> TeamView | None:
    user = await session.get(User, user_id)
    if user is None or user.team_id is None:
        return None
    team = await session.get(Team, user.team_id)
    if team is None:
        return None
    members = (
        await session.scalars(select(User).where(User.team_id == team.id).order_by(User.role.desc(), User.email))
    ).all()
    now = _now()
    pending = (
        await session.scalars(
            select(Invitation)
            .where(Invitation.team_id == team.id, Invitation.accepted_at.is_(None), Invitation.expires_at > now)
            .order_by(Invitation.created_at)
        )
    ).all()
    return TeamView(
        id=team.id,
        name=team.name,
        seats=team.seats,
        members=tuple(MemberView(id=m.id, name=m.name, email=m.email, role=m.role or ROLE_MEMBER) for m in members),
        invitations=tuple(InvitationView(id=i.id, email=i.email, expires_at=as_utc(i.expires_at)) for i in pending),
        viewer_is_owner=user.role == ROLE_OWNER,
    )


async def create_team(session: AsyncSession, *, owner_id: int, name: str) -> None:
    owner = await _user(session, owner_id)
    clean = " ".join(name.split())[:120]
    if not clean:
        raise TeamError("Give your team a name")
    if owner.team_id is not None:
        raise TeamError("You are already in a team")
    if owner.plan not in PAID_PLANS:
        raise TeamError("Teams share a Pro subscription: upgrade to Pro first")
    team = Team(name=clean)
    session.add(team)
    await session.flush()
    owner.team_id = team.id
    owner.role = ROLE_OWNER


async def invite(session: AsyncSession, *, owner_id: int, email: str) -> str:
    """Create an invitation and return its raw token (the caller mails the link)."""
    owner, team = await _owned_team(session, owner_id)
    address = email.strip().lower()
    if "@" not in address or len(address) > 320 or " " in address:
        raise TeamError("Enter a valid e-mail address")
    if address == owner.email:
        raise TeamError("You are already in this team")
    members = await session.scalar(select(func.count()).select_from(User).where(User.team_id == team.id)) or 0
    now = _now()
    pending = (
        await session.scalars(
            select(Invitation).where(
                Invitation.team_id == team.id, Invitation.accepted_at.is_(None), Invitation.expires_at > now
            )
        )
    ).all()
    if any(i.email == address for i in pending):
        raise TeamError(f"{address} has already been invited")
    existing = await session.scalar(select(User).where(User.email == address))
    if existing is not None and existing.team_id == team.id:
        raise TeamError(f"{address} is already a member")
    if members + len(pending) >= team.seats:
        raise TeamError(f"All {team.seats} seats are taken: remove a member or an invitation first")
    token = secrets.token_urlsafe(32)
    session.add(
        Invitation(
            team_id=team.id,
            email=address,
            token_hash=hash_token(token),
            invited_by_id=owner.id,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
    )
    return token


def invitation_link(token: str) -> str:
    return f"{get_settings().base_url}/team/join?token={token}"


def invitation_key(token: str) -> str:
    """The invitation's key: the hash the database keeps. Sign-up, e-mail verification and Google
    sign-in carry this (in the signed session cookie or the signed verification link), never the
    raw token and never a team id."""
    return hash_token(token)


def is_invitation_key(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(ch in "0123456789abcdef" for ch in value)


async def describe_invitation(session: AsyncSession, *, token: str) -> InvitationInfo | None:
    return await describe_invitation_by_key(session, key=invitation_key(token))


async def describe_invitation_by_key(session: AsyncSession, *, key: str) -> InvitationInfo | None:
    invitation = await session.scalar(select(Invitation).where(Invitation.token_hash == key))
    if invitation is None or invitation.accepted_at is not None:
        return None
    return await _info(session, invitation)


async def open_invitation_for(session: AsyncSession, *, email: str) -> InvitationInfo | None:
    """The newest live invitation sent to `email`, if any: a confirmation link sent again carries it,
    as the first one did (an invitation belongs to the address it was sent to)."""
    invitation = await session.scalar(
        select(Invitation)
        .where(Invitation.email == email, Invitation.accepted_at.is_(None), Invitation.expires_at > _now())
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        .limit(1)
    )
    return await _info(session, invitation) if invitation is not None else None


async def _info(session: AsyncSession, invitation: Invitation) -> InvitationInfo:
    team = await session.get(Team, invitation.team_id)
    inviter = await session.get(User, invitation.invited_by_id) if invitation.invited_by_id else None
    return InvitationInfo(
        key=invitation.token_hash,
        team_name=team.name if team else "",
        email=invitation.email,
        invited_by=(inviter.name or inviter.email) if inviter else "",
        expired=as_utc(invitation.expires_at) <= _now(),
    )


async def accept(session: AsyncSession, *, user_id: int, token: str) -> str:
    """Join the team of the invitation; returns the team's name."""
    return (await accept_by_key(session, user_id=user_id, key=invitation_key(token))).team_name


async def accept_by_key(session: AsyncSession, *, user_id: int, key: str) -> Joined:
    """Join the team of the invitation whose key is `key`. Only the invited address, once confirmed,
    can: an invitation forwarded to someone else (or an account that only claims the address) is
    refused with a message that says which address it belongs to."""
    invitation = await session.scalar(select(Invitation).where(Invitation.token_hash == key).with_for_update())
    if invitation is None or invitation.accepted_at is not None:
        raise TeamError("This invitation has already been used or does not exist")
    if as_utc(invitation.expires_at) <= _now():
        raise TeamError("This invitation has expired: ask the team owner for a new one")
    user = await _user(session, user_id)
    if user.email != invitation.email:
        raise TeamError(f"This invitation is for {invitation.email}: sign in with that address")
    if not user.email_verified:
        raise TeamError(f"Confirm your e-mail address first: open the link we sent to {user.email}")
    if user.team_id is not None:
        raise TeamError("You are already in a team: leave it first")
    team = await session.get(Team, invitation.team_id)
    owner = await session.scalar(select(User).where(User.team_id == invitation.team_id, User.role == ROLE_OWNER))
    if team is None or owner is None:
        raise TeamError("This team no longer exists")
    invitation.accepted_at = _now()
    user.team_id = team.id
    user.role = ROLE_MEMBER
    apply_plan(user, PLAN_TEAM if owner.plan in PAID_PLANS else PLAN_FREE, get_settings())
    return Joined(team_name=team.name, owner_name=owner.name or owner.email)


async def revoke_invitation(session: AsyncSession, *, owner_id: int, invitation_id: int) -> None:
    _owner, team = await _owned_team(session, owner_id)
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None or invitation.team_id != team.id or invitation.accepted_at is not None:
        raise TeamError("That invitation is no longer pending")
    await session.delete(invitation)


def _detach(member: User) -> None:
    member.team_id = None
    member.role = None
    # A member's edits were covered by the team; on their own they are back on Free.
    if member.plan == PLAN_TEAM:
        apply_plan(member, PLAN_FREE, get_settings())


async def remove_member(session: AsyncSession, *, owner_id: int, member_id: int) -> None:
    owner, team = await _owned_team(session, owner_id)
    if member_id == owner.id:
        raise TeamError("The owner cannot be removed; delete the team instead")
    member = await session.get(User, member_id, with_for_update=True)
    if member is None or member.team_id != team.id:
        raise TeamError("That person is not in your team")
    _detach(member)


async def leave(session: AsyncSession, *, user_id: int) -> None:
    user = await _user(session, user_id)
    if user.team_id is None:
        raise TeamError("You are not in a team")
    if user.role == ROLE_OWNER:
        raise TeamError("Owners cannot leave their team; delete the team instead")
    _detach(user)


async def delete_team(session: AsyncSession, *, owner_id: int) -> None:
    owner, team = await _owned_team(session, owner_id)
    members = (await session.scalars(select(User).where(User.team_id == team.id, User.id != owner.id))).all()
    for member in members:
        _detach(member)
    owner.team_id = None
    owner.role = None
    await session.delete(team)


async def sync_members(session: AsyncSession, *, owner: User) -> None:
    """Give the owner's members the Team plan while the owner pays, and Free when they stop."""
    if owner.team_id is None or owner.role != ROLE_OWNER:
        return
    plan = PLAN_TEAM if owner.plan in PAID_PLANS else PLAN_FREE
    members = (await session.scalars(select(User).where(User.team_id == owner.team_id, User.id != owner.id))).all()
    settings = get_settings()
    for member in members:
        if member.plan not in {plan, PLAN_PRO}:  # a member with their own Pro keeps it
            apply_plan(member, plan, settings)


# --- Use cases for the /team page: each opens its own unit of work. ---------------------------


async def load(*, user_id: int) -> TeamView | None:
    async with session_scope() as session:
        return await team_for(session, user_id=user_id)


async def start_team(*, owner_id: int, name: str) -> None:
    async with session_scope() as session:
        await create_team(session, owner_id=owner_id, name=name)


async def send_invitation(*, owner_id: int, email: str) -> None:
    async with session_scope() as session:
        token = await invite(session, owner_id=owner_id, email=email)
        team = await team_for(session, user_id=owner_id)
        owner = await session.get(User, owner_id)
    assert team is not None and owner is not None
    await send_mail(
        to=email.strip().lower(),
        subject=f"{owner.name or owner.email} invited you to {team.name} on Pixora",
        text=(
            f"{owner.name or owner.email} invited you to join the team {team.name!r} on Pixora.\n\n"
            f"Members share the team's subscription: unlimited AI edits.\n\n"
            f"Accept the invitation (valid {INVITATION_DAYS} days):\n{invitation_link(token)}\n"
        ),
    )


async def invitation_info(*, token: str) -> InvitationInfo | None:
    async with session_scope() as session:
        return await describe_invitation(session, token=token)


async def invitation_info_by_key(*, key: str) -> InvitationInfo | None:
    async with session_scope() as session:
        return await describe_invitation_by_key(session, key=key)


async def join(*, user_id: int, token: str) -> str:
    async with session_scope() as session:
        return await accept(session, user_id=user_id, token=token)


async def join_by_key(*, user_id: int, key: str) -> Joined:
    async with session_scope() as session:
        return await accept_by_key(session, user_id=user_id, key=key)


async def cancel_invitation(*, owner_id: int, invitation_id: int) -> None:
    async with session_scope() as session:
        await revoke_invitation(session, owner_id=owner_id, invitation_id=invitation_id)


async def remove(*, owner_id: int, member_id: int) -> None:
    async with session_scope() as session:
        await remove_member(session, owner_id=owner_id, member_id=member_id)


async def leave_team(*, user_id: int) -> None:
    async with session_scope() as session:
        await leave(session, user_id=user_id)


async def disband(*, owner_id: int) -> None:
    async with session_scope() as session:
        await delete_team(session, owner_id=owner_id)

"""Password resets: a one-time link valid one hour, sent by e-mail (or logged for the operator).

Only the SHA-256 of the token is stored. Asking for a link says nothing about whether the account exists:
callers answer the same way whatever :func:`request_reset` returns. Using a link sets the new password,
marks every link of the account used and closes all its browser sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from coserver.config import Settings
from coserver.models import Account, Actor, PasswordReset
from coserver.services.accounts import check_new_password, hash_password
from coserver.services.errors import InvalidInput
from coserver.services.web_sessions import close_all_sessions

LIFETIME = timedelta(hours=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class ResetLink:
    """What to send: the link, to whom (``email`` None: nobody can receive it by e-mail)."""

    account: Account
    url: str
    email: str | None


async def find_account(session: AsyncSession, login: str) -> Account | None:
    """The active account whose username or e-mail is ``login``."""
    login = (login or "").strip().lstrip("@")
    if not login or len(login) > 254:
        return None
    return await session.scalar(
        select(Account)
        .join(Actor, Account.person_id == Actor.id)
        .where(
            Account.is_active.is_(True),
            Actor.deleted_at.is_(None),
            (func.lower(Actor.username) == login.lower()) | (func.lower(Account.email) == login.lower()),
        )
        .options(selectinload(Account.person))
    )


async def request_reset(session: AsyncSession, settings: Settings, login: str) -> ResetLink | None:
    """A new reset link for the account named ``login`` (earlier unused links are dropped), or None.

    Flushes; the caller commits, then sends the link.
    """
    account = await find_account(session, login)
    if account is None:
        return None
    await session.execute(
        delete(PasswordReset).where(PasswordReset.account_id == account.id, PasswordReset.used_at.is_(None))
    )
    token = secrets.token_urlsafe(32)
    session.add(
        PasswordReset(
            account_id=account.id,
            token_hash=digest(token),
            expires_at=datetime.now(UTC) + LIFETIME,
        )
    )
    await session.flush()
    return ResetLink(account=account, url=settings.url(f"/password/reset/{token}"), email=account.email)


async def find_reset(session: AsyncSession, token: str) -> PasswordReset | None:
    """The unused, unexpired reset of ``token`` whose account is still active."""
    if not token or len(token) > 100:
        return None
    return await session.scalar(
        select(PasswordReset)
        .join(Account, Account.id == PasswordReset.account_id)
        .where(
            PasswordReset.token_hash == digest(token),
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > datetime.now(UTC),
            Account.is_active.is_(True),
        )
    )


async def complete_reset(session: AsyncSession, token: str, password: str, confirmation: str) -> Account:
    """Set the new password of the token's account, use up its links and close all its sessions.

    Raises :class:`InvalidInput` (field ``token``) for an unknown, used or expired link. Flushes.
    """
    reset = await find_reset(session, token)
    if reset is None:
        raise InvalidInput("this link is invalid or has expired; ask for a new one", field="token")
    check_new_password(password, confirmation)
    account = await session.scalar(
        select(Account).where(Account.id == reset.account_id).options(selectinload(Account.person))
    )
    assert account is not None
    account.password_hash = hash_password(password)
    now = datetime.now(UTC)
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.account_id == account.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    await close_all_sessions(session, account.id)
    await session.flush()
    return account

"""Accounts: sign-up of a local person (account + person actor) and password checks (argon2)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from coserver.config import Settings
from coserver.models import Account, Actor
from coserver.models.vocab import LOCALES
from coserver.services.elements import ElementInput, create_element
from coserver.services.errors import Conflict, InvalidInput

_hasher = PasswordHasher()
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password has at least {MIN_PASSWORD_LENGTH} characters", field="password")


def _normalize_email(email: str | None) -> str | None:
    value = (email or "").strip()
    if not value:
        return None
    if not _EMAIL_RE.match(value) or len(value) > 254:
        raise InvalidInput("this e-mail address is not valid", field="email")
    return value


async def create_account(
    session: AsyncSession,
    settings: Settings,
    *,
    username: str,
    password: str,
    email: str | None = None,
    name: str | None = None,
    locale: str | None = None,
    is_admin: bool = False,
    person: ElementInput | None = None,
) -> Account:
    """Create a person actor and the account that logs in as it. Flushes; the caller commits."""
    _check_password(password)
    email = _normalize_email(email)
    locale = locale or settings.default_locale
    if locale not in LOCALES:
        raise InvalidInput(f"locale must be one of {', '.join(LOCALES)}", field="locale")
    if email and await session.scalar(select(Account.id).where(func.lower(Account.email) == email.lower())):
        raise Conflict("an account already uses this e-mail address", field="email")
    data = person or ElementInput(kind="person", username=username, name=name or username)
    data.kind, data.username = "person", username
    if name:
        data.name = name
    actor = await create_element(session, settings, data)
    account = Account(
        person_id=actor.id,
        email=email,
        password_hash=hash_password(password),
        locale=locale,
        is_admin=is_admin,
    )
    session.add(account)
    await session.flush()
    account.person = actor
    return account


async def authenticate(session: AsyncSession, login: str, password: str) -> Account | None:
    """The active account whose username or e-mail is ``login`` and whose password matches."""
    login = login.strip().lstrip("@")
    stmt = (
        select(Account)
        .join(Actor, Account.person_id == Actor.id)
        .where(
            Account.is_active.is_(True),
            (func.lower(Actor.username) == login.lower()) | (func.lower(Account.email) == login.lower()),
        )
        .options(selectinload(Account.person))
    )
    account = await session.scalar(stmt)
    if account is None:
        verify_password(_DUMMY_HASH, password)  # same cost whether or not the account exists
        return None
    if not verify_password(account.password_hash, password):
        return None
    account.last_login_at = datetime.now(UTC)
    return account


_DUMMY_HASH = _hasher.hash("not-a-real-password")

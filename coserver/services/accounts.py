"""Accounts: sign-up of a local person (account + person actor), password checks (argon2), password and
e-mail changes.

Deleting an account lives in ``coserver.services.account_deletion``; password-reset links in
``coserver.services.password_resets``.
"""

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
from coserver.services.errors import Conflict, InvalidInput, ServiceError
from coserver.services.usernames import normalize_username, username_taken
from coserver.services.web_sessions import close_all_sessions

_hasher = PasswordHasher()
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
# The password hash of an anonymised account: no password ever matches it (argon2 refuses to parse it).
ANONYMISED_HASH = "!anonymised"


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


def check_new_password(password: str, confirmation: str) -> None:
    """A new password typed twice, as forms ask for it."""
    _check_password(password)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"a password has at most {MAX_PASSWORD_LENGTH} characters", field="password")
    if password != confirmation:
        raise InvalidInput("the two passwords differ", field="password_confirm")


async def _email_in_use(session: AsyncSession, email: str, *, other_than: int | None = None) -> bool:
    stmt = select(Account.id).where(func.lower(Account.email) == email.lower())
    if other_than is not None:
        stmt = stmt.where(Account.id != other_than)
    return (await session.scalar(stmt)) is not None


async def check_signup(
    session: AsyncSession, *, username: str, email: str, password: str, confirmation: str
) -> list[ServiceError]:
    """Every problem of a sign-up form at once (one per field), so a page can show them all together."""
    problems: list[ServiceError] = []
    try:
        value = normalize_username(username)
        if await username_taken(session, value):
            problems.append(Conflict("this username is already taken", field="username"))
    except InvalidInput as exc:
        if "reserved" in exc.message:
            exc = InvalidInput("this username is reserved", field="username")
        problems.append(exc)
    try:
        normalized = _normalize_email(email)
        if normalized and await _email_in_use(session, normalized):
            problems.append(Conflict("an account already uses this e-mail address", field="email"))
    except InvalidInput as exc:
        problems.append(exc)
    try:
        check_new_password(password, confirmation)
    except InvalidInput as exc:
        problems.append(exc)
    return problems


async def change_password(
    session: AsyncSession,
    account: Account,
    current: str,
    password: str,
    confirmation: str,
    *,
    keep_session: str | None = None,
) -> int:
    """Replace the password after checking the current one; closes the account's other browser sessions
    (all but ``keep_session``). Returns how many were closed. Flushes."""
    if not verify_password(account.password_hash, current):
        raise InvalidInput("the current password is not right", field="current_password")
    check_new_password(password, confirmation)
    account.password_hash = hash_password(password)
    closed = await close_all_sessions(session, account.id, keep=keep_session)
    await session.flush()
    return closed


async def change_email(session: AsyncSession, account: Account, email: str | None) -> bool:
    """Set (or remove, with an empty value) the private e-mail address; returns whether it changed."""
    normalized = _normalize_email(email)
    if normalized and await _email_in_use(session, normalized, other_than=account.id):
        raise Conflict("an account already uses this e-mail address", field="email")
    if (account.email or None) == normalized:
        return False
    account.email = normalized
    await session.flush()
    return True

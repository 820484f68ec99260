"""API bearer tokens: created for an account (CLI or username + password), stored as SHA-256 only."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import BigInteger, DateTime, Select, Text, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from coserver.models import Account, ApiToken
from coserver.prepared import Prepared, placeholder, prepared
from coserver.services.errors import ServiceError

PREFIX = "co_"


class Unauthorized(ServiceError):
    status = 401


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(session: AsyncSession, account: Account, name: str = "") -> str:
    """A new token for ``account``; the plaintext is returned once and never stored."""
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(account_id=account.id, token_hash=_digest(token), name=name[:100]))
    await session.flush()
    return token


@dataclass(frozen=True)
class TokenOwner:
    token_id: int
    account_id: int
    person_id: int
    touched: bool  # its last use is due to be recorded (done by the look-up)


def token_lookup(token_hash: Any) -> Select:
    """SQL: the token's id and last use, its account's id, person id and whether it is active (``token_hash``:
    a digest, or a placeholder)."""
    return (
        select(ApiToken.id, ApiToken.last_used_at, Account.id, Account.person_id, Account.is_active)
        .join(Account, Account.id == ApiToken.account_id)
        .where(ApiToken.token_hash == token_hash)
    )


def _touch(token_id: Any, now: Any):
    return update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)


def _checked(token: str) -> str:
    """The digest of a well-formed token."""
    if not token.startswith(PREFIX) or len(token) > 200:
        raise Unauthorized("invalid token")
    return _digest(token)


def _owner(row: Any, now: datetime) -> TokenOwner:
    if row is None:
        raise Unauthorized("invalid token")
    token_id, last_used_at, account_id, person_id, is_active = row
    if not is_active or person_id is None:
        raise Unauthorized("this account is disabled")
    touched = last_used_at is None or now - last_used_at > timedelta(minutes=5)
    return TokenOwner(token_id, account_id, person_id, touched)


async def token_owner(session: AsyncSession, token: str) -> TokenOwner:
    """Whose ``token`` it is (Unauthorized if unknown or the account is disabled); its last use is recorded
    at most every 5 minutes (in the session's transaction)."""
    now = datetime.now(UTC)
    owner = _owner((await session.execute(token_lookup(_checked(token)))).first(), now)
    if owner.touched:
        await session.execute(_touch(owner.token_id, now))
    return owner


def token_query(token: str) -> tuple[Prepared, dict[str, Any]]:
    """``token_lookup`` compiled once (``coserver.prepared``), and its parameters for ``token``."""
    lookup = prepared("token_lookup", lambda: token_lookup(placeholder("token_hash", Text)))
    return lookup, {"token_hash": _checked(token)}


async def token_owner_raw(conn: asyncpg.Connection, token: str) -> TokenOwner:
    """``token_owner`` for the raw asyncpg hot paths (``coserver.prepared``): one statement, plus the
    autocommitted record of its use when due."""
    now = datetime.now(UTC)
    lookup, params = token_query(token)
    owner = _owner(await lookup.fetchrow(conn, **params), now)
    if owner.touched:
        slots = placeholder("token_id", BigInteger), placeholder("now", DateTime(timezone=True))
        touch = prepared("token_touch", lambda: _touch(*slots))
        await touch.execute(conn, token_id=owner.token_id, now=now)
    return owner


async def account_for_token(session: AsyncSession, token: str) -> Account:
    """The active account of ``token``; ``session.info["token_touched"]`` tells its last use was recorded."""
    owner = await token_owner(session, token)
    session.info["token_touched"] = owner.touched
    account = await session.scalar(
        select(Account).where(Account.id == owner.account_id).options(selectinload(Account.person))
    )
    if account is None:
        raise Unauthorized("invalid token")
    return account

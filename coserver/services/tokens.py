"""API bearer tokens: created for an account (CLI or username + password), stored as SHA-256 only."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from coserver.models import Account, ApiToken
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


async def account_for_token(session: AsyncSession, token: str) -> Account:
    if not token.startswith(PREFIX) or len(token) > 200:
        raise Unauthorized("invalid token")
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None:
        raise Unauthorized("invalid token")
    account = await session.scalar(
        select(Account)
        .where(Account.id == row.account_id, Account.is_active.is_(True))
        .options(selectinload(Account.person))
    )
    if account is None:
        raise Unauthorized("this account is disabled")
    now = datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now
    return account

"""Browser sessions: opened at log-in, found from the cookie's token, closed at log-out or password change."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Account, Actor, WebSession

SESSION_LIFETIME = timedelta(days=30)
_TOUCH_EVERY = timedelta(minutes=10)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(session: AsyncSession, account: Account, user_agent: str = "") -> str:
    """A new session for ``account``; returns the cookie token (only its digest is stored)."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.add(
        WebSession(
            token_hash=digest(token),
            account_id=account.id,
            csrf_token=secrets.token_urlsafe(32),
            user_agent=user_agent[:300],
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    await session.flush()
    return token


async def find_session(session: AsyncSession, token: str) -> tuple[WebSession, Account, Actor] | None:
    """The live session of ``token`` with its active account and person (one query), sliding its expiry."""
    if not token or len(token) > 100:
        return None
    now = datetime.now(UTC)
    row = (
        await session.execute(
            select(WebSession, Account, Actor)
            .join(Account, Account.id == WebSession.account_id)
            .join(Actor, Actor.id == Account.person_id)
            .where(
                WebSession.token_hash == digest(token),
                WebSession.expires_at > now,
                Account.is_active.is_(True),
            )
        )
    ).first()
    if row is None:
        return None
    web_session, account, person = row
    if now - web_session.last_seen_at > _TOUCH_EVERY:
        web_session.last_seen_at = now
        web_session.expires_at = now + SESSION_LIFETIME
    return web_session, account, person


async def close_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(WebSession).where(WebSession.token_hash == digest(token)))


async def close_all_sessions(session: AsyncSession, account_id: int, *, keep: str | None = None) -> int:
    """Log ``account_id`` out everywhere (after a password change or reset), except the session ``keep``."""
    stmt = delete(WebSession).where(WebSession.account_id == account_id)
    if keep:
        stmt = stmt.where(WebSession.token_hash != digest(keep))
    result = await session.execute(stmt)
    return result.rowcount or 0


async def purge_expired(session: AsyncSession) -> int:
    result = await session.execute(delete(WebSession).where(WebSession.expires_at <= datetime.now(UTC)))
    return result.rowcount or 0

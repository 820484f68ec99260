"""Fixed-window rate limits counted in PostgreSQL, shared by every worker process (log-in, sign-up...)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import RateLimitHit
from coserver.services.errors import ServiceError


class RateLimited(ServiceError):
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


_HIT = text(
    "INSERT INTO rate_limit_hits (key, window_start, count) VALUES (:key, :start, 1) "
    "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limit_hits.count + 1 RETURNING count"
)


def _window(now: datetime, seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


async def hit(session: AsyncSession, key: str, *, limit: int, window_seconds: int) -> None:
    """Count one use of ``key``; raise :class:`RateLimited` past ``limit`` uses in the current window."""
    now = datetime.now(UTC)
    start = _window(now, window_seconds)
    count = await session.scalar(_HIT, {"key": key[:200], "start": start})
    if count is not None and count > limit:
        retry = int((start + timedelta(seconds=window_seconds) - now).total_seconds()) + 1
        raise RateLimited("too many attempts; try again later", retry_after=max(retry, 1))


async def purge(session: AsyncSession, older_than: timedelta = timedelta(days=1)) -> int:
    result = await session.execute(
        delete(RateLimitHit).where(RateLimitHit.window_start < datetime.now(UTC) - older_than)
    )
    return result.rowcount or 0

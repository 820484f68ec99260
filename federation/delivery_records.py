"""The delivery queue in the database: leasing due rows, writing attempt results, domain health.

- **Claim** (:func:`claim_deliveries`): one statement leases a batch (``FOR UPDATE SKIP LOCKED``, then
  ``locked_until`` and ``attempts + 1``), returning each row with its signer's key as a :class:`Claimed`;
  committed at once. A killed worker's lease expires and another worker takes the rows.
- **Record** (:class:`ResultRecorder`): results are written as they come, so an acknowledged delivery is
  marked done within one statement's latency of its 2xx (statements issued while another is in flight are
  merged into the next one; nothing waits for a timer). Failures reschedule the row (as
  :func:`federation.retry_policy.resolve` says) and release the lease; rows whose lease ran out unsent are
  released without counting the attempt.
- **Domain health** (:func:`record_domain_failure`, :func:`clear_domain_failures`): network errors and 5xx
  count a failure day for the domain (:data:`UNAVAILABLE_AFTER_DAYS` distinct days: unavailable); a 2xx
  clears it.

:mod:`federation.delivery` drives these while it sends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from coserver.db import Database
from federation.retry_policy import Outcome, resolve

__all__ = [
    "DEFAULT_LEASE",
    "UNAVAILABLE_AFTER_DAYS",
    "Claimed",
    "ResultRecorder",
    "claim_deliveries",
    "clear_domain_failures",
    "record_domain_failure",
]

log = logging.getLogger(__name__)

UNAVAILABLE_AFTER_DAYS = 7
DEFAULT_LEASE = 300.0


@dataclass(slots=True)
class Claimed:
    """A leased delivery, with what sending it needs. ``attempts`` counts this attempt."""

    id: int
    activity_id: str
    inbox_url: str
    domain: str
    body: bytes
    attempts: int
    key_id: str | None
    private_key_pem: str | None
    unavailable: bool = False  # the domain is marked unavailable: the row is ignored, not sent
    flagged: bool = False  # the domain has a failure record (a 2xx must clear it)
    deadline: float = float("inf")  # time.monotonic() after which the lease may have expired


_CLAIM = text("""
WITH claimed AS (
    UPDATE deliveries AS d
    SET locked_until = now() + make_interval(secs => :lease), attempts = d.attempts + 1
    WHERE d.id IN (
        SELECT id FROM deliveries
        WHERE status = 'pending' AND next_attempt_at <= now()
          AND (locked_until IS NULL OR locked_until < now())
        ORDER BY next_attempt_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED)
    RETURNING d.id, d.actor_id, d.activity_id, d.inbox_url, d.domain, d.body, d.attempts
)
SELECT c.id, c.activity_id, c.inbox_url, c.domain, c.body, c.attempts, a.key_id, a.private_key_pem,
       h.unavailable_since IS NOT NULL AS unavailable, h.domain IS NOT NULL AS flagged
FROM claimed AS c JOIN actors AS a ON a.id = c.actor_id LEFT JOIN domain_health AS h ON h.domain = c.domain
ORDER BY c.id
""")
_RECORD = text("""
UPDATE deliveries AS d SET
    status = u.status,
    next_attempt_at = COALESCE(now() + make_interval(secs => u.delay), d.next_attempt_at),
    last_status = u.http_status,
    last_error = u.error,
    delivered_at = CASE WHEN u.status = 'done' THEN now() ELSE d.delivered_at END,
    locked_until = NULL
FROM unnest(CAST(:ids AS bigint[]), CAST(:states AS text[]), CAST(:delays AS float8[]),
            CAST(:statuses AS integer[]), CAST(:errors AS text[])) AS u(id, status, delay, http_status, error)
WHERE d.id = u.id
""")
_RELEASE = text(
    "UPDATE deliveries SET locked_until = NULL, attempts = attempts - 1 "
    "WHERE id = ANY(CAST(:ids AS bigint[]))"
)
_FAILURE_DAY = text("""
INSERT INTO domain_health AS h (domain, failure_days, last_failure_day, updated_at)
VALUES (:domain, 1, :today, now())
ON CONFLICT (domain) DO UPDATE SET
    failure_days = h.failure_days + CAST(COALESCE(h.last_failure_day < :today, true) AS integer),
    last_failure_day = GREATEST(h.last_failure_day, :today),
    unavailable_since = COALESCE(h.unavailable_since, CASE WHEN h.failure_days
        + CAST(COALESCE(h.last_failure_day < :today, true) AS integer) >= :days THEN now() END),
    updated_at = now()
RETURNING unavailable_since IS NOT NULL
""")


async def claim_deliveries(db: Database, limit: int, lease_seconds: float = DEFAULT_LEASE) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries (oldest due first) for ``lease_seconds``; committed at once."""
    deadline = time.monotonic() + lease_seconds - 1.0
    async with db.engine.begin() as conn:
        rows = (await conn.execute(_CLAIM, {"lease": float(lease_seconds), "limit": limit})).all()
    return [Claimed(*row, deadline=deadline) for row in rows]


def _today() -> date:
    return datetime.now(UTC).date()


async def record_domain_failure(
    session: AsyncSession | AsyncConnection, domain: str, *, today: date | None = None
) -> bool:
    """Count a failed delivery to ``domain`` (once per UTC day); True when the domain is unavailable."""
    params = {"domain": domain.lower(), "today": today or _today(), "days": UNAVAILABLE_AFTER_DAYS}
    return bool((await session.execute(_FAILURE_DAY, params)).scalar_one())


async def clear_domain_failures(session: AsyncSession | AsyncConnection, domain: str) -> None:
    """Forget ``domain``'s failures (a 2xx from it, or a signed request from it reached our inbox)."""
    await session.execute(
        text("DELETE FROM domain_health WHERE domain = :domain"), {"domain": domain.lower()}
    )


class ResultRecorder:
    """Writes attempt results as they arrive: each flush takes everything queued since the previous one."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.pending: list[tuple[Claimed, Outcome]] = []
        self.flagged: set[str] = set()  # domains this batch recorded a failure for
        self.counts: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._run())

    def add(self, claimed: Claimed, outcome: Outcome) -> None:
        self.pending.append((claimed, outcome))
        self._wake.set()

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.pending:
                batch, self.pending = self.pending, []
                await self._write(batch)
            if self._closing:
                return

    async def _write(self, batch: list[tuple[Claimed, Outcome]]) -> None:
        for attempt in range(3):
            try:
                async with self.db.engine.begin() as conn:
                    await self._apply(conn, batch)
                break
            except Exception:
                log.exception("recording %d delivery results failed (try %d of 3)", len(batch), attempt + 1)
                await asyncio.sleep(0.5 * 2**attempt)
        else:
            return  # their leases expire and they are tried again
        for _claimed, outcome in batch:
            self.counts[outcome.state] = self.counts.get(outcome.state, 0) + 1

    async def _apply(self, conn: AsyncConnection, batch: Iterable[tuple[Claimed, Outcome]]) -> None:
        columns: tuple[list, ...] = ([], [], [], [], [])
        released: list[int] = []
        health: dict[str, bool] = {}  # domain -> failed (True) or answered 2xx (False), the last event wins
        for claimed, outcome in batch:
            if outcome.state == "released":
                released.append(claimed.id)
                continue
            state, delay, error = resolve(claimed, outcome)
            for column, value in zip(columns, (claimed.id, state, delay, outcome.status, error), strict=True):
                column.append(value)
            if outcome.state == "done" and (claimed.flagged or claimed.domain in self.flagged):
                health[claimed.domain] = False
            elif outcome.domain_failure:
                health[claimed.domain] = True
        if columns[0]:
            names = ("ids", "states", "delays", "statuses", "errors")
            await conn.execute(_RECORD, dict(zip(names, columns, strict=True)))
        if released:
            await conn.execute(_RELEASE, {"ids": released})
        for domain, failed in health.items():
            if failed:
                if await record_domain_failure(conn, domain):
                    log.warning(
                        "domain %s failed on %d distinct days: unavailable", domain, UNAVAILABLE_AFTER_DAYS
                    )
                self.flagged.add(domain)
            else:
                await clear_domain_failures(conn, domain)
                self.flagged.discard(domain)

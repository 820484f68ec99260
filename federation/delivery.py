"""Outbound delivery: claim due ``Delivery`` rows, sign every attempt afresh, POST, apply Mastodon's policy.

- **Claim** (:func:`claim_deliveries`): one statement leases a batch (``FOR UPDATE SKIP LOCKED``, then
  ``locked_until`` and ``attempts + 1``), returning each row with its signer's key; committed at once. A
  killed worker's lease expires and another worker takes the rows. Rows whose domain is unavailable are
  claimed too and marked ``ignored`` without being sent.
- **Send** (:func:`send_one`): ``check_url``, a fresh draft-cavage signature (new ``Date`` and ``Digest``
  over the stored bytes), one POST, and :func:`classify`: 2xx done; other 4xx (but 401/408/429) and 501
  failed; 401/408/429/3xx/5xx and network errors retried (``Retry-After`` honoured for 429/503, capped at a
  day), otherwise after ``attempts⁴ + 15 s`` plus up to 50 % jitter (:func:`retry_delay`), at most 16
  attempts.
- **Record** (:class:`_Recorder`): results are written as they come, so an acknowledged delivery is marked
  done within one statement's latency of its 2xx (statements issued while another is in flight are merged
  into the next one; nothing waits for a timer). Failures reschedule and release the lease. Network errors
  and 5xx count a failure day for the domain (7 distinct days: unavailable); a 2xx clears it.
- **Batch** (:func:`run_delivery_batch`): ``concurrency`` lanes pull from chunks claimed on demand, and
  requests go through :class:`DeliveryClient`, a small keep-alive HTTP/1.1 client (httpx costs ~0.7 ms of
  CPU per request here and its pool slows down sharply with 64 requests in flight). A row is sent only while
  its lease has time left; otherwise it is released unsent.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from coserver.config import Settings
from coserver.db import Database
from federation.context import FederationContext
from federation.digests import parse_http_date
from federation.h1client import DeliveryClient, DeliveryError
from federation.http import ACTIVITY_JSON, AP_ACCEPT, UnresolvableHost, UnsafeURL, check_url
from federation.signatures import sign_request

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 16
MAX_RETRY_AFTER = 86400.0
UNAVAILABLE_AFTER_DAYS = 7
DEFAULT_CONCURRENCY = 64
DEFAULT_BATCH = 1000
DEFAULT_LEASE = 300.0
REQUEST_TIMEOUT = 30.0
_HEADERS = {"Content-Type": ACTIVITY_JSON, "Accept": AP_ACCEPT}
_NO_RETRY_4XX_EXCEPT = frozenset({401, 408, 429})


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


@dataclass(slots=True)
class Outcome:
    """One attempt's result; ``state``: done, retry, failed, ignored or released (its lease ran out)."""

    state: str
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    domain_failure: bool = False


RELEASED = Outcome("released", error="lease ran out before sending")


# -- policy ----------------------------------------------------------------------------------------------
def retry_delay(attempts: int, rand: Callable[[], float] = random.random) -> float:
    """Seconds before the next try after ``attempts`` failed ones: ``attempts⁴ + 15`` plus up to 50 %."""
    base = attempts**4 + 15
    return base * (1.0 + 0.5 * rand())


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` (seconds or an HTTP date) as seconds from now, within [1 s, 1 day]; None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        when = parse_http_date(value)
        if when is None:
            return None
        seconds = when - (time.time() if now is None else now)
    return min(max(seconds, 1.0), MAX_RETRY_AFTER)


def classify(status: int, headers: Mapping[str, str]) -> Outcome:
    """Mastodon's rules (``response_error_unsalvageable?``) for an HTTP answer to a delivery."""
    if 200 <= status < 300:
        return Outcome("done", status)
    error = f"HTTP {status}"
    if status == 501 or (400 <= status < 500 and status not in _NO_RETRY_4XX_EXCEPT):
        return Outcome("failed", status, error, domain_failure=status >= 500)
    retry_after = parse_retry_after(headers.get("retry-after")) if status in (429, 503) else None
    return Outcome("retry", status, error, retry_after, domain_failure=status >= 500)


def resolve(claimed: Claimed, outcome: Outcome) -> tuple[str, float | None, str | None]:
    """The row's next (status, seconds until the next attempt or None, last_error) after ``outcome``."""
    if outcome.state != "retry":
        return outcome.state, None, outcome.error
    if claimed.attempts >= MAX_ATTEMPTS:
        return "failed", None, f"{outcome.error} (gave up after {claimed.attempts} attempts)"
    delay = outcome.retry_after if outcome.retry_after is not None else retry_delay(claimed.attempts)
    return "pending", delay, outcome.error


# -- sending ---------------------------------------------------------------------------------------------
_checked: dict[str, float] = {}  # hosts that passed check_url, until when (monotonic)


async def _check(url: str, settings: Settings) -> None:
    if settings.allow_private_addresses:
        await check_url(url, allow_private=True)
        return
    parts = urlsplit(url)
    key = f"{parts.scheme}://{parts.netloc}"
    if _checked.get(key, 0.0) > time.monotonic():
        return
    await check_url(url, allow_private=False)
    if len(_checked) > 10000:
        _checked.clear()
    _checked[key] = time.monotonic() + 60.0


async def send_one(
    http: DeliveryClient | httpx.AsyncClient,
    settings: Settings,
    claimed: Claimed,
    *,
    signer: Executor | None = None,
    time_limit: float | None = None,
) -> Outcome:
    """Check the URL, sign afresh, POST ``claimed`` once and classify the answer. Never raises."""
    if not claimed.key_id or not claimed.private_key_pem:
        return Outcome("failed", error="the sender has no signing key")
    if not claimed.inbox_url.isascii():
        return Outcome("failed", error="the inbox URL is not ASCII (percent-encode it)")
    try:
        await _check(claimed.inbox_url, settings)
    except UnsafeURL as exc:
        if isinstance(exc, UnresolvableHost):
            return Outcome("retry", error=str(exc), domain_failure=True)
        return Outcome("failed", error=f"refused: {exc}")
    sign = functools.partial(
        sign_request,
        "POST",
        claimed.inbox_url,
        _HEADERS,
        claimed.body,
        claimed.key_id,
        claimed.private_key_pem,
    )
    try:
        headers = sign() if signer is None else await asyncio.get_running_loop().run_in_executor(signer, sign)
    except ValueError as exc:
        return Outcome("failed", error=f"cannot sign: {exc}")
    try:
        if isinstance(http, DeliveryClient):
            status, answer = await http.post(claimed.inbox_url, headers, claimed.body, time_limit=time_limit)
        else:
            try:
                response = await http.post(
                    claimed.inbox_url,
                    content=claimed.body,
                    headers=headers,
                    timeout=time_limit or REQUEST_TIMEOUT,
                )
            except httpx.HTTPError as exc:
                raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
            status, answer = response.status_code, {k.lower(): v for k, v in response.headers.items()}
    except DeliveryError as exc:
        return Outcome("retry", error=str(exc), domain_failure=True)
    return classify(status, answer)


# -- claiming and recording ------------------------------------------------------------------------------
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


class _Recorder:
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


class _Feeder:
    """Hands claimed rows to the lanes, claiming the next chunk while the lanes still have work queued."""

    def __init__(self, db: Database, recorder: _Recorder, limit: int, concurrency: int, lease: float) -> None:
        self.db, self.recorder, self.lease = db, recorder, lease
        self.remaining, self.low_water = limit, concurrency
        self.chunk = max(16, min(limit, 2 * concurrency))
        self.queue: deque[Claimed] = deque()
        self.claimed = 0
        self.exhausted = False
        self.error: Exception | None = None
        self._task: asyncio.Task[None] | None = None

    async def next(self, stop: asyncio.Event | None) -> Claimed | None:
        while True:
            if stop is not None and stop.is_set():
                self.release()
                return None
            idle = self._task is None or self._task.done()
            if idle and not self.exhausted and self.remaining > 0 and len(self.queue) <= self.low_water:
                self._task = asyncio.create_task(self._claim())
                idle = False
            if self.queue:
                return self.queue.popleft()
            if idle:
                return None
            await asyncio.shield(self._task)  # type: ignore[arg-type]

    async def _claim(self) -> None:
        want = min(self.chunk, self.remaining)
        try:
            rows = await claim_deliveries(self.db, want, self.lease)
        except Exception as exc:  # re-raised by run_delivery_batch once the lanes are done
            self.error, self.exhausted = exc, True
            return
        self.remaining -= len(rows)
        self.claimed += len(rows)
        self.exhausted = len(rows) < want
        for row in rows:
            if row.unavailable:
                self.recorder.add(row, Outcome("ignored", error=f"domain {row.domain} is unavailable"))
            else:
                self.queue.append(row)

    def release(self) -> None:
        while self.queue:
            self.recorder.add(self.queue.popleft(), RELEASED)

    async def close(self) -> None:
        if self._task is not None:
            await self._task
        self.release()


async def run_delivery_batch(
    ctx: FederationContext,
    limit: int = DEFAULT_BATCH,
    *,
    client: DeliveryClient | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    lease_seconds: float = DEFAULT_LEASE,
    signer: Executor | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Claim up to ``limit`` due deliveries, in chunks as lanes free up, and send them; returns how many.

    ``concurrency`` requests are in flight at most. ``client`` (default: a new one for this call) keeps
    connections alive; ``signer`` optionally runs the RSA signatures in a thread pool. When ``stop`` is set,
    no more rows are started and those already claimed are released unsent. All results are written before
    this returns.
    """
    http = client or DeliveryClient(ctx.settings)
    http_timeout = http.timeout if isinstance(http, DeliveryClient) else REQUEST_TIMEOUT
    recorder = _Recorder(ctx.db)
    feeder = _Feeder(ctx.db, recorder, limit, max(1, concurrency), lease_seconds)

    async def lane() -> None:
        while (row := await feeder.next(stop)) is not None:
            left = row.deadline - time.monotonic()
            if left < 1.0:
                recorder.add(row, RELEASED)
                continue
            try:
                outcome = await send_one(
                    http, ctx.settings, row, signer=signer, time_limit=min(http_timeout, left)
                )
            except Exception as exc:  # a bug, not the remote's fault: retry later, keep the worker alive
                log.exception("delivery %d to %s: unexpected error", row.id, row.inbox_url)
                outcome = Outcome("retry", error=f"internal error: {type(exc).__name__}: {exc}")
            recorder.add(row, outcome)

    try:
        await asyncio.gather(*(lane() for _ in range(max(1, concurrency))))
    finally:
        await feeder.close()
        await recorder.close()
        if client is None:
            await http.aclose()
    if feeder.claimed:
        log.debug("delivery batch of %d: %s", feeder.claimed, recorder.counts)
    if feeder.error is not None:
        raise feeder.error
    return feeder.claimed

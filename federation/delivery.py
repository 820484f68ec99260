"""Outbound delivery: claim due ``Delivery`` rows, sign every attempt afresh, POST, apply Mastodon's policy.

- **Claim** (:func:`~federation.delivery_records.claim_deliveries`): one statement leases a batch
  (``FOR UPDATE SKIP LOCKED``, then ``locked_until`` and ``attempts + 1``), returning each row with its
  signer's key; committed at once. A killed worker's lease expires and another worker takes the rows. Rows
  whose domain is unavailable are claimed too and marked ``ignored`` without being sent.
- **Send** (:func:`send_one`): ``check_url``, a fresh draft-cavage signature (new ``Date`` and ``Digest``
  over the stored bytes), one POST, and :func:`~federation.retry_policy.classify`: 2xx done; other 4xx (but
  401/408/429) and 501 failed; 401/408/429/3xx/5xx and network errors retried (``Retry-After`` honoured for
  429/503, capped at a day), otherwise after ``attempts⁴ + 15 s`` plus up to 50 % jitter
  (:func:`~federation.retry_policy.retry_delay`), at most 16 attempts.
- **Record** (:class:`~federation.delivery_records.ResultRecorder`): results are written as they come, so
  an acknowledged delivery is marked done within one statement's latency of its 2xx (statements issued
  while another is in flight are merged into the next one; nothing waits for a timer). Failures reschedule
  and release the lease. Network errors and 5xx count a failure day for the domain (7 distinct days:
  unavailable); a 2xx clears it.
- **Batch** (:func:`run_delivery_batch`): ``concurrency`` lanes pull from chunks claimed on demand, and
  requests go through :class:`DeliveryClient`, a small keep-alive HTTP/1.1 client (httpx costs ~0.7 ms of
  CPU per request here and its pool slows down sharply with 64 requests in flight). A row is sent only while
  its lease has time left; otherwise it is released unsent.

The retry policy is in :mod:`federation.retry_policy` and the database side (claiming, recording, domain
health) in :mod:`federation.delivery_records`; their public names are re-exported here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import deque
from concurrent.futures import Executor
from urllib.parse import urlsplit

import httpx

from coserver.config import Settings
from coserver.db import Database
from federation.context import FederationContext
from federation.delivery_records import (
    DEFAULT_LEASE,
    UNAVAILABLE_AFTER_DAYS,
    Claimed,
    ResultRecorder,
    claim_deliveries,
    clear_domain_failures,
    record_domain_failure,
)
from federation.h1client import DeliveryClient, DeliveryError
from federation.http import ACTIVITY_JSON, AP_ACCEPT, UnresolvableHost, UnsafeURL, check_url
from federation.retry_policy import (
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    Outcome,
    classify,
    parse_retry_after,
    resolve,
    retry_delay,
)
from federation.signatures import sign_request

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_LEASE",
    "MAX_ATTEMPTS",
    "MAX_RETRY_AFTER",
    "RELEASED",
    "REQUEST_TIMEOUT",
    "UNAVAILABLE_AFTER_DAYS",
    "Claimed",
    "DeliveryClient",
    "Outcome",
    "claim_deliveries",
    "classify",
    "clear_domain_failures",
    "parse_retry_after",
    "record_domain_failure",
    "resolve",
    "retry_delay",
    "run_delivery_batch",
    "send_one",
]

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 64
DEFAULT_BATCH = 1000
REQUEST_TIMEOUT = 30.0
_HEADERS = {"Content-Type": ACTIVITY_JSON, "Accept": AP_ACCEPT}

RELEASED = Outcome("released", error="lease ran out before sending")


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


# -- batches ---------------------------------------------------------------------------------------------
class _Feeder:
    """Hands claimed rows to the lanes, claiming the next chunk while the lanes still have work queued."""

    def __init__(
        self, db: Database, recorder: ResultRecorder, limit: int, concurrency: int, lease: float
    ) -> None:
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
    recorder = ResultRecorder(ctx.db)
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

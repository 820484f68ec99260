"""The background worker: sends due deliveries and processes received inbox items until told to stop.

Any number of workers may run, on any hosts, against one database: rows are claimed under a lease with
``FOR UPDATE SKIP LOCKED``, so each row is worked on by one worker at a time, and the rows of a worker that
died are taken up again when their lease expires. Deliveries and inbox items run as two loops; each sleeps
``poll_interval`` when nothing is due, and wakes early on ``NOTIFY coserver_queue`` (best effort: when
listening fails the loops just poll).

Inbox items are processed by ``federation.handlers.process_inbox_item(ctx, session, item)``, one item per
transaction, inside a savepoint and a 30 s time limit. It may raise ``federation.handlers.Ignore`` to mark
the item ignored; any other exception schedules a retry (``retry_delay``), and the 5th failure marks it
failed with the error text. The item's status is written in the same transaction as the handler's work, so
it is done exactly when its effects are committed. Items of one actor are processed in order; different
actors concurrently.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from coserver.db import Database
from coserver.models import InboxItem
from federation.context import FederationContext
from federation.delivery import (
    DEFAULT_BATCH,
    DEFAULT_CONCURRENCY,
    DEFAULT_LEASE,
    DeliveryClient,
    retry_delay,
    run_delivery_batch,
)

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "coserver_queue"
INBOX_TIMEOUT = 30.0
INBOX_MAX_ATTEMPTS = 5
INBOX_BATCH = 100
INBOX_LEASE = 300.0
_MAX_ONCE_ROUNDS = 1000


def _handlers() -> ModuleType | None:
    try:
        return importlib.import_module("federation.handlers")
    except ModuleNotFoundError as exc:
        if exc.name != "federation.handlers":
            raise
        log.warning("federation.handlers does not exist yet: inbox items are left pending")
        return None


async def claim_inbox_items(db: Database, limit: int, lease_seconds: float = INBOX_LEASE) -> list[InboxItem]:
    """Lease up to ``limit`` due inbox items (``attempts + 1``); committed at once, returned detached."""
    due = (
        select(InboxItem.id)
        .where(
            InboxItem.status == "pending",
            InboxItem.next_attempt_at <= func.now(),
            or_(InboxItem.locked_until.is_(None), InboxItem.locked_until < func.now()),
        )
        .order_by(InboxItem.next_attempt_at, InboxItem.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(InboxItem)
        .where(InboxItem.id.in_(due))
        .values(
            locked_until=func.now() + func.make_interval(0, 0, 0, 0, 0, 0, float(lease_seconds)),
            attempts=InboxItem.attempts + 1,
        )
        .returning(InboxItem)
        .execution_options(synchronize_session=False)
    )
    async with db.transaction() as session:
        items = list((await session.scalars(stmt)).all())
        session.expunge_all()
    return sorted(items, key=lambda item: item.id)


async def _record_item(session: AsyncSession, item: InboxItem, state: str, error: str | None) -> None:
    values: dict[str, Any] = {"status": state, "error": error, "locked_until": None}
    if state == "retry":
        if item.attempts >= INBOX_MAX_ATTEMPTS:
            values["status"] = "failed"
            values["error"] = f"{error} (gave up after {item.attempts} attempts)"
        else:
            values["status"] = "pending"
            values["next_attempt_at"] = func.now() + func.make_interval(
                0, 0, 0, 0, 0, 0, retry_delay(item.attempts)
            )
    if values["status"] != "pending":
        values["processed_at"] = func.now()
    stmt = update(InboxItem).where(InboxItem.id == item.id).values(**values)
    await session.execute(stmt.execution_options(synchronize_session=False))


async def process_item(ctx: FederationContext, handlers: ModuleType, item: InboxItem) -> str:
    """Run the handler on one claimed item and record the result; returns done, ignored or retry."""
    state, error = "done", None
    try:
        async with ctx.db.transaction() as session:
            live = await session.merge(item, load=False)
            try:
                async with session.begin_nested():
                    await asyncio.wait_for(
                        handlers.process_inbox_item(ctx, session, live), timeout=INBOX_TIMEOUT
                    )
            except handlers.Ignore as exc:
                state, error = "ignored", str(exc) or "ignored"
            except Exception as exc:
                state, error = "retry", f"{type(exc).__name__}: {exc}"[:2000]
                log.warning("inbox item %d (%s) failed: %s", item.id, item.activity_type, error)
            await _record_item(session, item, state, error)
    except Exception as exc:  # the transaction itself failed: record a retry on its own
        state, error = "retry", f"{type(exc).__name__}: {exc}"[:2000]
        log.warning("inbox item %d (%s): transaction failed: %s", item.id, item.activity_type, error)
        try:
            async with ctx.db.transaction() as session:
                await _record_item(session, item, state, error)
        except Exception:
            log.exception("inbox item %d: cannot record the failure; retried when its lease expires", item.id)
    return state


async def run_inbox_batch(
    ctx: FederationContext,
    limit: int = INBOX_BATCH,
    *,
    concurrency: int = 4,
    lease_seconds: float = INBOX_LEASE,
    stop: asyncio.Event | None = None,
) -> int:
    """Claim up to ``limit`` due inbox items and process them; returns how many were claimed.

    When ``stop`` is set, items not started yet are released (their attempt is not counted).
    """
    handlers = _handlers()
    if handlers is None:
        return 0
    items = await claim_inbox_items(ctx.db, limit, lease_seconds)
    by_actor: dict[str, list[InboxItem]] = {}
    for item in items:
        by_actor.setdefault(item.actor_ap_id, []).append(item)
    groups = list(by_actor.values())
    unstarted: list[int] = []

    async def lane() -> None:
        while groups:
            group = groups.pop()
            for n, item in enumerate(group):
                if stop is not None and stop.is_set():
                    unstarted.extend(i.id for i in group[n:])
                    break
                await process_item(ctx, handlers, item)

    await asyncio.gather(*(lane() for _ in range(max(1, min(concurrency, len(groups))))))
    if unstarted:
        async with ctx.db.transaction() as session:
            stmt = (
                update(InboxItem)
                .where(InboxItem.id.in_(unstarted))
                .values(locked_until=None, attempts=InboxItem.attempts - 1)
            )
            await session.execute(stmt.execution_options(synchronize_session=False))
    return len(items)


class Worker:
    """One worker process's loops, with the HTTP client and signing threads they share."""

    def __init__(
        self,
        ctx: FederationContext,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        batch_size: int = DEFAULT_BATCH,
        lease_seconds: float = DEFAULT_LEASE,
        inbox_concurrency: int = 4,
        sign_threads: int = 0,
    ) -> None:
        self.ctx = ctx
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.inbox_concurrency = inbox_concurrency
        self.client = DeliveryClient(ctx.settings)
        self.signer = ThreadPoolExecutor(sign_threads, "sign") if sign_threads > 0 else None
        self.delivered = 0
        self.processed = 0

    async def deliver(self, stop: asyncio.Event | None = None) -> int:
        """One delivery batch; returns how many deliveries were claimed."""
        count = await run_delivery_batch(
            self.ctx,
            self.batch_size,
            client=self.client,
            concurrency=self.concurrency,
            lease_seconds=self.lease_seconds,
            signer=self.signer,
            stop=stop,
        )
        self.delivered += count
        return count

    async def process_inbox(self, stop: asyncio.Event | None = None) -> int:
        """One inbox batch; returns how many items were claimed."""
        count = await run_inbox_batch(self.ctx, concurrency=self.inbox_concurrency, stop=stop)
        self.processed += count
        return count

    async def run_once(self) -> tuple[int, int]:
        """Process everything due now (deliveries, then inbox items); returns the two counts."""
        deliveries = await self._drain(self.deliver)
        items = await self._drain(self.process_inbox)
        return deliveries, items

    async def run(self, stop: asyncio.Event, *, poll_interval: float = 1.0, once: bool = False) -> None:
        """Both loops until ``stop`` is set (or, with ``once``, until nothing is due)."""
        if once:
            await self.run_once()
            return
        wakes = (asyncio.Event(), asyncio.Event())
        listener = await self._listen(wakes)
        try:
            await asyncio.gather(
                self._loop(lambda: self.deliver(stop), stop, wakes[0], poll_interval),
                self._loop(lambda: self.process_inbox(stop), stop, wakes[1], poll_interval),
            )
        finally:
            if listener is not None:
                await self._unlisten(listener)

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.signer is not None:
            self.signer.shutdown(wait=False)

    @staticmethod
    async def _drain(batch: Callable[[], Awaitable[int]]) -> int:
        total = 0
        for _ in range(_MAX_ONCE_ROUNDS):
            count = await batch()
            total += count
            if count == 0:
                break
        return total

    @staticmethod
    async def _loop(
        batch: Callable[[], Awaitable[int]], stop: asyncio.Event, wake: asyncio.Event, poll_interval: float
    ) -> None:
        pause = poll_interval
        while not stop.is_set():
            wake.clear()
            try:
                if await batch():
                    pause = poll_interval
                    continue
            except Exception:
                log.exception("worker batch failed; retrying in %.0fs", pause)
                pause = min(pause * 2, 30.0)
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
            await asyncio.wait(waiters, timeout=pause, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def _listen(self, wakes: tuple[asyncio.Event, ...]) -> AsyncConnection | None:
        def notified(*_args: object) -> None:
            for wake in wakes:
                wake.set()

        try:
            conn = await self.ctx.db.engine.connect()
        except Exception as exc:
            log.info("not listening for %s (%s): polling only", NOTIFY_CHANNEL, exc)
            return None
        try:
            raw = (await conn.get_raw_connection()).driver_connection
            await raw.add_listener(NOTIFY_CHANNEL, notified)
            return conn
        except Exception as exc:
            log.info("not listening for %s (%s): polling only", NOTIFY_CHANNEL, exc)
            await conn.close()
            return None

    @staticmethod
    async def _unlisten(conn: AsyncConnection) -> None:
        try:
            await conn.invalidate()  # closes the connection, and its LISTEN with it
            await conn.close()
        except Exception:
            log.debug("closing the listening connection failed", exc_info=True)


async def run_worker(
    ctx: FederationContext,
    *,
    stop: asyncio.Event,
    poll_interval: float = 1.0,
    once: bool = False,
    **options: Any,
) -> Worker:
    """Run a :class:`Worker` (``options`` go to it) until ``stop`` is set; returns it, closed."""
    worker = Worker(ctx, **options)
    try:
        await worker.run(stop, poll_interval=poll_interval, once=once)
    finally:
        await worker.aclose()
    return worker


async def run_once(ctx: FederationContext, **options: Any) -> tuple[int, int]:
    """Process every delivery and inbox item due now, as one worker cycle; returns the two counts."""
    worker = Worker(ctx, **options)
    try:
        return await worker.run_once()
    finally:
        await worker.aclose()

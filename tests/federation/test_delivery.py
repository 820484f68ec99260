"""Delivery and worker cycles against a loopback sink: real local actors and keys, real queue rows.

Retries are made due at once by moving ``next_attempt_at`` back ("time travel") after checking the schedule.
"""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from coserver.models import Actor, Delivery, DomainHealth, InboxItem
from federation import handlers
from federation.context import FederationContext
from federation.delivery import (
    MAX_ATTEMPTS,
    Claimed,
    DeliveryClient,
    Outcome,
    claim_deliveries,
    classify,
    clear_domain_failures,
    parse_retry_after,
    record_domain_failure,
    resolve,
    retry_delay,
    run_delivery_batch,
)
from federation.http import make_client
from federation.outbox import enqueue, unique_inboxes
from federation.signatures import http_date
from federation.worker import INBOX_MAX_ATTEMPTS, run_once, run_worker
from tests.factories import make_person
from tests.sinks import HANG, Reply, Sink


@pytest.fixture
async def sink():
    async with Sink() as server:
        yield server


@pytest.fixture
async def ctx(settings, db):
    http = make_client(settings)
    yield FederationContext(settings, db, http)
    await http.aclose()


@pytest.fixture
async def alice(db, settings):
    return await make_person(db, settings, "alice")


async def publish(db, sender: Actor, inboxes: list[str], n: int = 1) -> str:
    activity = {
        "id": f"{sender.ap_id}/activities/{n}",
        "type": "Create",
        "actor": sender.ap_id,
        "object": "x",
    }
    async with db.transaction() as s:
        await enqueue(s, sender, activity, inboxes)
    return activity["id"]


async def rows(db) -> dict[str, Delivery]:
    async with db.session() as s:
        return {d.inbox_url: d for d in (await s.scalars(select(Delivery))).all()}


async def time_travel(db) -> None:
    """Make pending retries due now, after the wall clock has moved to a new second (new Date header)."""
    await asyncio.sleep(1.0 - time.time() % 1.0 + 0.01)
    async with db.transaction() as s:
        await s.execute(
            update(Delivery).where(Delivery.status == "pending").values(next_attempt_at=text("now()"))
        )


def seconds_until(row: Delivery) -> float:
    return (row.next_attempt_at - datetime.now(UTC)).total_seconds()


async def test_fails_throttles_recovers_and_arrives_exactly_once(ctx, db, sink, alice):
    sink.script("/a", Reply(500), Reply(500), Reply(429, {"Retry-After": "1"}))
    await publish(db, alice, [sink.url("/a"), sink.url("/b")])

    await run_once(ctx)
    first = await rows(db)
    assert first[sink.url("/b")].status == "done" and first[sink.url("/b")].delivered_at is not None
    a = first[sink.url("/a")]
    assert (a.status, a.attempts, a.last_status, a.last_error) == ("pending", 1, 500, "HTTP 500")
    assert 16 * 0.98 <= seconds_until(a) <= 24
    await time_travel(db)
    await run_once(ctx)
    assert 31 * 0.98 <= seconds_until((await rows(db))[sink.url("/a")]) <= 47
    await time_travel(db)
    await run_once(ctx)
    a = (await rows(db))[sink.url("/a")]
    assert (a.status, a.last_status) == ("pending", 429) and 0.5 <= seconds_until(a) <= 1.1
    await run_once(ctx)  # not due yet
    assert len(sink.received("/a")) == 3
    await asyncio.sleep(1.1)
    await run_once(ctx)

    a = (await rows(db))[sink.url("/a")]
    assert (a.status, a.attempts, a.last_status, a.last_error) == ("done", 4, 202, None)
    received = sink.received("/a")
    assert [r.status for r in received] == [500, 500, 429, 202]
    assert len(sink.delivered("/a")) == len(sink.delivered("/b")) == 1
    keys = {alice.key_id: alice.public_key_pem}
    for request in [*received, *sink.received("/b")]:
        assert sink.verify(request, keys).key_id == alice.key_id
        assert request.body == a.body and request.headers["content-type"] == "application/activity+json"
    assert len({r.headers["date"] for r in received}) == 4  # signed afresh every attempt
    assert len({r.headers["digest"] for r in received}) == 1
    async with db.session() as s:  # the 2xx of the recovered inbox cleared the domain's failures
        assert await s.get(DomainHealth, "127.0.0.1") is None


@pytest.mark.parametrize("status", [400, 403, 404, 410, 501])
async def test_permanent_errors_fail_without_retry(ctx, db, sink, alice, status):
    sink.set_default("/gone", Reply(status))
    await publish(db, alice, [sink.url("/gone")])
    await run_once(ctx)
    await time_travel(db)
    await run_once(ctx)
    row = (await rows(db))[sink.url("/gone")]
    assert (row.status, row.attempts, row.last_status) == ("failed", 1, status)
    assert len(sink.received("/gone")) == 1


@pytest.mark.parametrize("status", [401, 408, 429, 502, 503, 301])
async def test_salvageable_errors_are_retried(ctx, db, sink, alice, status):
    sink.script("/flaky", Reply(status))
    await publish(db, alice, [sink.url("/flaky")])
    await run_once(ctx)
    row = (await rows(db))[sink.url("/flaky")]
    assert (row.status, row.last_status) == ("pending", status) and 15 < seconds_until(row) <= 24
    await time_travel(db)
    await run_once(ctx)
    assert (await rows(db))[sink.url("/flaky")].status == "done"
    async with db.session() as s:
        assert await s.get(DomainHealth, "127.0.0.1") is None  # recorded for 5xx, then cleared by the 2xx


def test_retry_schedule():
    assert [retry_delay(n, rand=lambda: 0.0) for n in (1, 2, 3, 15)] == [16, 31, 96, 50640]
    assert retry_delay(2, rand=lambda: 1.0) == 31 * 1.5
    assert all(31 <= retry_delay(2) <= 46.5 for _ in range(200))
    total = sum(retry_delay(n, rand=lambda: 0.0) for n in range(1, MAX_ATTEMPTS))
    assert 2 * 86400 < total < 2.1 * 86400  # Mastodon's "about 2-3 days" with jitter
    claimed = Claimed(1, "a", "https://x/inbox", "x", b"{}", MAX_ATTEMPTS - 1, None, None)
    assert resolve(claimed, Outcome("retry", 500, "HTTP 500"))[0] == "pending"
    claimed.attempts = MAX_ATTEMPTS
    state, delay, error = resolve(claimed, Outcome("retry", 500, "HTTP 500"))
    assert (state, delay, error) == ("failed", None, "HTTP 500 (gave up after 16 attempts)")
    assert resolve(claimed, Outcome("retry", 429, "HTTP 429", retry_after=0.0))[0] == "failed"


def test_classify_and_retry_after():
    states = {
        s: classify(s, {}).state for s in (200, 202, 204, 301, 400, 401, 404, 408, 410, 429, 500, 501, 503)
    }
    assert states == {
        200: "done",
        202: "done",
        204: "done",
        301: "retry",
        400: "failed",
        401: "retry",
        404: "failed",
        408: "retry",
        410: "failed",
        429: "retry",
        500: "retry",
        501: "failed",
        503: "retry",
    }
    assert classify(503, {"retry-after": "120"}).retry_after == 120
    assert classify(500, {"retry-after": "120"}).retry_after is None
    assert classify(500, {}).domain_failure and not classify(429, {}).domain_failure
    assert parse_retry_after("1") == 1 and parse_retry_after("9999999") == 86400
    assert parse_retry_after(http_date(1000.0 + 30), now=1000.0) == 30
    assert parse_retry_after(http_date(1000.0 - 30), now=1000.0) == parse_retry_after("0") == 1
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


async def test_network_errors_and_timeouts_are_retried(ctx, db, sink, alice):
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/inbox"
    sink.set_default("/hang", HANG)
    await publish(db, alice, [closed, sink.url("/hang")])
    client = DeliveryClient(ctx.settings, timeout=0.5)
    assert await run_delivery_batch(ctx, client=client) == 2
    await client.aclose()
    by_url = await rows(db)
    assert by_url[closed].status == "pending" and "ConnectionRefusedError" in by_url[closed].last_error
    assert by_url[sink.url("/hang")].last_error == "timed out after 0.5s"
    assert len(sink.received("/hang")) == 1
    async with db.session() as s:
        health = await s.get(DomainHealth, "127.0.0.1")
    assert (health.failure_days, health.unavailable_since) == (1, None)


async def test_client_keeps_connections_and_survives_closed_ones(settings, sink):
    chunked = {"Transfer-Encoding": "chunked"}
    sink.script("/x", Reply(202, chunked, body=b"5\r\nhello\r\n0\r\n\r\n"), Reply(201, body=b"{}"))
    sink.script("/x", Reply(429, {"Retry-After": "7", "Connection": "close"}), Reply(204))
    client = DeliveryClient(settings, timeout=5)
    answers = [await client.post(sink.url("/x"), {"Host": f"127.0.0.1:{sink.port}"}, b"{}") for _ in range(2)]
    assert [status for status, _ in answers] == [202, 201] and len(sink._conns) == 1  # kept alive
    assert sink.drop_idle_connections() == 1  # not yet seen by the client: its first write or read fails
    status, headers = await client.post(sink.url("/x"), {}, b"{}")  # then it retries on a new connection
    assert (status, headers["retry-after"]) == (429, "7")
    assert (await client.post(sink.url("/x"), {}, b""))[0] == 204  # the server had closed that one itself
    await client.aclose()
    assert [r.status for r in sink.requests] == [202, 201, 429, 204]


async def test_domain_failing_on_seven_days_becomes_unavailable(ctx, db, sink, alice):
    async with db.transaction() as s:
        days = [date(2026, 11, d) for d in (1, 1, 2, 3, 4, 5, 6)]
        assert [await record_domain_failure(s, "Dead.Example", today=d) for d in days][-1] is False
        assert await record_domain_failure(s, "dead.example", today=date(2026, 11, 7)) is True
        s.add(
            DomainHealth(
                domain="127.0.0.1", failure_days=6, last_failure_day=date.today() - timedelta(days=1)
            )
        )
    sink.set_default("/down", Reply(503))
    await publish(db, alice, [sink.url("/down")], n=1)
    await run_once(ctx)
    async with db.session() as s:
        health = await s.get(DomainHealth, "127.0.0.1")
        assert health.failure_days == 7 and health.unavailable_since is not None
    await publish(db, alice, [sink.url("/other")], n=2)
    await time_travel(db)
    await run_once(ctx)
    by_url = await rows(db)
    assert by_url[sink.url("/down")].status == "ignored" and by_url[sink.url("/other")].status == "ignored"
    assert "unavailable" in by_url[sink.url("/other")].last_error
    assert len(sink.requests) == 1
    async with db.transaction() as s:  # a signed request from the domain clears it (federation.inbox)
        await clear_domain_failures(s, "127.0.0.1")
        assert await s.get(DomainHealth, "127.0.0.1") is None


async def test_a_2xx_clears_the_domain_failures(ctx, db, sink, alice):
    async with db.transaction() as s:
        s.add(DomainHealth(domain="127.0.0.1", failure_days=3, last_failure_day=date(2026, 1, 1)))
    await publish(db, alice, [sink.url("/inbox")])
    await run_once(ctx)
    async with db.session() as s:
        assert await s.get(DomainHealth, "127.0.0.1") is None


async def test_one_delivery_per_shared_inbox(ctx, db, sink, alice):
    followers = [
        Actor(
            ap_id=f"https://r{i % 2}.example/users/u{i}",
            kind="person",
            local=False,
            username=f"u{i}",
            domain=f"r{i % 2}.example",
            inbox_url=sink.url(f"/users/u{i}/inbox"),
            shared_inbox_url=sink.url(f"/shared{i % 2}") if i < 6 else None,
        )
        for i in range(8)
    ]
    async with db.transaction() as s:
        s.add_all(followers)
    inboxes = unique_inboxes(followers)
    assert len(inboxes) == 4  # two shared inboxes, two actors without one
    await publish(db, alice, inboxes + inboxes)
    await publish(db, alice, inboxes)  # enqueueing the same activity again adds nothing
    await run_once(ctx)
    assert sorted(r.path for r in sink.delivered()) == [
        "/shared0",
        "/shared1",
        "/users/u6/inbox",
        "/users/u7/inbox",
    ]


async def test_private_addresses_are_refused(make_settings, database_url, db, sink, alice):
    conf = make_settings(database_url=database_url, allow_private_addresses=False)
    await publish(db, alice, [sink.url("/inbox")])
    async with make_client(conf) as http:
        await run_once(FederationContext(conf, db, http))
    row = (await rows(db))[sink.url("/inbox")]
    assert row.status == "failed" and "refused" in row.last_error and "non-public address" in row.last_error
    assert sink.requests == []


async def test_leases(ctx, db, sink, alice):
    await publish(db, alice, [sink.url(f"/i{n}") for n in range(5)])
    mine = await claim_deliveries(db, 3, lease_seconds=60)
    assert [c.attempts for c in mine] == [1, 1, 1] and mine[0].key_id == alice.key_id
    other = await claim_deliveries(db, 10, lease_seconds=60)
    assert len(other) == 2 and not {c.id for c in mine} & {c.id for c in other}
    assert await claim_deliveries(db, 10) == []
    async with db.transaction() as s:  # the first worker died: its lease expires
        ids = [c.id for c in mine]
        await s.execute(
            update(Delivery).where(Delivery.id.in_(ids)).values(locked_until=text("now() - interval '1s'"))
        )
    again = await claim_deliveries(db, 10)
    assert sorted(c.id for c in again) == sorted(ids) and {c.attempts for c in again} == {2}


async def test_worker_loop_wakes_on_notify_and_stops(ctx, db, sink, alice):
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(ctx, stop=stop, poll_interval=30))
    await asyncio.sleep(0.3)
    await publish(db, alice, [sink.url("/inbox")])
    async with db.transaction() as s:
        await s.execute(text("NOTIFY coserver_queue"))
    await sink.wait_until(lambda: sink.delivered(), within=5)
    stop.set()
    worker = await asyncio.wait_for(task, timeout=5)
    assert worker.delivered == 1


async def add_items(db, count: int, actor: str = "https://r.example/users/bob") -> list[int]:
    async with db.transaction() as s:
        items = [
            InboxItem(
                dedupe_key=f"{actor}/a/{n}",
                activity_type="Create",
                actor_ap_id=actor,
                activity={"id": f"{actor}/a/{n}"},
            )
            for n in range(count)
        ]
        s.add_all(items)
        await s.flush()
        return [item.id for item in items]


async def test_inbox_items_done_ignored_retried_then_failed(ctx, db, monkeypatch):
    ids = await add_items(db, 3)
    seen: list[int] = []

    async def fake(ctx_, session, item):
        seen.append(item.id)
        await session.execute(text("CREATE TABLE IF NOT EXISTS handler_effects (id bigint)"))
        await session.execute(text("INSERT INTO handler_effects VALUES (:id)"), {"id": item.id})
        if item.id == ids[1]:
            raise handlers.Ignore("not for us")
        if item.id == ids[2]:
            raise RuntimeError("boom")

    monkeypatch.setattr(handlers, "process_inbox_item", fake)
    assert await run_once(ctx) == (0, 3)
    assert seen == ids  # one actor: in order
    async with db.session() as s:
        items = {i.id: i for i in (await s.scalars(select(InboxItem))).all()}
        effects = (await s.scalars(text("SELECT id FROM handler_effects"))).all()
    assert effects == [ids[0]]  # the savepoint of the ignored and failed items was rolled back
    assert (items[ids[0]].status, items[ids[0]].processed_at is not None) == ("done", True)
    assert (items[ids[1]].status, items[ids[1]].error) == ("ignored", "not for us")
    failing = items[ids[2]]
    assert (failing.status, failing.error, failing.attempts) == ("pending", "RuntimeError: boom", 1)
    assert 16 <= (failing.next_attempt_at - datetime.now(UTC)).total_seconds() <= 24
    for _ in range(INBOX_MAX_ATTEMPTS - 1):
        async with db.transaction() as s:
            await s.execute(update(InboxItem).values(next_attempt_at=text("now()")))
        await run_once(ctx)
    async with db.session() as s:
        failing = await s.get(InboxItem, ids[2])
    assert (failing.status, failing.attempts) == ("failed", INBOX_MAX_ATTEMPTS)
    assert failing.error == "RuntimeError: boom (gave up after 5 attempts)"

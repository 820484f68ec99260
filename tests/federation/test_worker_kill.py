"""A ``coserver worker`` process SIGKILLed in the middle of a fan-out: nothing is lost, and nothing that was
marked done before the kill is sent again (rows in flight at the kill may be sent twice: at least once)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from coserver.models import Delivery
from federation.outbox import enqueue
from tests.factories import make_person
from tests.sinks import Reply, Sink

FANOUT = 300
COMMAND = [
    sys.executable,
    "-m",
    "coserver.cli.__main__",
    "worker",
    "--concurrency",
    "8",
    "--lease-seconds",
    "5",
]


def _environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COSERVER_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=database_url,
        COSERVER_ALLOW_PRIVATE_ADDRESSES="true",
        COSERVER_DATA_DIR=str(tmp_path / "data"),
        COSERVER_SECRET_KEY="kill-test-secret-0123456789",
    )
    return env


async def start_worker(database_url: str, tmp_path: Path, log_name: str) -> asyncio.subprocess.Process:
    fd = os.open(tmp_path / log_name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        env = _environment(database_url, tmp_path)
        return await asyncio.create_subprocess_exec(*COMMAND, env=env, stdout=fd, stderr=fd)
    finally:
        os.close(fd)  # the child has its own copy


async def done_urls(db) -> set[str]:
    async with db.session() as s:
        return set((await s.scalars(select(Delivery.inbox_url).where(Delivery.status == "done"))).all())


async def wait_for(condition, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_sigkilled_worker_loses_nothing_and_repeats_nothing_acknowledged(
    db, settings, database_url, tmp_path
):
    alice = await make_person(db, settings, "alice")
    async with Sink(Reply(202, delay=0.02)) as sink:
        inboxes = [sink.url(f"/inbox/{n}") for n in range(FANOUT)]
        activity = {
            "id": f"{alice.ap_id}/activities/1",
            "type": "Create",
            "actor": alice.ap_id,
            "object": "x",
        }
        async with db.transaction() as s:
            assert await enqueue(s, alice, activity, inboxes) == FANOUT

        first = await start_worker(database_url, tmp_path, "worker1.log")
        try:

            async def some_delivered() -> bool:
                assert first.returncode is None, (tmp_path / "worker1.log").read_text()
                return len(sink.delivered()) >= 40

            await wait_for(some_delivered, 60, "the first deliveries")
        finally:
            first.send_signal(signal.SIGKILL)
            await asyncio.wait_for(first.wait(), 10)
        assert first.returncode == -signal.SIGKILL
        done_before = await done_urls(db)
        seen_before = len(sink.requests)
        assert 0 < len(done_before) < FANOUT, "the kill must land mid-fan-out"
        assert seen_before < FANOUT

        second = await start_worker(database_url, tmp_path, "worker2.log")
        try:

            async def all_done() -> bool:
                assert second.returncode is None, (tmp_path / "worker2.log").read_text()
                return len(await done_urls(db)) == FANOUT

            await wait_for(all_done, 60, "every delivery (leases of the killed worker last 5 s)")
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), 30)
        assert second.returncode == 0, (tmp_path / "worker2.log").read_text()

    received: dict[str, int] = {}
    for request in sink.requests:
        assert request.activity_id == activity["id"]
        received[request.path] = received.get(request.path, 0) + 1
    assert set(received) == {f"/inbox/{n}" for n in range(FANOUT)}  # every delivery arrived at least once
    repeated = {sink.url(path) for path, count in received.items() if count > 1}
    assert not repeated & done_before, "a delivery marked done before the kill was sent again"
    assert len(repeated) <= seen_before  # only requests in flight (or leased) at the kill may repeat
    async with db.session() as s:
        attempts = dict((await s.execute(select(Delivery.inbox_url, Delivery.attempts))).all())
        assert await s.scalar(select(func.count()).where(Delivery.status != "done")) == 0
    assert all(attempts[url] == 1 for url in done_before)
    print(f"killed after {len(done_before)} done / {seen_before} received; {len(repeated)} sent twice")


async def test_worker_once_delivers_what_is_due_and_exits(db, settings, database_url, tmp_path):
    alice = await make_person(db, settings, "alice")
    async with Sink() as sink:
        activity = {
            "id": f"{alice.ap_id}/activities/2",
            "type": "Create",
            "actor": alice.ap_id,
            "object": "x",
        }
        async with db.transaction() as s:
            await enqueue(s, alice, activity, [sink.url("/a"), sink.url("/b")])
        fd = os.open(tmp_path / "once.log", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            proc = await asyncio.create_subprocess_exec(
                *COMMAND, "--once", env=_environment(database_url, tmp_path), stdout=fd, stderr=fd
            )
        finally:
            os.close(fd)
        assert await asyncio.wait_for(proc.wait(), 60) == 0, (tmp_path / "once.log").read_text()
        assert sorted(r.path for r in sink.delivered()) == ["/a", "/b"]
    assert await done_urls(db) == {sink.url("/a"), sink.url("/b")}

"""Fan-out benchmark: how many signed deliveries per second one ``coserver worker`` process sends.

Setup (all throwaway, removed at the end): an embedded PostgreSQL cluster in a temp dir (``fast=True``, as
the tests), one local organization with a real RSA key, ``--followers`` remote actors whose shared inboxes
are ``--inboxes`` paths of a loopback sink (``tests.sinks.Sink``, 127.0.0.1, answering 202 at once) running
in this process. ``--activities`` activities are enqueued with ``federation.outbox.unique_inboxes`` and
``enqueue`` (one delivery per shared inbox), then ONE worker runs as a real subprocess (``coserver worker``)
until every delivery is done. The raw signing rate of this machine is measured in the same run, before the
worker starts, for the ratio.

    .venv/bin/python -m benchmarks.fanout                 # 10 activities x 1,000 inboxes = 10,000 deliveries
    .venv/bin/python -m benchmarks.fanout --activities 3 --sign-threads 1

Figures: deliveries, seconds (first request received → all rows done), deliveries/s, sign ops/s (one core,
``sign_request``), and their ratio (1.0 = as fast as signing alone on one core).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coserver import migrate  # noqa: E402
from coserver.config import Settings  # noqa: E402
from coserver.db import Database  # noqa: E402
from coserver.dbcluster import EmbeddedCluster  # noqa: E402
from coserver.models import Actor, Delivery  # noqa: E402
from coserver.services.elements import ElementInput, create_element  # noqa: E402
from federation.outbox import enqueue, unique_inboxes  # noqa: E402
from federation.signatures import sign_request  # noqa: E402
from tests.sinks import Sink  # noqa: E402


def signing_rate(actor: Actor, body: bytes, url: str, seconds: float = 2.0) -> float:
    """``sign_request`` calls per second on this core (as the worker signs: fresh Date and Digest)."""
    headers = {"Content-Type": "application/activity+json", "Accept": "application/activity+json"}
    assert actor.key_id and actor.private_key_pem
    sign_request("POST", url, headers, body, actor.key_id, actor.private_key_pem)  # parse the key once
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(50):
            sign_request("POST", url, headers, body, actor.key_id, actor.private_key_pem)
        count += 50
    return count / (time.perf_counter() - start)


async def populate(
    db: Database, settings: Settings, sink: Sink, args: argparse.Namespace
) -> tuple[Actor, int]:
    async with db.transaction() as session:
        org = await create_element(
            session, settings, ElementInput(kind="organization", username="bench-org", name="Bench")
        )
    rows = [
        {
            "ap_id": f"https://remote{i % args.inboxes}.test/users/u{i}",
            "kind": "person",
            "local": False,
            "username": f"u{i}",
            "domain": f"remote{i % args.inboxes}.test",
            "inbox_url": sink.url(f"/users/u{i}/inbox"),
            "shared_inbox_url": sink.url(f"/s{i % args.inboxes}/inbox"),
        }
        for i in range(args.followers)
    ]
    async with db.transaction() as session:
        for start in range(0, len(rows), 2000):
            await session.execute(insert(Actor), rows[start : start + 2000])
    async with db.transaction() as session:
        followers = (await session.scalars(select(Actor).where(Actor.local.is_(False)))).all()
        inboxes = unique_inboxes(followers)
        total = 0
        for n in range(args.activities):
            activity = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{org.ap_id}/activities/bench-{n}",
                "type": "Create",
                "actor": org.ap_id,
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "cc": [org.followers_url],
                "object": {
                    "id": f"{org.ap_id}/notes/bench-{n}",
                    "type": "Note",
                    "attributedTo": org.ap_id,
                    "content": "<p>" + "Une note du territoire pour mesurer la diffusion. " * 20 + "</p>",
                },
            }
            total += await enqueue(session, org, activity, inboxes)
    return org, total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by process ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def count_finished(db: Database) -> int:
    async with db.session() as session:
        query = select(func.count()).select_from(Delivery).where(Delivery.status != "pending")
        return int(await session.scalar(query) or 0)


async def run_worker(url: str, root: Path, db: Database, sink: Sink, total: int, args: argparse.Namespace):
    """Run one ``coserver worker`` until ``total`` rows are finished; returns (finished, seconds, cpu)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COSERVER_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=url,
        COSERVER_ALLOW_PRIVATE_ADDRESSES="true",
        COSERVER_DATA_DIR=str(root / "data"),
        COSERVER_SECRET_KEY="bench-secret-0123456789",
    )
    profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
    command = [sys.executable, *profile, "-m", "coserver.cli.__main__", "worker"]
    command += ["--concurrency", str(args.concurrency), "--sign-threads", str(args.sign_threads)]
    proc = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL
    )
    finished, cpu_start, cpu_end, end = 0, 0.0, 0.0, time.time()
    try:
        deadline = time.monotonic() + args.timeout
        while not sink.requests and proc.returncode is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.002)
        cpu_start = cpu_seconds(proc.pid) if proc.returncode is None else 0.0
        while time.monotonic() < deadline and proc.returncode is None and finished < total:
            await asyncio.sleep(0.1)
            finished = await count_finished(db)
        end = time.time()
        cpu_end = cpu_seconds(proc.pid) if proc.returncode is None else 0.0
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout=30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    if not sink.requests:
        raise SystemExit(f"the worker sent nothing (exit code {proc.returncode})")
    return finished, end - sink.requests[0].at, cpu_end - cpu_start


async def run(args: argparse.Namespace, root: Path) -> None:
    cluster = EmbeddedCluster(root / "pg", fast=True)
    cluster.start()
    try:
        await cluster.create_database("bench")
        url = cluster.url("bench")
        await asyncio.to_thread(migrate.upgrade, url)
        settings = Settings(
            database_url=url,
            data_dir=root / "data",
            secret_key="bench-secret-0123456789",
            allow_private_addresses=True,
        )
        db = Database(url, pool_size=2)
        try:
            async with Sink() as sink:
                org, total = await populate(db, settings, sink, args)
                async with db.session() as session:
                    body = (await session.scalars(select(Delivery.body).limit(1))).one()
                sign_ops = signing_rate(org, body, sink.url("/s0/inbox"))
                per = total // args.activities
                print(
                    f"{total} deliveries enqueued ({args.activities} activities x {per} shared inboxes of "
                    f"{args.followers} followers, {len(body)}-byte bodies); one worker subprocess: `coserver "
                    f"worker --concurrency {args.concurrency} --sign-threads {args.sign_threads}`",
                    flush=True,
                )
                done, seconds, cpu = await run_worker(url, root, db, sink, total, args)
                async with db.session() as session:
                    query = select(Delivery.status, func.count()).group_by(Delivery.status)
                    statuses = dict((await session.execute(query)).all())
        finally:
            await db.dispose()
        unique = len({(r.path, r.activity_id) for r in sink.requests})
        rate = done / seconds
        print(
            f"statuses {statuses}; {len(sink.requests)} requests received ({unique} distinct); worker CPU "
            f"{cpu:.2f} s = {cpu / seconds:.0%} of one core, {1e6 * cpu / max(done, 1):.0f} µs per delivery"
        )
        print()
        header = ("deliveries", "seconds", "deliveries/s", "sign ops/s", "ratio")
        values = (f"{done}", f"{seconds:.2f}", f"{rate:.0f}", f"{sign_ops:.0f}", f"{rate / sign_ops:.2f}")
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("-" * (len(name) + 1) + ":" for name in header) + "|")
        print("| " + " | ".join(v.rjust(len(name)) for v, name in zip(values, header, strict=True)) + " |")
        if done < total:
            raise SystemExit(f"only {done} of {total} deliveries finished within {args.timeout:.0f}s")
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activities", type=int, default=10)
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--inboxes", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--sign-threads", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds")
    parser.add_argument("--profile", metavar="PATH", help="run the worker under cProfile, writing PATH")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="coserver-bench-"))
    os.chmod(root, 0o755)
    try:
        asyncio.run(run(args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

"""``coserver worker``: send deliveries and process inbox items in the background (see federation.worker).

Run as many as wanted, on any hosts sharing the database. SIGTERM or SIGINT stops it gracefully: no new
rows are started, requests in flight finish (at most the request time limit) and their results are written;
rows claimed but not started are released.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from coserver.cli.common import cli, settings
from coserver.cli.serve import run_loop
from coserver.config import Settings
from coserver.runtime import database

log = logging.getLogger("coserver.worker")


async def _work(conf: Settings, *, once: bool, options: dict) -> None:
    from coserver.db import Database
    from federation.context import FederationContext
    from federation.http import make_client
    from federation.worker import run_worker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    db = Database(conf.database_url or "", pool_size=max(4, options["inbox_concurrency"] + 3))
    http = make_client(conf)
    try:
        ctx = FederationContext(settings=conf, db=db, http=http)
        log.info("coserver worker started (concurrency %d)", options["concurrency"])
        worker = await run_worker(ctx, stop=stop, once=once, **options)
        log.info("coserver worker stopped: %d deliveries, %d inbox items", worker.delivered, worker.processed)
    finally:
        await http.aclose()
        await db.dispose()


@cli.command()
@click.option("--once", is_flag=True, help="Process what is due now, then exit.")
@click.option(
    "--concurrency",
    default=64,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="Deliveries in flight at most.",
)
@click.option(
    "--batch-size",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 100000),
    help="Deliveries per batch (claimed in chunks of twice the concurrency).",
)
@click.option(
    "--lease-seconds",
    default=300.0,
    show_default=True,
    type=click.FloatRange(5, 86400),
    help="How long claimed rows stay reserved to this worker.",
)
@click.option(
    "--inbox-concurrency",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Inbox items processed at once (items of one actor stay in order).",
)
@click.option(
    "--sign-threads",
    default=0,
    show_default=True,
    type=click.IntRange(0, 64),
    help="Threads for RSA signing (0: sign on the event loop).",
)
def worker(once: bool, **options) -> None:
    """Send deliveries and process inbox items until stopped (SIGTERM/SIGINT)."""
    from coserver import migrate

    conf = settings()
    with database(conf) as url:
        migrate.upgrade(url)
        conf = conf.with_overrides(database_url=url)
        run_loop(conf, _work(conf, once=once, options=options))

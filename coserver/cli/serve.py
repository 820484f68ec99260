"""``coserver serve``: migrate, optionally load the demo territory, then serve HTTP with hypercorn."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import click

from coserver.cli.common import cli, settings
from coserver.config import Settings
from coserver.runtime import database

log = logging.getLogger("coserver.serve")


def hypercorn_config(conf: Settings):
    from hypercorn.config import Config

    config = Config()
    config.bind = [conf.bind]
    config.workers = conf.workers
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.loglevel = conf.log_level.upper()
    config.keep_alive_timeout = 30
    config.graceful_timeout = 10
    config.worker_class = conf.event_loop
    return config


def run_loop(conf: Settings, main) -> None:
    """Run the coroutine ``main`` on the configured event loop: uvloop (libuv; asyncpg and hypercorn spend
    less time in the loop) unless ``COSERVER_EVENT_LOOP=asyncio``."""
    if conf.event_loop == "uvloop":
        import uvloop

        uvloop.run(main)
    else:
        asyncio.run(main)


async def _serve_one(conf: Settings) -> None:
    from hypercorn.asyncio import serve as hypercorn_serve

    from coserver.app import create_app

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = create_app(conf)
    log.info("coserver serving %s on http://%s", conf.base_url, conf.bind)
    await hypercorn_serve(app, hypercorn_config(conf), shutdown_trigger=stop.wait)


def run_server(conf: Settings) -> None:
    if conf.workers == 1:
        run_loop(conf, _serve_one(conf))
        return
    # Several processes: hypercorn imports coserver.asgi:app in each; pass the resolved URL along.
    from hypercorn.run import run

    os.environ["DATABASE_URL"] = conf.database_url or ""
    os.environ["COSERVER_BIND"] = conf.bind
    config = hypercorn_config(conf)
    config.application_path = "coserver.asgi:app"
    log.info("coserver serving %s on http://%s with %d workers", conf.base_url, conf.bind, conf.workers)
    run(config)


def start_worker(conf: Settings):
    """A `coserver worker` process next to the web server, on the same database."""
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": conf.database_url or "", "COSERVER_BASE_URL": conf.base_url}
    return subprocess.Popen([sys.executable, "-m", "coserver.cli", "worker"], env=env)


@cli.command()
@click.option("--bind", default=None, help="Listen address (default COSERVER_BIND or 127.0.0.1:8000).")
@click.option("--demo", is_flag=True, help="Load the demo territory first if the database is empty.")
@click.option("--with-worker", is_flag=True, help="Also run one federation worker (what `make run` does).")
def serve(bind: str | None, demo: bool, with_worker: bool) -> None:
    """Serve the node (migrating the database first)."""
    from coserver import migrate

    conf = settings()
    if bind:
        conf = conf.with_overrides(bind=bind)
    with database(conf) as url:
        migrate.upgrade(url)
        conf = conf.with_overrides(database_url=url)
        if demo:
            from coserver.demo.loader import load_demo_if_empty

            loaded = asyncio.run(load_demo_if_empty(conf))
            if loaded:
                log.info("loaded the demo territory: %s", ", ".join(f"{n} {k}" for k, n in loaded.items()))
        worker = start_worker(conf) if with_worker else None
        try:
            run_server(conf)
        finally:
            if worker is not None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=20)
                except Exception:
                    worker.kill()

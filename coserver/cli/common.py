"""Shared pieces of the CLI: the root group, settings, running a coroutine against the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from coserver import __version__
from coserver.config import Settings, load_settings
from coserver.db import Database
from coserver.runtime import database

T = TypeVar("T")


@click.group()
@click.version_option(__version__, prog_name="coserver")
def cli() -> None:
    """coserver: a federated territorial social network server."""


def settings() -> Settings:
    return load_settings()


def run_with_db(work: Callable[[Database, Settings], Awaitable[T]], *, migrate_first: bool = True) -> T:
    """Open the database (starting the embedded cluster if needed, stopping it after), migrate, run it."""
    from coserver import migrate

    conf = settings()
    with database(conf) as url:
        if migrate_first:
            migrate.upgrade(url)
        conf = conf.with_overrides(database_url=url)

        async def _main() -> T:
            db = Database(url, pool_size=2)
            try:
                return await work(db, conf)
            finally:
                await db.dispose()

        return asyncio.run(_main())

"""Live coserver nodes for federation tests: an app served by hypercorn on a loopback port, its own
database, and a worker cycle that can be run by hand."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from coserver.app import create_app
from coserver.config import Settings
from coserver.db import Database
from coserver.dbcluster import EmbeddedCluster
from federation.context import FederationContext
from federation.http import make_client
from federation.worker import run_once
from tests.servers import free_port, serve_app


@dataclass
class Node:
    settings: Settings
    db: Database
    http: httpx.AsyncClient

    @property
    def base(self) -> str:
        return self.settings.base_url

    @property
    def ctx(self) -> FederationContext:
        return FederationContext(self.settings, self.db, self.http)

    async def work(self) -> tuple[int, int]:
        return await run_once(self.ctx)


@contextlib.asynccontextmanager
async def live_node(cluster: EmbeddedCluster, template: str, name: str, make_settings) -> AsyncIterator[Node]:
    """A coserver node on a free loopback port, with a fresh database cloned from the template."""
    await cluster.create_database(name, template=template, exist_ok=False)
    port = free_port()
    settings = make_settings(
        base_url=f"http://127.0.0.1:{port}",
        database_url=cluster.url(name),
        data_dir=make_settings().data_dir / name,
    )
    app = create_app(settings)
    db = Database(settings.database_url or "", pool_size=2)
    try:
        async with serve_app(app, port), make_client(settings) as http:
            yield Node(settings, db, http)
    finally:
        await db.dispose()
        await cluster.drop_database(name)


async def settle(*nodes: Node, rounds: int = 30) -> None:
    """Run worker cycles on every node until none has anything left to do (bounded)."""
    quiet = 0
    for _ in range(rounds):
        done = [await node.work() for node in nodes]
        quiet = quiet + 1 if all(d == (0, 0) for d in done) else 0
        if quiet >= 2:
            return
    raise AssertionError("the nodes did not settle")

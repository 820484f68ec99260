"""Test fixtures: a real throwaway PostgreSQL+PostGIS cluster for the session, a fresh database per test
(cloned from a migrated template), and a fresh app per test run through ``test_app()``."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from coserver.config import Settings
from coserver.db import Database
from coserver.dbcluster import EmbeddedCluster

TEMPLATE_DB = "coserver_template"
_counter = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[EmbeddedCluster]:
    """A PostgreSQL cluster started by the test session (the same code as the embedded one)."""
    root = tempfile.mkdtemp(prefix="coserver-test-")
    os.chmod(root, 0o755)
    cluster = EmbeddedCluster(Path(root) / "pg", fast=True)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def template_db(pg_cluster: EmbeddedCluster) -> str:
    """A database migrated to head, cloned for every test."""
    from coserver import migrate

    asyncio.run(pg_cluster.create_database(TEMPLATE_DB))
    migrate.upgrade(pg_cluster.url(TEMPLATE_DB))
    return TEMPLATE_DB


@pytest.fixture
async def database_url(pg_cluster: EmbeddedCluster, template_db: str) -> AsyncIterator[str]:
    name = f"test_{os.getpid()}_{next(_counter)}"
    await pg_cluster.create_database(name, template=template_db, exist_ok=False)
    try:
        yield pg_cluster.url(name)
    finally:
        await pg_cluster.drop_database(name)


@pytest.fixture
def make_settings(tmp_path: Path):
    """Settings for a test node; keyword arguments override."""

    def _make(**overrides) -> Settings:
        values = dict(
            base_url="http://127.0.0.1:8000",
            data_dir=tmp_path / "data",
            secret_key="test-secret-key-0123456789abcdef",
            allow_private_addresses=True,
        )
        values.update(overrides)
        return Settings(**values)

    return _make


@pytest.fixture
def settings(make_settings, database_url: str) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, pool_size=2)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def app(settings: Settings):
    from coserver.app import create_app

    application = create_app(settings)
    async with application.test_app():
        yield application


@pytest.fixture
def client(app):
    return app.test_client()

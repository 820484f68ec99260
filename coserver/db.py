"""Database plumbing: the declarative base, the engine and session factory owned by the app.

One :class:`Database` per application (or CLI command); its engine is created when the app starts serving
and disposed when it stops. Sessions are short-lived, one per request or unit of work.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy import MetaData, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncAttrs,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(AsyncAttrs, DeclarativeBase):
    """Base class of every ORM model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


async def _unchanged(conn: asyncpg.Connection) -> None:
    """The raw pool's reset on release: none, unless a transaction was left open (a request cancelled
    inside one). Its users run autocommitted statements, or one transaction with ``SET LOCAL`` settings
    (the search), and never change session state, so asyncpg's default reset (a round trip on every
    release) buys nothing."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class Database:
    """An async engine plus its session factory."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=False,
            echo=echo,
            # jit off: PostGIS prices ST_DWithin so high that a town-sized radius crossed jit_above_cost and
            # paid tens to hundreds of ms of compilation for a query of a few ms (migration 0008 also sets it
            # on the database when it may).
            connect_args={
                "server_settings": {"application_name": "coserver", "timezone": "UTC", "jit": "off"}
            },
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._raw_pool: asyncpg.Pool | None = None
        self._raw_lock = asyncio.Lock()

    async def raw_pool(self) -> asyncpg.Pool:
        """A small asyncpg pool for the hot paths written as single statements (the inbox's insert, the
        timelines compiled by ``coserver.prepared``); created once, on first use."""
        if self._raw_pool is not None:
            return self._raw_pool
        async with self._raw_lock:
            if self._raw_pool is None:
                url = make_url(self.url)
                query = dict(url.query)
                self._raw_pool = await asyncpg.create_pool(
                    user=url.username,
                    password=url.password,
                    host=url.host or query.get("host"),
                    port=url.port or (int(query["port"]) if "port" in query else None),
                    database=url.database,
                    min_size=1,
                    max_size=10,
                    server_settings={"application_name": "coserver-raw", "timezone": "UTC", "jit": "off"},
                    reset=_unchanged,
                )
        return self._raw_pool

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session; the caller commits. Rolled back on error, closed on exit."""
        async with self.sessionmaker() as session:
            yield session

    @asynccontextmanager
    async def raw(self) -> AsyncIterator[asyncpg.Connection]:
        """A raw asyncpg connection (autocommit: each statement is its own transaction), for the hot read
        paths compiled by ``coserver.prepared``: one round trip per statement, nothing else."""
        async with (await self.raw_pool()).acquire() as conn:
            yield conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside a transaction, committed when the block ends without error."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def ping(self) -> str:
        """Check the database answers; returns the PostGIS version."""
        async with self.engine.connect() as conn:
            return str(await conn.scalar(text("SELECT postgis_lib_version()")))

    async def dispose(self) -> None:
        if self._raw_pool is not None:
            await self._raw_pool.close()
            self._raw_pool = None
        await self.engine.dispose()

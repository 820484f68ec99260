"""Hot read paths on raw asyncpg: a Core statement compiled once per shape, then run with named parameters.

Running a statement through SQLAlchemy costs about 2 ms of Python here (building it, its cache key, the
result's metadata), several times the SQL of a timeline page. The hot paths (the API's timelines and the
token look-up) still build their SQL with the services' own builders, with ``bindparam`` placeholders for
what changes between requests; :func:`prepared` compiles it with the asyncpg dialect once per process and
shape, and asyncpg keeps it as a prepared statement per connection. Constants of the statement keep the
values they were built with.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import asyncpg
from sqlalchemy import BindParameter, bindparam
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.sql import Executable

_DIALECT = asyncpg_dialect()
_MAX_SHAPES = 2_000  # a bound, in case a caller's key were not a small set


class Prepared:
    """SQL text with ``$n`` parameters and how to fill them from named values."""

    def __init__(self, stmt: Executable) -> None:
        compiled = stmt.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
        self.sql = str(compiled)
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self._constants = compiled.construct_params(_check=False)
        placeholders = {k for k, b in compiled.binds.items() if b.value is None and not b.expanding}
        self._required = placeholders & set(self._names)
        processors = compiled._bind_processors
        self._processors = [processors.get(n) for n in self._names]

    def args(self, params: dict[str, Any]) -> list[Any]:
        """The positional values of ``params`` (the named placeholders) and the statement's constants."""
        missing = self._required - params.keys()
        if missing:
            raise KeyError(f"missing parameters {sorted(missing)}")
        values = []
        for name, process in zip(self._names, self._processors, strict=True):
            value = params[name] if name in params else self._constants[name]
            values.append(process(value) if process is not None else value)
        return values

    async def fetch(self, conn: asyncpg.Connection, **params: Any) -> list[asyncpg.Record]:
        return await conn.fetch(self.sql, *self.args(params))

    async def fetchrow(self, conn: asyncpg.Connection, **params: Any) -> asyncpg.Record | None:
        return await conn.fetchrow(self.sql, *self.args(params))

    async def execute(self, conn: asyncpg.Connection, **params: Any) -> None:
        await conn.execute(self.sql, *self.args(params))


def placeholder(name: str, type_: Any) -> BindParameter:
    """A named value given at run time (``Prepared.args``); the statement's shape must not depend on it."""
    return bindparam(name, type_=type_, required=False)


_shapes: dict[Hashable, Prepared] = {}


def prepared(key: Hashable, build: Callable[[], Executable]) -> Prepared:
    """The statement ``build()`` makes for ``key`` (everything that changes its SQL text), compiled once."""
    found = _shapes.get(key)
    if found is None:
        if len(_shapes) >= _MAX_SHAPES:
            _shapes.clear()
        found = _shapes[key] = Prepared(build())
    return found

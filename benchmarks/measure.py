"""Raw SQL next to HTTP, as ``benchmarks.search`` and ``benchmarks.timeline`` measure them.

SQL: the statements a request sends, compiled by SQLAlchemy for asyncpg exactly as the server compiles them
(``$n`` parameters) and run with asyncpg on one connection, one request's statements at a time; asyncpg
prepares and caches them as the server's pool does (so PostgreSQL may use a generic plan after five runs,
as in the server). HTTP: ``coserver serve`` over loopback, one request at a time (the latency the SQL is
compared with), then a concurrent pass for throughput. Every loop is bounded by a count and a time budget.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from benchmarks.bulk import asyncpg_kwargs
from benchmarks.common import coserver_process, http_request, load, percentile

GOAL_RATIO = 2.0
GOAL_P95_MS = 50.0

Statement = tuple[str, list]  # SQL with $n parameters, and their values


def for_asyncpg(stmt) -> Statement:
    """``stmt`` compiled as the server's SQLAlchemy asyncpg dialect sends it, with its bound values."""
    from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

    compiled = stmt.compile(dialect=asyncpg_dialect(), compile_kwargs={"render_postcompile": True})
    values = compiled.construct_params()
    processors = compiled._bind_processors
    ordered = [values[name] for name in compiled.positiontup or ()]
    names = compiled.positiontup or ()
    return str(compiled), [
        processors[n](v) if n in processors else v for n, v in zip(names, ordered, strict=True)
    ]


@dataclass
class Measured:
    key: str
    label: str
    sql: list[float] = field(default_factory=list)  # seconds per request (sum of its statements)
    rows: list[int] = field(default_factory=list)  # rows of the first statement
    http: list[float] = field(default_factory=list)  # one at a time
    statuses: dict[int, int] = field(default_factory=dict)
    rate: float = float("nan")  # requests/s with concurrency
    concurrent_p95: float = float("nan")


def machine_load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) / {five:.2f} (5 min), {os.cpu_count()} cores"


async def time_sql(url: str, m: Measured, requests: Sequence[list[Statement]], budget: float) -> None:
    """Each request's statements in turn on one connection; the first five requests warm up (not kept). The
    rows column counts the first query's rows; statements without values that are not queries (``BEGIN``,
    ``SET``...) are sent as simple queries, as the server sends them."""
    conn = await asyncpg.connect(**asyncpg_kwargs(url))
    try:
        deadline = time.monotonic() + budget
        for n, statements in enumerate(requests):
            if n >= 15 and time.monotonic() > deadline:
                break
            t0 = time.perf_counter()
            first = None
            for sql, values in statements:
                if not values and not sql.startswith(("SELECT", "WITH")):  # BEGIN, SET...: simple protocol
                    await conn.execute(sql)
                    continue
                rows = await conn.fetch(sql, *values)
                first = rows if first is None else first
            if n >= 5:
                m.sql.append(time.perf_counter() - t0)
                m.rows.append(len(first or ()))
    finally:
        await conn.close()


async def time_http(
    port: int, m: Measured, requests: Sequence[bytes], concurrency: int, budget: float
) -> None:
    """One at a time (the first five warm up), then the same requests over ``concurrency`` connections."""
    await load(port, requests[:5], 1)
    deadline = time.monotonic() + budget
    for start in range(5, len(requests), 10):
        if start > 15 and time.monotonic() > deadline:
            break
        _, latencies, statuses = await load(port, requests[start : start + 10], 1)
        m.http += latencies
        for code, count in statuses.items():
            m.statuses[code] = m.statuses.get(code, 0) + count
    batch = requests[5 : 5 + max(len(m.http), 4 * concurrency)]
    seconds, latencies, statuses = await load(port, batch, concurrency)
    m.rate, m.concurrent_p95 = len(batch) / seconds, percentile(latencies, 95)
    for code, count in statuses.items():
        m.statuses[code] = m.statuses.get(code, 0) + count


async def http_floor(port: int, host: str, count: int = 300) -> float:
    """HTTP p50 (seconds), one request at a time, of ``/.well-known/host-meta.json``: a route that runs no
    SQL, i.e. what hypercorn + Quart + the loopback round trip cost before any query."""
    raw = http_request("GET", "/.well-known/host-meta.json", {"Host": host, "Accept": "application/json"})
    await load(port, [raw] * 20, 1)
    _, latencies, _ = await load(port, [raw] * count, 1)
    return percentile(latencies, 50)


def serve_and_time_http(
    env: dict[str, str],
    port: int,
    host: str,
    requests: Sequence[tuple[Measured, Sequence[bytes]]],
    concurrency: int,
    budget: float,
) -> float:
    """Start ``coserver serve`` with ``env``, time each query's raw HTTP requests (``time_http``) and the HTTP
    floor; the floor (seconds) once the server is stopped."""
    t0 = time.perf_counter()
    with coserver_process(["serve"], env, port=port):
        for m, raw in requests:
            asyncio.run(time_http(port, m, raw, concurrency, budget))
        floor = asyncio.run(http_floor(port, host))
    print(f"HTTP measured in {time.perf_counter() - t0:.0f} s ({machine_load()})")
    return floor


def _ms(values: Sequence[float], p: float = 50) -> float:
    return percentile(values, p) * 1000 if values else float("nan")


def print_table(results: Sequence[Measured], concurrency: int, floor: float | None = None) -> None:
    print(
        f"  {'query':<36} {'SQL p50':>8} {'HTTP p50':>9} {'HTTP p95':>9} {'ratio':>6}  {'goal':<14}"
        f" {'rows':>5} {'n':>4} | c={concurrency}: {'req/s':>5} {'p95':>7}"
    )
    for m in results:
        sql, http, p95 = _ms(m.sql), _ms(m.http), _ms(m.http, 95)
        ratio = http / sql if sql else float("nan")
        goal = f"{'ok' if ratio <= GOAL_RATIO else 'MISS'}/{'ok' if p95 <= GOAL_P95_MS else 'MISS'}"
        rows = sum(m.rows) / len(m.rows) if m.rows else float("nan")
        bad = {k: v for k, v in m.statuses.items() if k != 200}
        print(
            f"  ({m.key}) {m.label:<32} {sql:6.2f}ms {http:7.2f}ms {p95:7.2f}ms {ratio:5.1f}×  {goal:<14}"
            f" {rows:5.1f} {len(m.http):4d} | {m.rate:10.0f} {m.concurrent_p95 * 1000:5.1f}ms"
            + (f"  NON-200: {bad}" if bad else "")
        )
    print(
        f"  goal = ratio (HTTP p50 ≤ {GOAL_RATIO:g}× SQL p50) / HTTP p95 ≤ {GOAL_P95_MS:g} ms, both one"
        f" request at a time; rows = rows of the page statement; c={concurrency}: the same requests"
        f" over {concurrency} keep-alive connections (throughput, p95 with queueing)"
    )
    if floor is not None:
        print(
            f"  HTTP floor: {floor * 1000:.2f} ms p50 for a route that runs no SQL (hypercorn + Quart +"
            f" loopback); a query under {floor * 500:.2f} ms cannot meet the ratio, whatever the handler"
        )

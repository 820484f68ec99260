"""Territorial search at country scale: HTTP p50/p95 of five representative queries next to the raw SQL p50
of the very statements the engine emits, on a bulk-loaded synthetic France (issue 5, "Numbers").

    .venv/bin/python -m benchmarks.search [--elements 1000000] [--requests 300] [--sql-runs 200]
                                          [--concurrency 8] [--budget 1.0] [--no-layers]

1. A throwaway PostGIS cluster and migrated database; N elements bulk-loaded with COPY around the 200 most
   populous towns of mainland France (``benchmarks.bulk``), 100 square zones, ANALYZE. Load times reported.
2. Five queries with random parameters (centres: a random town, jittered): (a) radius 10 km + kinds=event;
   (b) a 20×20 km map bbox; (c) zone; (d) q=jardin + radius 25 km; (e) agenda of the next 7 days + radius
   10 km. Raw SQL: the engine's own statements (``coserver.search.engine.build_statements``: the page of hits
   and the facet counts; the SQL time of a request is their sum, as the engine runs both), run with asyncpg
   on one connection, one at a time, twice: compiled with literal binds (custom plans), and with ``$n``
   parameters exactly as the server sends them (prepared and cached: generic plans after five runs, as in
   the server). HTTP: ``coserver serve`` (one hypercorn worker) over loopback, ``benchmarks.common.load``
   with ``--concurrency`` keep-alive connections, on the same parameter sets. EXPLAIN (ANALYZE, BUFFERS) of
   each query once (median-cost parameters, literal binds).
3. Where the time goes (unless ``--no-layers``): the same requests one at a time, layer by layer: raw SQL ->
   engine in-process (SQLAlchemy build + compile + asyncpg + rows) -> the whole Quart app in-process (test
   client: routing, parameters, engine, JSON) -> HTTP through hypercorn; then the Python CPU per request of
   the app, split by package with cProfile.

Everything runs on 127.0.0.1, every loop is bounded (``--requests`` and a time budget per query and phase,
scaled by ``--budget``) and the cluster is deleted at the end. Goals: HTTP p50 ≤ 2× SQL p50 and HTTP
p95 ≤ 50 ms. On a 2-core machine a 1,000,000-element run takes about 10 minutes (about 70 s of it loading);
``--elements 100000`` takes about 4.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import asyncpg
import orjson

from benchmarks.bulk import ZONES, Generator, asyncpg_kwargs, load_territory
from benchmarks.common import coserver_process, free_port, http_request, load, percentile, throwaway_database
from coserver.config import Settings

TIMEZONE = "Europe/Paris"
SECRET = "bench-secret-0123456789"
GOAL_RATIO = 2.0
GOAL_P95_MS = 50.0


# -- the five queries ---------------------------------------------------------------------------------------


@dataclass
class Query:
    key: str
    label: str
    endpoint: str  # "search" or "agenda"
    make_args: Callable[[random.Random], dict[str, str]]
    args: list[dict[str, str]] = field(default_factory=list)
    # measurements, seconds
    sql_hits: list[float] = field(default_factory=list)
    sql_facets: list[float] = field(default_factory=list)
    prep_hits: list[float] = field(default_factory=list)
    prep_facets: list[float] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    http: list[float] = field(default_factory=list)
    http_seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    layers: dict[str, list[float]] = field(default_factory=dict)
    warmup_args: list[dict[str, str]] = field(default_factory=list)
    profile: dict[str, float] = field(default_factory=dict)
    sample_body: dict | None = None

    @property
    def sql(self) -> list[float]:
        return [h + f for h, f in zip(self.sql_hits, self.sql_facets, strict=True)]

    @property
    def prep(self) -> list[float]:
        return [h + f for h, f in zip(self.prep_hits, self.prep_facets, strict=True)]

    def path(self, args: dict[str, str]) -> str:
        return f"/api/v1/{self.endpoint}?{urlencode(args)}"


def _fmt(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".")


def make_queries(gen: Generator, today: datetime) -> list[Query]:
    towns = gen.towns

    def centre(rng: random.Random) -> tuple[float, float]:
        town = rng.choice(towns)  # every town equally likely: Paris as often as Gennevilliers
        jitter_km = town.sigma_km / 2
        lat = town.lat + rng.uniform(-jitter_km, jitter_km) / 111.2
        lon = town.lon + rng.uniform(-jitter_km, jitter_km) / (111.2 * _cos(town.lat))
        return lat, lon

    def radius_event(rng: random.Random) -> dict[str, str]:
        lat, lon = centre(rng)
        return {"lat": _fmt(lat), "lon": _fmt(lon), "radius_km": "10", "kinds": "event"}

    def bbox(rng: random.Random) -> dict[str, str]:
        lat, lon = centre(rng)
        dlat, dlon = 10 / 111.2, 10 / (111.2 * _cos(lat))
        return {"bbox": ",".join(_fmt(v) for v in (lon - dlon, lat - dlat, lon + dlon, lat + dlat))}

    def zone(rng: random.Random) -> dict[str, str]:
        return {"zone": f"Z{rng.randrange(1, ZONES + 1):03d}"}

    def text_radius(rng: random.Random) -> dict[str, str]:
        lat, lon = centre(rng)
        return {"q": "jardin", "lat": _fmt(lat), "lon": _fmt(lon), "radius_km": "25"}

    first = today.date()
    last = first + timedelta(days=6)

    def agenda(rng: random.Random) -> dict[str, str]:
        lat, lon = centre(rng)
        return {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "lat": _fmt(lat),
            "lon": _fmt(lon),
            "radius_km": "10",
        }

    return [
        Query("a", "radius 10 km + kind=event", "search", radius_event),
        Query("b", "bbox 20×20 km (map view)", "search", bbox),
        Query("c", "zone (level3 square)", "search", zone),
        Query("d", "q=jardin + radius 25 km", "search", text_radius),
        Query("e", "agenda 7 days + radius 10 km", "agenda", agenda),
    ]


def _cos(lat: float) -> float:
    import math

    return math.cos(math.radians(lat))


# -- raw SQL: the engine's statements -----------------------------------------------------------------------


@dataclass
class Compiled:
    """The SQL the engine emits for one request: hits and facet counts, each with literal binds and as the
    server sends it (``$n`` parameters, prepared and cached by asyncpg)."""

    hits: str
    facets: str | None
    hits_prepared: tuple[str, list]
    facets_prepared: tuple[str, list] | None
    limit: int


class Statements:
    """Builds the engine's statements for a query's parameters (``coserver.search.engine``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def params(self, query: Query, args: dict[str, str]):
        from werkzeug.datastructures import MultiDict

        from coserver.search.agenda import agenda_params
        from coserver.search.params import parse_params

        params = parse_params(MultiDict(args), self.settings, endpoint=query.endpoint)
        if query.endpoint == "agenda":
            params = agenda_params(params, self.settings)
        return params

    def compile(self, query: Query, args: dict[str, str]) -> Compiled:
        from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

        from coserver.search.engine import build_statements

        params = self.params(query, args)
        built = build_statements(self.settings, params)
        dialect = asyncpg_dialect()  # the server's dialect; its paramstyle does not double "%" operators

        def literal(stmt) -> str:
            return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))

        def prepared(stmt) -> tuple[str, list]:
            compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
            values = compiled.construct_params()
            return str(compiled), [values[name] for name in compiled.positiontup or ()]

        facets = getattr(built, "facets", None)
        return Compiled(
            hits=literal(built.hits),
            facets=literal(facets) if facets is not None else None,
            hits_prepared=prepared(built.hits),
            facets_prepared=prepared(facets) if facets is not None else None,
            limit=params.limit,
        )


async def run_sql(url: str, queries: list[Query], statements: Statements, runs: int, budget: float) -> None:
    """Each parameter set: literal hits + facets, then the prepared pair (interleaved, so noise is shared).
    At most ``runs`` sets and ``budget`` seconds per query (at least 10 sets)."""
    conn = await asyncpg.connect(**asyncpg_kwargs(url))
    try:
        for query in queries:
            for args in query.args[:3]:  # warm-up
                c = statements.compile(query, args)
                await conn.fetch(c.hits)
                await conn.fetch(c.hits_prepared[0], *c.hits_prepared[1])
            deadline = time.monotonic() + budget
            for n, args in enumerate(query.args[:runs]):
                if n >= 10 and time.monotonic() > deadline:
                    break
                c = statements.compile(query, args)
                t0 = time.perf_counter()
                rows = await conn.fetch(c.hits)
                t1 = time.perf_counter()
                if c.facets:
                    await conn.fetch(c.facets)
                t2 = time.perf_counter()
                await conn.fetch(c.hits_prepared[0], *c.hits_prepared[1])
                t3 = time.perf_counter()
                if c.facets_prepared:
                    await conn.fetch(c.facets_prepared[0], *c.facets_prepared[1])
                t4 = time.perf_counter()
                query.sql_hits.append(t1 - t0)
                query.sql_facets.append(t2 - t1)
                query.prep_hits.append(t3 - t2)
                query.prep_facets.append(t4 - t3)
                query.rows.append(min(len(rows), c.limit))
    finally:
        await conn.close()


def _plan_summary(lines: list[str], max_nodes: int = 12) -> list[str]:
    """Plan nodes with their index conditions; for the facet counts only the first of the five per-kind
    subplans (they are alike)."""
    out: list[str] = []
    nodes = 0
    first_sub_indent: int | None = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        is_node = i == 0 or stripped.startswith("->")
        if stripped.startswith("->  Aggregate") and i > 0 and lines[0].startswith("Result"):
            if first_sub_indent is None:
                first_sub_indent = indent
            elif indent == first_sub_indent:
                out.append("      … (the same for the other kinds)")
                break
        if is_node:
            nodes += 1
            if nodes > max_nodes:
                out.append("      …")
                break
            text = line.rstrip()
        elif stripped.startswith(("Index Cond", "Sort Key", "Rows Removed", "Heap Fetches")) or (
            i == 1 and stripped.startswith("Buffers")
        ):
            text = line.rstrip()
        else:
            continue
        out.append("    " + (text if len(text) <= 150 else text[:147] + "..."))
    out += ["    " + line for line in lines if line.startswith(("Planning Time", "Execution Time"))]
    return out


async def explain(url: str, queries: list[Query], statements: Statements) -> None:
    conn = await asyncpg.connect(**asyncpg_kwargs(url))
    try:
        for query in queries:
            # the parameters whose SQL time was the median one: a typical request
            order = sorted(range(len(query.sql)), key=lambda i: query.sql[i])
            i = order[len(order) // 2]
            args = query.args[i]
            c = statements.compile(query, args)
            print(f"\n  ({query.key}) {query.label}: {query.path(args)}  [SQL {query.sql[i] * 1000:.1f} ms]")
            for name, sql in (("hits", c.hits), ("facets", c.facets)):
                if sql is None:
                    continue
                rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                print(f"   {name}:")
                print("\n".join(_plan_summary([r[0] for r in rows])))
    finally:
        await conn.close()


# -- HTTP ---------------------------------------------------------------------------------------------------


def _requests(query: Query, host: str) -> list[bytes]:
    headers = {"Host": host, "Accept": "application/json"}
    return [http_request("GET", query.path(args), headers) for args in query.args]


async def _fetch_json(port: int, host: str, path: str) -> tuple[int, dict | list | None, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(http_request("GET", path, {"Host": host, "Accept": "application/json"}))
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:].strip())
        body = await reader.readexactly(length) if length else b""
        try:
            return status, orjson.loads(body), len(body)
        except orjson.JSONDecodeError:
            return status, None, len(body)
    finally:
        writer.close()


async def _bounded_load(
    port: int, reqs: list[bytes], concurrency: int, budget: float
) -> tuple[float, list[float], dict[int, int]]:
    """``benchmarks.common.load`` in batches, stopping after the batch that overruns ``budget`` seconds."""
    batch = max(concurrency * 2, 8)  # small batches: a slow query overruns the budget by little
    seconds, latencies, statuses = 0.0, [], {}
    deadline = time.monotonic() + budget
    for start in range(0, len(reqs), batch):
        if start and time.monotonic() > deadline:
            break
        s, lat, st = await load(port, reqs[start : start + batch], concurrency)
        seconds += s
        latencies += lat
        for code, count in st.items():
            statuses[code] = statuses.get(code, 0) + count
    return seconds, latencies, statuses


async def run_http(port: int, host: str, queries: list[Query], concurrency: int, budget: float) -> None:
    for query in queries:
        status, body, size = await _fetch_json(port, host, query.path(query.args[0]))
        query.sample_body = {"status": status, "size": size, "body": body}
        reqs = _requests(query, host)
        # warm-up (pool connections, caches, prepared statements), with parameters not measured
        warm = [http_request("GET", query.path(a), {"Host": host}) for a in query.warmup_args]
        await load(port, warm[: max(concurrency * 2, 8)], concurrency)
        query.http_seconds, query.http, query.statuses = await _bounded_load(port, reqs, concurrency, budget)


async def run_http_sequential(port: int, host: str, queries: list[Query], runs: int, budget: float) -> None:
    for query in queries:
        reqs = _requests(query, host)[:runs]
        _, latencies, _ = await _bounded_load(port, reqs, 1, budget)
        query.layers["4 HTTP, one at a time"] = latencies


# -- in-process layers --------------------------------------------------------------------------------------

PROFILE_GROUPS = (
    # (label, substrings of the code's file path; C built-ins count for the Python code calling them)
    ("SQLAlchemy: SQL compiler", ("sqlalchemy/sql/compiler.py",)),
    ("SQLAlchemy: building statements, cache keys", ("sqlalchemy/sql/",)),
    ("SQLAlchemy: session, execute, result rows", ("sqlalchemy/",)),
    ("GeoAlchemy2", ("geoalchemy2/",)),
    ("asyncpg", ("asyncpg/", "asyncpg.")),
    ("Quart, Werkzeug, quart-schema", ("quart/", "werkzeug/", "quart_schema/", "blinker/", "flask/")),
    ("pydantic", ("pydantic",)),
    ("JSON encoding", ("json/", "orjson")),
    ("coserver: params, engine, hits, JSON body", ("/coserver/",)),
    ("asyncio event loop, sockets", ("asyncio/", "selectors.py", "socket")),
)
OTHER = "other (stdlib, test client)"
CPU_LABEL = "= Python CPU per request (not profiled)"
WALL_LABEL = "  wall clock per request (DB included)"


def _group(filename: str) -> str:
    for group, needles in PROFILE_GROUPS:
        if any(needle in filename for needle in needles):
            return group
    return OTHER


def _profile_groups(stats) -> dict[str, float]:
    """Own time per group of a pstats.Stats; a C built-in's time goes to the group of its callers."""
    out: dict[str, float] = {}
    for (filename, _line, name), (_cc, _nc, tottime, _ct, callers) in stats.stats.items():
        if filename == "~" and callers:  # a built-in: split by caller
            if "asyncpg" in name:
                out["asyncpg"] = out.get("asyncpg", 0.0) + tottime
                continue
            for (caller_file, _l, _n), caller_stats in callers.items():
                label = _group(caller_file)
                out[label] = out.get(label, 0.0) + caller_stats[2]
            continue
        label = _group(f"{filename}:{name}")
        out[label] = out.get(label, 0.0) + tottime
    return out


async def run_in_process(
    settings: Settings,
    queries: list[Query],
    statements: Statements,
    runs: int,
    budget: float,
    profile_runs: int,
) -> None:
    """Time the engine call (SQLAlchemy) and the whole Quart app (test client) without HTTP in between; then
    profile the app's Python (cProfile, own time per package) on ``profile_runs`` more requests."""
    import cProfile
    import pstats

    from coserver.app import create_app
    from coserver.db import Database
    from coserver.search import engine
    from coserver.search.agenda import agenda

    db = Database(settings.database_url or "", pool_size=2)
    try:
        for query in queries:
            build, run = [], []
            deadline = time.monotonic() + budget
            for n, args in enumerate(query.warmup_args[:3] + query.args[:runs]):
                if n >= 13 and time.monotonic() > deadline:
                    break
                params = statements.params(query, args)
                t0 = time.perf_counter()
                engine.build_statements(settings, params)
                t1 = time.perf_counter()
                async with db.session() as session:
                    t2 = time.perf_counter()
                    if query.endpoint == "agenda":
                        await agenda(session, settings, params)
                    else:
                        await engine.search(session, settings, params)
                    t3 = time.perf_counter()
                build.append(t1 - t0)
                run.append(t3 - t2)
            query.layers["2 engine in-process (SQLAlchemy)"] = run[3:]
            query.layers["   of which building the statements"] = build[3:]
    finally:
        await db.dispose()

    app = create_app(settings)
    async with app.test_app() as test_app:
        client = test_app.test_client()

        async def get(args: dict[str, str], query: Query) -> None:
            response = await client.get(query.path(args), headers={"Accept": "application/json"})
            await response.get_data()

        for query in queries:
            latencies = []
            deadline = time.monotonic() + budget
            for n, args in enumerate(query.warmup_args[:3] + query.args[:runs]):
                if n >= 13 and time.monotonic() > deadline:
                    break
                t0 = time.perf_counter()
                await get(args, query)
                latencies.append(time.perf_counter() - t0)
            query.layers["3 Quart app in-process (test client)"] = latencies[3:]

        for query in queries:
            sample = query.warmup_args[3 : 3 + profile_runs]
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for args in sample:
                await get(args, query)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            profiler = cProfile.Profile(time.process_time)  # CPU time: waits and preemption not counted
            profiler.enable()
            for args in sample:
                await get(args, query)
            profiler.disable()
            groups = _profile_groups(pstats.Stats(profiler))
            profiled = sum(groups.values()) or 1.0
            # shares of the profiled CPU time, scaled to the CPU time measured without the profiler
            query.profile = {k: v / profiled * cpu / len(sample) for k, v in groups.items()}
            query.profile[CPU_LABEL] = cpu / len(sample)
            query.profile[WALL_LABEL] = wall / len(sample)


# -- report -------------------------------------------------------------------------------------------------


def _ms(values: list[float], p: float = 50) -> float:
    return percentile(values, p) * 1000 if values else float("nan")


def print_table(queries: list[Query], concurrency: int) -> None:
    header = (
        f"  {'query':<32} {'SQL p50':>8} {'SQL prep':>8} {'HTTP p50':>9} {'HTTP p95':>9} {'ratio':>6} "
        f"{'ratio lit':>9} {'results':>7} {'HTTP@1':>8} {'req/s':>5}  goals"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for q in queries:
        sql50, prep50, http50, http95 = _ms(q.sql), _ms(q.prep), _ms(q.http), _ms(q.http, 95)
        ratio = http50 / prep50 if prep50 else float("nan")
        ratio_literal = http50 / sql50 if sql50 else float("nan")
        results = statistics.fmean(q.rows) if q.rows else float("nan")
        one = q.layers.get("4 HTTP, one at a time", [])
        rate = len(q.http) / q.http_seconds if q.http_seconds else float("nan")
        print(
            f"  ({q.key}) {q.label:<28} {sql50:6.1f}ms {prep50:6.1f}ms {http50:7.1f}ms {http95:7.1f}ms "
            f"{ratio:5.1f}× {ratio_literal:8.1f}× {results:7.1f} "
            + (f"{_ms(one):6.1f}ms" if one else f"{'-':>8}")
            + f" {rate:5.0f}  ratio {'ok' if ratio <= GOAL_RATIO else 'MISS'}, "
            f"p95 {'ok' if http95 <= GOAL_P95_MS else 'MISS'}"
        )
    print(
        "  SQL p50: the engine's two statements (hits + facet counts) compiled with literal binds, run with\n"
        "  asyncpg on one connection, one at a time (custom plans). SQL prep: the same statements with $n\n"
        "  parameters as the server sends them (prepared and cached, so generic plans after 5 runs).\n"
        f"  HTTP: 1 hypercorn worker, {concurrency} keep-alive connections. ratio = HTTP p50 / SQL prep\n"
        f"  p50 (goal ≤ {GOAL_RATIO:g}); ratio lit = HTTP p50 / SQL p50; HTTP p95 goal ≤ {GOAL_P95_MS:g} ms\n"
        "  results = mean hits per page; HTTP@1 = HTTP p50 one request at a time (no queueing)."
    )


def print_details(queries: list[Query]) -> None:
    print(
        "\n  SQL detail (ms, p50/p95): literal hits, literal facets, prepared hits, prepared facets; "
        "HTTP statuses"
    )
    for q in queries:
        cells = [
            f"{name} {_ms(v):6.2f}/{_ms(v, 95):6.2f}"
            for name, v in (
                ("hits", q.sql_hits),
                ("facets", q.sql_facets),
                ("prep hits", q.prep_hits),
                ("prep facets", q.prep_facets),
            )
        ]
        print(f"  ({q.key}) " + "  ".join(cells) + f"   n={len(q.sql)}; HTTP n={len(q.http)} {q.statuses}")


def print_layers(queries: list[Query]) -> None:
    print(
        "\n  Where the time goes, sequential requests (p50 ms, same parameters; each layer includes the ones"
    )
    print("  above it):")
    names = [
        "1 raw SQL (asyncpg, literal binds)",
        "1' raw SQL (asyncpg, prepared, $n)",
        "2 engine in-process (SQLAlchemy)",
        "   of which building the statements",
        "3 Quart app in-process (test client)",
        "4 HTTP, one at a time",
        "5 HTTP, concurrent (the table above)",
    ]
    print(f"  {'layer':<40}" + "".join(f"{'(' + q.key + ')':>9}" for q in queries))
    for name in names:
        cells = []
        for q in queries:
            n = len(q.layers.get("4 HTTP, one at a time", q.sql))
            if name.startswith("1 "):
                values = q.sql[:n]
            elif name.startswith("1'"):
                values = q.prep[:n]
            elif name.startswith("5 "):
                values = q.http
            else:
                values = q.layers.get(name, [])
            cells.append(f"{_ms(values):9.2f}" if values else f"{'-':>9}")
        print(f"  {name:<40}" + "".join(cells))


def print_profile(queries: list[Query]) -> None:
    if not any(q.profile for q in queries):
        return
    print("\n  Python CPU per request of the Quart app (in-process test client, sequential), ms: measured")
    print("  without the profiler, split by package in the proportions cProfile (CPU clock, own time) found:")
    labels = [label for label, _ in PROFILE_GROUPS] + [OTHER, CPU_LABEL, WALL_LABEL]
    print(f"  {'':<44}" + "".join(f"{'(' + q.key + ')':>8}" for q in queries))
    for label in labels:
        cells = "".join(f"{q.profile.get(label, 0.0) * 1000:8.2f}" for q in queries)
        print(f"  {label:<44}{cells}")


def _load() -> str:
    """The machine's load average: other processes on the same two cores skew every figure."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f}, {os.cpu_count()} cores"


def _describe_body(sample: dict | None) -> str:
    if not sample:
        return "?"
    body = sample["body"]
    if isinstance(body, dict):
        parts = []
        for key, value in body.items():
            if isinstance(value, list):
                parts.append(f"{key}[{len(value)}]")
            elif isinstance(value, dict):
                parts.append(f"{key}{{…}}")
            else:
                parts.append(key)
        return f"{sample['status']}, {sample['size']:,} bytes: " + ", ".join(parts)
    return f"{sample['status']}, {sample['size']:,} bytes"


# -- main ---------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--elements", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300, help="HTTP requests per query")
    parser.add_argument("--sql-runs", type=int, default=200, help="raw SQL runs per query")
    parser.add_argument("--layer-runs", type=int, default=100, help="sequential runs per query and layer")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-layers", action="store_true", help="skip the layer timings and the profile")
    parser.add_argument("--profile-runs", type=int, default=20, help="requests per query under cProfile")
    parser.add_argument(
        "--budget",
        type=float,
        default=1.0,
        help="scale of the per-query time budgets (raw SQL 30 s, HTTP 30 s, each layer 8 s)",
    )
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the throwaway cluster and the server are stopped and deleted
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not 1_000 <= args.elements <= 5_000_000:
        parser.error("--elements must be between 1,000 and 5,000,000")
    if not 10 <= args.requests <= 10_000 or not 1 <= args.concurrency <= 64:
        parser.error("--requests must be 10..10000 and --concurrency 1..64")
    args.sql_runs = max(10, min(args.sql_runs, args.requests))
    args.layer_runs = max(10, min(args.layer_runs, args.requests))

    started = time.perf_counter()
    port = free_port()
    host, base = f"127.0.0.1:{port}", f"http://127.0.0.1:{port}"
    today = datetime.now(ZoneInfo(TIMEZONE))
    print(
        f"coserver search benchmark: {args.elements:,} elements, {args.requests} HTTP requests per query "
        f"(concurrency {args.concurrency}, 1 hypercorn worker), {args.sql_runs} raw SQL runs per query; "
        f"{_load()}"
    )
    with throwaway_database("searchbench") as (_cluster, url):
        print(f"\nLoad ({args.elements:,} elements around 200 towns of mainland France):")
        gen, report = asyncio.run(
            load_territory(
                url, args.elements, base, progress=lambda s: print("   ", s, flush=True), seed=args.seed
            )
        )
        print("\n".join(report.lines()))

        settings = Settings(base_url=base, database_url=url, secret_key=SECRET, timezone=TIMEZONE)
        queries = make_queries(gen, today)
        rng = random.Random(args.seed + 1)
        for query in queries:
            query.args = [query.make_args(rng) for _ in range(args.requests)]
            query.warmup_args = [query.make_args(rng) for _ in range(max(24, args.profile_runs + 3))]
        statements = Statements(settings)

        t0 = time.perf_counter()
        asyncio.run(run_sql(url, queries, statements, args.sql_runs, 30 * args.budget))
        print(f"\nRaw SQL measured in {time.perf_counter() - t0:.1f} s ({_load()})")

        env = {
            "DATABASE_URL": url,
            "COSERVER_BASE_URL": base,
            "COSERVER_BIND": host,
            "COSERVER_SECRET_KEY": SECRET,
            "COSERVER_DATA_DIR": "/tmp/coserver-bench-data",
            "COSERVER_TIMEZONE": TIMEZONE,
            "COSERVER_WORKERS": "1",
            "COSERVER_LOG_LEVEL": "warning",
        }
        t0 = time.perf_counter()
        with coserver_process(["serve"], env, port=port):
            asyncio.run(run_http(port, host, queries, args.concurrency, 30 * args.budget))
            if not args.no_layers:
                asyncio.run(run_http_sequential(port, host, queries, args.layer_runs, 8 * args.budget))
        print(f"HTTP measured in {time.perf_counter() - t0:.1f} s ({_load()})")
        if not args.no_layers:
            try:
                asyncio.run(
                    run_in_process(
                        settings, queries, statements, args.layer_runs, 8 * args.budget, args.profile_runs
                    )
                )
            except Exception as exc:  # a broken import elsewhere must not lose the run
                print(f"  in-process layers unavailable: {type(exc).__name__}: {exc}")

        print(f"\nResults ({args.elements:,} elements):")
        print_table(queries, args.concurrency)
        print_details(queries)
        if not args.no_layers:
            print_layers(queries)
            print_profile(queries)
        print("\n  Sample responses (first parameter set):")
        for q in queries:
            print(f"  ({q.key}) {q.path(q.args[0])}\n      -> {_describe_body(q.sample_body)}")
        print("\nEXPLAIN (ANALYZE, BUFFERS), top plan nodes, median-cost parameters:")
        asyncio.run(explain(url, queries, statements))
    print(f"\nTotal {time.perf_counter() - started:.0f} s, cluster deleted ({_load()})")


if __name__ == "__main__":
    main()

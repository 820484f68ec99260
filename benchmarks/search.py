"""Territorial search at country scale (issue 5): HTTP p50/p95 of five representative queries next to the raw
SQL p50 of the very statements the engine sends, in one run, on a bulk-loaded synthetic France.

    .venv/bin/python -m benchmarks.search [--elements 1000000] [--requests 200] [--concurrency 4]

A throwaway PostGIS cluster; N elements loaded with COPY around the 200 most populous towns of mainland
France (``benchmarks.territory``), load time reported. Queries, random parameters (centres: a random town,
jittered): (a) radius 10 km + kinds=event; (b) a 20×20 km map bbox; (c) zone; (d) q=jardin + radius 25 km;
(e) agenda of the next 7 days + radius 10 km; and, for information, (f) q=jardin alone (a whole-country
text search). SQL = the statements the engine sends for each request (``engine_statements``: its
transaction and settings, a located recency query's walk, the hits, the facet counts when the page does
not hold the whole result; the SQL text and arguments of ``coserver.search.statements.bind``) as
the server sends them (``benchmarks.measure``); HTTP = ``coserver serve``, one hypercorn worker. Goals:
HTTP p50 ≤ 2× SQL p50, HTTP p95 ≤ 50 ms. Loopback only, bounded loops, the
cluster is deleted at the end. ``--elements 100000`` for a quick run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import asyncpg

from benchmarks.bulk import asyncpg_kwargs
from benchmarks.common import BENCH_SECRET, bench_env, free_port, http_request, throwaway_database
from benchmarks.measure import (
    Measured,
    machine_load,
    print_table,
    serve_and_time_http,
    time_sql,
)
from benchmarks.territory import ZONES, Territory, load_territory
from coserver.config import Settings

TIMEZONE = "Europe/Paris"
SECRET = BENCH_SECRET

Args = dict[str, str]


def _fmt(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".")


def query_makers(
    data: Territory, today: datetime
) -> list[tuple[str, str, str, Callable[[random.Random], Args]]]:
    """(key, label, endpoint, parameter maker) of each query."""

    def centre(rng: random.Random) -> tuple[str, str]:
        town = rng.choice(data.towns)  # every town equally likely: Paris as often as Gennevilliers
        j = town.sigma_km / 2
        lat = town.lat + rng.uniform(-j, j) / 111.2
        return _fmt(lat), _fmt(town.lon + rng.uniform(-j, j) / (111.2 * math.cos(math.radians(town.lat))))

    def bbox(rng: random.Random) -> Args:
        lat, lon = (float(v) for v in centre(rng))
        dlat, dlon = 10 / 111.2, 10 / (111.2 * math.cos(math.radians(lat)))
        return {"bbox": ",".join(_fmt(v) for v in (lon - dlon, lat - dlat, lon + dlon, lat + dlat))}

    def around(radius: str, **extra: str) -> Callable[[random.Random], Args]:
        def make(rng: random.Random) -> Args:
            lat, lon = centre(rng)
            return {**extra, "lat": lat, "lon": lon, "radius_km": radius}

        return make

    week = {"from": today.date().isoformat(), "to": (today.date() + timedelta(days=6)).isoformat()}
    return [
        ("a", "radius 10 km + kinds=event", "search", around("10", kinds="event")),
        ("b", "bbox 20×20 km (map view)", "search", bbox),
        ("c", "zone (level3 square)", "search", lambda rng: {"zone": f"Z{rng.randrange(1, ZONES + 1):03d}"}),
        ("d", "q=jardin + radius 25 km", "search", around("25", q="jardin")),
        ("e", "agenda 7 days + radius 10 km", "agenda", around("10", **week)),
        ("f", "q=jardin, whole country (info)", "search", lambda rng: {"q": "jardin"}),
    ]


async def engine_statements(conn, settings: Settings, endpoint: str, args: Args) -> list:
    """The statements the engine sends for these parameters, in order (``coserver.search.engine.search``
    and ``coserver.search.agenda.agenda``): the transaction and its settings, a located recency query's
    walk, the hits statement unless the walk found a page, the facet counts unless the first page holds the
    whole result (the agenda: unless it holds every event; a located text query's probe first, a located
    query's sample with bitmap scans off), the commit. Same SQL text and arguments as the engine's
    (``bind``). Which of them run depends on the data: they are run once here, on ``conn``."""
    from werkzeug.datastructures import MultiDict

    from coserver.search.agenda import agenda_params
    from coserver.search.engine import BITMAP, NO_BITMAP, SETTINGS, probed_counts
    from coserver.search.params import parse_params
    from coserver.search.statements import bind

    params = parse_params(MultiDict(args), settings, endpoint=endpoint)
    if endpoint == "agenda":
        params = agenda_params(params, settings)
    bound = bind(settings, params)
    sent = [("BEGIN", []), (SETTINGS, [])]
    await conn.execute("BEGIN")
    await conn.execute(SETTINGS)
    rows = 0
    if bound.statements.walk is not None:
        sent.append(bound.sql("walk"))
        rows = len(await conn.fetch(*_unpacked(sent[-1])))
    if rows <= params.limit:
        sent.append(bound.sql("hits"))
        rows = len(await conn.fetch(*_unpacked(sent[-1])))
    complete = rows <= params.limit and (endpoint == "agenda" or not params.kinds)
    if not complete and bound.statements.probe is not None:  # a located text query: the probe, maybe more
        sent += [(NO_BITMAP, []), bound.sql("probe")]
        await conn.execute(NO_BITMAP)
        if probed_counts(await conn.fetch(*_unpacked(sent[-1])), params) is None:
            sent += [(BITMAP, []), bound.sql("facets")]
    elif not complete and bound.statements.stream_facets:  # the sample of a radius or a box: no bitmaps
        sent += [(NO_BITMAP, []), bound.sql("facets")]
    elif not complete:
        sent.append(bound.sql("facets"))
    await conn.execute("ROLLBACK")
    return [*sent, ("COMMIT", [])]


def _unpacked(statement) -> list:
    sql, values = statement
    return [sql, *values]


async def all_engine_statements(url: str, settings: Settings, endpoint: str, args: list[Args]) -> list:
    conn = await asyncpg.connect(**asyncpg_kwargs(url))
    try:
        return [await engine_statements(conn, settings, endpoint, a) for a in args]
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--elements", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="SQL and HTTP requests per query (max)")
    parser.add_argument("--concurrency", type=int, default=4, help="connections of the throughput pass")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per query and phase (max)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: the server and cluster are removed
    if not 1_000 <= args.elements <= 5_000_000 or not 20 <= args.requests <= 5_000:
        parser.error("--elements must be 1,000..5,000,000 and --requests 20..5,000")

    started = time.perf_counter()
    port = free_port()
    host, base = f"127.0.0.1:{port}", f"http://127.0.0.1:{port}"
    print(
        f"coserver search benchmark: {args.elements:,} elements, ≤ {args.requests} requests per query and "
        f"phase, 1 hypercorn worker, throughput pass at concurrency {args.concurrency}; {machine_load()}"
    )
    with throwaway_database("searchbench") as (_cluster, url):
        print(f"\nLoad ({args.elements:,} elements around 200 towns of mainland France):", flush=True)
        data, log = asyncio.run(load_territory(url, args.elements, base, seed=args.seed))
        print("\n".join(log.lines()))

        settings = Settings(base_url=base, database_url=url, secret_key=SECRET, timezone=TIMEZONE)
        rng = random.Random(args.seed + 1)
        queries = []
        for key, label, endpoint, make in query_makers(data, datetime.now(ZoneInfo(TIMEZONE))):
            params = [make(rng) for _ in range(args.requests)]
            queries.append((Measured(key, label), endpoint, params))

        t0 = time.perf_counter()
        for m, endpoint, params in queries:
            statements = asyncio.run(all_engine_statements(url, settings, endpoint, params))
            asyncio.run(time_sql(url, m, statements, args.budget))
        print(f"\nRaw SQL measured in {time.perf_counter() - t0:.0f} s ({machine_load()})")

        env = bench_env(url, port, COSERVER_TIMEZONE=TIMEZONE)
        headers = {"Host": host, "Accept": "application/json"}
        requests = [
            (m, [http_request("GET", f"/api/v1/{endpoint}?{urlencode(a)}", headers) for a in params])
            for m, endpoint, params in queries
        ]
        floor = serve_and_time_http(env, port, host, requests, args.concurrency, args.budget)

        print(f"\nResults ({args.elements:,} elements, load {log.total:.0f} s):")
        print_table([m for m, _, _ in queries], args.concurrency, floor)
    print(f"\nTotal {time.perf_counter() - started:.0f} s, cluster deleted ({machine_load()})")


if __name__ == "__main__":
    main()

"""Timelines at territory scale (issue 4): HTTP p50/p95 of a wall page, a home page and a territory live page
(radius filter) next to the raw SQL of the very statement the service sends, in one run.

    .venv/bin/python -m benchmarks.timeline [--posts 1000000] [--actors 50000] [--requests 200]

A throwaway PostGIS cluster, bulk-loaded with COPY (``benchmarks.social``: actors, places, follows and
memberships with a skewed popularity, posts over a year, API tokens), load time reported. Queries, random
parameters: (a) the wall of one of the 200 busiest elements, anonymous; (b) the home page of a person with
an API token; (c) the live page, radius 10 km around a random town (jittered). SQL = the page statement
the service builds (``coserver.services.timelines.wall/home/live`` run against a stand-in session that keeps
the statement: the service's own SQL, not a copy), as the server sends it (``benchmarks.measure``). HTTP =
``coserver serve``, one hypercorn worker. Goals: HTTP p50 ≤ 2× SQL p50, HTTP p95 ≤ 50 ms. Loopback only,
bounded loops, the cluster is deleted at the end. ``--posts 100000 --actors 10000`` for a quick run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import signal
import sys
import time
from urllib.parse import urlencode

from benchmarks.common import BENCH_SECRET, bench_env, free_port, http_request, throwaway_database
from benchmarks.measure import (
    Measured,
    Statement,
    machine_load,
    print_table,
    serve_and_time_http,
    time_sql,
)
from benchmarks.social import Dataset, Fixtures, load_social
from coserver.config import Settings

SECRET = BENCH_SECRET
PAGE = 20  # the API's default page size


def query_sql(query) -> Statement:
    """The SQL text and arguments of a compiled query (``coserver.prepared``): exactly what the API sends."""
    stmt, params = query
    return stmt.sql, stmt.args(params)


def requests_for(
    key: str, data: Dataset, fx: Fixtures, settings: Settings, host: str, n: int, rng: random.Random
) -> tuple[list[list[Statement]], list[bytes]]:
    """``n`` parameter sets of query ``key``: the service's statement and the HTTP request for each."""
    from coserver.services import timeline_rows as rows
    from coserver.services.tokens import token_query

    statements, raw = [], []
    people = sorted(fx.tokens)
    for _ in range(n):
        headers = {"Host": host, "Accept": "application/json"}
        if key == "a":
            wall = rng.choice(fx.busy_walls)
            stmts = [query_sql(rows.wall_query(f"u{wall}", None, limit=PAGE))]
            path = f"/api/v1/elements/u{wall}/wall"
        elif key == "b":
            person = rng.choice(people)
            token = query_sql(token_query(fx.tokens[person]))
            stmts = [token, query_sql(rows.home_query(person, limit=PAGE))]
            path = "/api/v1/timelines/home"
            headers["Authorization"] = f"Bearer {fx.tokens[person]}"
        else:
            town = rng.choice(data.towns)  # every town equally likely: the chef-lieu as often as a village
            j = town.sigma_km / 2
            lat = round(town.lat + rng.uniform(-j, j) / 111.2, 6)
            lon = round(town.lon + rng.uniform(-j, j) / (111.2 * math.cos(math.radians(town.lat))), 6)
            area = {"lat": lat, "lon": lon, "radius_km": 10.0, "territory": settings.territory}
            stmts = [query_sql(rows.live_query(**area, limit=PAGE))]
            path = "/api/v1/timelines/live?" + urlencode({"lat": lat, "lon": lon, "radius_km": 10})
        statements.append(stmts)
        raw.append(http_request("GET", path, headers))
    return statements, raw


QUERIES = (
    ("a", "wall of a busy element, anonymous"),
    ("b", "home page, person with a token"),
    ("c", "live page, radius 10 km"),
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--actors", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=200, help="SQL and HTTP requests per query (max)")
    parser.add_argument("--concurrency", type=int, default=4, help="connections of the throughput pass")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per query and phase (max)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: the server and cluster are removed
    if not 10_000 <= args.posts <= 5_000_000 or not 2_000 <= args.actors <= 500_000:
        parser.error("--posts must be 10,000..5,000,000 and --actors 2,000..500,000")
    if not 20 <= args.requests <= 5_000:
        parser.error("--requests must be 20..5,000")

    started = time.perf_counter()
    port = free_port()
    host, base = f"127.0.0.1:{port}", f"http://127.0.0.1:{port}"
    print(
        f"coserver timeline benchmark: {args.posts:,} posts, {args.actors:,} actors, ≤ {args.requests} "
        f"requests per query and phase, 1 hypercorn worker, throughput pass at concurrency "
        f"{args.concurrency}; {machine_load()}"
    )
    with throwaway_database("timelinebench") as (_cluster, url):
        print("\nLoad:", flush=True)
        data, fx, log = asyncio.run(load_social(url, args.actors, args.posts, base, seed=args.seed))
        print("\n".join(log.lines()))

        settings = Settings(base_url=base, database_url=url, secret_key=SECRET)
        rng = random.Random(args.seed + 1)
        queries = []
        for key, label in QUERIES:
            statements, raw = requests_for(key, data, fx, settings, host, args.requests, rng)
            queries.append((Measured(key, label), statements, raw))

        t0 = time.perf_counter()
        for m, statements, _ in queries:
            asyncio.run(time_sql(url, m, statements, args.budget))
        print(f"\nRaw SQL measured in {time.perf_counter() - t0:.0f} s ({machine_load()})")

        requests = [(m, raw) for m, _, raw in queries]
        floor = serve_and_time_http(bench_env(url, port), port, host, requests, args.concurrency, args.budget)

        print(f"\nResults ({args.posts:,} posts, {args.actors:,} actors, load {log.total:.0f} s):")
        print_table([m for m, _, _ in queries], args.concurrency, floor)
    print(f"\nTotal {time.perf_counter() - started:.0f} s, cluster deleted ({machine_load()})")


if __name__ == "__main__":
    main()

"""Server time of every web page, with the demo territory and with 100,000 more elements (issue 6, "Numbers").

    .venv/bin/python -m benchmarks.pages [--elements 100000] [--requests 60] [--only demo|large]

For each scenario a throwaway PostGIS database is migrated and filled — (1) the La Réunion demo alone,
(2) 100,000 generated elements bulk-loaded with COPY (``benchmarks.bulk``) and then the demo on top —, then
``coserver serve`` (one hypercorn worker) answers ``--requests`` sequential GETs of each page over one
keep-alive loopback connection, anonymous or logged in (a real session row). Reported per page: the server
time the app measured itself (``Server-Timing: app;dur=``, handler + templates + SQL) p50/p95, the HTTP
round trip p50 seen by the client, the status and the body size. Goal: server time p50 ≤ 50 ms.
Everything runs on 127.0.0.1; loops are bounded; the clusters are deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field

import asyncpg

from benchmarks.bulk import asyncpg_kwargs
from benchmarks.common import bench_env, coserver_process, free_port, percentile, throwaway_database
from benchmarks.territory import load_territory

GOAL_P50_MS = 50.0
ORG, EVENT, PROJECT = "jardin_ravine_blanche", "festival_lakour_maloya", "compost_quartier_sp"
PERSON = "mika_payet"
TAG = "jardinpartage"

# (label, path, logged in?)
PAGES: list[tuple[str, str, bool]] = [
    ("home", "/", False),
    ("home, logged in", "/", True),
    ("home timeline", "/home", True),
    ("live", "/live", False),
    ("live, radius 10 km", "/live?lat=-21.34&lon=55.48&radius_km=10", False),
    ("hashtag", f"/tags/{TAG}", False),
    ("organization: about", f"/@{ORG}", False),
    ("organization: wall", f"/@{ORG}/wall", False),
    ("organization: wall (member)", f"/@{ORG}/wall", True),
    ("organization: community", f"/@{ORG}/community", False),
    ("organization: events", f"/@{ORG}/events", False),
    ("organization: projects", f"/@{ORG}/projects", False),
    ("organization: map", f"/@{ORG}/map", False),
    ("organization: history", f"/@{ORG}/history", False),
    ("organization: edit form", f"/@{ORG}/edit", True),
    ("event: about", f"/@{EVENT}", False),
    ("project: about", f"/@{PROJECT}", False),
    ("person: about", f"/@{PERSON}", False),
    ("search: empty form", "/search", False),
    ("search: text", "/search?q=compost", False),
    ("search: 10 km + kind", "/search?lat=-21.34&lon=55.48&radius_km=10&kinds=organization", False),
    ("search: theme + place name", "/search?theme=food&place=Saint-Pierre&radius_km=25", False),
    ("agenda: this week", "/agenda", False),
    ("agenda: 25 km", "/agenda?lat=-21.34&lon=55.48&radius_km=25", False),
    ("create: organization form", "/new/organization", True),
    ("log in form", "/login", False),
    ("sign up form", "/signup", False),
    ("profile settings", "/settings/profile", True),
]


@dataclass
class Result:
    label: str
    path: str
    statuses: dict[int, int] = field(default_factory=dict)
    server: list[float] = field(default_factory=list)  # ms, from Server-Timing
    round_trip: list[float] = field(default_factory=list)  # ms
    size: int = 0


async def _read(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if b":" in line:
            name, value = line.split(b":", 1)
            headers[name.strip().lower()] = value.strip()
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return status, headers, body


_DUR = re.compile(rb"app;dur=([\d.]+)")


async def measure(port: int, pages: list[tuple[str, str, bool]], cookie: str, requests: int) -> list[Result]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    results = []

    async def exchange(raw: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        nonlocal reader, writer
        for attempt in (1, 2):  # the server may close an idle keep-alive connection: reconnect once
            try:
                writer.write(raw)
                return await _read(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                if attempt == 2:
                    raise
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
        raise AssertionError("unreachable")

    try:
        for label, path, logged_in in pages:
            result = Result(label, path)
            headers = f"Host: 127.0.0.1:{port}\r\nAccept: text/html\r\nAccept-Language: fr\r\n"
            if logged_in:
                headers += f"Cookie: co_session={cookie}\r\n"
            raw = f"GET {path} HTTP/1.1\r\n{headers}\r\n".encode()
            for i in range(requests + 5):  # 5 warm-up requests per page, not counted
                t0 = time.perf_counter()
                status, response_headers, body = await exchange(raw)
                elapsed = (time.perf_counter() - t0) * 1000
                if i < 5:
                    continue
                result.statuses[status] = result.statuses.get(status, 0) + 1
                result.round_trip.append(elapsed)
                found = _DUR.search(response_headers.get(b"server-timing", b""))
                if found:
                    result.server.append(float(found.group(1)))
                result.size = len(body)
            results.append(result)
    finally:
        writer.close()
    return results


async def open_session(url: str, username: str) -> str:
    """A real browser session for ``username``'s account, as the log-in page would open (token returned)."""
    token = secrets.token_urlsafe(32)
    conn = await asyncpg.connect(**asyncpg_kwargs(url))
    try:
        await conn.execute(
            "INSERT INTO web_sessions (token_hash, account_id, csrf_token, expires_at) "
            "SELECT $1, acc.id, $2, now() + interval '1 day' FROM accounts acc "
            "JOIN actors a ON a.id = acc.person_id WHERE a.username = $3",
            hashlib.sha256(token.encode()).hexdigest(),
            secrets.token_urlsafe(16),
            username,
        )
    finally:
        await conn.close()
    return token


def _env(url: str, port: int) -> dict[str, str]:
    return bench_env(url, port, COSERVER_TILE_URL="/static/img/blank-tile.png?z={z}&x={x}&y={y}")


def load_demo(url: str, port: int) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "coserver.cli", "demo", "load", "--force"],
        env={**os.environ, **_env(url, port)},
        check=True,
        capture_output=True,
        timeout=600,
    )
    return time.perf_counter() - t0


def scenario(name: str, elements: int, requests: int) -> list[Result]:
    with throwaway_database(f"pages_{name}") as (_cluster, url):
        port = free_port()
        if elements:
            t0 = time.perf_counter()
            asyncio.run(load_territory(url, elements, f"http://127.0.0.1:{port}"))
            print(f"  {elements:,} elements bulk-loaded in {time.perf_counter() - t0:.1f} s")
        print(f"  demo loaded in {load_demo(url, port):.1f} s")
        cookie = asyncio.run(open_session(url, PERSON))
        with coserver_process(["serve"], _env(url, port), port=port):
            return asyncio.run(measure(port, PAGES, cookie, requests))


def report(title: str, results: list[Result]) -> None:
    print(f"\n{title}")
    print(f"  {'page':<32} {'status':<10} {'server p50':>10} {'p95':>8} {'HTTP p50':>9} {'KiB':>6}  goal")
    for r in results:
        p50, p95 = percentile(r.server, 50), percentile(r.server, 95)
        statuses = ",".join(f"{s}" + (f"×{n}" if len(r.statuses) > 1 else "") for s, n in r.statuses.items())
        ok = "ok" if p50 <= GOAL_P50_MS else "MISS"
        print(
            f"  {r.label:<32} {statuses:<10} {p50:8.2f}ms {p95:6.2f}ms {percentile(r.round_trip, 50):7.2f}ms "
            f"{r.size / 1024:6.1f}  {ok}"
        )
    print("  server = Server-Timing app;dur (handler, templates, SQL); one hypercorn worker, one connection")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--elements", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--only", choices=("demo", "large"))
    args = parser.parse_args()
    print(f"coserver pages benchmark: {args.requests} requests per page; load {os.getloadavg()[0]:.2f}")
    if args.only != "large":
        report("demo territory (La Réunion: ~90 elements, 40 posts)", scenario("demo", 0, args.requests))
    if args.only != "demo":
        results = scenario("large", args.elements, args.requests)
        report(f"demo + {args.elements:,} generated elements", results)
    print(f"  load average after the runs: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

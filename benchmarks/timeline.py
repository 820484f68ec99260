"""Timelines at territory scale: HTTP p50/p95 of a wall page, a home page and a territory live page (radius
filter) next to the raw SQL of the very statement the service emits, in one run (issue 4, "Numbers").

    .venv/bin/python -m benchmarks.timeline [--posts 1000000] [--actors 50000] [--requests 300]
                                            [--sql-runs 200] [--concurrency 8] [--no-layers]

1. A throwaway PostGIS cluster and migrated database, bulk-loaded with COPY: 100 towns in a 100×100 km
   territory (a French département's size, centred on the default territory point), one place per element
   (organizations, projects, events) and for 40 % of people; N actors (80 % people), all local, usernames
   u<n>; links (each person follows ~50 actors chosen with a Zipf-like popularity, so fan-in is skewed, and
   is a member/contributor/attendee of 1–3 elements, also skewed); M posts (ids increasing with time over
   one year; walls = the author's own or an element they belong to; 90 % public, 7 % restricted, 3 %
   private; 15 % replies on their parent's wall with its scope; 0–3 hashtags); accounts and API tokens
   (known plaintexts) for 300 people. Non-constraint indexes of posts and links are dropped for the load
   and rebuilt after it on two connections; foreign-key triggers are skipped during the COPY (the data is
   consistent by construction). VACUUM ANALYZE. Load times reported.
2. Five queries, random parameters: (a) the wall of a random busy element (anonymous); (b) the same kind
   of wall read by one of its members (token: the visibility sub-queries); (c) the home page of a random
   person with a token; (d) the live page, radius 10 km around a random town; (e) the live page of a
   random town by ``locality`` (the other wall filter: no OR with remote posts, so a semi-join). Raw SQL:
   the statement the service builds (``coserver.services.timelines.wall/home/live`` called with a
   capturing stand-in for the session, so the SQL is the service's own, not a copy, and follows its
   changes), compiled for asyncpg, run on one connection one at a time — with literal binds, and with
   ``$n`` parameters (prepared and cached, as the server sends it).
   HTTP: ``coserver serve`` (one hypercorn worker), ``--concurrency`` keep-alive loopback connections.
   EXPLAIN (ANALYZE, BUFFERS) of each query once (median-cost parameters).
3. Where the time goes (unless ``--no-layers``): raw SQL → the service function in-process (SQLAlchemy) →
   the whole Quart app in-process (test client; every SQL statement of a request timed and listed) → HTTP
   one at a time. Plus a labelled what-if, in this process only: the app again with the username look-up
   rewritten so that the partial unique index ``uq_actors_local_username`` applies (``get_local_actor``
   monkeypatched) and with API tokens touched recently (no ``UPDATE api_tokens`` per request).
4. Alternatives measured in the same run on the same parameters, interleaved with the service's statement
   (labelled; coserver/ is not modified), each checked to return the same first page as the service:
   the home page as a LATERAL union of per-followed-actor index scans; the live page by locality as a
   newest-first walk with the walls as a hashed filter; then, after creating three indexes in the throwaway
   database (posts: partial (id DESC) INCLUDE (wall_id, local, place_id) of public top-level posts; places:
   lower(locality); actors: (place_id) INCLUDE (id) of public local walls — build times reported), the
   service's radius statement reshaped "ids first" and the locality walk again; the service's statements,
   re-measured alongside, show what the indexes alone change.

Everything runs on 127.0.0.1, loops are bounded and the cluster is deleted at the end. Goals: HTTP p50 ≤ 2×
SQL p50 and HTTP p95 ≤ 50 ms. Use ``--posts 100000`` for a quick run.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import math
import os
import random
import statistics
import struct
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import asyncpg
import numpy as np
import orjson

from benchmarks.bulk import (
    DESCRIPTION_WORDS,
    EVENT_NAMES,
    FIRST_NAMES,
    LAST_NAMES,
    ORG_PREFIXES,
    ORG_SUBJECTS,
    PROJECT_NAMES,
    STREETS,
    TAGS,
    asyncpg_kwargs,
)
from benchmarks.common import coserver_process, free_port, http_request, load, percentile, throwaway_database
from coserver.config import Settings
from coserver.models.vocab import EVENT_TYPES, ORGANIZATION_TYPES, PROJECT_STAGES

SECRET = "bench-secret-0123456789"
GOAL_RATIO = 2.0
GOAL_P95_MS = 50.0
PAGE = 20  # the API's default page size (the service fetches PAGE + 1 rows)

# Territory: a 100×100 km square (a French département's size) centred on the default territory point.
CENTRE_LAT, CENTRE_LON = -21.115, 55.536
HALF_KM = 50.0
TOWNS = 100
KINDS = ("person", "organization", "project", "event")
KIND_SHARES = (0.80, 0.10, 0.06, 0.04)
MEMBERSHIP = {1: "member", 2: "contributor", 3: "attendee"}  # kind index -> link type
PERSON_PLACE_SHARE = 0.40
PRIVATE_ELEMENT_SHARE = 0.02
FOLLOWS_MEAN = 50
FOLLOW_ZIPF = 0.6  # popularity weight 1/rank^s over all actors
MEMBER_ZIPF = 0.7  # over elements
REPLY_SHARE = 0.15
SCOPES = ("public", "restricted", "private")
SCOPE_SHARES = (0.90, 0.07, 0.03)
TOKEN_PEOPLE = 300
CHUNK = 20_000
CONTENT_POOL = 4096


def _km_lat(km: float) -> float:
    return km / 111.2


def _km_lon(km: float, lat: float) -> float:
    return km / (111.2 * math.cos(math.radians(lat)))


_EWKB_POINT_4326 = "0101000020E6100000"


def _ewkb(lon: float, lat: float) -> str:
    return _EWKB_POINT_4326 + struct.pack("<dd", lon, lat).hex()


@dataclass(frozen=True)
class Town:
    name: str
    lat: float
    lon: float
    weight: float
    sigma_km: float


# -- synthetic data (numpy, seeded) ------------------------------------------------------------------------


class Dataset:
    """All generated columns, as numpy arrays indexed by id - 1."""

    def __init__(self, n_actors: int, n_posts: int, base_url: str, seed: int) -> None:
        self.n_actors, self.n_posts, self.base = n_actors, n_posts, base_url.rstrip("/")
        self.seed = seed
        rng = np.random.default_rng(seed)
        self.now = datetime.now(UTC).replace(microsecond=0)
        self._towns(rng)
        self._actors(rng)
        self._links(rng)
        self._posts(rng)
        self._contents(random.Random(seed + 5))

    # territory
    def _towns(self, rng: np.random.Generator) -> None:
        towns = []
        for k in range(TOWNS):
            weight = 1.0 / (k + 1) ** 1.1  # the chef-lieu, a few big towns, many villages
            if k == 0:
                lat, lon = CENTRE_LAT, CENTRE_LON
            else:
                lat = CENTRE_LAT + _km_lat(rng.uniform(-HALF_KM * 0.9, HALF_KM * 0.9))
                lon = CENTRE_LON + _km_lon(rng.uniform(-HALF_KM * 0.9, HALF_KM * 0.9), CENTRE_LAT)
            name = "Chef-Lieu" if k == 0 else f"Commune {k:02d}"
            towns.append(Town(name, lat, lon, weight, 0.6 + 3.5 * math.sqrt(weight)))
        self.towns = towns

    def _actors(self, rng: np.random.Generator) -> None:
        n = self.n_actors
        self.kind = rng.choice(len(KINDS), size=n, p=KIND_SHARES).astype(np.int8)
        self.kind[0] = 0
        is_element = self.kind > 0
        self.private = is_element & (rng.random(n) < PRIVATE_ELEMENT_SHARE)
        has_place = is_element | (rng.random(n) < PERSON_PLACE_SHARE)
        self.place_of = np.zeros(n, dtype=np.int64)  # 0 = none
        self.place_of[has_place] = np.arange(1, int(has_place.sum()) + 1)
        self.n_places = int(has_place.sum())
        # places: around a town (weighted), 15 % scattered anywhere in the territory
        weights = np.array([t.weight for t in self.towns])
        town_of = rng.choice(TOWNS, size=self.n_places, p=weights / weights.sum())
        sigma = np.array([t.sigma_km for t in self.towns])[town_of]
        lat0 = np.array([t.lat for t in self.towns])[town_of]
        lon0 = np.array([t.lon for t in self.towns])[town_of]
        dy, dx = rng.normal(0, 1, self.n_places) * sigma, rng.normal(0, 1, self.n_places) * sigma
        scattered = rng.random(self.n_places) < 0.15
        lat = lat0 + dy / 111.2
        lon = lon0 + dx / (111.2 * math.cos(math.radians(CENTRE_LAT)))
        k = int(scattered.sum())
        lat[scattered] = CENTRE_LAT + rng.uniform(-HALF_KM, HALF_KM, k) / 111.2
        lon[scattered] = CENTRE_LON + rng.uniform(-HALF_KM, HALF_KM, k) / (
            111.2 * math.cos(math.radians(CENTRE_LAT))
        )
        self.place_lat = np.clip(lat, CENTRE_LAT - _km_lat(HALF_KM), CENTRE_LAT + _km_lat(HALF_KM))
        self.place_lon = np.clip(
            lon, CENTRE_LON - _km_lon(HALF_KM, CENTRE_LAT), CENTRE_LON + _km_lon(HALF_KM, CENTRE_LAT)
        )
        self.place_town = np.where(scattered, -1, town_of)
        # who posts (people), who is followed: popular people tend to post more
        self.activity = rng.lognormal(0.0, 1.0, n)
        score = self.activity * rng.lognormal(0.0, 1.0, n)
        rank = np.empty(n, dtype=np.int64)
        rank[np.argsort(-score)] = np.arange(n)
        self.popularity = 1.0 / (rank + 1.0) ** FOLLOW_ZIPF

    def _links(self, rng: np.random.Generator) -> None:
        n = self.n_actors
        people = np.flatnonzero(self.kind == 0)
        elements = np.flatnonzero(self.kind > 0)
        self.people = people
        # follows: ~FOLLOWS_MEAN per person, targets by popularity (fan-in skew)
        counts = np.clip(rng.lognormal(math.log(FOLLOWS_MEAN) - 0.125, 0.5, len(people)), 5, 400).astype(int)
        subjects = np.repeat(people, counts)
        cum = np.cumsum(self.popularity)
        targets = np.searchsorted(cum, rng.random(len(subjects)) * cum[-1])
        targets = np.minimum(targets, n - 1)
        keep = subjects != targets
        pairs = np.unique(subjects[keep].astype(np.int64) * n + targets[keep])
        self.follow_subject, self.follow_object = pairs // n, pairs % n
        # memberships: 1-3 elements per person, elements by their own Zipf popularity
        m = rng.choice((1, 2, 3), size=len(people), p=(0.5, 0.3, 0.2))
        subjects = np.repeat(people, m)
        erank = np.empty(len(elements), dtype=np.int64)
        erank[rng.permutation(len(elements))] = np.arange(len(elements))
        ew = np.cumsum(1.0 / (erank + 1.0) ** MEMBER_ZIPF)
        chosen = elements[
            np.minimum(np.searchsorted(ew, rng.random(len(subjects)) * ew[-1]), len(elements) - 1)
        ]
        pairs = np.unique(subjects.astype(np.int64) * n + chosen)
        self.member_subject, self.member_object = pairs // n, pairs % n  # sorted by subject
        self.member_admin = rng.random(len(pairs)) < 0.05
        starts = np.searchsorted(self.member_subject, np.arange(n))
        ends = np.searchsorted(self.member_subject, np.arange(n), side="right")
        self.member_start, self.member_count = starts, ends - starts

    def _posts(self, rng: np.random.Generator) -> None:
        n, people = self.n_posts, self.people
        pw = self.activity[people]
        author = people[np.searchsorted(np.cumsum(pw), rng.random(n) * pw.sum())].astype(np.int64)
        author = np.minimum(author, self.n_actors - 1)
        # top-level posts: own wall (60 %) or one of the author's elements (40 %)
        wall = author.copy()
        on_element = (rng.random(n) < 0.40) & (self.member_count[author] > 0)
        a = author[on_element]
        pick = self.member_start[a] + (rng.random(len(a)) * self.member_count[a]).astype(np.int64)
        wall[on_element] = self.member_object[pick]
        scope = rng.choice(3, size=n, p=SCOPE_SHARES).astype(np.int8)
        reply = rng.random(n) < REPLY_SHARE
        reply[:1000] = False
        distance = 1 + rng.geometric(1 / 3000, size=n)
        parent = np.where(reply, np.maximum(np.arange(n) - distance, 0), -1)
        reply &= parent >= 0
        # replies inherit the wall and the scope of their thread (sequential: a parent may be a reply)
        wall_l, scope_l, parent_l = wall.tolist(), scope.tolist(), parent.tolist()
        root_l = [-1] * n
        for i in np.flatnonzero(reply).tolist():
            p = parent_l[i]
            wall_l[i], scope_l[i] = wall_l[p], scope_l[p]
            root_l[i] = root_l[p] if root_l[p] >= 0 else p
        self.post_author = author
        self.post_wall = np.array(wall_l, dtype=np.int64)
        self.post_scope = np.array(scope_l, dtype=np.int8)
        self.post_parent = parent
        self.post_root = np.array(root_l, dtype=np.int64)
        self.replies_count = np.bincount(parent[parent >= 0], minlength=n)
        self.likes = rng.poisson(1.5, n)
        self.content_of = rng.integers(0, CONTENT_POOL, n)
        start = (self.now - timedelta(days=365)).timestamp()
        step = 365 * 86400 / n
        us = ((start + (np.arange(n) + rng.random(n) * 0.9) * step) * 1e6).astype(np.int64)
        self.published = us.astype("datetime64[us]")

    def _contents(self, rng: random.Random) -> None:
        names = [t for t, _ in TAGS]
        weights = [w for _, w in TAGS]
        pool = []
        for _ in range(CONTENT_POOL):
            k = rng.choices((0, 1, 2, 3), weights=(40, 35, 18, 7))[0]
            tags = sorted(set(rng.choices(names, weights=weights, k=k)))
            words = " ".join(rng.choices(DESCRIPTION_WORDS, k=rng.randrange(6, 30)))
            html_tags = " ".join(
                f'<a href="{self.base}/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>'
                for t in tags
            )
            text = f"{words.capitalize()} {' '.join('#' + t for t in tags)}".strip()
            html = f"<p>{words.capitalize()} {html_tags}</p>"
            pool.append((text, html, "{" + ",".join(tags) + "}"))
        self.pool = pool

    # -- COPY rows (PostgreSQL text format) --

    def place_rows(self, lo: int, hi: int) -> bytes:
        out = []
        for i in range(lo, hi):
            t = int(self.place_town[i])
            town = self.towns[t].name if t >= 0 else self.towns[(i * 7919) % TOWNS].name
            out.append(
                f"{i + 1}\t{1 + i % 150} {STREETS[i % len(STREETS)]}\t974{i % 100:02d}\t{town}\tRE\t"
                f"{_ewkb(float(self.place_lon[i]), float(self.place_lat[i]))}\n"
            )
        return "".join(out).encode()

    def actor_rows(self, lo: int, hi: int) -> bytes:
        rng = random.Random(self.seed * 1_000_003 + lo)
        base, out = self.base, []
        created = (self.now - timedelta(days=400)).isoformat()
        for i in range(lo, hi):
            ident, kind = i + 1, int(self.kind[i])
            subtype = stage = r"\N"
            if kind == 0:
                name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            elif kind == 1:
                name = f"{rng.choice(ORG_PREFIXES)} {rng.choice(ORG_SUBJECTS)}"
                subtype = rng.choice(ORGANIZATION_TYPES)
            elif kind == 2:
                name = f"{rng.choice(PROJECT_NAMES)} {rng.choice(DESCRIPTION_WORDS)}"
                stage = rng.choice(PROJECT_STAGES)
            else:
                name = rng.choice(EVENT_NAMES)
                subtype = rng.choice(EVENT_TYPES)
            place = int(self.place_of[i]) or r"\N"
            private = "t" if self.private[i] else "f"
            actor = f"{base}/actors/u{ident}"
            out.append(
                f"{ident}\t{actor}\t{KINDS[kind]}\tt\tu{ident}\t{name}\t{private}\t{subtype}\t{stage}\t"
                f"{place}\t{actor}/inbox\t{base}/inbox\t{actor}/outbox\t{actor}/followers\t"
                f"{actor}/following\t{base}/@u{ident}\t{created}\t{created}\n"
            )
        return "".join(out).encode()

    @property
    def n_links(self) -> int:
        return len(self.follow_subject) + len(self.member_subject)

    def link_rows(self, lo: int, hi: int) -> bytes:
        nf = len(self.follow_subject)
        created = (self.now - timedelta(days=200)).isoformat()
        out = []
        for i in range(lo, hi):
            if i < nf:
                s, o, t, admin = int(self.follow_subject[i]), int(self.follow_object[i]), "follower", "f"
            else:
                j = i - nf
                s, o = int(self.member_subject[j]), int(self.member_object[j])
                t, admin = MEMBERSHIP[int(self.kind[o])], "t" if self.member_admin[j] else "f"
            out.append(f"{i + 1}\t{s + 1}\t{o + 1}\t{t}\taccepted\t{admin}\t{created}\t{created}\n")
        return "".join(out).encode()

    def post_rows(self, lo: int, hi: int) -> bytes:
        base, pool = self.base, self.pool
        stamps = np.datetime_as_string(self.published[lo:hi], unit="us").tolist()
        cols = zip(
            range(lo + 1, hi + 1),
            (self.post_author[lo:hi] + 1).tolist(),
            (self.post_wall[lo:hi] + 1).tolist(),
            self.post_scope[lo:hi].tolist(),
            self.post_parent[lo:hi].tolist(),
            self.post_root[lo:hi].tolist(),
            self.replies_count[lo:hi].tolist(),
            self.likes[lo:hi].tolist(),
            self.content_of[lo:hi].tolist(),
            stamps,
            strict=True,
        )
        out = []
        for ident, author, wall, scope, parent, root, replies, likes, content, stamp in cols:
            text, html, tags = pool[content]
            if parent >= 0:
                reply_to, reply_ap, root_id = str(parent + 1), f"{base}/posts/{parent + 1}", str(root + 1)
            else:
                reply_to = reply_ap = root_id = r"\N"
            out.append(
                f"{ident}\t{base}/posts/{ident}\tt\t{author}\t{wall}\t{SCOPES[scope]}\t{text}\t{html}\t"
                f"{tags}\t{reply_to}\t{reply_ap}\t{root_id}\t{replies}\t{likes}\t{stamp}+00\n"
            )
        return "".join(out).encode()


PLACE_COLUMNS = ("id", "street", "postal_code", "locality", "country", "location")
ACTOR_COLUMNS = (
    "id", "ap_id", "kind", "local", "username", "name", "is_private", "subtype", "stage", "place_id",
    "inbox_url", "shared_inbox_url", "outbox_url", "followers_url", "following_url", "profile_url",
    "created_at", "updated_at",
)  # fmt: skip
LINK_COLUMNS = ("id", "subject_id", "object_id", "type", "state", "is_admin", "created_at", "updated_at")
POST_COLUMNS = (
    "id", "ap_id", "local", "author_id", "wall_id", "scope", "source", "content_html", "tags",
    "in_reply_to_id", "in_reply_to_ap_id", "root_id", "replies_count", "likes_count", "published_at",
)  # fmt: skip


# -- loading ------------------------------------------------------------------------------------------------


@dataclass
class LoadReport:
    steps: list[tuple[str, float, str]] = field(default_factory=list)
    index_times: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, seconds: float, note: str = "") -> None:
        self.steps.append((name, seconds, note))
        print(f"    {name}: {seconds:.1f} s {note}", flush=True)

    def lines(self) -> list[str]:
        out = [f"  {name:<22} {s:7.1f} s   {note}" for name, s, note in self.steps]
        for name, s in sorted(self.index_times.items(), key=lambda kv: -kv[1])[:8]:
            out.append(f"      {name:<38} {s:6.1f} s")
        out.append(f"  {'total':<22} {sum(s for _, s, _ in self.steps):7.1f} s")
        out.append("  sizes: " + ", ".join(f"{k} {v}" for k, v in self.sizes.items()))
        return out


async def _copy(
    url: str,
    table: str,
    columns: tuple[str, ...],
    rows: Callable[[int, int], bytes],
    n: int,
    streams: int = 2,
) -> None:
    """COPY ``n`` rows over ``streams`` connections; the next chunk is generated in a thread while the server
    parses the previous one."""
    bounds = [n * k // streams for k in range(streams + 1)]

    async def stream(lo: int, hi: int) -> None:
        conn = await asyncpg.connect(**asyncpg_kwargs(url))
        try:
            await conn.execute("SET session_replication_role = replica")  # no FK triggers during the load

            async def source() -> AsyncIterator[bytes]:
                loop = asyncio.get_running_loop()
                pending = loop.run_in_executor(None, rows, lo, min(lo + CHUNK, hi))
                for start in range(lo, hi, CHUNK):
                    chunk = await pending
                    nxt = start + CHUNK
                    if nxt < hi:
                        pending = loop.run_in_executor(None, rows, nxt, min(nxt + CHUNK, hi))
                    yield chunk

            await conn.copy_to_table(table, source=source(), columns=list(columns), format="text")
        finally:
            await conn.close()

    await asyncio.gather(
        *(stream(bounds[k], bounds[k + 1]) for k in range(streams) if bounds[k] < bounds[k + 1])
    )


async def _indexes(
    conn: asyncpg.Connection, tables: tuple[str, ...]
) -> list[tuple[str, str, str, str | None]]:
    """(table, index, definition, unique constraint) of the tables' indexes except primary keys."""
    rows = await conn.fetch(
        """
        SELECT t.relname AS table, i.relname AS name, pg_get_indexdef(i.oid) AS definition,
               c.conname AS constraint, c.contype::text AS contype
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        LEFT JOIN pg_constraint c ON c.conindid = i.oid AND c.conrelid = t.oid AND c.contype IN ('p', 'u')
        WHERE t.relname = ANY($1::text[]) AND t.relnamespace = 'public'::regnamespace
        """,
        list(tables),
    )
    return [(r["table"], r["name"], r["definition"], r["constraint"]) for r in rows if r["contype"] != "p"]


async def _rebuild(url: str, indexes: list, report: LoadReport, workers: int = 2) -> None:
    def weight(ix) -> int:
        d = ix[2].lower()
        return (100 if "gin" in d else 0) + (50 if "ap_id" in d else 0) + (20 if ix[0] == "posts" else 0)

    queue: asyncio.Queue = asyncio.Queue()
    for ix in sorted(indexes, key=weight, reverse=True):
        queue.put_nowait(ix)

    async def worker() -> None:
        conn = await asyncpg.connect(**asyncpg_kwargs(url))
        try:
            await conn.execute("SET maintenance_work_mem = '512MB'")
            await conn.execute("SET max_parallel_maintenance_workers = 0")
            while not queue.empty():
                table, name, definition, constraint = queue.get_nowait()
                t0 = time.perf_counter()
                await conn.execute(definition)
                if constraint:
                    await conn.execute(
                        f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" UNIQUE USING INDEX "{name}"'
                    )
                report.index_times[f"{table}.{name}"] = time.perf_counter() - t0
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(workers)))


@dataclass
class Fixtures:
    busy_walls: list[tuple[int, int]]  # (element id, top-level public posts)
    tokens: dict[int, str]  # person id -> token
    member_walls: list[tuple[int, int]]  # (element id, member person id with a token)


async def load_all(url: str, data: Dataset, report: LoadReport) -> Fixtures:
    conn = await asyncpg.connect(**asyncpg_kwargs(url))
    try:
        t0 = time.perf_counter()
        await _copy(url, "places", PLACE_COLUMNS, data.place_rows, data.n_places)
        report.add("COPY places", time.perf_counter() - t0, f"({data.n_places:,} rows)")
        t0 = time.perf_counter()
        await _copy(url, "actors", ACTOR_COLUMNS, data.actor_rows, data.n_actors)
        report.add("COPY actors", time.perf_counter() - t0, f"({data.n_actors:,} rows, indexes in place)")

        indexes = await _indexes(conn, ("links", "posts"))
        for table, name, _, constraint in indexes:
            if constraint:
                await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
            else:
                await conn.execute(f'DROP INDEX "{name}"')
        for table in ("links", "posts"):
            await conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")
        t0 = time.perf_counter()
        await _copy(url, "links", LINK_COLUMNS, data.link_rows, data.n_links)
        report.add(
            "COPY links",
            time.perf_counter() - t0,
            f"({data.n_links:,} rows: {len(data.follow_subject):,} follows, "
            f"{len(data.member_subject):,} memberships)",
        )
        t0 = time.perf_counter()
        await _copy(url, "posts", POST_COLUMNS, data.post_rows, data.n_posts)
        seconds = time.perf_counter() - t0
        report.add(
            "COPY posts",
            seconds,
            f"({data.n_posts:,} rows, {data.n_posts / seconds:,.0f} rows/s incl. generation)",
        )
        for table in ("places", "actors", "links", "posts"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )

        t0 = time.perf_counter()
        await _rebuild(url, indexes, report)
        report.add("index builds", time.perf_counter() - t0, f"({len(indexes)} indexes, 2 connections)")

        # accounts + API tokens (known plaintexts) for a few hundred people
        t0 = time.perf_counter()
        rng = random.Random(data.seed + 11)
        people = sorted(rng.sample([int(p) + 1 for p in data.people], min(TOKEN_PEOPLE, len(data.people))))
        tokens = {
            pid: f"co_bench{pid:07d}{hashlib.sha256(f'{data.seed}:{pid}'.encode()).hexdigest()[:24]}"
            for pid in people
        }
        await conn.copy_records_to_table(
            "accounts",
            records=[(k + 1, pid, "!bench-no-password") for k, pid in enumerate(people)],
            columns=["id", "person_id", "password_hash"],
        )
        await conn.copy_records_to_table(
            "api_tokens",
            records=[
                (k + 1, k + 1, hashlib.sha256(tokens[pid].encode()).hexdigest(), "bench")
                for k, pid in enumerate(people)
            ],
            columns=["id", "account_id", "token_hash", "name"],
        )
        for table in ("accounts", "api_tokens"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        report.add("accounts + tokens", time.perf_counter() - t0, f"({len(people)} people)")

        t0 = time.perf_counter()
        for table in ("links", "posts"):
            await conn.execute(f"ALTER TABLE {table} RESET (autovacuum_enabled)")
        await conn.execute("VACUUM (ANALYZE) places, actors, links, posts, accounts, api_tokens")
        report.add("vacuum analyze", time.perf_counter() - t0, "(statistics, visibility map, hint bits)")
        for table in ("places", "actors", "links", "posts"):
            report.sizes[table] = await conn.fetchval(
                "SELECT pg_size_pretty(pg_table_size($1::regclass)) || ' + ' "
                "|| pg_size_pretty(pg_indexes_size($1::regclass)) || ' idx'",
                table,
            )

        busy = await conn.fetch(
            """
            SELECT p.wall_id, count(*) AS n FROM posts p JOIN actors a ON a.id = p.wall_id
            WHERE a.kind <> 'person' AND NOT a.is_private AND p.in_reply_to_id IS NULL AND p.scope = 'public'
            GROUP BY p.wall_id ORDER BY n DESC LIMIT 200
            """
        )
        members = await conn.fetch(
            """
            SELECT l.object_id, l.subject_id FROM links l JOIN actors a ON a.id = l.object_id
            WHERE l.subject_id = ANY($1::bigint[]) AND l.type IN ('member', 'contributor', 'attendee')
              AND l.state = 'accepted' ORDER BY 2, 1
            """,
            people,
        )
        return Fixtures(
            busy_walls=[(r["wall_id"], r["n"]) for r in busy],
            tokens=tokens,
            member_walls=[(r["object_id"], r["subject_id"]) for r in members],
        )
    finally:
        await conn.close()


# -- the queries: the service's own statements ---------------------------------------------------------------


class _Capture:
    """Stands in for the AsyncSession: keeps the statement ``timelines._page`` executes, returns no rows."""

    def __init__(self) -> None:
        self.stmt = None

    async def scalars(self, stmt):
        self.stmt = stmt
        return []


def service_statement(fn, *args, **kwargs):
    """The SELECT that ``fn`` (a coserver.services.timelines function) sends, built by the function itself."""
    cap = _Capture()
    coro = fn(cap, *args, **kwargs)
    try:
        coro.send(None)
    except StopIteration:
        pass
    else:  # it awaited something real: not a pure statement builder any more
        coro.close()
        raise RuntimeError(f"{fn.__name__} awaited more than the page query")
    if cap.stmt is None:
        raise RuntimeError(f"{fn.__name__} sent no statement")
    return cap.stmt


@dataclass
class Compiled:
    literal: str
    prepared: tuple[str, list]


def compile_stmt(stmt) -> Compiled:
    from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

    dialect = asyncpg_dialect()
    literal = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    values = compiled.construct_params()
    return Compiled(literal, (str(compiled), [values[name] for name in compiled.positiontup or ()]))


def _actor(ident: int, kind: str = "person"):
    from coserver.models import Actor

    return Actor(id=ident, kind=kind, local=True, is_private=False, username=f"u{ident}")


def _live_kwargs(a: dict) -> dict:
    """``timelines.live`` arguments as the API passes them (territory: the server's default settings)."""
    import inspect

    from coserver.services import timelines

    kwargs: dict = {"limit": PAGE}
    if "locality" in a:
        kwargs["locality"] = a["locality"]
    else:
        kwargs.update(lat=a["lat"], lon=a["lon"], radius_km=a["radius_km"])
    if "territory" in inspect.signature(timelines.live).parameters:
        kwargs["territory"] = Settings().territory
    return kwargs


@dataclass
class Query:
    key: str
    label: str
    args: list[dict] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)
    prep: list[float] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    ids: list[list[int]] = field(default_factory=list)
    http: list[float] = field(default_factory=list)
    http_seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    layers: dict[str, list[float]] = field(default_factory=dict)
    statements_per_request: float = float("nan")
    statement_profile: list[tuple[str, float, float, float]] = field(default_factory=list)
    http_check: str = ""

    def statement(self, a: dict):
        from coserver.services import timelines

        if self.key in ("a", "b"):
            viewer = _actor(a["viewer"]) if a.get("viewer") else None
            return service_statement(timelines.wall, _actor(a["wall"], "organization"), viewer, limit=PAGE)
        if self.key == "c":
            return service_statement(timelines.home, _actor(a["person"]), limit=PAGE)
        return service_statement(timelines.live, **_live_kwargs(a))

    async def call_service(self, session, a: dict):
        from coserver.services import timelines

        if self.key in ("a", "b"):
            viewer = _actor(a["viewer"]) if a.get("viewer") else None
            return await timelines.wall(session, _actor(a["wall"], "organization"), viewer, limit=PAGE)
        if self.key == "c":
            return await timelines.home(session, _actor(a["person"]), limit=PAGE)
        return await timelines.live(session, **_live_kwargs(a))

    def path(self, a: dict) -> str:
        if self.key in ("a", "b"):
            return f"/api/v1/elements/u{a['wall']}/wall"
        if self.key == "c":
            return "/api/v1/timelines/home"
        if "locality" in a:
            return "/api/v1/timelines/live?" + urlencode({"locality": a["locality"]})
        return "/api/v1/timelines/live?" + urlencode(
            {"lat": f"{a['lat']:.6f}", "lon": f"{a['lon']:.6f}", "radius_km": f"{a['radius_km']:g}"}
        )

    def headers(self, a: dict, host: str) -> dict[str, str]:
        h = {"Host": host, "Accept": "application/json"}
        if a.get("token"):
            h["Authorization"] = f"Bearer {a['token']}"
        return h


def make_queries(data: Dataset, fx: Fixtures, n: int, seed: int) -> list[Query]:
    rng = random.Random(seed + 1)
    towns = data.towns
    token_people = sorted(fx.tokens)
    member_walls = fx.member_walls or [(fx.busy_walls[0][0], token_people[0])]
    queries = [
        Query("a", "wall, busy element, anonymous"),
        Query("b", "wall, read by a member (token)"),
        Query("c", "home, person (token)"),
        Query("d", "live, radius 10 km around a town"),
        Query("e", "live, locality = a town"),
    ]
    for _ in range(n):
        wall, _count = rng.choice(fx.busy_walls)
        queries[0].args.append({"wall": wall})
        wall, viewer = rng.choice(member_walls)
        queries[1].args.append({"wall": wall, "viewer": viewer, "token": fx.tokens[viewer]})
        person = rng.choice(token_people)
        queries[2].args.append({"person": person, "token": fx.tokens[person]})
        town = rng.choice(towns)  # every town equally likely: the chef-lieu as often as a village
        j = town.sigma_km / 2
        lat = town.lat + _km_lat(rng.uniform(-j, j))
        lon = town.lon + _km_lon(rng.uniform(-j, j), town.lat)
        queries[3].args.append({"lat": round(lat, 6), "lon": round(lon, 6), "radius_km": 10.0})
        queries[4].args.append({"locality": rng.choice(towns).name})
    return queries


# -- raw SQL -------------------------------------------------------------------------------------------------


async def run_sql(url: str, queries: list[Query], runs: int) -> None:
    """Literal binds then the prepared form, interleaved per parameter set (noise shared)."""
    conn = await asyncpg.connect(**asyncpg_kwargs(url))
    try:
        for q in queries:
            for a in q.args[:5]:  # warm-up: caches, prepared statement
                c = compile_stmt(q.statement(a))
                await conn.fetch(c.literal)
                await conn.fetch(c.prepared[0], *c.prepared[1])
            for a in q.args[:runs]:
                c = compile_stmt(q.statement(a))
                t0 = time.perf_counter()
                rows = await conn.fetch(c.literal)
                t1 = time.perf_counter()
                await conn.fetch(c.prepared[0], *c.prepared[1])
                t2 = time.perf_counter()
                q.sql.append(t1 - t0)
                q.prep.append(t2 - t1)
                q.rows.append(min(len(rows), PAGE))
                q.ids.append([r["id"] for r in rows[:PAGE]])
    finally:
        await conn.close()


def _plan_summary(lines: list[str], max_nodes: int = 12) -> list[str]:
    out, nodes = [], 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        if i == 0 or stripped.startswith("->"):
            nodes += 1
            if nodes > max_nodes:
                out.append("      …")
                break
        elif not stripped.startswith(
            ("Index Cond", "Filter", "Rows Removed", "Heap Fetches", "Sort Key")
        ) and not (i == 1 and stripped.startswith("Buffers")):
            continue
        text = line.rstrip()
        out.append("    " + (text if len(text) <= 160 else text[:157] + "..."))
    out += ["    " + line for line in lines if line.startswith(("Planning Time", "Execution Time"))]
    return out


def _median_index(values: list[float]) -> int:
    order = sorted(range(len(values)), key=lambda i: values[i])
    return order[len(order) // 2]


async def explain_queries(url: str, queries: list[Query]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each service statement once, with its median-cost parameters."""
    out: list[str] = []
    conn = await asyncpg.connect(**asyncpg_kwargs(url))
    try:
        for q in queries:
            i = _median_index(q.sql)
            a = q.args[i]
            shown = {k: v for k, v in a.items() if k != "token"}
            out.append(f"\n  ({q.key}) {q.label} {shown}  [SQL {q.sql[i] * 1000:.2f} ms, {q.rows[i]} rows]")
            rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + compile_stmt(q.statement(a)).literal)
            out += _plan_summary([r[0] for r in rows])
    finally:
        await conn.close()
    return out


# -- alternatives (not the service's SQL; labelled as such) -------------------------------------------------

_MEMBER_TYPES = "('member', 'contributor', 'attendee')"
_FOLLOWED_TYPES = "('follower', 'member', 'contributor', 'attendee')"


def _visible_sql(p: int, alias: str = "posts") -> str:
    """``timelines._visible(viewer)`` written out (same rule)."""
    return (
        f"({alias}.scope = 'public' OR {alias}.author_id = {p} OR {alias}.wall_id = {p} "
        f"OR ({alias}.scope = 'restricted' AND ({alias}.wall_id IN (SELECT object_id FROM links WHERE "
        f"subject_id = {p} AND state = 'accepted' AND type IN {_MEMBER_TYPES}) OR {alias}.wall_id IN "
        f"(SELECT object_id FROM links WHERE subject_id = {p} AND state = 'accepted' "
        "AND type = 'follower'))) "
        f"OR ({alias}.scope = 'private' AND {alias}.wall_id IN (SELECT object_id FROM links WHERE "
        f"subject_id = {p} AND state = 'accepted' AND type IN {_MEMBER_TYPES})))"
    )


def home_lateral_sql(a: dict) -> str:
    """Home page as the union of per-followed-actor top-(PAGE+1) index scans on (author_id, id DESC) and
    (wall_id, id DESC) — each branch stops after PAGE+1 visible rows — then the PAGE+1 newest of the union.
    Equivalent to the service's ``author_id = p OR author_id IN followed OR wall_id IN followed`` (+ the
    visibility rule): a post in the true top PAGE+1 is in the top PAGE+1 of its own branch."""
    p, lim = a["person"], PAGE + 1
    vis = _visible_sql(p, "x")
    return f"""
SELECT posts.* FROM posts WHERE posts.id IN (
  SELECT DISTINCT c.id FROM (
    SELECT b.id FROM (
      SELECT object_id AS a FROM links
      WHERE subject_id = {p} AND state = 'accepted' AND type IN {_FOLLOWED_TYPES}
    ) f
    CROSS JOIN LATERAL (
      (SELECT x.id FROM posts x WHERE x.author_id = f.a AND x.deleted_at IS NULL AND {vis}
       ORDER BY x.id DESC LIMIT {lim})
      UNION ALL
      (SELECT x.id FROM posts x WHERE x.wall_id = f.a AND x.deleted_at IS NULL AND {vis}
       ORDER BY x.id DESC LIMIT {lim})
    ) b
    UNION ALL
    (SELECT x.id FROM posts x WHERE x.author_id = {p} AND x.deleted_at IS NULL ORDER BY x.id DESC LIMIT {lim})
  ) c ORDER BY c.id DESC LIMIT {lim}
) ORDER BY posts.id DESC"""


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def live_locality_walk_sql(a: dict) -> str:
    """Live page by locality as a newest-first walk with the locality's walls as a hashed filter, ids first
    (index-only when the partial index below exists), then the rows. ``(… IN (…)) IS TRUE`` keeps PostgreSQL
    from turning the IN into a semi-join, the shape whose size it misestimates (with ``locality`` or
    ``zone`` the service's OR with the remote-posts branch disappears, and the IN is a semi-join again)."""
    return f"""
SELECT posts.* FROM posts WHERE posts.id IN (
  SELECT p.id FROM posts p
  WHERE p.scope = 'public' AND p.in_reply_to_id IS NULL AND p.deleted_at IS NULL
    AND (p.wall_id IN (
      SELECT actors.id FROM actors JOIN places ON places.id = actors.place_id
      WHERE actors.local IS true AND actors.is_private IS false
        AND lower(places.locality) = lower({_sql_str(a["locality"])}))) IS TRUE
  ORDER BY p.id DESC LIMIT {PAGE + 1}
) ORDER BY posts.id DESC"""


# Indexes created for the second group of alternatives (in the throwaway database only):
LIVE_INDEXES = (
    # newest-first walk over public top-level posts, index-only for the wall / remote-place tests
    "CREATE INDEX ix_bench_posts_live ON posts (id DESC) INCLUDE (wall_id, local, place_id) "
    "WHERE scope = 'public' AND in_reply_to_id IS NULL AND deleted_at IS NULL",
    # the locality filter: lower(locality) = … is a sequential scan of places without it
    "CREATE INDEX ix_bench_places_locality ON places (lower(locality))",
    # walls of the places found (radius or locality): index-only instead of one heap fetch per place;
    # the predicate is written as the service writes its condition (IS TRUE / IS FALSE) so that it applies
    "CREATE INDEX ix_bench_actors_place_wall ON actors (place_id) INCLUDE (id) "
    "WHERE local IS TRUE AND is_private IS FALSE",
)


def ids_first(query: Query) -> Callable[[dict], str]:
    """The service's own statement reshaped as ``WHERE id IN (SELECT id … ORDER BY id DESC LIMIT n)``: the
    newest-first walk reads only what its filter needs (index-only with LIVE_INDEXES), the rows are
    fetched for the page alone."""
    from sqlalchemy import select

    from coserver.models import Post

    def build(a: dict) -> str:
        inner = query.statement(a).with_only_columns(Post.id).correlate(None)
        return compile_stmt(select(Post).where(Post.id.in_(inner)).order_by(Post.id.desc())).literal

    return build


@dataclass
class Alternative:
    label: str
    base: Query  # the service query it replaces (same parameters)
    sql: Callable[[dict], str]
    setup: tuple[str, ...] = ()  # e.g. CREATE INDEX statements, run (and timed) before the measurement
    query: Query = None  # type: ignore[assignment]
    mismatches: int = 0
    setup_note: str = ""
    plan: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.query = Query(self.base.key, self.label, args=self.base.args)


async def run_alternatives(url: str, alternatives: list[Alternative], runs: int) -> None:
    """Each alternative on the base query's parameter sets, interleaved with the service's statement (so the
    latter is re-measured, after any index the alternative created), then its EXPLAIN once."""
    conn = await asyncpg.connect(**asyncpg_kwargs(url))
    try:
        for alt in alternatives:
            q = alt.query
            if alt.setup:
                await conn.execute("SET maintenance_work_mem = '512MB'")
                notes = []
                for statement in alt.setup:
                    t0 = time.perf_counter()
                    await conn.execute(statement)
                    name = statement.split()[2]
                    size = await conn.fetchval("SELECT pg_size_pretty(pg_relation_size($1::regclass))", name)
                    notes.append(f"{name} {time.perf_counter() - t0:.1f} s, {size}")
                alt.setup_note = "created: " + "; ".join(notes)
                await conn.execute("VACUUM (ANALYZE) posts, places, actors")
            for a in q.args[:5]:
                await conn.fetch(alt.sql(a))
            for k, a in enumerate(q.args[:runs]):
                base_sql = compile_stmt(alt.base.statement(a)).literal
                t0 = time.perf_counter()
                rows = await conn.fetch(alt.sql(a))
                t1 = time.perf_counter()
                await conn.fetch(base_sql)  # the service's statement again, interleaved: same noise
                t2 = time.perf_counter()
                q.sql.append(t1 - t0)
                q.prep.append(t2 - t1)
                q.rows.append(min(len(rows), PAGE))
                if [r["id"] for r in rows[:PAGE]] != alt.base.ids[k]:
                    alt.mismatches += 1
            i = _median_index(q.sql)
            rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + alt.sql(q.args[i]))
            alt.plan = _plan_summary([r[0] for r in rows], max_nodes=16)
    finally:
        await conn.close()


# -- HTTP ----------------------------------------------------------------------------------------------------


async def _fetch_json(port: int, raw: bytes) -> tuple[int, object]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:].strip())
        body = await reader.readexactly(length) if length else b""
        try:
            return status, orjson.loads(body)
        except orjson.JSONDecodeError:
            return status, body[:200]
    finally:
        writer.close()


def _requests(q: Query, host: str) -> list[bytes]:
    return [http_request("GET", q.path(a), q.headers(a, host)) for a in q.args]


async def run_http(port: int, host: str, queries: list[Query], concurrency: int) -> None:
    for q in queries:
        reqs = _requests(q, host)
        # correctness: the API's items are the SQL's rows, for the first parameter sets
        same = 0
        for k in range(3):
            status, body = await _fetch_json(port, reqs[k])
            got = [item["id"] for item in body.get("items", [])] if isinstance(body, dict) else None
            same += got == q.ids[k]
            if got is None:
                q.http_check = f"status {status}: {body!r:.200}"
        q.http_check = q.http_check or f"{same}/3 first pages identical to the SQL rows"
        await load(port, reqs[: max(24, concurrency * 3)], concurrency)  # warm-up: pool, plans
        seconds, latencies, statuses = await load(port, reqs, concurrency)
        q.http, q.http_seconds, q.statuses = latencies, seconds, statuses


async def run_http_sequential(port: int, host: str, queries: list[Query], runs: int) -> None:
    for q in queries:
        _, latencies, _ = await load(port, _requests(q, host)[:runs], 1)
        q.layers["4 HTTP, one at a time"] = latencies


async def run_in_process(settings: Settings, queries: list[Query], runs: int) -> None:

    from coserver.db import Database

    db = Database(settings.database_url or "", pool_size=2)
    try:
        for q in queries:
            times = []
            for a in q.args[: runs + 3]:
                t0 = time.perf_counter()
                async with db.session() as session:
                    await q.call_service(session, a)
                times.append(time.perf_counter() - t0)
            q.layers["2 service in-process (SQLAlchemy)"] = times[3:]
    finally:
        await db.dispose()

    await _app_pass(settings, queries, runs, "3 Quart app in-process (test client)", profile=True)

    # What-if, in this process only (coserver/ is not modified): the two request-path fixes proposed in the
    # report — the username look-up written so that the partial unique index applies, and API tokens whose
    # last_used_at was committed recently (so that reads do not UPDATE api_tokens on every request).
    import inspect

    from sqlalchemy import func, select
    from sqlalchemy.orm import selectinload

    from coserver.models import Actor
    from coserver.services import elements

    original = elements.get_local_actor
    if "Actor.local.is_(True)" not in inspect.getsource(original):
        print("  what-if: get_local_actor no longer uses Actor.local.is_(True); measured as is")
        patched = original
    else:

        async def patched(session, username: str, *, with_place: bool = True):
            stmt = select(Actor).where(
                Actor.local,  # renders "actors.local": implies the index predicate "WHERE local"
                func.lower(Actor.username) == username.lower().lstrip("@"),
                Actor.deleted_at.is_(None),
            )
            if with_place:
                stmt = stmt.options(
                    selectinload(Actor.place), selectinload(Actor.organizer), selectinload(Actor.parent)
                )
            return await session.scalar(stmt)

    conn = await asyncpg.connect(**asyncpg_kwargs(settings.database_url or ""))
    try:
        await conn.execute("UPDATE api_tokens SET last_used_at = now()")
        elements.get_local_actor = patched
        await _app_pass(settings, queries, runs, "3* app, proposed fixes applied (what-if)", profile=False)
    finally:
        elements.get_local_actor = original
        await conn.execute("UPDATE api_tokens SET last_used_at = NULL")
        await conn.close()


async def _app_pass(settings: Settings, queries: list[Query], runs: int, layer: str, profile: bool) -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from coserver.app import create_app

    # every statement the app sends, timed (cursor execute → result), labelled "VERB table"
    log: list[tuple[str, float]] = []

    def before(_conn, _cursor, _statement, _parameters, context, _executemany) -> None:
        context._bench_t0 = time.perf_counter()

    def after(_conn, _cursor, statement, _parameters, context, _executemany) -> None:
        log.append((_statement_label(statement), time.perf_counter() - context._bench_t0))

    app = create_app(settings)
    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    try:
        async with app.test_app() as test_app:
            client = test_app.test_client()
            for q in queries:
                times = []
                for k, a in enumerate(q.args[: runs + 3]):
                    if k == 3:
                        log.clear()
                    headers = {k: v for k, v in q.headers(a, "x").items() if k != "Host"}
                    t0 = time.perf_counter()
                    response = await client.get(q.path(a), headers=headers)
                    await response.get_data()
                    times.append(time.perf_counter() - t0)
                q.layers[layer] = times[3:]
                if not profile:
                    continue
                n = max(1, len(times) - 3)
                q.statements_per_request = len(log) / n
                by_label: dict[str, list[float]] = {}
                for label, seconds in log:
                    by_label.setdefault(label, []).append(seconds)
                q.statement_profile = [
                    (label, len(v) / n, statistics.median(v) * 1000, sum(v) / n * 1000)
                    for label, v in by_label.items()
                ]
    finally:
        event.remove(Engine, "before_cursor_execute", before)
        event.remove(Engine, "after_cursor_execute", after)


def _statement_label(sql: str) -> str:
    words = sql.split()
    verb = words[0].upper() if words else "?"
    table = "?"
    for key in ("FROM", "UPDATE", "INTO"):
        if key in words:
            i = words.index(key)
            if i + 1 < len(words):
                table = words[i + 1].strip("(")
                break
    if verb == "SELECT" and " JOIN " in sql.upper():
        table += " + join"
    return f"{verb} {table}"


# -- report --------------------------------------------------------------------------------------------------


def _ms(values: list[float], p: float = 50) -> float:
    return percentile(values, p) * 1000 if values else float("nan")


def print_table(queries: list[Query], concurrency: int) -> None:
    header = (
        f"  {'query':<38} {'SQL p50':>8} {'HTTP p50':>9} {'HTTP p95':>9} {'ratio':>7} {'items':>6}"
        f"  {'SQL p95':>8} {'SQL prep':>8} {'req/s':>6}  "
        f"goals (ratio ≤ {GOAL_RATIO:g}, p95 ≤ {GOAL_P95_MS:g} ms)"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for q in queries:
        sql50, http50, http95 = _ms(q.sql), _ms(q.http), _ms(q.http, 95)
        ratio = http50 / sql50 if sql50 else float("nan")
        items = statistics.fmean(q.rows) if q.rows else float("nan")
        rate = len(q.http) / q.http_seconds if q.http_seconds else float("nan")
        print(
            f"  ({q.key}) {q.label:<34} {sql50:6.2f}ms {http50:7.2f}ms {http95:7.2f}ms {ratio:6.2f}× "
            f"{items:6.1f}"
            f"  {_ms(q.sql, 95):6.2f}ms {_ms(q.prep):6.2f}ms {rate:6.0f}  "
            f"ratio {'ok' if ratio <= GOAL_RATIO else 'MISS'}, "
            f"p95 {'ok' if http95 <= GOAL_P95_MS else 'MISS'}"
        )
    print(
        "  SQL = the service's statement (timelines.wall/home/live), literal binds, one asyncpg connection,\n"
        "  one at a time; SQL prep = the same with $n parameters as the server sends it (prepared, cached:\n"
        f"  generic plans after 5 runs); HTTP = 1 hypercorn worker, {concurrency} keep-alive connections;\n"
        "  ratio = HTTP p50 / SQL p50; items = mean posts per page (of 20)"
    )
    for q in queries:
        print(f"  ({q.key}) HTTP statuses {q.statuses}; {q.http_check}")


def print_layers(queries: list[Query]) -> None:
    print(
        "\n  Where the time goes, sequential requests (p50 ms, same parameters; each layer includes the\n"
        "  ones above it):"
    )
    names = [
        "1 raw SQL, literal binds",
        "1' raw SQL, prepared ($n)",
        "2 service in-process (SQLAlchemy)",
        "3 Quart app in-process (test client)",
        "3* app, proposed fixes applied (what-if)",
        "4 HTTP, one at a time",
        "5 HTTP, concurrent (the table above)",
    ]
    print(f"  {'layer':<40}" + "".join(f"{'(' + q.key + ')':>9}" for q in queries))
    for name in names:
        cells = []
        for q in queries:
            n = len(q.layers.get("4 HTTP, one at a time", q.sql))
            values = {
                "1 ": q.sql[:n],
                "1'": q.prep[:n],
                "5 ": q.http,
            }.get(name[:2], q.layers.get(name, []))
            cells.append(f"{_ms(values):9.2f}" if values else f"{'-':>9}")
        print(f"  {name:<40}" + "".join(cells))
    print(
        f"  {'SQL statements per request (layer 3)':<40}"
        + "".join(f"{q.statements_per_request:9.1f}" for q in queries)
    )
    print("\n  The statements of one request (layer 3): count per request, median ms each, ms per request")
    for q in queries:
        cells = [
            f"{label} {count:.1f}× {median:.2f} ms"
            for label, count, median, _total in sorted(q.statement_profile, key=lambda r: -r[3])
        ]
        total = sum(r[3] for r in q.statement_profile)
        print(f"  ({q.key}) {total:6.2f} ms in SQL: " + "; ".join(cells))


def print_alternatives(alternatives: list[Alternative]) -> None:
    print(
        "\nAlternatives — NOT the service's SQL (hand-written, labelled), same parameter sets, each run\n"
        "interleaved with the service's own statement (literal binds), which is re-measured alongside:"
    )
    for alt in alternatives:
        q = alt.query
        if alt.setup_note:
            print(f"  [{alt.setup_note}]")
        print(f"  ({q.key}) {alt.label}")
        print(
            f"      alternative  p50 {_ms(q.sql):6.2f} ms  p95 {_ms(q.sql, 95):6.2f} ms  "
            f"max {_ms(q.sql, 100):7.2f} ms"
            f"   same first page as the service: {len(q.sql) - alt.mismatches}/{len(q.sql)}"
        )
        print(
            f"      service      p50 {_ms(q.prep):6.2f} ms  p95 {_ms(q.prep, 95):6.2f} ms  "
            f"max {_ms(q.prep, 100):7.2f} ms"
        )


def _load_avg() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f}, {os.cpu_count()} cores"


async def data_profile(url: str, fx: Fixtures) -> list[str]:
    conn = await asyncpg.connect(**asyncpg_kwargs(url))
    try:
        fan_in = await conn.fetchrow(
            """
            SELECT max(n) AS max, percentile_disc(0.5) WITHIN GROUP (ORDER BY n) AS p50,
                   percentile_disc(0.99) WITHIN GROUP (ORDER BY n) AS p99
            FROM (SELECT object_id, count(*) AS n FROM links WHERE type = 'follower' GROUP BY object_id) s
            """
        )
        follows = await conn.fetchval(
            "SELECT avg(n) FROM (SELECT count(*) AS n FROM links WHERE type = 'follower' "
            "GROUP BY subject_id) s"
        )
        home_set = await conn.fetchrow(
            f"""
            SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY n) AS p50, max(n) AS max
            FROM (SELECT count(*) AS n FROM links WHERE subject_id = ANY($1::bigint[])
                  AND type IN {_FOLLOWED_TYPES} GROUP BY subject_id) s
            """,
            list(fx.tokens),
        )
        scopes = await conn.fetch("SELECT scope, count(*) FROM posts GROUP BY 1 ORDER BY 2 DESC")
        replies = await conn.fetchval("SELECT count(*) FROM posts WHERE in_reply_to_id IS NOT NULL")
        busiest = fx.busy_walls[0][1] if fx.busy_walls else 0
        least = fx.busy_walls[-1][1] if fx.busy_walls else 0
    finally:
        await conn.close()
    return [
        f"  follows per person: mean {follows:.1f}; followers per followed actor: p50 {fan_in['p50']}, "
        f"p99 {fan_in['p99']}, max {fan_in['max']}",
        f"  home set (follows + memberships) of token holders: p50 {home_set['p50']}, max {home_set['max']}",
        "  posts by scope: "
        + ", ".join(f"{r['scope']} {r['count']:,}" for r in scopes)
        + f"; replies {replies:,}",
        f"  busy walls (the 200 drawn from): {least:,}–{busiest:,} public top-level posts each",
    ]


# -- main ----------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--actors", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=300, help="HTTP requests per query")
    parser.add_argument("--sql-runs", type=int, default=200, help="raw SQL runs per query")
    parser.add_argument("--layer-runs", type=int, default=100, help="sequential runs per query and layer")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-layers", action="store_true", help="skip the in-process layer timings")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if not 10_000 <= args.posts <= 5_000_000 or not 2_000 <= args.actors <= 500_000:
        parser.error("--posts must be 10,000..5,000,000 and --actors 2,000..500,000")
    if not 10 <= args.requests <= 10_000 or not 1 <= args.concurrency <= 64:
        parser.error("--requests must be 10..10000 and --concurrency 1..64")
    args.sql_runs = max(10, min(args.sql_runs, args.requests))
    args.layer_runs = max(10, min(args.layer_runs, args.requests))

    started = time.perf_counter()
    port = free_port()
    host, base = f"127.0.0.1:{port}", f"http://127.0.0.1:{port}"
    print(
        f"coserver timeline benchmark: {args.posts:,} posts, {args.actors:,} actors, {args.requests} HTTP "
        f"requests per query (concurrency {args.concurrency}, 1 hypercorn worker), {args.sql_runs} raw SQL "
        "runs per query; "
        f"{_load_avg()}"
    )
    with throwaway_database("timelinebench") as (_cluster, url):
        print("\nGenerating (numpy, seeded)…", flush=True)
        t0 = time.perf_counter()
        data = Dataset(args.actors, args.posts, base, args.seed)
        generated = time.perf_counter() - t0
        print(f"  {generated:.1f} s\nLoading:", flush=True)
        report = LoadReport()
        report.add(
            "generate (numpy)", generated, "(ids, links, post structure; row text is made during COPY)"
        )
        fx = asyncio.run(load_all(url, data, report))
        print("\nLoad:")
        print("\n".join(report.lines()))
        print("\n".join(asyncio.run(data_profile(url, fx))))

        settings = Settings(base_url=base, database_url=url, secret_key=SECRET)
        queries = make_queries(data, fx, args.requests, args.seed)

        t0 = time.perf_counter()
        asyncio.run(run_sql(url, queries, args.sql_runs))
        plans = asyncio.run(explain_queries(url, queries))
        print(f"\nRaw SQL measured in {time.perf_counter() - t0:.1f} s ({_load_avg()})")

        env = {
            "DATABASE_URL": url,
            "COSERVER_BASE_URL": base,
            "COSERVER_BIND": host,
            "COSERVER_SECRET_KEY": SECRET,
            "COSERVER_DATA_DIR": "/tmp/coserver-bench-data",
            "COSERVER_WORKERS": "1",
            "COSERVER_LOG_LEVEL": "warning",
        }
        t0 = time.perf_counter()
        with coserver_process(["serve"], env, port=port):
            asyncio.run(run_http(port, host, queries, args.concurrency))
            if not args.no_layers:
                asyncio.run(run_http_sequential(port, host, queries, args.layer_runs))
        print(f"HTTP measured in {time.perf_counter() - t0:.1f} s ({_load_avg()})")
        if not args.no_layers:
            try:
                asyncio.run(run_in_process(settings, queries, args.layer_runs))
            except Exception as exc:  # a broken import elsewhere must not lose the run
                print(f"  in-process layers unavailable: {type(exc).__name__}: {exc}")

        alternatives = [
            Alternative("home: LATERAL per-followed-actor index scans", queries[2], home_lateral_sql),
            Alternative(
                "live by locality: newest-first walk, walls as a hashed filter",
                queries[4],
                live_locality_walk_sql,
            ),
            Alternative(
                "live by radius: the service's statement reshaped ids-first, + the three indexes",
                queries[3],
                ids_first(queries[3]),
                setup=LIVE_INDEXES,
            ),
            Alternative(
                "live by locality: the walk above, + the three indexes",
                queries[4],
                live_locality_walk_sql,
            ),
        ]
        t0 = time.perf_counter()
        asyncio.run(run_alternatives(url, alternatives, min(args.sql_runs, 100)))
        print(f"Alternatives measured in {time.perf_counter() - t0:.1f} s")

        print(f"\nResults ({args.posts:,} posts, {args.actors:,} actors):")
        print_table(queries, args.concurrency)
        if not args.no_layers:
            print_layers(queries)
        print_alternatives(alternatives)
        print(
            "\nEXPLAIN (ANALYZE, BUFFERS) of the service's statements, top plan nodes, median-cost "
            "parameters:"
        )
        print("\n".join(plans))
        for alt in alternatives:
            print(f"\n  [alternative ({alt.query.key})] {alt.label}:")
            print("\n".join(alt.plan))
    print(f"\nTotal {time.perf_counter() - started:.0f} s, cluster deleted ({_load_avg()})")


if __name__ == "__main__":
    main()

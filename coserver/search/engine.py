"""The territorial search engine: a page of hits, then facet counts per kind, on raw asyncpg.

What is searched: public local elements (private ones only for a viewer linked to them as member,
contributor or attendee; never deleted ones, never the instance actor), plus remote events with a place,
brought in by federation. The filters, the sort orders and the indexes they use are in
:mod:`coserver.search.clauses`; :mod:`coserver.search.statements` assembles them into statements compiled
once per query shape; this module runs them and maps the rows.

A request's statements run in one transaction on one asyncpg connection (a raw pool connection, or the
connection of an ORM session), with ``plan_cache_mode = force_custom_plan`` (every execution planned for
its own place and size, see :mod:`coserver.search.shape`) and no parallel workers (the statements stop
after a page or a sample: starting workers, beside concurrent requests on a small server, costs more than
it saves).

Keyset pagination: every sort ends with the id as a tiebreak and the cursor holds the exact sort key of
the last hit as the database computed it. Nearest-first orders by the KNN distance (on the sphere, what
the index can order by); ``distance_m`` in hits is the ellipsoidal ``ST_Distance``: the two differ by less
than 0.6 %, so hits at nearly equal distances in different directions may show slightly out of order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.config import Settings
from coserver.models.vocab import ELEMENT_KINDS
from coserver.search.cursor import Cursor, encode_cursor
from coserver.search.hits import SearchHit, without_hidden_fields
from coserver.search.params import SearchParams
from coserver.search.statements import FACET_CAP, FACET_PROBE, RECENCY_WALK, Bound, bind
from coserver.urls import profile_url

__all__ = [
    "FACET_CAP",
    "FACET_PROBE",
    "RECENCY_WALK",
    "FacetCounts",
    "SearchPage",
    "facet_counts",
    "probed_counts",
    "reading",
    "search",
]

# Sent once at the start of a request's transaction (one round trip, simple query protocol).
SETTINGS = "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL max_parallel_workers_per_gather = 0"
# The facet sample of a located query is read from ``ix_actors_location`` by a plain index scan, which
# streams and stops after FACET_CAP + 1 hits. The planner's estimate of an area is 5 to 10 times too low
# (a map of Paris: 15,000 elements for 120,000), so it plans a bitmap scan instead, whose bitmap of the
# whole area is built before the first row is read: 20-80 ms in a dense town, against 0.5-1 ms.
NO_BITMAP = "SET LOCAL enable_bitmapscan = off"
BITMAP = "SET LOCAL enable_bitmapscan = on"


@dataclass
class SearchPage:
    """One page of hits, the cursor of the next one, facet counts per kind and the total (when known)."""

    hits: list[SearchHit]
    next_cursor: str | None
    counts: dict[str, int]
    total: int | None
    counts_capped: bool = False


@dataclass
class FacetCounts:
    counts: dict[str, int]  # per kind; lower bounds when ``capped``
    total: int | None  # hits of the query (with its kinds), when counted exactly
    capped: bool


Handle = AsyncSession | asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


@asynccontextmanager
async def reading(handle: Handle) -> AsyncIterator[asyncpg.Connection]:
    """The asyncpg connection of ``handle`` inside a transaction with the search's settings. An ORM
    session's connection is used as is: its uncommitted rows are seen (the transaction is then a
    savepoint of the session's)."""
    if isinstance(handle, AsyncSession):
        raw = await (await handle.connection()).get_raw_connection()
        conn = raw.driver_connection
    else:
        conn = handle
    async with conn.transaction():
        await conn.execute(SETTINGS)
        yield conn


async def _fetch(conn: asyncpg.Connection, bound: Bound, which: str) -> list[asyncpg.Record]:
    sql, args = bound.sql(which)  # type: ignore[misc]
    return await conn.fetch(sql, *args)


def _hit(row: asyncpg.Record, settings: Settings) -> SearchHit:
    url = row["profile_url"] or (profile_url(settings, row["username"]) if row["local"] else row["ap_id"])
    hit = SearchHit(
        id=row["id"],
        ap_id=row["ap_id"],
        username=row["username"],
        kind=row["kind"],
        name=row["name"],
        url=url,
        local=row["local"],
        subtype=row["subtype"],
        stage=row["stage"],
        short_description=row["short_description"] or "",
        tags=tuple(row["tags"] or ()),
        lat=row["lat"],
        lon=row["lon"],
        distance_m=row["distance_m"],
        street=row["street"] or "",
        postal_code=row["postal_code"] or "",
        locality=row["locality"] or "",
        country=row["country"] or "",
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        all_day=bool(row["all_day"]),
        timezone=row["timezone"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        rank=row["rank"],
    )
    if hit.kind != "person":
        return hit
    chosen: Any = row["field_visibility"]
    return without_hidden_fields(hit, orjson.loads(chosen) if isinstance(chosen, str) else chosen)


async def page_of(
    conn: asyncpg.Connection, settings: Settings, params: SearchParams, bound: Bound
) -> tuple[list[SearchHit], str | None]:
    """The hits of ``params`` (on a connection from :func:`reading`) and the next page's cursor."""
    rows: list[asyncpg.Record] = []
    if bound.statements.walk is not None:
        rows = await _fetch(conn, bound, "walk")
    if len(rows) <= params.limit:  # no walk, or a sparse area: the walk found less than a page
        rows = await _fetch(conn, bound, "hits")
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        key: float | datetime | None = last["sort_key"]
        next_cursor = encode_cursor(Cursor(sort=params.sort, key=key, id=last["id"]))
    return [_hit(row, settings) for row in rows], next_cursor


async def search(
    handle: Handle,
    settings: Settings,
    params: SearchParams,
    *,
    viewer_id: int | None = None,
    with_counts: bool = True,
    bound: Bound | None = None,
) -> SearchPage:
    """Run ``params``: a page of hits, the next cursor, and (``with_counts``) facet counts per kind.
    ``bound``: ``bind(settings, params, viewer_id)``, when the caller has it."""
    bound = bound or bind(settings, params, viewer_id)
    async with reading(handle) as conn:
        hits, next_cursor = await page_of(conn, settings, params, bound)
        if not with_counts:
            return SearchPage(hits, next_cursor, dict.fromkeys(ELEMENT_KINDS, 0), None)
        if params.cursor is None and next_cursor is None and not params.kinds:
            counts = dict.fromkeys(ELEMENT_KINDS, 0)
            for hit in hits:  # the whole result is this page: counted from it, no second statement
                counts[hit.kind] = counts.get(hit.kind, 0) + 1
            return SearchPage(hits, None, counts, len(hits))
        counted = await counts_of(conn, bound, params)
    return SearchPage(hits, next_cursor, counted.counts, counted.total, counted.capped)


async def facet_counts(
    handle: Handle,
    settings: Settings,
    params: SearchParams,
    *,
    viewer_id: int | None = None,
    bound: Bound | None = None,
) -> FacetCounts:
    """The facet counts of ``params`` alone (what :func:`search` adds to a page)."""
    bound = bound or bind(settings, params, viewer_id)
    async with reading(handle) as conn:
        return await counts_of(conn, bound, params)


def probed_counts(rows, params: SearchParams) -> FacetCounts | None:
    """The facet counts a probe's rows (kind, matches, examined) settle, or None (a rare word in a dense
    area: the sample through the text's indexes is needed)."""
    counts = dict.fromkeys(ELEMENT_KINDS, 0)
    seen = 0
    for kind, n, examined in rows:
        seen += int(examined)
        if kind in counts:
            counts[kind] = int(n)
    if seen < FACET_PROBE:  # every element of the area was tested: exact
        return FacetCounts(counts, sum(counts[kind] for kind in params.kinds or ELEMENT_KINDS), False)
    if sum(counts.values()) > FACET_CAP:
        return FacetCounts({kind: min(n, FACET_CAP) for kind, n in counts.items()}, None, True)
    return None


async def counts_of(conn: asyncpg.Connection, bound: Bound, params: SearchParams) -> FacetCounts:
    """Facet counts per kind (on a connection from :func:`reading`): the probe of a located text query,
    else (or when the probe cannot settle them) the sample of the matches."""
    statements = bound.statements
    if statements.probe is not None:
        await conn.execute(NO_BITMAP)
        probed = probed_counts(await _fetch(conn, bound, "probe"), params)
        if probed is not None:
            return probed
        await conn.execute(BITMAP)
    counts = dict.fromkeys(ELEMENT_KINDS, 0)
    if statements.stream_facets:
        await conn.execute(NO_BITMAP)  # the last statement of the request: the transaction resets it
    for kind, n in await _fetch(conn, bound, "facets"):
        if kind in counts:
            counts[kind] = int(n)
    if sum(counts.values()) > FACET_CAP:  # a sample: each count is a lower bound
        return FacetCounts({kind: min(n, FACET_CAP) for kind, n in counts.items()}, None, True)
    return FacetCounts(counts, sum(counts[kind] for kind in params.kinds or ELEMENT_KINDS), False)

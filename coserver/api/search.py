"""``GET /api/v1/search`` and ``GET /api/v1/agenda``: the territorial search and agenda, as JSON or open data.

Both take the same query parameters (``coserver.search.params``); bad input is a 400 naming the parameter.
``format=geojson|csv|ics`` (or the matching ``Accept`` header) hands the hits to ``coserver.search.exports``.
Pages chain through a ``Link: <...>; rel="next"`` header (and ``next`` in JSON): the same canonical query
plus a keyset ``cursor``, so page URLs are stable.
"""

from __future__ import annotations

import importlib
import importlib.util
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from pydantic import BaseModel, ConfigDict, Field
from quart import Response, request
from quart_schema import document_querystring, document_response, tag

from coserver.api import blueprint
from coserver.api.schemas import ErrorOut
from coserver.config import Settings
from coserver.search.agenda import agenda
from coserver.search.engine import search
from coserver.search.hits import SearchHit
from coserver.search.params import FORMAT_MEDIA_TYPES, SearchParams, parse_params
from coserver.search.themes import THEME_NAMES
from coserver.services.errors import InvalidInput
from coserver.state import db, settings

EXPORTERS = {"geojson": "to_geojson", "csv": "to_csv", "ics": "to_ics"}


class SearchQuery(BaseModel):
    """Query parameters shared by search, agenda and exports (all optional; empty means absent)."""

    model_config = ConfigDict(populate_by_name=True)

    q: str | None = Field(None, description="Free text: French/English stems, no accents needed, typos ok")
    kinds: str | None = Field(None, description="Comma list of person, organization, project, event, poi")
    types: str | None = Field(None, description="Comma list of subtypes (ngo, festival, compostPickup...)")
    tags: str | None = Field(None, description="Comma list of tags (accents optional)")
    tags_mode: str | None = Field(None, description="any (default) or all")
    theme: str | None = Field(None, description=f"One of {', '.join(THEME_NAMES)}")
    lat: float | None = Field(None, description="Latitude of the point (-90..90), with lon")
    lon: float | None = Field(None, description="Longitude of the point (-180..180), with lat")
    radius_km: float | None = Field(None, description="Radius around the point, 0.1 to 100 km")
    bbox: str | None = Field(
        None, description="minlon,minlat,maxlon,maxlat; minlon > maxlon crosses the antimeridian"
    )
    zone: str | None = Field(None, description="Zone code (INSEE code, RE...) or level:code")
    from_: str | None = Field(
        None, alias="from", description="ISO 8601 date or date-time; a date is the start of that day"
    )
    to: str | None = Field(None, description="ISO 8601 date or date-time; a date is the end of that day")
    sort: str | None = Field(
        None,
        description="distance (default with a point), relevance (default with q), date (agenda), recency",
    )
    limit: int | None = Field(None, description="Page size, 1 to 100 (default 20; agenda 100)")
    cursor: str | None = Field(None, description="Opaque cursor from the previous page's next link")
    format: str | None = Field(None, description="json (default), geojson, csv, ics (agenda only)")


class HitOut(BaseModel):
    id: str = Field(description="ActivityPub id (URL)")
    username: str
    kind: str
    type: str | None = Field(None, description="organization, event or POI type")
    stage: str | None = None
    name: str
    url: str = Field(description="Human page")
    local: bool = Field(description="False for events of other servers brought in by federation")
    short_description: str
    tags: list[str]
    lat: float | None = None
    lon: float | None = None
    distance_m: float | None = Field(None, description="Metres from the point (only when one is given)")
    street: str = ""
    postal_code: str = ""
    locality: str = ""
    country: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    all_day: bool = False
    timezone: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class SearchOut(BaseModel):
    items: list[HitOut]
    counts: dict[str, int] = Field(
        description="Hits per kind for the same query without kinds; lower bounds when counts_capped"
    )
    counts_capped: bool = Field(
        False, description="The counts stopped at a cap (a busy area or a broad text): read them as 'N+'"
    )
    total: int | None = Field(None, description="Number of hits of the query, when counted exactly")
    next: str | None = Field(None, description="URL of the next page, or null")


class AgendaDayOut(BaseModel):
    date: str = Field(description="YYYY-MM-DD")
    events: list[str] = Field(description="The ids of the day's events, in start order (see items)")


class AgendaOut(BaseModel):
    from_: str = Field(alias="from", description="First day or instant of the window")
    to: str = Field(description="Last day or instant of the window")
    items: list[HitOut] = Field(description="The page's events, each once, in start order")
    days: list[AgendaDayOut] = Field(
        description="Each day of the window that has events: an event on several days is on each of them"
    )
    total: int | None = None
    next: str | None = None


def hit_json(hit: SearchHit, with_distance: bool) -> dict[str, Any]:
    """A hit as JSON (its instants stay ``datetime``: orjson writes them in ISO 8601, as ``isoformat``)."""
    out: dict[str, Any] = {
        "id": hit.ap_id,
        "username": hit.username,
        "kind": hit.kind,
        "type": hit.subtype,
        "stage": hit.stage,
        "name": hit.name,
        "url": hit.url,
        "local": hit.local,
        "short_description": hit.short_description,
        "tags": list(hit.tags),
        "lat": hit.lat,
        "lon": hit.lon,
    }
    if with_distance:
        out["distance_m"] = round(hit.distance_m, 1) if hit.distance_m is not None else None
    out.update(
        street=hit.street,
        postal_code=hit.postal_code,
        locality=hit.locality,
        country=hit.country,
        starts_at=hit.starts_at,
        ends_at=hit.ends_at,
        all_day=hit.all_day,
        timezone=hit.timezone,
        created_at=hit.created_at,
        updated_at=hit.updated_at,
    )
    return out


def _exporter(fmt: str):
    """The export function for ``fmt`` (None for JSON); a 400 if the exports module is not there."""
    if fmt == "json":
        return None
    if importlib.util.find_spec("coserver.search.exports") is None:
        raise InvalidInput(f"format={fmt} is not available on this node yet", field="format")
    function = getattr(importlib.import_module("coserver.search.exports"), EXPORTERS[fmt], None)
    if function is None:
        raise InvalidInput(f"format={fmt} is not available on this node yet", field="format")
    return function


def _next_url(conf: Settings, params: SearchParams, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    return conf.url(request.path) + "?" + urlencode(params.query_items(cursor=cursor))


def _response(body: Any, mimetype: str, next_url: str | None, status: int = 200) -> Response:
    if isinstance(body, dict | list):
        body = orjson.dumps(body, default=str)
    if mimetype.startswith("text/"):
        mimetype += "; charset=utf-8"
    response = Response(body, status=status, content_type=mimetype)
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "Link"
    response.headers["Vary"] = "Accept"
    return response


def _export(exporter, fmt: str, hits: list[SearchHit], conf: Settings, next_url: str | None) -> Response:
    body = exporter(hits) if fmt == "csv" else exporter(hits, conf)
    return _response(body, FORMAT_MEDIA_TYPES[fmt], next_url)


async def _run(endpoint: str, query) -> tuple[SearchParams, Any, str | None, Response | None]:
    """Parse the request's parameters for ``endpoint`` and run ``query`` (``search`` or ``agenda``): the
    parameters, the page, the next page's URL and, for an export format, the exported response."""
    conf = settings()
    params = parse_params(request.args, conf, endpoint=endpoint, accept=request.headers.get("Accept"))
    exporter = _exporter(params.format)
    async with db().raw() as conn:
        page = await query(conn, conf, params)
    next_url = _next_url(conf, params, page.next_cursor)
    exported = _export(exporter, params.format, page.hits, conf, next_url) if exporter is not None else None
    return params, page, next_url, exported


@blueprint.get("/search")
@tag(["search"])
@document_querystring(SearchQuery)
@document_response(SearchOut, 200)
@document_response(ErrorOut, 400)
async def search_endpoint() -> Response:
    """Search the territory: text, tags/theme, kinds/types, around a point, in a box or zone, by date."""
    params, page, next_url, exported = await _run("search", search)
    if exported is not None:
        return exported
    body = {
        "items": [hit_json(hit, params.point is not None) for hit in page.hits],
        "counts": page.counts,
        "counts_capped": page.counts_capped,
        "total": page.total,
        "next": next_url,
    }
    return _response(body, "application/json", next_url)


@blueprint.get("/agenda")
@tag(["search"])
@document_querystring(SearchQuery)
@document_response(AgendaOut, 200)
@document_response(ErrorOut, 400)
async def agenda_endpoint() -> Response:
    """Events overlapping [from, to] (default: this week), around a point / in a box or zone, by day."""
    params, page, next_url, exported = await _run("agenda", agenda)
    if exported is not None:
        return exported
    with_distance = params.point is not None
    body = {
        "from": params.from_text,
        "to": params.to_text,
        # Each event once, the days by id: an event of a week is not written seven times (a week's page of
        # 100 events around a town weighed 240 KiB with full events on each of their days, 83 KiB so).
        "items": [hit_json(hit, with_distance) for hit in page.hits],
        "days": [{"date": day.isoformat(), "events": [hit.ap_id for hit in hits]} for day, hits in page.days],
        "total": page.total,
        "next": next_url,
    }
    return _response(body, "application/json", next_url)

"""Open-data renderings of search and agenda results: GeoJSON, CSV and iCalendar (pure functions, no DB).

Every function takes a list (or any iterable) of :class:`~coserver.search.hits.SearchHit`, so the search
endpoint, the agenda and ``coserver export`` share one shape of output:

- :func:`to_geojson`: an RFC 7946 ``FeatureCollection``; ``[lon, lat]`` points, ``geometry: null`` for
  elements without coordinates. :func:`hit_feature` renders one feature (``coserver export`` streams them).
- :func:`to_csv`: RFC 4180 (CRLF, quoting by the :mod:`csv` module), one row per hit, tags joined with
  ``;``. :func:`write_csv_rows` streams rows to a file. **Formula injection**: a spreadsheet runs a cell
  starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula, so every *text* cell
  that starts with one of them is prefixed with a single quote, as OWASP recommends ("CSV Injection");
  numbers we format ourselves (``lat``, ``lon``, ``distance_m``) are left alone so ``-21.3`` stays a number.
- :func:`to_ics`: an RFC 5545 ``VCALENDAR`` with one ``VEVENT`` per event (other kinds are skipped),
  ``TZID`` dates with their ``VTIMEZONE`` components, ``VALUE=DATE`` for all-day events (exclusive end).

:func:`choose_format`, :func:`render` and :func:`link_header` are the HTTP side shared by the search and
agenda endpoints: ``format=`` (or ``Accept``) negotiation, body + media type + file name, RFC 8288 links.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from coserver.config import Settings
from coserver.search.hits import SearchHit
from coserver.services.errors import InvalidInput

FORMATS = ("json", "geojson", "csv", "ics")
MEDIA_TYPES = {
    "json": "application/json",
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8; header=present",
    "ics": "text/calendar; charset=utf-8",
}
_ACCEPTED = {
    "application/json": "json",
    "application/geo+json": "geojson",
    "text/csv": "csv",
    "text/calendar": "ics",
}
EXTENSIONS = {"json": "json", "geojson": "geojson", "csv": "csv", "ics": "ics"}

CSV_COLUMNS = (
    "id",
    "username",
    "kind",
    "type",
    "stage",
    "name",
    "url",
    "short_description",
    "tags",
    "lat",
    "lon",
    "distance_m",
    "street",
    "postal_code",
    "locality",
    "country",
    "starts_at",
    "ends_at",
    "all_day",
    "timezone",
    "local",
    "created_at",
    "updated_at",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_COORD_DIGITS = 7  # ~1 cm; RFC 7946 §11.2 advises against more precision than that


# -- shared helpers ----------------------------------------------------------------------------------------
def _zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _iso(value: datetime | None, tz: str | None = None) -> str | None:
    """ISO 8601 with offset, in the element's own time zone when it has one."""
    if value is None:
        return None
    if tz and value.tzinfo is not None:
        value = value.astimezone(_zone(tz))
    return value.isoformat()


def _coord(value: float | None) -> float | None:
    return None if value is None else round(value, _COORD_DIGITS)


def address_line(hit: SearchHit) -> str:
    """ "3 rue X, 97410 Saint-Pierre, RE" (empty parts left out)."""
    town = " ".join(p for p in (hit.postal_code, hit.locality) if p)
    return ", ".join(p for p in (hit.street, town, hit.country) if p)


# -- GeoJSON -----------------------------------------------------------------------------------------------
def hit_properties(hit: SearchHit) -> dict[str, Any]:
    props: dict[str, Any] = {
        "id": hit.ap_id,
        "username": hit.username,
        "kind": hit.kind,
        "type": hit.subtype,
        "name": hit.name,
        "url": hit.url,
        "short_description": hit.short_description,
        "tags": list(hit.tags),
        "street": hit.street,
        "postal_code": hit.postal_code,
        "locality": hit.locality,
        "country": hit.country,
        "local": hit.local,
    }
    if hit.stage:
        props["stage"] = hit.stage
    if hit.starts_at is not None or hit.kind == "event":
        props.update(
            starts_at=_iso(hit.starts_at, hit.timezone),
            ends_at=_iso(hit.ends_at, hit.timezone),
            all_day=hit.all_day,
            timezone=hit.timezone,
        )
    if hit.distance_m is not None:
        props["distance_m"] = round(hit.distance_m, 1)
    if hit.updated_at is not None:
        props["updated_at"] = _iso(hit.updated_at)
    return props


def hit_feature(hit: SearchHit) -> dict[str, Any]:
    """One RFC 7946 Feature: ``[lon, lat]`` Point geometry, or ``null`` when the element has no point."""
    geometry = None
    if hit.lat is not None and hit.lon is not None:
        geometry = {"type": "Point", "coordinates": [_coord(hit.lon), _coord(hit.lat)]}
    return {"type": "Feature", "id": hit.ap_id, "geometry": geometry, "properties": hit_properties(hit)}


def geojson_members(settings: Settings, links: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """Foreign members of the collection (RFC 7946 §6.1): the territory, its node and paging links."""
    members: dict[str, Any] = {"name": settings.territory_name, "source": settings.base_url}
    if links:
        members["links"] = links
    return members


def to_geojson(
    hits: Iterable[SearchHit], settings: Settings, *, links: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection; ``links`` (``[{"rel": "next", "href": ...}]``) is a foreign member."""
    return {
        "type": "FeatureCollection",
        **geojson_members(settings, links),
        "features": [hit_feature(h) for h in hits],
    }


# -- CSV ---------------------------------------------------------------------------------------------------
def neutralize(value: str) -> str:
    """OWASP CSV-injection defence: a text cell that a spreadsheet would run as a formula gets a ``'``."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else repr(round(value, digits))


def csv_row(hit: SearchHit) -> list[str]:
    """The cells of one hit, in :data:`CSV_COLUMNS` order (text cells neutralized)."""
    text = {
        "id": hit.ap_id,
        "username": hit.username,
        "kind": hit.kind,
        "type": hit.subtype or "",
        "stage": hit.stage or "",
        "name": hit.name,
        "url": hit.url,
        "short_description": hit.short_description,
        "tags": ";".join(hit.tags),
        "street": hit.street,
        "postal_code": hit.postal_code,
        "locality": hit.locality,
        "country": hit.country,
        "starts_at": _iso(hit.starts_at, hit.timezone) or "",
        "ends_at": _iso(hit.ends_at, hit.timezone) or "",
        "all_day": "true" if hit.all_day else "false",
        "timezone": hit.timezone or "",
        "local": "true" if hit.local else "false",
        "created_at": _iso(hit.created_at) or "",
        "updated_at": _iso(hit.updated_at) or "",
    }
    numbers = {
        "lat": _number(hit.lat, _COORD_DIGITS),
        "lon": _number(hit.lon, _COORD_DIGITS),
        "distance_m": _number(hit.distance_m, 1),
    }
    return [numbers[c] if c in numbers else neutralize(text[c]) for c in CSV_COLUMNS]


def csv_writer(out: IO[str]) -> Any:
    """A :func:`csv.writer` with RFC 4180 settings (``out`` should be opened with ``newline=""``)."""
    return csv.writer(out, dialect="excel", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)


def write_csv_rows(out: IO[str], hits: Iterable[SearchHit], *, header: bool = True) -> int:
    """Write (optionally) the header and one row per hit; returns the number of rows written."""
    writer = csv_writer(out)
    if header:
        writer.writerow(CSV_COLUMNS)
    count = 0
    for hit in hits:
        writer.writerow(csv_row(hit))
        count += 1
    return count


def to_csv(hits: Iterable[SearchHit]) -> str:
    """The whole CSV document (header row first); encode it as UTF-8."""
    buffer = io.StringIO(newline="")
    write_csv_rows(buffer, hits)
    return buffer.getvalue()


# -- iCalendar ---------------------------------------------------------------------------------------------
def _event_dates(hit: SearchHit, tz: ZoneInfo) -> tuple[date | datetime, date | datetime | None]:
    assert hit.starts_at is not None
    if hit.all_day:
        first = hit.starts_at.astimezone(tz).date()
        last = (hit.ends_at or hit.starts_at).astimezone(tz).date()
        return first, max(last, first) + timedelta(days=1)  # DTEND of a DATE is exclusive
    return hit.starts_at.astimezone(tz), hit.ends_at.astimezone(tz) if hit.ends_at else None


def to_ics(hits: Iterable[SearchHit], settings: Settings, *, now: datetime | None = None) -> bytes:
    """An iCalendar (RFC 5545) document of the event hits; other kinds are skipped."""
    from icalendar import Calendar, Event

    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    cal = Calendar()
    cal.add("prodid", f"-//coserver//{settings.domain}//FR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", settings.territory_name)
    cal.add("x-wr-timezone", settings.timezone)
    for hit in hits:
        if hit.kind != "event" or hit.starts_at is None:
            continue
        tz = _zone(hit.timezone, settings.timezone)
        start, end = _event_dates(hit, tz)
        event = Event()
        event.add("uid", hit.ap_id)
        event.add("summary", hit.name)
        event.add("dtstart", start)
        if end is not None:
            event.add("dtend", end)
        event.add("dtstamp", (hit.updated_at or stamp).astimezone(UTC))
        if hit.created_at is not None:
            event.add("created", hit.created_at.astimezone(UTC))
        if hit.updated_at is not None:
            event.add("last-modified", hit.updated_at.astimezone(UTC))
        if address_line(hit):
            event.add("location", address_line(hit))
        if hit.lat is not None and hit.lon is not None:
            event.add("geo", (hit.lat, hit.lon))
        if hit.url:
            event.add("url", hit.url)
        if hit.short_description:
            event.add("description", hit.short_description)
        if hit.tags:
            event.add("categories", list(hit.tags))
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


# -- HTTP side: negotiation, rendering, Link headers ------------------------------------------------------
def choose_format(
    requested: str | None, accept: str | None = None, *, allowed: Iterable[str] = FORMATS
) -> str:
    """``format=`` wins; else the best ``Accept`` match among ``allowed``; else ``json``.

    Raises :class:`InvalidInput` (field ``format``) for a format that is unknown or not ``allowed`` here.
    """
    allowed = tuple(allowed)
    if requested:
        fmt = requested.strip().lower()
        if fmt not in allowed:
            raise InvalidInput(f"format must be one of {', '.join(allowed)}", field="format")
        return fmt
    if accept:
        from werkzeug.datastructures import MIMEAccept
        from werkzeug.http import parse_accept_header

        candidates = [m for m, f in _ACCEPTED.items() if f in allowed]
        best = parse_accept_header(accept, MIMEAccept).best_match(candidates)
        if best:
            return _ACCEPTED[best]
    return "json"


@dataclass(frozen=True)
class Rendered:
    """An export ready to send: body bytes, ``Content-Type`` and a download file name."""

    body: bytes
    content_type: str
    filename: str

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": self.content_type,
            "Content-Disposition": f'inline; filename="{self.filename}"',
        }


def render(
    hits: list[SearchHit],
    fmt: str,
    settings: Settings,
    *,
    basename: str = "export",
    links: list[dict[str, str]] | None = None,
) -> Rendered:
    """GeoJSON, CSV or ICS bytes for ``hits`` (``json`` is the endpoint's own model, not rendered here)."""
    if fmt == "geojson":
        body = json.dumps(to_geojson(hits, settings, links=links), ensure_ascii=False).encode()
    elif fmt == "csv":
        body = to_csv(hits).encode("utf-8")
    elif fmt == "ics":
        body = to_ics(hits, settings)
    else:
        raise ValueError(f"cannot render format {fmt!r}")
    return Rendered(body, MEDIA_TYPES[fmt], f"{basename}.{EXTENSIONS[fmt]}")


def link_header(links: Mapping[str, str]) -> str:
    """An RFC 8288 ``Link`` header value from ``{rel: url}`` (``next``, ``prev``, ``first``, ``self``...)."""
    return ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items() if url)

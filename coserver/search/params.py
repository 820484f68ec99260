"""One query-parameter vocabulary for search, agenda and exports, parsed into a frozen :class:`SearchParams`.

Every parameter is optional; an empty value counts as absent. Any invalid value raises
:class:`~coserver.services.errors.InvalidInput` naming the parameter (a 400, never a 500). Dates without a
time mean whole days in the node's time zone (``settings.timezone``); times without an offset are read in
that zone too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from werkzeug.http import parse_accept_header

from coserver.config import Settings
from coserver.models.vocab import ELEMENT_KINDS, SUBTYPES
from coserver.models.zones import ZONE_LEVELS
from coserver.search.cursor import Cursor, decode_cursor
from coserver.search.themes import THEME_NAMES, expand_tag, resolve_theme
from coserver.services.errors import InvalidInput

SORTS = ("distance", "relevance", "date", "recency")
FORMATS = ("json", "geojson", "csv", "ics")
FORMAT_MEDIA_TYPES = {
    "json": "application/json",
    "geojson": "application/geo+json",
    "csv": "text/csv",
    "ics": "text/calendar",
}
RADIUS_KM = (0.1, 100.0)
MAX_LIMIT = 100
DEFAULT_LIMIT = {"search": 20, "agenda": 100}
AGENDA_DEFAULT_DAYS = 7
MAX_Q_LENGTH = 200
MAX_LIST_ITEMS = 20
MAX_ITEM_LENGTH = 64
MAX_WINDOW_DAYS = {"search": 3660, "agenda": 92}
YEARS = (1900, 2200)
ALL_TYPES = frozenset(t for types in SUBTYPES.values() for t in types)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class MultiDictLike(Protocol):
    def getlist(self, key: str) -> list[str]: ...


@dataclass(frozen=True)
class SearchParams:
    """A validated search or agenda query. ``start``/``end`` form the half-open window [start, end)."""

    endpoint: str = "search"
    q: str | None = None
    kinds: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    tags_mode: str = "any"
    theme: str | None = None
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    bbox: tuple[float, float, float, float] | None = None  # minlon, minlat, maxlon, maxlat
    zone: str | None = None
    zone_level: str | None = None
    start: datetime | None = None  # aware; the ``from`` parameter
    end: datetime | None = None  # aware, exclusive; the ``to`` parameter
    from_text: str | None = None  # ``from``/``to`` as canonical text, for stable links
    to_text: str | None = None
    sort: str = "recency"
    limit: int = 20
    cursor: Cursor | None = None
    format: str = "json"
    format_given: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def point(self) -> tuple[float, float] | None:
        """``(lat, lon)`` when the query has a point."""
        return (self.lat, self.lon) if self.lat is not None and self.lon is not None else None

    @property
    def tag_groups(self) -> tuple[tuple[str, ...], ...]:
        """One group of spellings per requested tag (accented and unaccented forms)."""
        return tuple(expand_tag(tag) for tag in self.tags)

    def query_items(self, *, cursor: str | None = None) -> list[tuple[str, str]]:
        """The canonical query string of this search (plus ``cursor``), for stable ``next`` links."""
        items: list[tuple[str, str]] = []

        def put(name: str, value: object) -> None:
            if value is not None and value != "" and value != ():
                items.append((name, value if isinstance(value, str) else _text(value)))

        put("q", self.q)
        put("kinds", ",".join(self.kinds))
        put("types", ",".join(self.types))
        put("tags", ",".join(self.tags))
        if self.tags and self.tags_mode != "any":
            put("tags_mode", self.tags_mode)
        put("theme", self.theme)
        put("lat", self.lat)
        put("lon", self.lon)
        put("radius_km", self.radius_km)
        put("bbox", ",".join(_text(v) for v in self.bbox) if self.bbox else None)
        put("zone", f"{self.zone_level}:{self.zone}" if self.zone_level else self.zone)
        put("from", self.from_text)
        put("to", self.to_text)
        put("sort", self.sort)
        put("limit", self.limit)
        if self.format_given:
            put("format", self.format)
        put("cursor", cursor)
        return items


def _text(value: object) -> str:
    if isinstance(value, float):
        return repr(value) if value != int(value) else str(int(value))
    return str(value)


# -- single values -------------------------------------------------------------------------------------


def _raw(args: MultiDictLike, name: str, max_length: int = 200) -> str | None:
    values = [v for v in args.getlist(name) if v is not None and v.strip()]
    if not values:
        return None
    if len(values) > 1:
        raise InvalidInput(f"{name} is given more than once", field=name)
    value = values[0].strip()
    if len(value) > max_length:
        raise InvalidInput(f"{name} is too long (at most {max_length} characters)", field=name)
    if _CONTROL.search(value):
        raise InvalidInput(f"{name} contains control characters", field=name)
    return value


def _list(args: MultiDictLike, name: str) -> tuple[str, ...]:
    """A comma list, possibly repeated (``kinds=a,b&kinds=c``); lower-cased unless it is ``types``."""
    out: dict[str, None] = {}
    for chunk in args.getlist(name):
        if len(chunk) > MAX_LIST_ITEMS * (MAX_ITEM_LENGTH + 1):
            raise InvalidInput(f"{name} is too long", field=name)
        for item in chunk.split(","):
            item = item.strip()
            if not item:
                continue
            if len(item) > MAX_ITEM_LENGTH or _CONTROL.search(item):
                raise InvalidInput(f"{name} has an invalid item {item[:20]!r}", field=name)
            out.setdefault(item, None)
    if len(out) > MAX_LIST_ITEMS:
        raise InvalidInput(f"{name} has more than {MAX_LIST_ITEMS} items", field=name)
    return tuple(out)


def _float(args: MultiDictLike, name: str, low: float, high: float) -> float | None:
    raw = _raw(args, name, 40)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a number", field=name) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidInput(f"{name} must be a number between {_text(low)} and {_text(high)}", field=name)
    return value


def _choice(args: MultiDictLike, name: str, choices: Iterable[str]) -> str | None:
    raw = _raw(args, name, 40)
    if raw is None:
        return None
    value = raw.lower()
    choices = tuple(choices)
    if value not in choices:
        raise InvalidInput(f"{name} must be one of {', '.join(choices)}", field=name)
    return value


def _bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None
    parts = raw.split(",")
    message = "bbox must be minlon,minlat,maxlon,maxlat (degrees, minlat < maxlat)"
    if len(parts) != 4:
        raise InvalidInput(message, field="bbox")
    try:
        minlon, minlat, maxlon, maxlat = (float(p) for p in parts)
    except ValueError:
        raise InvalidInput(message, field="bbox") from None
    values = (minlon, minlat, maxlon, maxlat)
    if not all(math.isfinite(v) for v in values):
        raise InvalidInput(message, field="bbox")
    if not (-180 <= minlon <= 180 and -180 <= maxlon <= 180 and -90 <= minlat <= 90 and -90 <= maxlat <= 90):
        raise InvalidInput("bbox longitudes are within ±180 and latitudes within ±90", field="bbox")
    if minlat >= maxlat or minlon == maxlon:
        raise InvalidInput(message, field="bbox")
    # minlon > maxlon is a box crossing the antimeridian.
    return values


def _when(raw: str | None, name: str, tz: ZoneInfo, *, is_end: bool) -> tuple[datetime, str] | None:
    """An instant (aware) and its canonical text; a date means the start of that day (``to``: its end)."""
    if raw is None:
        return None
    message = f"{name} must be an ISO 8601 date (2026-12-05) or date-time (2026-12-05T18:00:00+04:00)"
    day: date | None = None
    moment: datetime | None = None
    try:
        if len(raw) <= 10 and "T" not in raw.upper():
            day = date.fromisoformat(raw)
        else:
            moment = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise InvalidInput(message, field=name) from None
    year = day.year if day is not None else moment.year  # type: ignore[union-attr]
    if not YEARS[0] <= year <= YEARS[1]:
        raise InvalidInput(f"{name} must be between the years {YEARS[0]} and {YEARS[1]}", field=name)
    if day is not None:
        start = datetime.combine(day + timedelta(days=1) if is_end else day, time(0), tz)
        return start, day.isoformat()
    assert moment is not None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    elif moment.utcoffset() is None:
        raise InvalidInput(message, field=name)
    return moment, moment.isoformat()


def _zone(raw: str | None) -> tuple[str | None, str | None]:
    if raw is None:
        return None, None
    level, sep, code = raw.partition(":")
    if sep and level.lower() in ZONE_LEVELS:
        if not code.strip():
            raise InvalidInput("zone is a code (97416) or level:code (locality:97416)", field="zone")
        return level.lower(), code.strip()
    return None, raw


def format_from_accept(accept: str | None) -> str | None:
    """The export format the ``Accept`` header prefers, or None for JSON / no preference."""
    if not accept:
        return None
    try:
        best = parse_accept_header(accept).best_match(list(FORMAT_MEDIA_TYPES.values()))
    except Exception:  # a malformed header just means "no preference"
        return None
    for name, media_type in FORMAT_MEDIA_TYPES.items():
        if best == media_type and name != "json":
            return name
    return None


# -- the whole query --------------------------------------------------------------------------------------


def parse_params(
    args: MultiDictLike,
    settings: Settings,
    *,
    endpoint: str = "search",
    accept: str | None = None,
    today: date | None = None,
) -> SearchParams:
    """Validate ``args`` (``request.args``) for ``endpoint`` ("search" or "agenda")."""
    if endpoint not in DEFAULT_LIMIT:
        raise ValueError(f"unknown endpoint {endpoint!r}")
    tz = ZoneInfo(settings.timezone)
    agenda = endpoint == "agenda"

    q = _raw(args, "q", MAX_Q_LENGTH)
    kinds = tuple(k.lower() for k in _list(args, "kinds"))
    for kind in kinds:
        if kind not in ELEMENT_KINDS:
            raise InvalidInput(f"kinds are among {', '.join(ELEMENT_KINDS)}", field="kinds")
    if agenda and any(k != "event" for k in kinds):
        raise InvalidInput("the agenda lists events only (kinds=event)", field="kinds")
    types = _list(args, "types")
    for subtype in types:
        if subtype not in ALL_TYPES:
            raise InvalidInput(f"unknown type {subtype!r}", field="types")
    tags = tuple(dict.fromkeys(t.lstrip("#").lower() for t in _list(args, "tags") if t.lstrip("#")))
    tags_mode = _choice(args, "tags_mode", ("any", "all")) or "any"
    theme_raw = _raw(args, "theme", 40)
    theme = resolve_theme(theme_raw) if theme_raw else None
    if theme_raw and theme is None:
        raise InvalidInput(f"theme must be one of {', '.join(THEME_NAMES)}", field="theme")

    lat = _float(args, "lat", -90.0, 90.0)
    lon = _float(args, "lon", -180.0, 180.0)
    if (lat is None) != (lon is None):
        raise InvalidInput("lat and lon go together", field="lon" if lon is None else "lat")
    radius_km = _float(args, "radius_km", *RADIUS_KM)
    if radius_km is not None and lat is None:
        raise InvalidInput("radius_km needs a point (lat and lon)", field="radius_km")
    bbox = _bbox(_raw(args, "bbox", 120))
    zone_level, zone = _zone(_raw(args, "zone", 80))

    start = _when(_raw(args, "from", 40), "from", tz, is_end=False)
    end = _when(_raw(args, "to", 40), "to", tz, is_end=True)
    if agenda and start is None:
        first = today or datetime.now(tz).date()
        start = (datetime.combine(first, time(0), tz), first.isoformat())
    if agenda and end is None:
        last = start[0].astimezone(tz).date() + timedelta(days=AGENDA_DEFAULT_DAYS - 1)
        end = (datetime.combine(last + timedelta(days=1), time(0), tz), last.isoformat())
    if start and end:
        if start[0] >= end[0]:
            raise InvalidInput("from must come before to", field="from")
        max_days = MAX_WINDOW_DAYS[endpoint]
        if end[0] - start[0] > timedelta(days=max_days):
            raise InvalidInput(f"from and to are at most {max_days} days apart", field="to")

    sort = _choice(args, "sort", SORTS)
    if sort is None:
        sort = "date" if agenda else "distance" if lat is not None else "relevance" if q else "recency"
    if agenda and sort != "date":
        raise InvalidInput("the agenda is sorted by date", field="sort")
    if sort == "distance" and lat is None:
        raise InvalidInput("sort=distance needs a point (lat and lon)", field="sort")
    if sort == "relevance" and not q:
        raise InvalidInput("sort=relevance needs a text query (q)", field="sort")

    limit_raw = _raw(args, "limit", 12)
    limit = DEFAULT_LIMIT[endpoint]
    if limit_raw is not None:
        if not re.fullmatch(r"[0-9]{1,4}", limit_raw) or not 1 <= int(limit_raw) <= MAX_LIMIT:
            raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}", field="limit")
        limit = int(limit_raw)
    cursor_raw = _raw(args, "cursor", 400)
    cursor = decode_cursor(cursor_raw, sort) if cursor_raw else None

    allowed_formats = FORMATS if agenda else tuple(f for f in FORMATS if f != "ics")
    fmt = _raw(args, "format", 20)
    if fmt is not None and fmt.lower() not in allowed_formats:
        where = "" if agenda else " (ics is for the agenda)"
        raise InvalidInput(f"format must be one of {', '.join(allowed_formats)}{where}", field="format")
    negotiated = format_from_accept(accept)
    if fmt is None and negotiated not in allowed_formats:
        negotiated = None

    return SearchParams(
        endpoint=endpoint,
        q=q,
        kinds=("event",) if agenda else kinds,
        types=types,
        tags=tags,
        tags_mode=tags_mode,
        theme=theme,
        lat=lat,
        lon=lon,
        radius_km=radius_km,
        bbox=bbox,
        zone=zone,
        zone_level=zone_level,
        start=start[0] if start else None,
        end=end[0] if end else None,
        from_text=start[1] if start else None,
        to_text=end[1] if end else None,
        sort=sort,
        limit=limit,
        cursor=cursor,
        format=(fmt.lower() if fmt else negotiated) or "json",
        format_given=fmt is not None,
    )


def with_cursor(params: SearchParams, cursor: Cursor | None) -> SearchParams:
    """The same query, starting after ``cursor``."""
    return replace(params, cursor=cursor)

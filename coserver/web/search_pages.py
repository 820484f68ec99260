"""The search page (``GET /search``): a GET form over the territorial search engine, a results list and a map.

The form speaks the engine's own vocabulary (``coserver.search.params``: q, kinds, tags, theme, lat, lon,
radius_km, bbox, zone, from, to, sort, limit, cursor) plus one page-only field, ``place``: a place name looked
up in the offline gazetteer ("near Saint-Pierre") and turned into lat/lon, unless lat/lon are given (the
"around me" button fills them). Invalid parameters never make a 500: every one found is shown next to its
field, translated, with status 400. Pages chain with the engine's keyset cursor ("More results").

The helpers here (:func:`read_query`, :func:`page_url`, the translated labels) are shared with the agenda
page (``coserver.web.agenda_page``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from quart import g, render_template, request
from werkzeug.datastructures import MultiDict

from coserver.geo.gazetteer import GazetteerPlace, default_gazetteer
from coserver.models.vocab import ELEMENT_KINDS
from coserver.search.engine import FACET_CAP, search
from coserver.search.hits import SearchHit
from coserver.search.params import MAX_LIMIT, MAX_Q_LENGTH, RADIUS_KM, SearchParams, parse_params
from coserver.search.themes import THEME_NAMES
from coserver.services.errors import InvalidInput
from coserver.state import db, settings
from coserver.web import blueprint
from coserver.web.forms import FormErrors
from coserver.web.i18n import _, format_number

log = logging.getLogger(__name__)

RADII_KM = (2, 5, 10, 25, 50)
# The engine's parameters a page passes on, and the page-only ``place``.
ENGINE_ARGS = (
    "q", "kinds", "types", "tags", "tags_mode", "theme", "lat", "lon", "radius_km", "bbox", "zone",
    "from", "to", "sort", "limit", "cursor",
)  # fmt: skip
PAGE_ARGS = (*ENGINE_ARGS, "place")
MAX_PLACE_LENGTH = 100


# -- translated labels (called at request time) ------------------------------------------------------------


def kind_labels() -> dict[str, str]:
    return {
        "person": _("Person"),
        "organization": _("Organization"),
        "project": _("Project"),
        "event": _("Event"),
        "poi": _("Point of interest"),
    }


def kind_plural_labels() -> dict[str, str]:
    return {
        "person": _("People"),
        "organization": _("Organizations"),
        "project": _("Projects"),
        "event": _("Events"),
        "poi": _("Points of interest"),
    }


def theme_labels() -> dict[str, str]:
    labels = {
        "food": _("Food"),
        "health": _("Health"),
        "waste": _("Waste"),
        "transport": _("Transport"),
        "education": _("Education"),
        "citizenship": _("Citizenship"),
        "economy": _("Economy"),
        "energy": _("Energy"),
        "culture": _("Culture"),
        "environment": _("Environment"),
        "digital": _("Digital"),
        "sport": _("Sport"),
    }
    return {name: labels.get(name, name) for name in THEME_NAMES}


def radius_options() -> list[tuple[str, str]]:
    return [("", _("Any distance"))] + [(str(km), _("%(km)s km", km=km)) for km in RADII_KM]


def sort_options() -> list[tuple[str, str]]:
    return [
        ("", _("Best order")),
        ("relevance", _("Relevance")),
        ("distance", _("Distance")),
        ("date", _("Date")),
        ("recency", _("Newest")),
    ]


def distance_label(metres: float | None) -> str:
    """``350 m``, ``4.2 km``, ``18 km`` in the user's language."""
    if metres is None:
        return ""
    if metres < 1000:
        return _("%(n)s m", n=format_number(int(round(metres, -1))))
    km = metres / 1000
    return _("%(n)s km", n=format_number(km, 1 if km < 10 else 0))


# -- errors ---------------------------------------------------------------------------------------------


def error_message(exc: InvalidInput) -> str:
    """The engine's message for the user, translated (the engine speaks English to API clients)."""
    name, text = exc.field or "", exc.message
    if name == "q":
        if "too long" in text:
            return _("The text is too long (at most %(n)s characters).", n=MAX_Q_LENGTH)
        return _("The text contains characters that are not allowed.")
    if name in {"lat", "lon"} and "together" in text:
        return _("Give both a latitude and a longitude.")
    if name == "lat":
        return _("The latitude must be a number between -90 and 90.")
    if name == "lon":
        return _("The longitude must be a number between -180 and 180.")
    if name == "radius_km":
        if "needs a point" in text:
            return _("A distance needs a place or a point.")
        return _(
            "The distance must be between %(low)s and %(high)s km.",
            low=format_number(RADIUS_KM[0]),
            high=format_number(RADIUS_KM[1]),
        )
    if name == "bbox":
        return _("The map area is not valid (west,south,east,north in degrees).")
    if name == "from" and "before" in text:
        return _("The start date must come before the end date.")
    if name == "to" and "apart" in text:
        return _("The period is too long.")
    if name in {"from", "to"}:
        return _("Enter a date such as 2026-12-05.")
    if name == "sort":
        if "distance" in text:
            return _("Sorting by distance needs a place or a point.")
        if "relevance" in text:
            return _("Sorting by relevance needs a text to search for.")
        return _("Choose one of the listed orders.")
    if name == "kinds":
        return _("Choose among the listed kinds.")
    if name == "theme":
        return _("Choose one of the listed themes.")
    if name in {"tags", "types", "tags_mode"}:
        return _("At most 20 tags, each of at most 64 characters.")
    if name == "zone":
        return _("The zone is a code such as 97416.")
    if name == "limit":
        return _("The page size is a whole number from 1 to %(n)s.", n=MAX_LIMIT)
    if name == "cursor":
        return _("This page link has expired; start the search again.")
    return _("This value is not valid.")


# -- reading the query ------------------------------------------------------------------------------------


@dataclass
class Query:
    """What a search or agenda page understood of its query string."""

    params: SearchParams | None  # None when there are errors
    errors: FormErrors
    values: dict[str, Any]  # for redisplaying the form
    place: GazetteerPlace | None = None
    args: list[tuple[str, str]] = field(default_factory=list)  # the non-empty page arguments, in order


async def find_place_named(name: str) -> GazetteerPlace | None:
    """The best gazetteer place for ``name``, nearest the territory; None if unknown (or no data file)."""
    try:
        gazetteer = default_gazetteer()
        if not gazetteer.loaded:
            await asyncio.to_thread(gazetteer.load)
        conf = settings()
        found = gazetteer.find_place(name, near=(conf.territory_lat, conf.territory_lon), limit=1)
    except Exception:  # a missing or unreadable data file: the place is just not found
        log.exception("gazetteer look-up failed")
        return None
    return found[0] if found else None


def _drop(work: MultiDict, name: str) -> bool:
    """Forget the parameter an error names (and what cannot go without it); whether anything went."""
    names = {name}
    if name in {"lat", "lon"}:
        names |= {"lat", "lon"}
    dropped = False
    for key in names:
        if key in work:
            work.poplist(key)
            dropped = True
    return dropped


async def read_query(args: MultiDict, endpoint: str = "search", today: date | None = None) -> Query:
    """Parse the page's arguments; collect every invalid one (not only the first) as a translated error."""
    pairs = [(k, v.strip()) for k, v in args.items(multi=True) if k in PAGE_ARGS and v.strip()]
    values: dict[str, Any] = {k: v for k, v in pairs if k != "kinds"}
    values["kinds"] = [kind for k, v in pairs if k == "kinds" for kind in v.split(",") if kind]
    work = MultiDict([(k, v) for k, v in pairs if k in ENGINE_ARGS])
    errors = FormErrors()
    place = None
    name = values.get("place")
    if name and "lat" not in work and "lon" not in work:
        if len(name) > MAX_PLACE_LENGTH:
            errors.add("place", _("The place name is too long."))
        else:
            place = await find_place_named(name)
            if place is None:
                errors.add("place", _("No place called “%(name)s” was found.", name=name))
            else:
                work.add("lat", repr(place.lat))
                work.add("lon", repr(place.lon))
    if errors.get("place"):  # what depends on the missing point is not an error of its own
        for key in ("radius_km",) + (("sort",) if work.get("sort") == "distance" else ()):
            work.poplist(key)
    params = None
    for _attempt in range(len(ENGINE_ARGS) + 1):
        try:
            params = parse_params(work, settings(), endpoint=endpoint, today=today)
            break
        except InvalidInput as exc:
            errors.add(exc.field, error_message(exc))
            if not _drop(work, exc.field or ""):
                break
    return Query(params=None if errors else params, errors=errors, values=values, place=place, args=pairs)


def page_url(path: str, args: list[tuple[str, str]], drop: tuple[str, ...] = (), **extra: str | None) -> str:
    """``path`` with the page's arguments minus ``drop`` and the ``cursor``, plus ``extra``."""
    gone = {"cursor", *drop, *extra}
    items = [(k, v) for k, v in args if k not in gone]
    items += [(k, v) for k, v in extra.items() if v not in (None, "")]
    return f"{path}?{urlencode(items)}" if items else path


def api_url(path: str, params: SearchParams, fmt: str, **changes: Any) -> str:
    """The open-data URL (``/api/v1/...``) of the same query in ``fmt``, from its first hit."""
    same = replace(params, cursor=None, **changes)
    items = [(k, v) for k, v in same.query_items() if k != "format"] + [("format", fmt)]
    return f"{path}?{urlencode(items)}"


# -- the page ---------------------------------------------------------------------------------------------


def map_points(hits: list[SearchHit]) -> list[dict[str, Any]]:
    """What ``search-map.js`` draws: one marker per hit with coordinates, keyed by the list item's id."""
    kinds = kind_labels()
    return [
        {
            "id": f"hit-{hit.id}",
            "name": hit.name,
            "kind": hit.kind,
            "kindLabel": kinds.get(hit.kind, hit.kind),
            "lat": hit.lat,
            "lon": hit.lon,
            "url": hit_href(hit),
            "locality": hit.locality,
        }
        for hit in hits
        if hit.lat is not None and hit.lon is not None
    ]


def hit_href(hit: SearchHit) -> str:
    return f"/@{hit.username}" if hit.local else hit.url


@blueprint.get("/search")
async def search_page():
    query = await read_query(request.args, "search")
    params = query.params
    page = None
    if params is not None:
        async with db().raw() as conn:
            page = await search(conn, settings(), params, viewer_id=viewer_id())
    status = 400 if query.errors else 200
    args = query.args
    context: dict[str, Any] = {
        "query": query,
        "values": query.values,
        "errors": query.errors,
        "params": params,
        "page": page,
        "facet_cap": FACET_CAP,
        "kinds": ELEMENT_KINDS,
        "kind_labels": kind_labels(),
        "kind_plurals": kind_plural_labels(),
        "themes": theme_labels(),
        "radius_options": radius_options(),
        "sort_options": sort_options(),
        "distance_label": distance_label,
        "hit_href": hit_href,
        "first_page": bool(params and params.cursor is None),
        "points": map_points(page.hits) if page else [],
        "next_url": page_url("/search", args, cursor=page.next_cursor) if page and page.next_cursor else None,
        "first_url": page_url("/search", args),
        "facet_url": lambda kind: page_url("/search", args, drop=("kinds",), kinds=kind),
        "all_kinds_url": page_url("/search", args, drop=("kinds",)),
        # "Search this area": the same query in the map's box instead of around a point.
        "area_url": page_url(
            "/search",
            args,
            drop=("lat", "lon", "radius_km", "place", "bbox", "zone")
            + (("sort",) if query.values.get("sort") == "distance" else ()),
        ),
        "no_area_url": page_url("/search", args, drop=("bbox",)) if params and params.bbox else None,
        "geojson_url": api_url("/api/v1/search", params, "geojson", limit=MAX_LIMIT) if params else None,
        "csv_url": api_url("/api/v1/search", params, "csv", limit=MAX_LIMIT) if params else None,
    }
    return await render_template("search/search.html", **context), status


def viewer_id() -> int | None:
    """The logged-in person's id: private elements they belong to are found too."""
    person = g.get("person")
    return person.id if person is not None else None

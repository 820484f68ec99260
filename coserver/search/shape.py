"""A search query split in two: its :class:`Shape` (everything its SQL text depends on) and its values.

The engine's statements are built and compiled once per shape (``coserver.search.engine``), with named
placeholders where a query has values; each request then only computes its values (:func:`split`) and
sends the compiled text with them. The builders receive the shape alone, never the parameters, so no value
can slip into the SQL text and make two queries of one shape differ. Building and compiling a statement
with SQLAlchemy costs 5-15 ms of Python; computing a query's values, a few microseconds.

Every value is a placeholder, the "where" ones (point, radius, box, window) included. So that each query
is still planned for its own place and size, the engine runs with ``plan_cache_mode =
force_custom_plan``: PostgreSQL plans each execution with its values (a generic plan, one for every place,
would read a dense town's every match where a walk stops after a page).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from coserver.config import Settings
from coserver.search.params import SearchParams
from coserver.search.themes import theme_tags

BBOX_MARGIN_DEG = 0.01  # > the sag of a 1° great-circle edge against its parallel (≤ 0.0011°)
BBOX_CHUNK_DEG = 90.0  # a box wider than this is cut in pieces (a geography box spans < 180°)


@dataclass(frozen=True, slots=True)
class Shape:
    """What changes a search's SQL text. Each flag says a parameter is there (its value is a placeholder)."""

    viewer: bool = False  # a signed-in viewer: their private elements too
    text: bool = False
    kinds: bool = False
    types: bool = False
    tags_any: bool = False  # any of the spellings of any tag (one array)
    tags_all: bool = False  # every single-spelling tag (one array)
    tag_groups: int = 0  # tags with several spellings, each of which must match (``tags_mode=all``)
    theme: bool = False
    point: bool = False
    radius: bool = False
    boxes: int = 0  # geography boxes covering the bbox (0: no bbox)
    bbox_crosses: bool = False  # the bbox crosses the antimeridian (minlon > maxlon)
    zone: bool = False
    zone_level: bool = False
    start: bool = False
    end: bool = False
    sort: str = "recency"
    cursor: bool = False
    cursor_key: bool = False  # the cursor has a sort key (a date cursor after an undated element has none)

    @property
    def located(self) -> bool:
        """A radius, a box or nearest-first: the query tests ``actors.location``."""
        return self.point or self.boxes > 0

    @property
    def tagged(self) -> bool:
        return self.tags_any or self.tags_all or self.tag_groups > 0 or self.theme


def bbox_boxes(bbox: tuple[float, float, float, float]) -> list[tuple[float, float]]:
    """The west and east longitudes (with a margin) of the geography boxes covering ``bbox``: split at the
    antimeridian, then in pieces of at most ``BBOX_CHUNK_DEG``."""
    minlon, _minlat, maxlon, _maxlat = bbox
    spans = [(minlon, maxlon)] if minlon < maxlon else [(minlon, 180.0), (-180.0, maxlon)]
    boxes = []
    for west, east in spans:
        pieces = max(1, math.ceil((east - west) / BBOX_CHUNK_DEG))
        step = (east - west) / pieces
        for i in range(pieces):
            a = max(west + i * step - BBOX_MARGIN_DEG, -180.0)
            b = min(west + (i + 1) * step + BBOX_MARGIN_DEG, 180.0)
            boxes.append((a, b))
    return boxes


def split(params: SearchParams, settings: Settings, viewer_id: int | None = None) -> tuple[Shape, dict]:
    """The shape of ``params`` and the values of its placeholders (named as the builders name them)."""
    values: dict[str, Any] = {"rows": params.limit + 1}
    shape: dict[str, Any] = {"sort": params.sort}

    def put(flag: str, **named: Any) -> None:
        shape[flag] = True
        values.update(named)

    if viewer_id is not None:
        put("viewer", viewer_id=viewer_id)
    if params.q:
        put("text", q=params.q)
    if params.kinds:
        put("kinds", kinds=list(params.kinds))
    if params.types:
        put("types", types=list(params.types))
    groups = params.tag_groups
    if groups and params.tags_mode == "any":
        put("tags_any", tags_any=list(dict.fromkeys(s for group in groups for s in group)))
    elif groups:
        single = [group[0] for group in groups if len(group) == 1]
        if single:
            put("tags_all", tags_all=single)
        several = [list(group) for group in groups if len(group) > 1]
        shape["tag_groups"] = len(several)
        values.update({f"tag_group_{i}": group for i, group in enumerate(several)})
    if params.theme:
        put("theme", theme_tags=list(theme_tags(params.theme)))
    if params.point is not None:
        put("point", lat=params.lat, lon=params.lon)
        if params.radius_km is not None:
            put("radius", radius_m=params.radius_km * 1000.0)
    if params.bbox is not None:
        minlon, minlat, maxlon, maxlat = params.bbox
        boxes = bbox_boxes(params.bbox)
        shape.update(boxes=len(boxes), bbox_crosses=minlon >= maxlon)
        values.update(minlon=minlon, minlat=minlat, maxlon=maxlon, maxlat=maxlat)
        values.update(
            box_low=max(minlat - BBOX_MARGIN_DEG, -90.0), box_high=min(maxlat + BBOX_MARGIN_DEG, 90.0)
        )
        for i, (west, east) in enumerate(boxes):
            values.update({f"box_west_{i}": west, f"box_east_{i}": east})
    if params.zone:
        put("zone", zone=params.zone)
        if params.zone_level:
            put("zone_level", zone_level=params.zone_level)
    if params.start is not None:
        put("start", start=params.start, tz=settings.timezone)
    if params.end is not None:
        put("end", end=params.end, tz=settings.timezone)
    if params.cursor is not None:
        put("cursor", cursor_id=params.cursor.id)
        if params.cursor.key is not None:
            put("cursor_key", cursor_key=params.cursor.key)
    return Shape(**shape), values

"""Importing administrative areas from a GeoJSON FeatureCollection into ``zones``.

* :func:`iter_features` checks that a parsed document is a FeatureCollection and hands out its features;
* :func:`import_zones` upserts (on level + code) the Polygon/MultiPolygon features, in batches, reporting
  progress; polygons become multipolygons (:func:`polygon_geojson`), invalid geometries are repaired with
  ``ST_MakeValid`` and kept only if something polygonal remains; parent references are resolved last.

Attaching elements to zones and looking zones up is :mod:`coserver.services.zones`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from coserver.models.zones import ZONE_LEVELS
from coserver.services.errors import InvalidInput

log = logging.getLogger("coserver.services.zones")  # the logger these messages always had

BATCH_SIZE = 200
# Parent candidates: the closest coarser level (levels 1–4 nest; localities and postal codes sit under 4).
LEVEL_RANK = {"level1": 1, "level2": 2, "level3": 3, "level4": 4, "locality": 5, "postal_code": 5}

_UPSERT = text(
    """
    WITH input AS (
        SELECT t.code, t.name, t.country,
               ST_SetSRID(ST_GeomFromGeoJSON(t.geojson), 4326) AS g
        FROM unnest(:codes, :names, :countries, :geojsons) AS t(code, name, country, geojson)
    ), repaired AS (
        SELECT code, name, country,
               ST_Multi(ST_CollectionExtract(CASE WHEN ST_IsValid(g) THEN g ELSE ST_MakeValid(g) END, 3))
                   AS g
        FROM input
    )
    INSERT INTO zones (level, code, name, country, geom)
    SELECT :level, code, name, country, g FROM repaired WHERE NOT ST_IsEmpty(g)
    ON CONFLICT (level, code) DO UPDATE
        SET name = EXCLUDED.name, country = EXCLUDED.country, geom = EXCLUDED.geom
    RETURNING code
    """
).bindparams(
    bindparam("codes", type_=ARRAY(Text)),
    bindparam("names", type_=ARRAY(Text)),
    bindparam("countries", type_=ARRAY(Text)),
    bindparam("geojsons", type_=ARRAY(Text)),
)

_SET_PARENTS = text(
    """
    UPDATE zones AS c SET parent_id = (
        SELECT p.id FROM zones AS p
        WHERE p.code = t.parent_code AND p.id <> c.id
          AND (t.parent_level = '' OR p.level = t.parent_level)
          AND (CASE p.level WHEN 'level1' THEN 1 WHEN 'level2' THEN 2 WHEN 'level3' THEN 3
                            WHEN 'level4' THEN 4 ELSE 5 END) < :rank
        ORDER BY p.level DESC LIMIT 1
    )
    FROM unnest(:codes, :parent_codes, :parent_levels) AS t(code, parent_code, parent_level)
    WHERE c.level = :level AND c.code = t.code
    """
).bindparams(
    bindparam("codes", type_=ARRAY(Text)),
    bindparam("parent_codes", type_=ARRAY(Text)),
    bindparam("parent_levels", type_=ARRAY(Text)),
)


def normalize_level(level: str) -> str:
    """``"level2"``, ``"2"`` or ``"LEVEL2"`` → ``"level2"``; raises :class:`InvalidInput` otherwise."""
    value = str(level).strip().lower()
    if value.isdigit():
        value = f"level{value}"
    if value not in ZONE_LEVELS:
        raise InvalidInput(f"a zone level is one of {', '.join(ZONE_LEVELS)}, not {level!r}", field="level")
    return value


def _property(feature: dict[str, Any], field: str, number: int) -> str:
    props = feature.get("properties")
    if not isinstance(props, dict) or props.get(field) in (None, ""):
        have = ", ".join(sorted(props)[:12]) if isinstance(props, dict) and props else "none"
        raise InvalidInput(
            f"feature {number} has no property {field!r} (its properties: {have})", field=field
        )
    return str(props[field]).strip()


def _ring(ring: Any) -> list[list[float]] | None:
    """A ring as PostGIS will accept it (finite 2-D positions, closed, at least 4 positions), or None."""
    if not isinstance(ring, list):
        return None
    points = []
    for pos in ring:
        if not isinstance(pos, list | tuple) or len(pos) < 2:
            return None
        try:
            x, y = float(pos[0]), float(pos[1])
        except (TypeError, ValueError):
            return None
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        points.append([x, y])
    if points and points[0] != points[-1]:
        points.append(points[0])
    return points if len(points) >= 4 else None


def polygon_geojson(geometry: Any) -> str | None:
    """The GeoJSON text of a (Multi)Polygon geometry with usable rings (a Polygon becomes a MultiPolygon),
    or None for any other geometry: those features are skipped."""
    if not isinstance(geometry, dict) or geometry.get("type") not in {"Polygon", "MultiPolygon"}:
        return None
    coords = geometry.get("coordinates")
    polygons = [coords] if geometry["type"] == "Polygon" else coords
    if not isinstance(polygons, list):
        return None
    clean = []
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            continue
        rings = [_ring(r) for r in polygon]
        if rings[0] is None:
            continue  # no usable outer ring: the polygon is dropped
        clean.append([r for r in rings if r is not None])
    if not clean:
        return None
    return json.dumps({"type": "MultiPolygon", "coordinates": clean}, separators=(",", ":"))


@dataclass
class _Batch:
    rows: dict[str, tuple[str, str, str]]  # code -> (name, country, geojson); the last feature wins
    parents: dict[str, str]  # code -> parent reference

    def __len__(self) -> int:
        return len(self.rows)


async def import_zones(
    session: AsyncSession,
    features: Iterable[dict[str, Any]],
    *,
    level: str,
    name_field: str,
    code_field: str,
    country: str | None = None,
    parent_code_field: str | None = None,
    progress: Callable[[int], object] | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Upsert the polygonal features as zones of ``level``; returns how many zones were written.

    Features without a polygon (points, lines, empty or unreadable geometries, or geometries that
    ``ST_MakeValid`` leaves without area) are skipped and logged. A feature without the name or code
    property is an error (:class:`InvalidInput`): usually the wrong ``--name-field``. ``progress(n)`` is
    called as features are consumed. The parent property holds a parent zone's code (``"974"``) or
    ``"level:code"``; it is resolved among the zones of coarser levels once every batch is written. Flushes
    nothing through the ORM; the caller commits.
    """
    level = normalize_level(level)
    country_code = (country or "").strip().upper()
    if country_code and (len(country_code) != 2 or not country_code.isalpha()):
        raise InvalidInput("country is a two-letter ISO code such as FR or RE", field="country")
    written = skipped = 0
    parents: dict[str, str] = {}
    batch = _Batch({}, {})
    for number, feature in enumerate(features):
        if not isinstance(feature, dict):
            raise InvalidInput(f"feature {number} is not a GeoJSON object", field="features")
        name = _property(feature, name_field, number)
        code = _property(feature, code_field, number)
        geojson = polygon_geojson(feature.get("geometry"))
        if geojson is None:
            skipped += 1
            log.warning("zone %s (%s): no usable polygon, skipped", code, name)
        else:
            batch.rows[code] = (name, country_code, geojson)
            if parent_code_field:
                props = feature.get("properties") or {}
                ref = str(props.get(parent_code_field) or "").strip()
                if ref:
                    batch.parents[code] = ref
        if len(batch) >= batch_size:
            written += await _write(session, level, batch)
            parents.update(batch.parents)
            batch = _Batch({}, {})
        if progress is not None:
            progress(1)
    if len(batch):
        written += await _write(session, level, batch)
        parents.update(batch.parents)
    if parents:
        await _set_parents(session, level, parents)
    if skipped:
        log.warning("%d feature(s) without a usable polygon were skipped", skipped)
    return written


async def _write(session: AsyncSession, level: str, batch: _Batch) -> int:
    codes = list(batch.rows)
    names, countries, geojsons = (list(col) for col in zip(*batch.rows.values(), strict=True))
    result = await session.execute(
        _UPSERT,
        {"level": level, "codes": codes, "names": names, "countries": countries, "geojsons": geojsons},
    )
    kept = {row[0] for row in result}
    for code in set(codes) - kept:
        log.warning("zone %s: nothing polygonal left after repair, skipped", code)
        batch.parents.pop(code, None)
    return len(kept)


async def _set_parents(session: AsyncSession, level: str, parents: dict[str, str]) -> None:
    codes, parent_codes, parent_levels = [], [], []
    for code, ref in parents.items():
        head, sep, tail = ref.partition(":")
        parent_level = head.lower() if sep and head.lower() in ZONE_LEVELS else ""
        codes.append(code)
        parent_codes.append(tail if parent_level else ref)
        parent_levels.append(parent_level)
    await session.execute(
        _SET_PARENTS,
        {
            "level": level,
            "rank": LEVEL_RANK[level],
            "codes": codes,
            "parent_codes": parent_codes,
            "parent_levels": parent_levels,
        },
    )


def iter_features(collection: Any) -> Iterator[dict[str, Any]]:
    """The features of a parsed FeatureCollection, each released from the collection as it is handed out
    (so the caller's batches are the only second copy). Raises :class:`InvalidInput` at once for anything
    that is not a FeatureCollection."""
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        found = collection.get("type") if isinstance(collection, dict) else type(collection).__name__
        raise InvalidInput(f"not a GeoJSON FeatureCollection (found {found!r})", field="file")
    features = collection.get("features")
    if not isinstance(features, list):
        raise InvalidInput("the FeatureCollection has no features list", field="file")
    return _released(features)


def _released(features: list[Any]) -> Iterator[Any]:
    for i in range(len(features)):
        feature, features[i] = features[i], None
        yield feature

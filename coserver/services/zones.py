"""Zones: importing administrative areas from GeoJSON, attaching elements to the zones that cover them.

* :func:`import_zones` upserts (on level + code) the Polygon/MultiPolygon features of a FeatureCollection, in
  batches; polygons become multipolygons, invalid geometries are repaired with ``ST_MakeValid`` and kept
  only if something polygonal remains.
* :func:`attach_all` recomputes ``actor_zones`` for every element with a point (after an import);
  :func:`attach_actor` does it for one element (on save). Both are one ``INSERT … SELECT`` joining places to
  zones with ``ST_Covers(z.geom, p.location::geometry)``, which the GiST index on ``zones.geom`` serves.
* :func:`find_zone` resolves what a user or a URL names: ``"974"``, ``"level4:974"`` or ``"La Réunion"``.
* :func:`geolocate` gives an address without coordinates a point: the configured geocoder, the offline
  gazetteer, then the point of an imported postal-code zone.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from coserver.models import ActorZone, Zone
from coserver.models.zones import ZONE_LEVELS
from coserver.services.errors import InvalidInput

if TYPE_CHECKING:
    import httpx

    from coserver.config import Settings
    from coserver.services.places import PlaceInput

log = logging.getLogger(__name__)

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

# Every (element, zone) pair where the zone covers the element's point; "{where}" narrows it to one element.
_COVERING = """
    SELECT a.id AS actor_id, z.id AS zone_id
    FROM actors AS a
    JOIN places AS p ON p.id = a.place_id
    JOIN zones AS z ON ST_Covers(z.geom, p.location::geometry)
    WHERE p.location IS NOT NULL AND a.deleted_at IS NULL {where}
"""


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


async def attach_all(session: AsyncSession) -> int:
    """Re-attach every element to the zones covering its point; returns how many elements have a zone.

    Stale pairs (the element moved, lost its point, or was deleted) are removed first; existing pairs stay.
    """
    await session.execute(
        text(
            f"""
            DELETE FROM actor_zones AS az
            WHERE NOT EXISTS (
                SELECT 1 FROM ({_COVERING.format(where="")}) AS c
                WHERE c.actor_id = az.actor_id AND c.zone_id = az.zone_id
            )
            """
        )
    )
    await session.execute(
        text(
            f"INSERT INTO actor_zones (actor_id, zone_id) {_COVERING.format(where='')} ON CONFLICT DO NOTHING"
        )
    )
    return int(await session.scalar(select(func.count(func.distinct(ActorZone.actor_id)))) or 0)


async def attach_actor(session: AsyncSession, actor_id: int) -> int:
    """Attach one element to the zones covering its point (replacing its previous zones); returns how many."""
    await session.execute(text("DELETE FROM actor_zones WHERE actor_id = :id"), {"id": actor_id})
    result = await session.execute(
        text(f"INSERT INTO actor_zones (actor_id, zone_id) {_COVERING.format(where='AND a.id = :id')}"),
        {"id": actor_id},
    )
    return result.rowcount or 0


async def zones_of(session: AsyncSession, actor_id: int) -> list[Zone]:
    """The zones an element is attached to, coarsest level first."""
    stmt = (
        select(Zone)
        .join(ActorZone, ActorZone.zone_id == Zone.id)
        .where(ActorZone.actor_id == actor_id)
        .order_by(Zone.level, Zone.code)
    )
    return list(await session.scalars(stmt))


async def find_zone(session: AsyncSession, ref: str, *, country: str | None = None) -> Zone | None:
    """The zone named by ``ref``: ``"level:code"``, a code, or a name (case- and accent-insensitive).

    A code wins over a name; among several matches, zones of ``country`` first, then the coarser level.
    """
    ref = ref.strip()
    if not ref:
        return None
    head, sep, tail = ref.partition(":")
    if sep and head.strip().lower() in ZONE_LEVELS:
        return await session.scalar(
            select(Zone).where(Zone.level == head.strip().lower(), Zone.code == tail.strip())
        )
    order = [Zone.country != (country or "").upper()] if country else []
    order += [Zone.level, Zone.id]
    zone = await session.scalar(select(Zone).where(Zone.code == ref).order_by(*order).limit(1))
    if zone is not None:
        return zone
    zone = await session.scalar(
        select(Zone).where(func.lower(Zone.name) == ref.lower()).order_by(*order).limit(1)
    )
    if zone is not None:
        return zone
    folded = func.co_unaccent(func.lower(ref))
    return await session.scalar(
        select(Zone).where(func.co_unaccent(func.lower(Zone.name)) == folded).order_by(*order).limit(1)
    )


async def list_zones(session: AsyncSession, level: str | None = None) -> list[tuple[Zone, int]]:
    """Zones (of one level, or all) with the number of elements attached to each, by level then name."""
    count = (
        select(func.count())
        .select_from(ActorZone)
        .where(ActorZone.zone_id == Zone.id)
        .correlate(Zone)
        .scalar_subquery()
    )
    stmt = select(Zone, count).order_by(Zone.level, Zone.name, Zone.code)
    if level is not None:
        stmt = stmt.where(Zone.level == normalize_level(level))
    return [(zone, int(n)) for zone, n in (await session.execute(stmt)).all()]


async def zone_point(session: AsyncSession, level: str, code: str) -> tuple[float, float] | None:
    """A point inside the zone ``level``/``code`` (``ST_PointOnSurface``), as ``(lat, lon)``."""
    row = (
        await session.execute(
            text(
                "SELECT ST_Y(pt), ST_X(pt) FROM (SELECT ST_PointOnSurface(geom) AS pt FROM zones "
                "WHERE level = :level AND code = :code) AS s"
            ),
            {"level": level, "code": code},
        )
    ).first()
    return (float(row[0]), float(row[1])) if row else None


async def geolocate(
    session: AsyncSession,
    settings: Settings,
    place: PlaceInput,
    *,
    http: httpx.AsyncClient | None = None,
) -> bool:
    """Give ``place`` a point when it has an address but no coordinates; returns whether it got one.

    Tries the configured geocoder (``COSERVER_GEOCODER``), then the offline gazetteer by locality, then an
    imported ``postal_code`` zone. Validates ``place`` first (the same errors as saving it). Never fails
    because a geocoder did: the place is then saved without a point.
    """
    from coserver.geo.geocoder import StructuredAddress, geocode_address

    place.validate()
    if place.lat is not None or not (place.street or place.postal_code or place.locality):
        return False
    address = StructuredAddress(
        street=place.street, postal_code=place.postal_code, locality=place.locality, country=place.country
    )
    found = await geocode_address(settings, address, http=http)
    if found is not None:
        place.lat, place.lon = found.lat, found.lon
        return True
    if place.postal_code.strip():
        point = await zone_point(session, "postal_code", place.postal_code.strip())
        if point is not None:
            place.lat, place.lon = point
            return True
    return False


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

"""Zones: attaching elements to the administrative areas that cover them, and looking zones up.

* :func:`attach_all` recomputes ``actor_zones`` for every element with a point (after an import);
  :func:`attach_actor` does it for one element (on save). Both are one ``INSERT … SELECT`` joining places to
  zones with ``ST_Covers(z.geom, p.location::geometry)``, which the GiST index on ``zones.geom`` serves.
* :func:`find_zone` resolves what a user or a URL names: ``"974"``, ``"level4:974"`` or ``"La Réunion"``.
* :func:`geolocate` gives an address without coordinates a point: the configured geocoder, the offline
  gazetteer, then the point of an imported postal-code zone.

Importing zones from GeoJSON (:func:`import_zones`, :func:`iter_features`, :func:`normalize_level`,
:func:`polygon_geojson`) lives in :mod:`coserver.services.zone_import` and is re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import ActorZone, Zone
from coserver.models.zones import ZONE_LEVELS
from coserver.services.zone_import import (
    BATCH_SIZE,
    LEVEL_RANK,
    import_zones,
    iter_features,
    normalize_level,
    polygon_geojson,
)

if TYPE_CHECKING:
    import httpx

    from coserver.config import Settings
    from coserver.services.places import PlaceInput


__all__ = [
    "BATCH_SIZE",
    "LEVEL_RANK",
    "attach_actor",
    "attach_all",
    "find_zone",
    "geolocate",
    "import_zones",
    "iter_features",
    "list_zones",
    "normalize_level",
    "polygon_geojson",
    "zone_point",
    "zones_of",
]

# Every (element, zone) pair where the zone covers the element's point; "{where}" narrows it to one element.
_COVERING = """
    SELECT a.id AS actor_id, z.id AS zone_id
    FROM actors AS a
    JOIN places AS p ON p.id = a.place_id
    JOIN zones AS z ON ST_Covers(z.geom, p.location::geometry)
    WHERE p.location IS NOT NULL AND a.deleted_at IS NULL {where}
"""


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

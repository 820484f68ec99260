"""A hand-made territory for search tests: rows inserted directly (no key pairs), points at known distances.

Distances are computed here independently of PostGIS: along a meridian on the WGS 84 ellipsoid (the
meridian arc, integrated numerically), which is the geodesic for points due north of each other.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from werkzeug.datastructures import MultiDict

from coserver.config import Settings
from coserver.models import Actor, ActorZone, Link, Place, Zone
from coserver.models.vocab import ELEMENT_KINDS
from coserver.search.params import SearchParams, parse_params
from coserver.services.places import point

CENTRE = (-21.0, 55.5)  # lat, lon: north of La Réunion, at sea, far from everything else
WGS84_A = 6378137.0
WGS84_F = 1 / 298.257223563
WGS84_E2 = WGS84_F * (2 - WGS84_F)


def _meridian_radius(phi: float) -> float:
    return WGS84_A * (1 - WGS84_E2) / (1 - WGS84_E2 * math.sin(phi) ** 2) ** 1.5


def meridian_arc(lat1: float, lat2: float, steps: int = 200) -> float:
    """Geodesic distance in metres between two points on the same meridian (Simpson's rule)."""
    a, b = math.radians(lat1), math.radians(lat2)
    h = (b - a) / steps
    total = _meridian_radius(a) + _meridian_radius(b)
    for i in range(1, steps):
        total += (4 if i % 2 else 2) * _meridian_radius(a + i * h)
    return abs(total * h / 3)


def north_of(lat: float, lon: float, metres: float) -> tuple[float, float]:
    """The point ``metres`` due north of (lat, lon) on the ellipsoid (Newton on the meridian arc)."""
    target = lat + math.degrees(metres / _meridian_radius(math.radians(lat)))
    for _ in range(20):
        error = meridian_arc(lat, target) - metres
        target -= math.degrees(error / _meridian_radius(math.radians(target)))
        if abs(error) < 1e-6:
            break
    return target, lon


def params(settings: Settings, endpoint: str = "search", **values: Any) -> SearchParams:
    """``parse_params`` from keyword arguments (``from_`` for ``from``)."""
    args = MultiDict()
    for key, value in values.items():
        if value is not None:
            args.add("from" if key == "from_" else key, str(value))
    return parse_params(args, settings, endpoint=endpoint)


class Territory:
    """Inserts places and elements through one session; returns ids."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.count = 0

    async def place(self, lat: float, lon: float, **fields: Any) -> Place:
        place = Place(location=point(lat, lon), **fields)
        self.session.add(place)
        await self.session.flush()
        return place

    async def element(
        self,
        kind: str,
        name: str,
        *,
        lat: float | None = None,
        lon: float | None = None,
        place: Place | None = None,
        local: bool = True,
        username: str | None = None,
        **fields: Any,
    ) -> Actor:
        self.count += 1
        if place is None and lat is not None and lon is not None:
            place = await self.place(lat, lon)
        username = username or f"{kind}_{self.count}"
        host = "http://127.0.0.1:8000" if local else "https://mobilizon.example"
        actor = Actor(
            ap_id=f"{host}/actors/{username}" if local else f"{host}/events/{username}",
            kind=kind,
            local=local,
            domain=None if local else "mobilizon.example",
            username=username,
            name=name,
            place_id=place.id if place else None,
            profile_url=f"{host}/@{username}" if local else f"{host}/events/{username}",
            **fields,
        )
        self.session.add(actor)
        await self.session.flush()
        return actor

    async def link(self, subject: Actor, obj: Actor, link_type: str, state: str = "accepted") -> None:
        self.session.add(Link(subject_id=subject.id, object_id=obj.id, type=link_type, state=state))
        await self.session.flush()

    async def zone(self, level: str, code: str, name: str, wkt: str, members: list[Actor]) -> Zone:
        from sqlalchemy import func

        zone = Zone(level=level, code=code, name=name, geom=func.ST_GeomFromText(wkt, 4326))
        self.session.add(zone)
        await self.session.flush()
        for actor in members:
            self.session.add(ActorZone(actor_id=actor.id, zone_id=zone.id))
        await self.session.flush()
        return zone


COMMUNES = (
    "Saint-Denis", "Saint-Pierre", "Le Tampon", "Saint-Paul", "Saint-Louis", "Le Port", "Saint-André",
    "Saint-Benoît", "Saint-Joseph", "Sainte-Marie", "Saint-Leu", "La Possession", "Sainte-Suzanne",
    "L'Étang-Salé", "Petite-Île", "Les Avirons", "Entre-Deux", "Bras-Panon", "Cilaos", "Salazie",
    "La Plaine-des-Palmistes", "Sainte-Rose", "Saint-Philippe", "Trois-Bassins",
)  # fmt: skip
BULK_SQL = """
WITH new_places AS (
    INSERT INTO places (name, location)
    SELECT 'bulk ' || g,
           ST_SetSRID(
               ST_MakePoint(:lon + (random() - 0.5) * :spread, :lat + (random() - 0.5) * :spread), 4326
           )::geography
    FROM generate_series(1, :n) AS g
    RETURNING id
)
INSERT INTO actors (ap_id, kind, local, username, name, short_description, tags, place_id, starts_at,
                    ends_at, created_at)
SELECT 'http://127.0.0.1:8000/actors/bulk' || id,
       (CAST(:kinds AS text[]))[1 + id % cardinality(CAST(:kinds AS text[]))],
       true,
       'bulk' || id,
       CASE WHEN id % 500 = 0 THEN 'Ressourcerie' ELSE
           (ARRAY['Jardin partagé', 'Atelier compost', 'Repair café', 'Kabar maloya', 'Vélo péi'])[1 + id % 5]
       END || ' ' || (CAST(:communes AS text[]))[1 + (id / 5) % cardinality(CAST(:communes AS text[]))]
           || ' ' || id,
       'élément de test numéro ' || id,
       ARRAY[(ARRAY['compost', 'vélo', 'maloya', 'santé', 'numérique'])[1 + id % 5]],
       id,
       now() + (id % 60) * interval '1 day',
       now() + (id % 60) * interval '1 day' + interval '2 hours',
       now() - (id % 1000) * interval '1 minute'
FROM new_places
"""


def bulk_insert(
    n: int,
    *,
    kinds: tuple[str, ...] = ELEMENT_KINDS,
    centre: tuple[float, float] = CENTRE,
    spread: float = 1.0,
):
    """Arguments for ``session.execute``: ``n`` elements on random points (generate_series)."""
    values = {"n": n, "kinds": list(kinds), "lat": centre[0], "lon": centre[1], "spread": spread}
    values["communes"] = list(COMMUNES)
    return text(BULK_SQL), values


def at(iso: str) -> datetime:
    """An aware datetime from ISO text with an offset."""
    value = datetime.fromisoformat(iso)
    assert value.tzinfo is not None
    return value

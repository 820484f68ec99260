"""Places: validating an address + point and storing it."""

from __future__ import annotations

from dataclasses import dataclass, fields

from geoalchemy2 import Geography
from sqlalchemy import cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Place
from coserver.services.errors import InvalidInput


@dataclass
class PlaceInput:
    """An address and/or a point, as typed by a user or given on the command line."""

    lat: float | None = None
    lon: float | None = None
    name: str = ""
    street: str = ""
    postal_code: str = ""
    locality: str = ""
    locality_code: str = ""
    country: str = ""
    level1_name: str = ""
    level1_code: str = ""
    level2_name: str = ""
    level2_code: str = ""
    level3_name: str = ""
    level3_code: str = ""
    level4_name: str = ""
    level4_code: str = ""

    def validate(self) -> PlaceInput:
        if (self.lat is None) != (self.lon is None):
            raise InvalidInput(
                "latitude and longitude go together", field="lat" if self.lat is None else "lon"
            )
        if self.lat is not None and not -90 <= self.lat <= 90:
            raise InvalidInput("latitude must be between -90 and 90", field="lat")
        if self.lon is not None and not -180 <= self.lon <= 180:
            raise InvalidInput("longitude must be between -180 and 180", field="lon")
        if self.country and (len(self.country) != 2 or not self.country.isalpha()):
            raise InvalidInput("country is a two-letter ISO code such as FR or RE", field="country")
        self.country = self.country.upper()
        return self

    @property
    def empty(self) -> bool:
        return self.lat is None and not any(
            getattr(self, f.name) for f in fields(self) if f.name not in {"lat", "lon"}
        )


def point(lat: float, lon: float):
    """A ``geography(Point,4326)`` SQL expression built from floats (never from a WKT string)."""
    return cast(
        func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326), Geography(geometry_type="POINT", srid=4326)
    )


def new_place(data: PlaceInput) -> Place:
    data.validate()
    place = Place(**{f.name: getattr(data, f.name) for f in fields(data) if f.name not in {"lat", "lon"}})
    if data.lat is not None and data.lon is not None:
        place.location = point(data.lat, data.lon)
    return place


async def create_place(session: AsyncSession, data: PlaceInput) -> Place:
    place = new_place(data)
    session.add(place)
    await session.flush()
    return place


def coordinates(place: Place | None) -> tuple[float, float] | None:
    """``(lat, lon)`` of a loaded place, or None."""
    from geoalchemy2.elements import WKBElement
    from geoalchemy2.shape import to_shape

    if place is None or not isinstance(place.location, WKBElement):
        return None
    pt = to_shape(place.location)
    return (pt.y, pt.x)


async def load_place(
    session: AsyncSession, place_id: int | None
) -> tuple[Place | None, tuple[float, float] | None]:
    """The place ``place_id`` and its ``(lat, lon)``, read afresh (a point set in this session by
    :func:`create_place` is an SQL expression until reloaded); ``(None, None)`` without a place."""
    if place_id is None:
        return None, None
    place = await session.get(Place, place_id, populate_existing=True)
    return place, coordinates(place)


async def places_by_id(
    session: AsyncSession, ids: set[int]
) -> dict[int, tuple[Place, tuple[float, float] | None]]:
    """Places (and their ``(lat, lon)``) by id, in one query."""
    if not ids:
        return {}
    rows = await session.scalars(
        select(Place).where(Place.id.in_(ids)).execution_options(populate_existing=True)
    )
    return {p.id: (p, coordinates(p)) for p in rows}

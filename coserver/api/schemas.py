"""Pydantic models of API payloads (what the API promises; documented in OpenAPI)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    error: str = Field(description="What went wrong, in one sentence")
    field: str | None = Field(default=None, description="The offending input, when there is one")


class PlaceOut(BaseModel):
    name: str = ""
    street: str = ""
    postal_code: str = ""
    locality: str = ""
    locality_code: str = ""
    country: str = ""
    lat: float | None = None
    lon: float | None = None


class PostPlaceIn(BaseModel):
    """Where a public post is about: a point, with the name of the place or its locality."""

    lat: float = Field(ge=-90, le=90, description="Latitude, between -90 and 90")
    lon: float = Field(ge=-180, le=180, description="Longitude, between -180 and 180")
    name: str = Field(default="", max_length=200, description="Name of the place")
    locality: str = Field(default="", max_length=200, description="Town or village")


def place_out(place, coords: tuple[float, float] | None) -> PlaceOut:
    """A loaded :class:`coserver.models.Place` (and its ``(lat, lon)``) as API output."""
    return PlaceOut(
        name=place.name,
        street=place.street,
        postal_code=place.postal_code,
        locality=place.locality,
        locality_code=place.locality_code,
        country=place.country,
        lat=coords[0] if coords else None,
        lon=coords[1] if coords else None,
    )


class UrlOut(BaseModel):
    type: str
    url: str
    name: str | None = None


class ElementRef(BaseModel):
    username: str
    name: str
    kind: str


class ElementOut(BaseModel):
    """A public element of the territory."""

    id: str = Field(description="ActivityPub id (URL) of the element")
    username: str
    handle: str = Field(description="Fediverse handle, user@domain")
    kind: str = Field(description="person, organization, project, event or poi")
    type: str | None = Field(default=None, description="organization type, event type or POI type")
    stage: str | None = Field(default=None, description="project stage")
    name: str
    short_description: str
    description_html: str
    tags: list[str]
    urls: list[UrlOut]
    url: str = Field(description="Profile page")
    place: PlaceOut | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    all_day: bool = False
    timezone: str | None = None
    capacity: int | None = None
    organizer: ElementRef | None = None
    parent: ElementRef | None = None
    open_edition: bool
    community: dict[str, int] = Field(
        description="Accepted links by type (member, contributor, attendee, follower)"
    )
    created_at: datetime
    updated_at: datetime

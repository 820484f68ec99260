"""What a search or agenda query returns, one row per element (the contract between engine and exports)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A public element found by a query (local, or a remote event brought in by federation)."""

    id: int
    ap_id: str
    username: str
    kind: str
    name: str
    url: str  # human page (profile URL)
    local: bool = True
    subtype: str | None = None
    stage: str | None = None
    short_description: str = ""
    tags: tuple[str, ...] = ()
    lat: float | None = None
    lon: float | None = None
    distance_m: float | None = None  # set when the query had a point
    street: str = ""
    postal_code: str = ""
    locality: str = ""
    country: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    all_day: bool = False
    timezone: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    rank: float | None = None  # text relevance when the query had q
    extra: dict = field(default_factory=dict, compare=False)


# A person chooses who sees each optional profile field (``coserver.services.profiles``); searches and
# open-data exports are public, so only the fields a person left public may match a query or appear in a hit.
PERSON_FIELD_DEFAULTS = {
    "short_description": "public",
    "description": "public",
    "tags": "public",
    "place": "public",
}


def person_field_public(field_visibility: dict | None, name: str) -> bool:
    chosen = (field_visibility or {}).get(name) or PERSON_FIELD_DEFAULTS.get(name, "public")
    return chosen == "public"


def without_hidden_fields(hit: SearchHit, field_visibility: dict | None) -> SearchHit:
    """``hit`` without the person's non-public fields (other kinds are returned unchanged)."""
    if hit.kind != "person" or not field_visibility:
        return hit
    changes: dict = {}
    if not person_field_public(field_visibility, "short_description"):
        changes["short_description"] = ""
    if not person_field_public(field_visibility, "tags"):
        changes["tags"] = ()
    if not person_field_public(field_visibility, "place"):
        changes.update(
            lat=None, lon=None, distance_m=None, street="", postal_code="", locality="", country=""
        )
    return replace(hit, **changes) if changes else hit

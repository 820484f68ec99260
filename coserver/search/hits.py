"""What a search or agenda query returns, one row per element (the contract between engine and exports)."""

from __future__ import annotations

from dataclasses import dataclass, field
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

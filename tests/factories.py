"""Small helpers that create real rows through the services (no fakes)."""

from __future__ import annotations

from datetime import datetime

from coserver.config import Settings
from coserver.db import Database
from coserver.models import Actor
from coserver.services.accounts import create_account
from coserver.services.elements import ElementInput, create_element
from coserver.services.places import PlaceInput


async def make_person(db: Database, settings: Settings, username: str = "alice", **kwargs) -> Actor:
    async with db.transaction() as s:
        account = await create_account(s, settings, username=username, password="password-123", **kwargs)
        return account.person


async def make_element(
    db: Database,
    settings: Settings,
    kind: str,
    username: str,
    *,
    admin: Actor | None = None,
    lat: float | None = None,
    lon: float | None = None,
    starts_at: datetime | None = None,
    **kwargs,
) -> Actor:
    place = PlaceInput(lat=lat, lon=lon, locality=kwargs.pop("locality", "")) if lat is not None else None
    data = ElementInput(
        kind=kind,
        username=username,
        name=kwargs.pop("name", username.title()),
        place=place,
        starts_at=starts_at,
        **kwargs,
    )
    async with db.transaction() as s:
        return await create_element(s, settings, data, admin=admin)


def app_db(app) -> Database:
    return app.extensions["coserver"].db

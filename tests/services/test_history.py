"""Every edit is recorded with its author, time and [old, new] values; history pages newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from coserver.models import Actor
from coserver.models.history import ElementEdit
from coserver.services import history
from coserver.services.editing import can_edit, update_element
from coserver.services.elements import get_local_actor
from coserver.services.errors import InvalidInput
from coserver.services.places import PlaceInput
from tests.factories import make_element, make_person


async def test_edits_are_recorded_field_by_field(db, make_settings):
    settings = make_settings()
    marie = await make_person(db, settings, "marie")
    start = datetime(2031, 5, 3, 9, 0, tzinfo=UTC)
    await make_element(db, settings, "event", "fete", admin=marie, starts_at=start, lat=-21.3, lon=55.5)
    await make_element(db, settings, "organization", "kaz", admin=marie)
    async with db.transaction() as s:
        fete = await get_local_actor(s, "fete")
        changed = await update_element(
            s,
            settings,
            fete,
            editor=await s.get(Actor, marie.id),
            name="Fèt",
            starts_at=start + timedelta(hours=1),
            subtype="festival",
            parent=await get_local_actor(s, "kaz"),
            place=PlaceInput(lat=-21.0, lon=55.25, locality="Saint-Paul"),
            open_edition=True,
        )
        assert set(changed) == {"name", "starts_at", "subtype", "parent", "place", "open_edition"}
        # no change, no row
        assert await update_element(s, settings, fete, editor=None, name="Fèt") == []
        with pytest.raises(InvalidInput):
            await update_element(s, settings, fete, ends_at=start - timedelta(days=1))
    async with db.session() as s:
        rows = list(await s.scalars(select(ElementEdit)))
    assert len(rows) == 1 and rows[0].editor_id == marie.id
    changes = rows[0].changes
    assert changes["name"] == ["Fete", "Fèt"]
    assert changes["starts_at"] == ["2031-05-03T09:00:00+00:00", "2031-05-03T10:00:00+00:00"]
    assert changes["subtype"] == [None, "festival"] and changes["parent"] == [None, "kaz"]
    assert changes["place"] == [
        {"lat": -21.3, "lon": 55.5},
        {"locality": "Saint-Paul", "lat": -21.0, "lon": 55.25},
    ]
    assert changes["open_edition"] == [False, True]


async def test_history_pages_newest_first(db, make_settings):
    settings = make_settings()
    org = await make_element(db, settings, "organization", "kaz")
    async with db.transaction() as s:
        kaz = await s.get(Actor, org.id)
        for i in range(5):
            await update_element(s, settings, kaz, short_description=f"v{i}")
    async with db.session() as s:
        kaz = await s.get(Actor, org.id)
        first = await history.edits(s, kaz, limit=3)
        assert [e.changes["short_description"][1] for e in first.edits] == ["v4", "v3", "v2"]
        second = await history.edits(s, kaz, before=first.next_before, limit=3)
        assert [e.changes["short_description"][1] for e in second.edits] == ["v1", "v0"]
        assert second.next_before is None and second.editors == {}


async def test_who_may_edit(db, make_settings):
    settings = make_settings()
    marie = await make_person(db, settings, "marie")
    paul = await make_person(db, settings, "paul")
    await make_element(db, settings, "organization", "kaz", admin=marie)
    await make_element(db, settings, "project", "wiki", open_edition=True)
    async with db.session() as s:
        m, p = await s.get(Actor, marie.id), await s.get(Actor, paul.id)
        kaz, wiki = await get_local_actor(s, "kaz"), await get_local_actor(s, "wiki")
        assert (
            await can_edit(s, m, kaz) and not await can_edit(s, p, kaz) and not await can_edit(s, None, kaz)
        )
        assert await can_edit(s, p, wiki) and not await can_edit(s, None, wiki)
        assert await can_edit(s, p, p) and not await can_edit(s, m, p)

"""Editing an element sends Update(actor) to its remote followers."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from coserver.models import Actor, Delivery
from coserver.services.editing import update_element
from coserver.services.elements import add_link
from coserver.services.errors import InvalidInput
from tests.factories import make_element
from tests.federation.helpers import remote_actor


async def test_profile_change_is_delivered_to_remote_followers(db, make_settings):
    settings = make_settings()
    org = await make_element(db, settings, "organization", "kaz")
    bob = await remote_actor(db, "bob", "one.example")
    carol = await remote_actor(db, "carol", "one.example")  # same shared inbox as bob
    dan = await remote_actor(db, "dan", "two.example")
    async with db.transaction() as s:
        for follower in (bob, carol, dan):
            await add_link(s, await s.get(Actor, follower.id), await s.get(Actor, org.id), "follower")
    async with db.transaction() as s:
        changed = await update_element(
            s, settings, await s.get(Actor, org.id), name="Kaz Kompost", tags=["compost", "#Jardin"]
        )
    assert changed == ["name", "tags"]
    async with db.session() as s:
        deliveries = list(await s.scalars(select(Delivery).order_by(Delivery.inbox_url)))
    assert [d.inbox_url for d in deliveries] == ["https://one.example/inbox", "https://two.example/inbox"]
    update = orjson.loads(deliveries[0].body)
    assert update["type"] == "Update" and update["object"]["name"] == "Kaz Kompost"
    assert update["object"]["id"] == org.ap_id and "@context" not in update["object"]
    # No change, no delivery.
    async with db.transaction() as s:
        assert await update_element(s, settings, await s.get(Actor, org.id), name="Kaz Kompost") == []
    async with db.session() as s:
        assert len(list(await s.scalars(select(Delivery)))) == 2


async def test_invalid_edits(db, make_settings):
    settings = make_settings()
    org = await make_element(db, settings, "organization", "kaz")
    async with db.transaction() as s:
        with pytest.raises(InvalidInput):
            await update_element(s, settings, await s.get(Actor, org.id), name="  ")
        with pytest.raises(InvalidInput):
            await update_element(s, settings, await s.get(Actor, org.id), username="other")

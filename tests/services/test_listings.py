"""Home page listings on real PostgreSQL: events under way and to come, recent elements, counts per kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from coserver.models import Actor
from coserver.services import listings
from tests.factories import make_element


async def test_upcoming_events_under_way_then_to_come(db, settings):
    now, day = datetime.now(UTC), timedelta(days=1)
    await make_element(db, settings, "event", "fini", starts_at=now - 3 * day, ends_at=now - 2 * day)
    await make_element(db, settings, "event", "festival", starts_at=now - day, ends_at=now + 2 * day)
    await make_element(db, settings, "event", "concert", starts_at=now + day / 4)
    await make_element(db, settings, "event", "marche", starts_at=now + day)
    secret = await make_element(db, settings, "event", "secret", starts_at=now + day / 8)
    async with db.transaction() as s:
        await s.execute(update(Actor).where(Actor.id == secret.id).values(is_private=True))
    async with db.session() as s:
        names = [e.username for e in await listings.upcoming_events(s, limit=10, now=now)]
        assert names == ["festival", "concert", "marche"]
        two = await listings.upcoming_events(s, limit=2, now=now)
        assert [e.username for e in two] == ["festival", "concert"]


async def test_recent_elements_newest_first_and_counts(db, settings):
    for name in ("asso_un", "asso_deux", "asso_trois"):
        await make_element(db, settings, "organization", name)
    await make_element(db, settings, "project", "projet")
    async with db.session() as s:
        recent = await listings.recent_elements(s, ("organization",), limit=2)
        assert [a.username for a in recent] == ["asso_trois", "asso_deux"]
        counts = await listings.counts_by_kind(s)
    assert counts["organization"] == 3 and counts["project"] == 1 and counts["event"] == 0

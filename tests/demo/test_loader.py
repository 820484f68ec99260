"""The demo territory loads through the services, once, with believable places."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, text

from coserver.demo.loader import demo_data, load_demo, load_demo_if_empty
from coserver.models import Actor, Link


async def test_demo_loads_once(db, make_settings):
    settings = make_settings(database_url=db.url)
    data = demo_data()
    counts = await load_demo(db, settings, today=date(2026, 11, 22))
    assert counts == {
        "people": len(data["people"]),
        "organizations": len(data["organizations"]),
        "projects": len(data["projects"]),
        "events": len(data["events"]),
        "pois": len(data["pois"]),
        "posts": len(data["posts"]),
    }
    assert counts["people"] >= 20 and counts["organizations"] >= 10 and counts["events"] >= 10
    assert await load_demo_if_empty(settings, db=db) is None

    async with db.session() as s:
        # Every place is on La Réunion.
        outside = await s.scalar(
            text(
                "SELECT count(*) FROM places WHERE location IS NOT NULL AND NOT ST_Intersects("
                "location::geometry, ST_MakeEnvelope(55.2, -21.40, 55.85, -20.86, 4326))"
            )
        )
        assert outside == 0
        located = await s.scalar(select(func.count()).select_from(Actor).where(Actor.place_id.is_not(None)))
        assert located >= counts["organizations"] + counts["events"]
        # Every organization has an administrator; sub-events point at their festival.
        orgs_without_admin = await s.scalar(
            select(func.count())
            .select_from(Actor)
            .where(
                Actor.kind == "organization",
                ~select(Link.id).where(Link.object_id == Actor.id, Link.is_admin.is_(True)).exists(),
            )
        )
        assert orgs_without_admin == 0
        sub_events = await s.scalar(
            select(func.count()).select_from(Actor).where(Actor.kind == "event", Actor.parent_id.is_not(None))
        )
        assert sub_events >= 2


async def test_every_demo_page_renders(app, client, settings):
    from tests.factories import app_db

    db = app_db(app)
    await load_demo(db, settings)
    async with db.session() as s:
        usernames = list(await s.scalars(select(Actor.username).where(Actor.is_private.is_(False))))
    home = await client.get("/")
    assert home.status_code == 200
    assert (await home.get_data()).decode().count('data-testid="post-card"') == 8  # the live excerpt
    for username in usernames:
        for tab in ("", "/wall", "/community", "/events", "/map"):
            page = await client.get(f"/@{username}{tab}")
            assert page.status_code == 200, (username, tab)
        api = await client.get(f"/api/v1/elements/{username}")
        assert api.status_code == 200, username


async def test_demo_posts_thread_and_stay_on_the_node(db, make_settings):
    from coserver.models import Delivery, Post

    settings = make_settings(database_url=db.url)
    await load_demo(db, settings)
    async with db.session() as s:
        posts = list(await s.scalars(select(Post)))
        replies = [p for p in posts if p.in_reply_to_id is not None]
        deliveries = await s.scalar(select(func.count()).select_from(Delivery))
    assert len(posts) == len(demo_data()["posts"]) and len(replies) >= 8
    by_id = {p.id: p for p in posts}
    assert all(by_id[r.in_reply_to_id].published_at <= r.published_at for r in replies)
    assert {"public", "restricted", "private"} <= {p.scope for p in posts}
    assert deliveries == 0  # nobody follows from elsewhere yet

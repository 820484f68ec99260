"""Timelines: wall, home, live and hashtag, with scope rules and keyset pagination."""

from __future__ import annotations

from coserver.models import Actor
from coserver.services import timelines
from coserver.services.elements import add_link
from coserver.services.posting import post_on_wall
from tests.factories import make_element, make_person


async def _post(db, settings, author, wall, text, **kw):
    async with db.transaction() as s:
        return await post_on_wall(
            s, settings, await s.get(Actor, author.id), await s.get(Actor, wall.id), text, **kw
        )


async def test_scopes_on_a_wall(db, make_settings):
    settings = make_settings(database_url=db.url)
    marie, paul, zoe = [await make_person(db, settings, n) for n in ("marie", "paul", "zoe")]
    org = await make_element(
        db, settings, "organization", "kaz", admin=marie, lat=-21.34, lon=55.48, locality="Saint-Pierre"
    )
    async with db.transaction() as s:
        await add_link(s, await s.get(Actor, zoe.id), await s.get(Actor, org.id), "follower")
    public = await _post(db, settings, marie, org, "Public #compost")
    restricted = await _post(db, settings, marie, org, "Followers and members", scope="restricted")
    private = await _post(db, settings, marie, org, "Members only", scope="private")
    reply = await _post(db, settings, marie, org, "A comment", in_reply_to=public)
    async with db.session() as s:
        seen = {
            name: [p.id for p in (await timelines.wall(s, org, viewer)).posts]
            for name, viewer in (("anonymous", None), ("paul", paul), ("zoe", zoe), ("marie", marie))
        }
        assert seen["anonymous"] == seen["paul"] == [public.id]
        assert seen["zoe"] == [restricted.id, public.id]  # follower: no private post
        assert seen["marie"] == [private.id, restricted.id, public.id]
        assert [c.id for c in await timelines.comments(s, public, None)] == [reply.id]
        assert [p.id for p in (await timelines.hashtag(s, "#Compost")).posts] == [public.id]
        live = await timelines.live(s, lat=-21.34, lon=55.48, radius_km=5)
        assert [p.id for p in live.posts] == [public.id]
        assert (await timelines.live(s, lat=-20.88, lon=55.45, radius_km=5)).posts == []
        assert [p.id for p in (await timelines.live(s, locality="saint-pierre")).posts] == [public.id]
        home = await timelines.home(s, zoe)
        assert [p.id for p in home.posts] == [reply.id, restricted.id, public.id]  # comments included


async def test_keyset_pagination_has_no_gaps_or_duplicates(db, make_settings):
    settings = make_settings(database_url=db.url)
    paul = await make_person(db, settings, "paul")
    ids = [(await _post(db, settings, paul, paul, f"post {i}")).id for i in range(23)]
    seen, before = [], None
    async with db.session() as s:
        while True:
            page = await timelines.wall(s, paul, None, before=before, limit=10)
            seen += [p.id for p in page.posts]
            if page.next_before is None:
                break
            before = page.next_before
    assert seen == sorted(ids, reverse=True)


async def test_live_radius_shows_local_posts_tied_to_a_place_in_it(db, make_settings):
    from coserver.services import timeline_rows as rows
    from coserver.services.places import PlaceInput

    settings = make_settings(database_url=db.url)
    marie = await make_person(db, settings, "marie")
    north = await make_element(db, settings, "organization", "nord", admin=marie, lat=-20.88, lon=55.45)
    market = PlaceInput(lat=-21.34, lon=55.48, name="Marché de Saint-Pierre")  # 50 km south of the wall
    placed = await _post(db, settings, marie, north, "Troc au marché", place=market)
    unplaced = await _post(db, settings, marie, north, "Réunion au siège")
    async with db.session() as s:
        south = [p.id for p in (await timelines.live(s, lat=-21.34, lon=55.48, radius_km=5)).posts]
        at_wall = [p.id for p in (await timelines.live(s, lat=-20.88, lon=55.45, radius_km=5)).posts]
    assert south == [placed.id]  # by its own place, though its wall is elsewhere
    assert at_wall == [unplaced.id, placed.id]  # the wall's posts, whatever their place
    async with db.raw() as conn:  # the API's compiled query agrees
        page = await rows.fetch(conn, rows.live_query(lat=-21.34, lon=55.48, radius_km=5.0), 20)
    assert [r["id"] for r in page.rows] == [placed.id]

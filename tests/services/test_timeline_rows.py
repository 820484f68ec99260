"""``coserver.services.timeline_rows``: the API's compiled page queries return what the ORM timelines
return (same builders, placeholders instead of values), fold the wall's username and visibility rule in,
and page without gaps."""

from __future__ import annotations

from coserver.models import Actor
from coserver.services import timeline_rows as rows
from coserver.services import timelines
from coserver.services.elements import add_link, can_view, get_local_actor
from coserver.services.posting import post_on_wall
from tests.factories import make_element, make_person


async def _post(db, settings, author, wall, text, **kw):
    async with db.transaction() as s:
        return await post_on_wall(
            s, settings, await s.get(Actor, author.id), await s.get(Actor, wall.id), text, **kw
        )


async def _ids(db, query, limit=20):
    async with db.raw() as conn:
        page = await rows.fetch(conn, query, limit)
    return [r["id"] for r in page.rows], page.next_before


async def _scene(db, settings):
    marie, zoe, paul = [await make_person(db, settings, n) for n in ("marie", "zoe", "paul")]
    org = await make_element(
        db, settings, "organization", "kaz", admin=marie, lat=-21.34, lon=55.48, locality="Saint-Pierre"
    )
    secret = await make_element(db, settings, "project", "secret", admin=marie, is_private=True)
    async with db.transaction() as s:
        await add_link(s, await s.get(Actor, zoe.id), await s.get(Actor, org.id), "follower")
    posts = {
        "public": await _post(db, settings, marie, org, "Public #Compost"),
        "restricted": await _post(db, settings, marie, org, "Followers", scope="restricted"),
        "private": await _post(db, settings, marie, org, "Members", scope="private"),
        "secret": await _post(db, settings, marie, secret, "Inside the private project"),
    }
    return marie, zoe, paul, org, secret, posts


async def test_compiled_queries_return_what_the_orm_timelines_return(db, make_settings):
    settings = make_settings(database_url=db.url)
    marie, zoe, paul, org, _secret, posts = await _scene(db, settings)
    async with db.session() as s:
        for viewer in (None, marie, zoe, paul):
            orm = [p.id for p in (await timelines.wall(s, org, viewer)).posts]
            viewer_id = viewer.id if viewer else None
            assert (await _ids(db, rows.wall_query("@KAZ", viewer_id)))[0] == orm
            orm_tag = [p.id for p in (await timelines.hashtag(s, "compost", viewer)).posts]
            tagged, _ = await _ids(db, rows.hashtag_query("#compost", viewer_id))
            assert tagged == orm_tag == [posts["public"].id]
        for person in (marie, zoe, paul):
            orm = [p.id for p in (await timelines.home(s, person)).posts]
            assert (await _ids(db, rows.home_query(person.id)))[0] == orm
        for area in (
            {"lat": -21.34, "lon": 55.48, "radius_km": 5.0},
            {"lat": -20.88, "lon": 55.45, "radius_km": 5.0},
            {"locality": "SAINT-PIERRE"},
            {"tag": "#COMPOST", "lat": -21.34, "lon": 55.48, "radius_km": 5.0},
            {"tag": "other"},
        ):
            orm = [p.id for p in (await timelines.live(s, **area)).posts]
            assert (await _ids(db, rows.live_query(**area)))[0] == orm, area
    assert (await _ids(db, rows.live_query(lat=-21.34, lon=55.48, radius_km=5.0)))[0] == [posts["public"].id]


async def test_the_wall_lookup_folds_in_the_private_element_rule(db, make_settings):
    settings = make_settings(database_url=db.url)
    marie, zoe, _paul, _org, secret, posts = await _scene(db, settings)
    async with db.raw() as conn:
        for viewer, sees in ((None, False), (zoe, False), (marie, True), (secret, True)):
            viewer_id = viewer.id if viewer else None
            found, params = rows.wall_element_query("secret", viewer_id)
            assert (await found.fetchrow(conn, **params) is not None) is sees
            page = await rows.fetch(conn, rows.wall_query("secret", viewer_id), 20)
            assert [r["id"] for r in page.rows] == ([posts["secret"].id] if sees else [])
            async with db.session() as s:  # the same rule as the ORM's
                element = await get_local_actor(s, "secret")
                assert await can_view(s, viewer, element) is sees
        missing, params = rows.wall_element_query("nobody", marie.id)
        assert await missing.fetchrow(conn, **params) is None


async def test_rows_carry_author_wall_and_place_and_page_without_gaps(db, make_settings):
    settings = make_settings(database_url=db.url)
    paul = await make_person(db, settings, "paul", name="Paul Hoarau")
    ids = [(await _post(db, settings, paul, paul, f"post {i}")).id for i in range(7)]
    seen, before = [], None
    while True:
        page, before = await _ids(db, rows.wall_query("paul", None, before=before, limit=3), limit=3)
        seen += page
        if before is None:
            break
    assert seen == ids[::-1]
    async with db.raw() as conn:
        row = (await rows.fetch(conn, rows.wall_query("paul", None, limit=1), 1)).rows[0]
    assert row["author_username"] == row["wall_username"] == "paul" and row["author_name"] == "Paul Hoarau"
    assert row["author_domain"] is None and row["author_local"] is True and row["place_id"] is None
    assert row["author_url"].endswith("/@paul") or "/paul" in row["author_url"]

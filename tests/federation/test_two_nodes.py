"""Two coserver nodes on two loopback ports: follow by handle, accept, profile update, unfollow."""

from __future__ import annotations

import itertools

import httpx
from sqlalchemy import select

from coserver.models import Actor, Link
from coserver.services.editing import update_element
from federation.following import follow_remote, unfollow_remote
from tests.factories import make_element, make_person
from tests.federation.nodes import live_node, settle

_names = itertools.count(1)
AP = {"Accept": "application/activity+json"}


async def test_follow_accept_update_unfollow(pg_cluster, template_db, make_settings):
    n = next(_names)
    async with (
        live_node(pg_cluster, template_db, f"node_a_{n}", make_settings) as a,
        live_node(pg_cluster, template_db, f"node_b_{n}", make_settings) as b,
    ):
        marie = await make_person(a.db, a.settings, "marie")
        await make_element(a.db, a.settings, "organization", "kaz", name="Kaz Compost", admin=marie)
        paul = await make_person(b.db, b.settings, "paul")

        # Paul, on B, follows @kaz@A by handle (WebFinger over loopback, then a signed fetch of the actor).
        handle = f"@kaz@{a.settings.domain}"
        async with b.db.transaction() as s:
            link = await follow_remote(b.ctx, s, await s.get(Actor, paul.id), handle)
            assert link.state == "to_be_validated"
        await settle(a, b)

        async with b.db.session() as s:
            kaz_on_b = await s.scalar(select(Actor).where(Actor.ap_id == f"{a.base}/actors/kaz"))
            link = await s.scalar(
                select(Link).where(Link.subject_id == paul.id, Link.object_id == kaz_on_b.id)
            )
        assert kaz_on_b.local is False and kaz_on_b.name == "Kaz Compost"
        assert link.state == "accepted"
        async with httpx.AsyncClient() as client:
            followers = (await client.get(f"{a.base}/actors/kaz/followers?page=1", headers=AP)).json()
        assert followers["orderedItems"] == [f"{b.base}/actors/paul"]

        # A profile update on A reaches B.
        async with a.db.transaction() as s:
            kaz = await s.scalar(select(Actor).where(Actor.username == "kaz"))
            await update_element(
                s, a.settings, kaz, name="Kaz Kompost Ravine", short_description="Nouveau nom"
            )
        await settle(a, b)
        async with b.db.session() as s:
            refreshed = await s.get(Actor, kaz_on_b.id)
        assert refreshed.name == "Kaz Kompost Ravine"

        # Unfollow: B sends Undo(Follow), A drops the follower.
        async with b.db.transaction() as s:
            assert await unfollow_remote(b.ctx, s, await s.get(Actor, paul.id), f"{a.base}/actors/kaz")
        await settle(a, b)
        async with a.db.session() as s:
            remaining = await s.scalar(select(Link).where(Link.type == "follower"))
        assert remaining is None


async def test_wall_posts_replies_edits_and_deletes_cross_nodes(pg_cluster, template_db, make_settings):
    from coserver.models import Post
    from coserver.services import timelines
    from coserver.services.places import PlaceInput, load_place
    from coserver.services.posting import delete_post, edit_post, post_on_wall

    n = next(_names)
    async with (
        live_node(pg_cluster, template_db, f"node_a_{n}", make_settings) as a,
        live_node(pg_cluster, template_db, f"node_b_{n}", make_settings) as b,
    ):
        marie = await make_person(a.db, a.settings, "marie")
        await make_element(a.db, a.settings, "organization", "kaz", name="Kaz Compost", admin=marie)
        paul = await make_person(b.db, b.settings, "paul")
        async with b.db.transaction() as s:
            await follow_remote(b.ctx, s, await s.get(Actor, paul.id), f"@kaz@{a.settings.domain}")
        await settle(a, b)

        # Marie posts on the organization's wall on A; the organization relays it (Announce) to Paul on B.
        async with a.db.transaction() as s:
            kaz = await s.scalar(select(Actor).where(Actor.username == "kaz"))
            post = await post_on_wall(
                s,
                a.settings,
                await s.get(Actor, marie.id),
                kaz,
                "Chantier #compost samedi",
                place=PlaceInput(-21.3393, 55.4781, name="Jardin partagé", locality="Saint-Pierre"),
            )
        await settle(a, b)
        async with b.db.session() as s:
            home = await timelines.home(s, await s.get(Actor, paul.id))
            assert [p.ap_id for p in home.posts] == [post.ap_id]
            copy = home.posts[0]
            kaz_on_b = await s.get(Actor, copy.wall_id)
            place, coords = await load_place(s, copy.place_id)  # the Note's location, stored on B
        assert kaz_on_b.ap_id == f"{a.base}/actors/kaz" and "Chantier" in copy.content_html
        assert (place.name, place.locality) == ("Jardin partagé", "Saint-Pierre")
        assert coords is not None and abs(coords[0] + 21.3393) < 1e-9 and abs(coords[1] - 55.4781) < 1e-9

        # Paul replies from B: the comment shows on A.
        async with b.db.transaction() as s:
            reply = await post_on_wall(
                s,
                b.settings,
                await s.get(Actor, paul.id),
                await s.get(Actor, kaz_on_b.id),
                "J'apporte une fourche",
                in_reply_to=await s.get(Post, copy.id),
            )
        await settle(a, b)
        async with a.db.session() as s:
            comment = await s.scalar(select(Post).where(Post.ap_id == reply.ap_id))
            original = await s.get(Post, post.id)
        assert comment is not None and comment.in_reply_to_id == post.id and original.replies_count == 1

        # An edit and a deletion on A propagate to B.
        async with a.db.transaction() as s:
            await edit_post(
                s,
                a.settings,
                await s.get(Actor, marie.id),
                await s.get(Post, post.id),
                "Chantier #compost dimanche",
            )
        await settle(a, b)
        async with b.db.session() as s:
            assert "dimanche" in (await s.get(Post, copy.id)).content_html
        async with a.db.transaction() as s:
            await delete_post(s, a.settings, await s.get(Actor, marie.id), await s.get(Post, post.id))
        await settle(a, b)
        async with b.db.session() as s:
            assert (await s.get(Post, copy.id)).deleted_at is not None

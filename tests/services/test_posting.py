"""Local posting rules, and what leaves the node (Create by the author, Announce by the wall element)."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from coserver.models import Actor, Delivery, Post
from coserver.services.elements import add_link
from coserver.services.errors import Forbidden, InvalidInput
from coserver.services.posting import delete_post, edit_post, post_on_wall
from tests.factories import make_element, make_person
from tests.federation.helpers import remote_actor

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def _deliveries(db) -> list[tuple[str, str, dict]]:
    async with db.session() as s:
        rows = await s.scalars(select(Delivery).order_by(Delivery.id))
        return [(d.inbox_url, orjson.loads(d.body)["type"], orjson.loads(d.body)) for d in rows]


@pytest.fixture
async def territory(db, make_settings):
    settings = make_settings(database_url=db.url)
    marie = await make_person(db, settings, "marie")
    paul = await make_person(db, settings, "paul")
    org = await make_element(db, settings, "organization", "kaz", admin=marie)
    bob = await remote_actor(db, "bob", "one.example")  # follows the organization
    carol = await remote_actor(db, "carol", "two.example")  # follows paul
    async with db.transaction() as s:
        await add_link(s, await s.get(Actor, bob.id), await s.get(Actor, org.id), "follower")
        await add_link(s, await s.get(Actor, carol.id), await s.get(Actor, paul.id), "follower")
        await add_link(s, await s.get(Actor, paul.id), await s.get(Actor, org.id), "member")
    return settings, marie, paul, org


async def test_member_posts_on_org_wall(db, territory):
    settings, marie, paul, org = territory
    async with db.transaction() as s:
        post = await post_on_wall(
            s,
            settings,
            await s.get(Actor, paul.id),
            await s.get(Actor, org.id),
            "Atelier #Compost samedi avec @marie !\n\nVenez nombreux.",
        )
    assert post.tags == ["compost"] and post.mention_ids == [marie.id]
    assert 'class="mention hashtag"' in post.content_html and 'class="u-url mention"' in post.content_html
    sent = await _deliveries(db)
    assert [(inbox, kind) for inbox, kind, _ in sent] == [
        ("https://two.example/inbox", "Create"),  # paul's follower
        ("https://one.example/inbox", "Create"),  # the organization's followers get the post itself...
        ("https://one.example/inbox", "Announce"),  # ...and the organization's relay
    ]
    create, announce = sent[0][2], sent[2][2]
    note = create["object"]
    assert create["actor"] == paul.ap_id and note["attributedTo"] == paul.ap_id
    assert note["audience"] == org.ap_id and note["to"] == [PUBLIC]
    assert set(note["cc"]) >= {paul.followers_url, org.followers_url, marie.ap_id}
    assert {"type": "Hashtag", "name": "#compost", "href": "http://127.0.0.1:8000/tags/compost"} in note[
        "tag"
    ]
    assert announce["actor"] == org.ap_id and announce["object"] == post.ap_id


async def test_posting_rules(db, territory):
    settings, marie, paul, org = territory
    stranger = await make_person(db, settings, "stranger")
    async with db.transaction() as s:
        with pytest.raises(Forbidden):
            await post_on_wall(
                s, settings, await s.get(Actor, stranger.id), await s.get(Actor, org.id), "Hello"
            )
        with pytest.raises(Forbidden):
            await post_on_wall(
                s, settings, await s.get(Actor, paul.id), await s.get(Actor, org.id), "x", as_element=True
            )
        with pytest.raises(InvalidInput):
            await post_on_wall(s, settings, await s.get(Actor, paul.id), await s.get(Actor, paul.id), "   ")
        with pytest.raises(InvalidInput):
            await post_on_wall(
                s, settings, await s.get(Actor, paul.id), await s.get(Actor, paul.id), "x", scope="secret"
            )
    async with db.transaction() as s:
        post = await post_on_wall(
            s,
            settings,
            await s.get(Actor, marie.id),
            await s.get(Actor, org.id),
            "Communiqué",
            as_element=True,
        )
    create = next(body for _, kind, body in await _deliveries(db) if kind == "Create")
    assert create["actor"] == org.ap_id and create["object"]["attributedTo"] == org.ap_id
    assert post.as_element


async def test_private_posts_never_leave_and_restricted_go_to_followers(db, territory):
    settings, _marie, paul, org = territory
    async with db.transaction() as s:
        await post_on_wall(
            s,
            settings,
            await s.get(Actor, paul.id),
            await s.get(Actor, org.id),
            "Entre nous",
            scope="private",
        )
    assert await _deliveries(db) == []
    async with db.transaction() as s:
        await post_on_wall(
            s, settings, await s.get(Actor, paul.id), await s.get(Actor, paul.id), "Amis", scope="restricted"
        )
    ((_inbox, kind, body),) = await _deliveries(db)
    assert kind == "Create" and PUBLIC not in body["to"] + body["cc"] and body["to"] == [paul.followers_url]


async def test_edit_and_delete(db, territory):
    settings, marie, paul, _org = territory
    async with db.transaction() as s:
        post = await post_on_wall(s, settings, await s.get(Actor, paul.id), await s.get(Actor, paul.id), "v1")
    async with db.transaction() as s:
        with pytest.raises(Forbidden):
            await edit_post(s, settings, await s.get(Actor, marie.id), await s.get(Post, post.id), "hacked")
        edited = await edit_post(
            s, settings, await s.get(Actor, paul.id), await s.get(Post, post.id), "v2 #vélo"
        )
    assert edited.tags == ["vélo"] and edited.edited_at is not None
    async with db.transaction() as s:
        await delete_post(s, settings, await s.get(Actor, paul.id), await s.get(Post, post.id))
    kinds = [(kind, body["object"].get("type")) for _, kind, body in await _deliveries(db)]
    assert kinds == [("Create", "Note"), ("Update", "Note"), ("Delete", "Tombstone")]
    update = (await _deliveries(db))[1][2]
    assert update["object"]["updated"] and "v2" in update["object"]["content"]

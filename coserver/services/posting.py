"""Local posting on walls: who may post where, rendering, editing and deleting; federation through
``federation.outbox`` in the same transaction.

Rules (Communecter's): a person posts on their own wall; accepted members / contributors / attendees post on
an organization's / project's / event's wall; an admin of the element may post *as* the element. The author
or an admin of the wall edits and deletes. Scopes: ``public``; ``restricted`` (followers and members);
``private`` (members only — never leaves the node). A public post may be tied to a place (a point, with
a name or locality): it federates as the Note's ``location``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.config import Settings
from coserver.models import Actor, Link, Place, Post
from coserver.models.posts import POST_SCOPES
from coserver.models.vocab import MEMBERSHIP_TYPE
from coserver.services.elements import is_member
from coserver.services.errors import Forbidden, InvalidInput, NotFound
from coserver.services.places import PlaceInput, create_place
from coserver.text.render import render_text
from coserver.urls import tag_url
from federation import outbox

MAX_POST_LENGTH = 5_000


async def is_admin(session: AsyncSession, person: Actor | None, element: Actor) -> bool:
    if person is None:
        return False
    if person.id == element.id:
        return True
    link_type = MEMBERSHIP_TYPE.get(element.kind)
    if link_type is None:
        return False
    found = await session.scalar(
        select(Link.id).where(
            Link.subject_id == person.id,
            Link.object_id == element.id,
            Link.type == link_type,
            Link.state == "accepted",
            Link.is_admin.is_(True),
        )
    )
    return found is not None


async def can_post_on(session: AsyncSession, author: Actor, wall: Actor) -> bool:
    if not author.local or author.kind != "person" or not wall.local:
        return False
    if author.id == wall.id:
        return True
    return wall.kind in MEMBERSHIP_TYPE and await is_member(session, author, wall)


async def _local_mentions(
    session: AsyncSession, handles: tuple[str, ...], settings: Settings
) -> dict[str, Actor]:
    """``@username`` (or ``@username@our.domain``) handles of local actors."""
    names = {}
    for handle in handles:
        user, _, domain = handle.lstrip("@").partition("@")
        if not domain or domain.lower() == settings.domain.lower():
            names[user.lower()] = handle
    if not names:
        return {}
    rows = await session.scalars(
        select(Actor).where(Actor.local.is_(True), func.lower(Actor.username).in_(list(names)))
    )
    return {names[a.username.lower()]: a for a in rows}


async def _render(
    session: AsyncSession, settings: Settings, source: str, remote_mentions: Mapping[str, Actor]
) -> tuple[str, list[str], list[Actor]]:
    source = source.strip()
    if not source:
        raise InvalidInput("a post needs some text", field="text")
    if len(source) > MAX_POST_LENGTH:
        raise InvalidInput(f"a post has at most {MAX_POST_LENGTH} characters", field="text")
    first = render_text(source, hashtag_url=lambda tag: tag_url(settings, tag))
    mentioned = {**await _local_mentions(session, first.mentions, settings), **remote_mentions}
    rendered = render_text(
        source,
        mentions={h: (a.profile_url or a.ap_id) for h, a in mentioned.items()},
        hashtag_url=lambda tag: tag_url(settings, tag),
    )
    actors = list({a.id: a for a in mentioned.values()}.values())
    return rendered.html, list(rendered.hashtags), actors


def _checked_place(place: PlaceInput | None, scope: str) -> PlaceInput | None:
    """The post's place, validated (None for no place): public posts only, with a point."""
    if place is None or place.empty:
        return None
    if scope != "public":
        raise InvalidInput("only a public post can be tied to a place", field="place")
    if place.lat is None or place.lon is None:
        raise InvalidInput("a place needs a latitude and a longitude", field="place")
    try:
        place.validate()
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field="place") from None
    if not (place.name or place.locality):
        place.name = f"{place.lat:.5f}, {place.lon:.5f}"
    return place


async def post_on_wall(
    session: AsyncSession,
    settings: Settings,
    author: Actor,
    wall: Actor,
    source: str,
    *,
    scope: str = "public",
    as_element: bool = False,
    in_reply_to: Post | None = None,
    remote_mentions: Mapping[str, Actor] | None = None,
    place: PlaceInput | None = None,
) -> Post:
    """Publish ``source`` (plain text) on ``wall``, optionally tied to ``place`` (public posts only).
    Flushes and enqueues deliveries; the caller commits."""
    if scope not in POST_SCOPES:
        raise InvalidInput(f"scope is one of {', '.join(POST_SCOPES)}", field="scope")
    place = _checked_place(place, scope)
    if in_reply_to is None and not await can_post_on(session, author, wall):
        raise Forbidden("you may not post on this wall", field="wall")
    if as_element and (wall.id == author.id or not await is_admin(session, author, wall)):
        raise Forbidden("only an admin posts in the element's name", field="as_element")
    html, tags, mentioned = await _render(session, settings, source, remote_mentions or {})
    post_id = await session.scalar(text("SELECT nextval(pg_get_serial_sequence('posts', 'id'))"))
    ap_id = settings.url(f"/posts/{post_id}")
    post = Post(
        id=post_id,
        ap_id=ap_id,
        local=True,
        author_id=author.id,
        wall_id=wall.id,
        as_element=as_element,
        scope=scope,
        source=source.strip(),
        content_html=html,
        tags=tags,
        mention_ids=[a.id for a in mentioned],
        url=ap_id,
        in_reply_to_id=in_reply_to.id if in_reply_to else None,
        in_reply_to_ap_id=in_reply_to.ap_id if in_reply_to else None,
        root_id=(in_reply_to.root_id or in_reply_to.id) if in_reply_to else None,
        place_id=(await create_place(session, place)).id if place is not None else None,
    )
    session.add(post)
    await session.flush()
    if in_reply_to is not None:
        await session.execute(
            update(Post).where(Post.id == in_reply_to.id).values(replies_count=Post.replies_count + 1)
        )
    await outbox.publish_post(
        session, settings, post, author=author, wall=wall, mentioned=mentioned, parent=in_reply_to
    )
    return post


async def _editable(session: AsyncSession, person: Actor, post: Post) -> Actor:
    if post.deleted_at is not None or not post.local:
        raise NotFound("no such post", field="post")
    wall = await session.get(Actor, post.wall_id)
    assert wall is not None
    if post.author_id != person.id and not await is_admin(session, person, wall):
        raise Forbidden("only the author or an admin of the wall may change this post")
    return wall


async def edit_post(
    session: AsyncSession,
    settings: Settings,
    person: Actor,
    post: Post,
    source: str,
    *,
    place: PlaceInput | None = None,
) -> Post:
    """Change the text; ``place``: None keeps the post's place, an empty :class:`PlaceInput` removes it,
    another one replaces it."""
    wall = await _editable(session, person, post)
    html, tags, mentioned = await _render(session, settings, source, {})
    if place is not None:
        checked = _checked_place(place, post.scope)
        old_place_id = post.place_id
        post.place_id = (await create_place(session, checked)).id if checked is not None else None
        if old_place_id is not None:
            await session.flush()
            old = await session.get(Place, old_place_id)  # the post's own row (never shared)
            if old is not None:
                await session.delete(old)
    post.source, post.content_html, post.tags = source.strip(), html, tags
    post.mention_ids = [a.id for a in mentioned]
    post.edited_at = datetime.now(UTC)
    await session.flush()
    author = await session.get(Actor, post.author_id)
    assert author is not None
    await outbox.publish_post(
        session, settings, post, author=author, wall=wall, mentioned=mentioned, parent=None, kind="Update"
    )
    return post


async def delete_post(session: AsyncSession, settings: Settings, person: Actor, post: Post) -> None:
    wall = await _editable(session, person, post)
    post.deleted_at = datetime.now(UTC)
    await session.flush()
    author = await session.get(Actor, post.author_id)
    assert author is not None
    await outbox.publish_post(
        session, settings, post, author=author, wall=wall, mentioned=[], parent=None, kind="Delete"
    )

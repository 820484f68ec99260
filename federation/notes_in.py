"""Posts coming from the fediverse: replies become comments, followed actors' posts reach home timelines,
reactions and shares of our posts are counted. Unsolicited posts are not stored.

Rules (Mastodon's, adapted): the Note must live on its author's server and be attributed to the sender; it
is kept when it replies to a post we have, mentions a local actor, or comes from an actor a local person
follows. Incoming HTML is sanitised to Mastodon's allowlist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Actor, Link, Post, Reaction, Share
from coserver.services.places import PlaceInput, create_place
from coserver.text.sanitize import sanitize_html, sanitize_plain
from federation.converters.place import place_from_as
from federation.vocabulary import is_public


class NotKept(ValueError):
    """The object is valid but not for us (unsolicited, foreign host, unknown target)."""


def _host(url: str) -> str:
    return (urlsplit(url).netloc or "").lower()


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _content(note: dict[str, Any]) -> str:
    content = note.get("content")
    if not isinstance(content, str) and isinstance(note.get("contentMap"), dict):
        content = next((v for v in note["contentMap"].values() if isinstance(v, str)), "")
    return sanitize_html(content if isinstance(content, str) else "")


async def _local_post(session: AsyncSession, ap_id: str | None) -> Post | None:
    if ap_id is None:
        return None
    return await session.scalar(select(Post).where(Post.ap_id == ap_id, Post.deleted_at.is_(None)))


async def _followed_locally(session: AsyncSession, actor: Actor) -> bool:
    return bool(
        await session.scalar(
            select(
                exists().where(
                    Link.object_id == actor.id,
                    Link.type == "follower",
                    Link.state == "accepted",
                    Link.subject_id.in_(select(Actor.id).where(Actor.local.is_(True))),
                )
            )
        )
    )


async def receive_note(
    session: AsyncSession, actor: Actor, note: dict[str, Any], *, relayed_by: Actor | None = None
) -> Post:
    """Store a remote Note if it concerns us (see the module docstring). ``relayed_by``: who announced it."""
    note_id = _id(note)
    if note_id is None or _host(note_id) != _host(actor.ap_id):
        raise NotKept("a post must be hosted by its author's server")
    if _id(note.get("attributedTo")) not in (None, actor.ap_id):
        raise NotKept("the post is attributed to someone else")
    existing = await session.scalar(select(Post).where(Post.ap_id == note_id))
    if existing is not None:
        return existing
    parent = await _local_post(session, _id(note.get("inReplyTo")))
    mentioned = [
        _id(t.get("href"))
        for t in _list(note.get("tag"))
        if isinstance(t, dict) and t.get("type") == "Mention"
    ]
    local_mentions = (
        list(
            await session.scalars(
                select(Actor.id).where(Actor.local.is_(True), Actor.ap_id.in_([m for m in mentioned if m]))
            )
        )
        if mentioned
        else []
    )
    audience = (
        await session.scalar(select(Actor).where(Actor.ap_id == _id(note.get("audience"))))
        if _id(note.get("audience"))
        else None
    )
    wanted = (
        parent is not None
        or local_mentions
        or await _followed_locally(session, actor)
        or (audience is not None and await _followed_locally(session, audience))
        or (relayed_by is not None and await _followed_locally(session, relayed_by))
    )
    if not wanted:
        raise NotKept("unsolicited post")
    wall_id = parent.wall_id if parent else (audience.id if audience is not None else actor.id)
    addressed = _list(note.get("to")) + _list(note.get("cc"))
    tags = [
        sanitize_plain(t["name"], 64).lstrip("#").lower()
        for t in _list(note.get("tag"))
        if isinstance(t, dict) and t.get("type") == "Hashtag" and isinstance(t.get("name"), str)
    ]
    post = Post(
        ap_id=note_id,
        local=False,
        author_id=actor.id,
        wall_id=wall_id,
        scope="public" if is_public(addressed) else "restricted",
        content_html=_content(note),
        summary=sanitize_plain(note["summary"], 500) or None
        if isinstance(note.get("summary"), str)
        else None,
        tags=[t for t in dict.fromkeys(tags) if t][:30],
        mention_ids=local_mentions,
        in_reply_to_id=parent.id if parent else None,
        in_reply_to_ap_id=_id(note.get("inReplyTo")),
        root_id=(parent.root_id or parent.id) if parent else None,
        url=note["url"] if isinstance(note.get("url"), str) else note_id,
        raw=note,
        published_at=_when(note.get("published")) or datetime.now(UTC),
    )
    place = place_from_as(note.get("location"))
    if place and place.get("lat") is not None:
        post.place_id = (await create_place(session, PlaceInput(**place))).id
    session.add(post)
    await session.flush()
    if parent is not None:
        await session.execute(
            update(Post).where(Post.id == parent.id).values(replies_count=Post.replies_count + 1)
        )
    return post


async def update_note(session: AsyncSession, actor: Actor, note: dict[str, Any]) -> bool:
    post = await session.scalar(select(Post).where(Post.ap_id == _id(note), Post.author_id == actor.id))
    if post is None or post.local:
        return False
    updated = _when(note.get("updated"))
    if updated is None or (post.edited_at and updated <= post.edited_at):
        return False  # Mastodon: an Update without a newer `updated` changes nothing
    post.content_html, post.edited_at, post.raw = _content(note), updated, note
    place = place_from_as(note.get("location"))
    if place and place.get("lat") is not None:
        post.place_id = (await create_place(session, PlaceInput(**place))).id
    else:
        post.place_id = None
    return True


async def delete_note(session: AsyncSession, actor: Actor, note_id: str) -> bool:
    post = await session.scalar(select(Post).where(Post.ap_id == note_id, Post.author_id == actor.id))
    if post is None or post.local or post.deleted_at is not None:
        return False
    post.deleted_at = datetime.now(UTC)
    if post.in_reply_to_id:
        await session.execute(
            update(Post)
            .where(Post.id == post.in_reply_to_id)
            .values(replies_count=func.greatest(Post.replies_count - 1, 0))
        )
    return True


async def _recount(session: AsyncSession, post_id: int) -> None:
    likes = select(func.count()).select_from(Reaction).where(Reaction.post_id == post_id).scalar_subquery()
    shares = select(func.count()).select_from(Share).where(Share.post_id == post_id).scalar_subquery()
    await session.execute(
        update(Post).where(Post.id == post_id).values(likes_count=likes, shares_count=shares)
    )


async def react(session: AsyncSession, actor: Actor, activity: dict[str, Any]) -> bool:
    """``Like`` (optionally with ``content``, Misskey-style) or ``EmojiReact`` of one of our posts."""
    post = await _local_post(session, _id(activity.get("object")))
    if post is None or not post.local:
        raise NotKept("reaction to a post that is not ours")
    emoji = activity.get("content") if isinstance(activity.get("content"), str) else ""
    emoji = sanitize_plain(emoji, 64)
    exists_already = await session.scalar(
        select(Reaction.id).where(
            Reaction.post_id == post.id, Reaction.actor_id == actor.id, Reaction.emoji == emoji
        )
    )
    if exists_already is None:
        session.add(Reaction(post_id=post.id, actor_id=actor.id, emoji=emoji, ap_id=_id(activity)))
        await session.flush()
        await _recount(session, post.id)
    return True


async def share(session: AsyncSession, actor: Actor, activity: dict[str, Any]) -> bool:
    post = await _local_post(session, _id(activity.get("object")))
    if post is None or not post.local:
        raise NotKept("share of a post that is not ours")
    if (
        await session.scalar(select(Share.id).where(Share.post_id == post.id, Share.actor_id == actor.id))
        is None
    ):
        session.add(Share(post_id=post.id, actor_id=actor.id, ap_id=_id(activity)))
        await session.flush()
        await _recount(session, post.id)
    return True


async def undo_interaction(session: AsyncSession, actor: Actor, inner: dict[str, Any]) -> bool:
    """Undo of a Like / EmojiReact / Announce (the original embedded, or its id)."""
    model = Share if inner.get("type") == "Announce" else Reaction
    conditions = [model.actor_id == actor.id]
    if _id(inner):
        conditions.append(model.ap_id == _id(inner))
    else:
        post = await _local_post(session, _id(inner.get("object")))
        if post is None:
            return False
        conditions.append(model.post_id == post.id)
    post_ids = list(await session.scalars(select(model.post_id).where(*conditions)))
    if not post_ids:
        return False
    await session.execute(delete(model).where(*conditions))
    for post_id in set(post_ids):
        await _recount(session, post_id)
    return True

"""Publishing: turning a local change into durable ``Delivery`` rows, in the caller's transaction.

The activity is serialised once; each row holds those exact bytes (the Digest is computed over them at send
time). Recipients are deduplicated by shared inbox. Local recipients get no HTTP: they are handled by the
services directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.config import Settings
from coserver.models import Actor, Delivery


def inbox_for(recipient: Actor) -> str | None:
    """Where to POST for ``recipient``: its shared inbox when it has one."""
    return recipient.shared_inbox_url or recipient.inbox_url


def unique_inboxes(recipients: Iterable[Actor]) -> list[str]:
    seen: dict[str, None] = {}
    for actor in recipients:
        if actor.local:
            continue
        inbox = inbox_for(actor)
        if inbox:
            seen.setdefault(inbox, None)
    return list(seen)


async def enqueue(
    session: AsyncSession, sender: Actor, activity: dict[str, Any], inboxes: Iterable[str]
) -> int:
    """Insert one pending delivery per inbox (idempotent per activity id and inbox). Returns rows added."""
    body = orjson.dumps(activity)
    rows = [
        {
            "actor_id": sender.id,
            "activity_id": activity["id"],
            "inbox_url": inbox,
            "domain": (urlsplit(inbox).hostname or "").lower(),
            "body": body,
        }
        for inbox in dict.fromkeys(inboxes)
    ]
    if not rows:
        return 0
    added = 0
    for start in range(0, len(rows), 1000):
        stmt = (
            insert(Delivery)
            .values(rows[start : start + 1000])
            .on_conflict_do_nothing(constraint="uq_deliveries_activity_inbox")
        )
        result = await session.execute(stmt)
        added += result.rowcount or 0
    return added


# -- publishing follows and profile changes --------------------------------------------------------------
async def remote_follower_inboxes(session: AsyncSession, actor: Actor) -> list[str]:
    """Shared (or personal) inboxes of the accepted remote followers of ``actor``."""
    from sqlalchemy import func, select

    from coserver.models import Link

    stmt = (
        select(func.coalesce(Actor.shared_inbox_url, Actor.inbox_url))
        .join(Link, Link.subject_id == Actor.id)
        .where(
            Link.object_id == actor.id,
            Link.type == "follower",
            Link.state == "accepted",
            Actor.local.is_(False),
            Actor.deleted_at.is_(None),
        )
        .distinct()
    )
    return [row for row in await session.scalars(stmt) if row]


async def publish_accept(
    session: AsyncSession, target: Actor, follower: Actor, follow: dict[str, Any]
) -> None:
    from federation.converters.activities import accept

    if not follower.local:
        await enqueue(session, target, accept(target.ap_id, follow), [follower.inbox_url or ""])


async def publish_reject(
    session: AsyncSession, target: Actor, follower: Actor, follow: dict[str, Any]
) -> None:
    from federation.converters.activities import reject

    if not follower.local:
        await enqueue(session, target, reject(target.ap_id, follow), [follower.inbox_url or ""])


async def publish_follow(session: AsyncSession, person: Actor, remote: Actor) -> dict[str, Any]:
    from federation.converters.activities import follow

    activity = follow(person.ap_id, remote.ap_id)
    await enqueue(session, person, activity, [remote.inbox_url or ""])
    return activity


async def publish_undo(session: AsyncSession, person: Actor, remote: Actor, activity: dict[str, Any]) -> None:
    from federation.converters.activities import undo

    await enqueue(session, person, undo(person.ap_id, activity), [remote.inbox_url or ""])


async def publish_actor_update(session: AsyncSession, settings: Settings, actor: Actor) -> int:
    """``Update(actor)`` to every remote follower (after any public profile change)."""
    from federation.converters.activities import update_actor
    from federation.documents import actor_document

    inboxes = await remote_follower_inboxes(session, actor)
    if not inboxes:
        return 0
    doc = await actor_document(session, settings, actor)
    return await enqueue(session, actor, update_actor(doc, actor.followers_url), inboxes)


# -- posts -----------------------------------------------------------------------------------------------
async def _actor_inboxes(session: AsyncSession, actors: list[Actor]) -> list[str]:
    return unique_inboxes(a for a in actors if not a.local)


async def publish_post(
    session: AsyncSession,
    settings: Settings,
    post: Any,
    *,
    author: Actor,
    wall: Actor,
    mentioned: list[Actor],
    parent: Any | None,
    kind: str = "Create",
) -> int:
    """Create / Update / Delete of a local post, and the wall element's Announce (FEP-1b12 relay).

    Private posts never leave the node. Returns the number of deliveries enqueued.
    """
    from coserver.services.places import load_place
    from federation.converters.note import addressing, attributed_to, note_to_as, tombstone
    from federation.vocabulary import AS_CONTEXT, CONTEXT, PUBLIC

    if post.scope == "private":
        return 0
    attributed = attributed_to(post, author, wall)
    to, cc = addressing(post, attributed, wall, mentioned)
    inboxes = await remote_follower_inboxes(session, attributed)
    inboxes += await _actor_inboxes(session, mentioned)
    if parent is not None and not parent.local:
        parent_author = await session.get(Actor, parent.author_id)
        if parent_author is not None:
            inboxes += await _actor_inboxes(session, [parent_author])
    relay = wall.id != attributed.id and wall.kind != "person"
    wall_inboxes = await remote_follower_inboxes(session, wall) if relay else []
    place, coords = await load_place(session, post.place_id) if kind != "Delete" else (None, None)
    note = note_to_as(
        post,
        author=author,
        wall=wall,
        mentioned=mentioned,
        settings=settings,
        parent_ap_id=parent.ap_id if parent is not None else None,
        with_context=False,
        place=place,
        coords=coords,
    )
    if kind == "Create":
        activity = {
            "@context": CONTEXT,
            "id": f"{post.ap_id}/activity",
            "type": "Create",
            "actor": attributed.ap_id,
            "published": note["published"],
            "to": to,
            "cc": cc,
            "object": note,
        }
    elif kind == "Update":
        activity = {
            "@context": CONTEXT,
            "id": f"{post.ap_id}#updates/{post.edited_at.timestamp() * 1e6:.0f}",
            "type": "Update",
            "actor": attributed.ap_id,
            "to": to,
            "cc": cc,
            "object": note,
        }
    else:
        activity = {
            "@context": AS_CONTEXT,
            "id": f"{post.ap_id}#delete",
            "type": "Delete",
            "actor": attributed.ap_id,
            "to": to,
            "cc": cc,
            "object": tombstone(post),
        }
    # The wall's followers get the post itself too (as Lemmy does for groups): servers that accept it from
    # a non-followed author show it, the others show the Announce; edits and deletions reach both.
    inboxes += wall_inboxes
    count = await enqueue(session, attributed, activity, inboxes)
    if relay and kind == "Create" and wall_inboxes:
        public = post.scope == "public"
        announce = {
            "@context": AS_CONTEXT,
            "id": f"{post.ap_id}/activity/announce",
            "type": "Announce",
            "actor": wall.ap_id,
            "published": note["published"],
            "object": post.ap_id,
            "to": [PUBLIC] if public else [wall.followers_url],
            "cc": [wall.followers_url] if public else [],
        }
        count += await enqueue(session, wall, announce, wall_inboxes)
    return count


async def publish_reaction(
    session: AsyncSession, person: Actor, post: Any, emoji: str, activity_id: str
) -> int:
    """``Like`` (or ``EmojiReact`` with an emoji) of a post, sent to its remote author."""
    from federation.vocabulary import AS_CONTEXT

    author = await session.get(Actor, post.author_id)
    if author is None or author.local:
        return 0
    activity: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "EmojiReact" if emoji else "Like",
        "actor": person.ap_id,
        "object": post.ap_id,
    }
    if emoji:
        activity["content"] = emoji
    return await enqueue(session, person, activity, unique_inboxes([author]))


async def publish_share(session: AsyncSession, person: Actor, post: Any, activity_id: str) -> int:
    """``Announce`` of a public post to the sharer's remote followers and the post's remote author."""
    from federation.vocabulary import AS_CONTEXT, PUBLIC

    author = await session.get(Actor, post.author_id)
    inboxes = await remote_follower_inboxes(session, person)
    if author is not None and not author.local:
        inboxes += unique_inboxes([author])
    activity = {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Announce",
        "actor": person.ap_id,
        "object": post.ap_id,
        "to": [PUBLIC],
        "cc": [u for u in (person.followers_url, author.ap_id if author else None) if u],
    }
    return await enqueue(session, person, activity, inboxes)

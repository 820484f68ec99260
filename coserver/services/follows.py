"""Follows, in both directions: remote (or local) actors following our elements, and local people following
remote accounts. A follow is a ``Link`` of type ``follower`` from the follower to the followed actor;
``to_be_validated`` while it awaits approval.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.config import Settings
from coserver.models import Actor, Link
from coserver.services.errors import Forbidden, InvalidInput, NotFound
from federation import outbox


async def _follow_link(session: AsyncSession, follower: Actor, target: Actor) -> Link | None:
    return await session.scalar(
        select(Link).where(
            Link.subject_id == follower.id, Link.object_id == target.id, Link.type == "follower"
        )
    )


async def receive_follow(
    session: AsyncSession, follower: Actor, target: Actor, activity: dict[str, Any] | None = None
) -> Link:
    """``follower`` asks to follow the local ``target``: accepted at once unless the target approves follows.

    A repeated Follow (peers resend when stuck) updates the stored activity and re-sends the answer.
    """
    if not target.local:
        raise InvalidInput("only local actors can be followed here", field="object")
    if target.is_private or target.kind == "application" or target.deleted_at is not None:
        raise Forbidden("this actor cannot be followed", field="object")
    link = await _follow_link(session, follower, target)
    activity_id = activity.get("id") if activity else None
    if link is None:
        link = Link(subject_id=follower.id, object_id=target.id, type="follower")
        session.add(link)
        link.state = "to_be_validated" if target.manually_approves_followers else "accepted"
    elif link.state != "accepted" and not target.manually_approves_followers:
        link.state = "accepted"
    if activity is not None:
        link.activity = activity
        if activity_id and activity_id != link.activity_id:
            taken = await session.scalar(select(Link.id).where(Link.activity_id == activity_id))
            link.activity_id = None if taken else activity_id
    await session.flush()
    if link.state == "accepted" and activity is not None:
        await outbox.publish_accept(session, target, follower, activity)
    return link


async def pending_follow_requests(session: AsyncSession, target: Actor) -> list[tuple[Actor, Link]]:
    rows = await session.execute(
        select(Actor, Link)
        .join(Link, Link.subject_id == Actor.id)
        .where(Link.object_id == target.id, Link.type == "follower", Link.state == "to_be_validated")
        .order_by(Link.created_at)
    )
    return [(a, link) for a, link in rows.all()]


async def decide_follow_request(
    session: AsyncSession, target: Actor, follower: Actor, *, accept: bool
) -> None:
    """An admin of ``target`` accepts or rejects a pending follow request."""
    link = await _follow_link(session, follower, target)
    if link is None or link.state != "to_be_validated":
        raise NotFound("no pending follow request from this actor")
    activity = link.activity or {
        "id": link.activity_id,
        "type": "Follow",
        "actor": follower.ap_id,
        "object": target.ap_id,
    }
    if accept:
        link.state = "accepted"
        await outbox.publish_accept(session, target, follower, activity)
    else:
        await session.delete(link)
        await outbox.publish_reject(session, target, follower, activity)
    await session.flush()


async def undo_follow(session: AsyncSession, follower: Actor, target: Actor) -> bool:
    """The follower stops following (Undo Follow received, or a local unfollow of a local element)."""
    result = await session.execute(
        delete(Link).where(
            Link.subject_id == follower.id, Link.object_id == target.id, Link.type == "follower"
        )
    )
    return bool(result.rowcount)


async def remove_follower(session: AsyncSession, target: Actor, follower: Actor) -> bool:
    """Drop ``follower`` from ``target``'s followers (e.g. when it blocks us)."""
    return await undo_follow(session, follower, target)


# -- local people following remote accounts ----------------------------------------------------------------
async def follow(session: AsyncSession, settings: Settings, person: Actor, target: Actor) -> Link:
    """``person`` (local) follows ``target``: local targets are linked at once, remote ones get a Follow."""
    if not person.local or person.kind != "person":
        raise Forbidden("only local people follow from here")
    if person.id == target.id:
        raise InvalidInput("one does not follow oneself", field="target")
    if target.local:
        return await receive_follow(session, person, target, None)
    link = await _follow_link(session, person, target)
    if link is not None and link.state == "accepted":
        return link
    activity = await outbox.publish_follow(session, person, target)
    if link is None:
        link = Link(subject_id=person.id, object_id=target.id, type="follower")
        session.add(link)
    link.state, link.activity_id, link.activity = "to_be_validated", activity["id"], activity
    await session.flush()
    return link


async def unfollow(session: AsyncSession, person: Actor, target: Actor) -> bool:
    link = await _follow_link(session, person, target)
    if link is None:
        return False
    if not target.local and link.activity:
        await outbox.publish_undo(session, person, target, link.activity)
    await session.delete(link)
    await session.flush()
    return True


async def follow_answered(session: AsyncSession, remote: Actor, follow_ref: Any, *, accepted: bool) -> bool:
    """A remote actor answered one of our Follows (``follow_ref``: its id, or the embedded Follow)."""
    follow_id = follow_ref.get("id") if isinstance(follow_ref, dict) else follow_ref
    link = None
    if isinstance(follow_id, str):
        link = await session.scalar(
            select(Link).where(Link.activity_id == follow_id, Link.object_id == remote.id)
        )
    if link is None and isinstance(follow_ref, dict):
        # Mastodon also matches on the embedded Follow's actor.
        local_id = follow_ref.get("actor")
        if isinstance(local_id, str):
            link = await session.scalar(
                select(Link)
                .join(Actor, Actor.id == Link.subject_id)
                .where(
                    Actor.ap_id == local_id,
                    Actor.local.is_(True),
                    Link.object_id == remote.id,
                    Link.type == "follower",
                )
            )
    if link is None:
        return False
    if accepted:
        link.state = "accepted"
    else:
        await session.delete(link)
    await session.flush()
    return True

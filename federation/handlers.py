"""Processing stored inbox items: one handler per activity type, calling services.

Run by the worker inside a savepoint and with a timeout. A handler raises :class:`Ignore` for activities we
store but do not act upon (unknown types, objects that are not ours); any other exception makes the worker
retry the item later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Actor, InboxItem, Link
from coserver.services import follows
from coserver.services.errors import ServiceError
from federation import notes_in, outbox
from federation.context import FederationContext
from federation.converters.actor import InvalidActor, actor_from_as
from federation.fetch import FetchError, fetch_document, get_actor, upsert_remote_actor
from federation.remote_events import NotOurs, delete_remote_event, upsert_remote_event

NOTE_TYPES = ("Note", "Article", "Page", "Question")


class Ignore(Exception):
    """The activity is valid but nothing is to be done with it."""


Handler = Callable[[FederationContext, AsyncSession, dict[str, Any], Actor], Awaitable[None]]


def object_id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


async def _local(session: AsyncSession, ap_id: str | None) -> Actor | None:
    if ap_id is None:
        return None
    return await session.scalar(select(Actor).where(Actor.ap_id == ap_id, Actor.local.is_(True)))


async def on_follow(
    ctx: FederationContext, session: AsyncSession, activity: dict[str, Any], actor: Actor
) -> None:
    target = await _local(session, object_id(activity.get("object")))
    if target is None:
        raise Ignore("Follow of an actor that is not ours")
    try:
        await follows.receive_follow(session, actor, target, activity)
    except ServiceError:
        await outbox.publish_reject(session, target, actor, activity)


async def on_undo(
    ctx: FederationContext, session: AsyncSession, activity: dict[str, Any], actor: Actor
) -> None:
    inner = activity.get("object")
    if isinstance(inner, str):  # a bare id: only Follows can be undone that way
        link = await session.scalar(
            select(Link).where(Link.activity_id == inner, Link.subject_id == actor.id)
        )
        if link is None:
            raise Ignore("Undo of an unknown activity")
        await session.delete(link)
        return
    if isinstance(inner, dict) and inner.get("type") in ("Like", "EmojiReact", "Announce"):
        if not await notes_in.undo_interaction(session, actor, inner):
            raise Ignore("Undo of an unknown reaction or share")
        return
    if not isinstance(inner, dict) or inner.get("type") != "Follow":
        raise Ignore(f"Undo of {inner.get('type') if isinstance(inner, dict) else 'something'} not handled")
    if object_id(inner.get("actor")) not in (None, actor.ap_id):
        raise Ignore("Undo of someone else's Follow")
    target = await _local(session, object_id(inner.get("object")))
    if target is None:
        raise Ignore("Undo of a Follow of an actor that is not ours")
    await follows.undo_follow(session, actor, target)


async def _answer(session: AsyncSession, activity: dict[str, Any], actor: Actor, accepted: bool) -> None:
    inner = activity.get("object")
    if isinstance(inner, dict) and inner.get("type") not in (None, "Follow"):
        raise Ignore(f"{activity.get('type')} of a {inner.get('type')} not handled")
    if not await follows.follow_answered(session, actor, inner, accepted=accepted):
        raise Ignore("answer to a Follow we did not send")


async def on_accept(
    ctx: FederationContext, session: AsyncSession, activity: dict[str, Any], actor: Actor
) -> None:
    await _answer(session, activity, actor, True)


async def on_reject(
    ctx: FederationContext, session: AsyncSession, activity: dict[str, Any], actor: Actor
) -> None:
    await _answer(session, activity, actor, False)


async def on_block(
    ctx: FederationContext, session: AsyncSession, activity: dict[str, Any], actor: Actor
) -> None:
    target = await _local(session, object_id(activity.get("object")))
    if target is None:
        raise Ignore("Block of an actor that is not ours")
    # Both directions: they no longer follow us, and we stop following (and delivering to) them.
    await session.execute(
        delete(Link).where(
            Link.type == "follower",
            or_(
                (Link.subject_id == actor.id) & (Link.object_id == target.id),
                (Link.subject_id == target.id) & (Link.object_id == actor.id),
            ),
        )
    )


async def on_create(
    ctx: FederationContext, session: AsyncSession, activity: dict[str, Any], actor: Actor
) -> None:
    inner = activity.get("object")
    if isinstance(inner, dict) and inner.get("type") == "Event":
        try:
            await upsert_remote_event(session, actor, inner)
        except NotOurs as exc:
            raise Ignore(str(exc)) from None
        return
    if isinstance(inner, dict) and inner.get("type") in NOTE_TYPES:
        try:
            await notes_in.receive_note(session, actor, inner)
        except notes_in.NotKept as exc:
            raise Ignore(str(exc)) from None
        return
    raise Ignore("Create of an object we do not handle")


async def on_update(
    ctx: FederationContext, session: AsyncSession, activity: dict[str, Any], actor: Actor
) -> None:
    inner = activity.get("object")
    if isinstance(inner, dict) and inner.get("type") == "Event":
        await on_create(ctx, session, activity, actor)
        return
    if isinstance(inner, dict) and inner.get("type") in NOTE_TYPES:
        if not await notes_in.update_note(session, actor, inner):
            raise Ignore("Update of a post we do not have, or not newer")
        return
    if not isinstance(inner, dict) or "inbox" not in inner:
        raise Ignore("Update of an object (not an actor) is handled with the newsfeed")
    if inner.get("id") != actor.ap_id:
        raise Ignore("an actor may only update itself")
    try:
        data = actor_from_as(inner)
    except InvalidActor as exc:
        raise Ignore(f"invalid actor in Update: {exc}") from None
    await upsert_remote_actor(session, data)


async def on_delete(
    ctx: FederationContext, session: AsyncSession, activity: dict[str, Any], actor: Actor
) -> None:
    target = object_id(activity.get("object"))
    if target != actor.ap_id:
        if target and await delete_remote_event(session, actor, target):
            return
        if target and await notes_in.delete_note(session, actor, target):
            return
        raise Ignore("Delete of an object (not an actor) is handled with the newsfeed")
    actor.deleted_at = datetime.now(UTC)
    actor.public_key_pem = None
    await session.execute(delete(Link).where(or_(Link.subject_id == actor.id, Link.object_id == actor.id)))


async def on_like(
    ctx: FederationContext, session: AsyncSession, activity: dict[str, Any], actor: Actor
) -> None:
    try:
        await notes_in.react(session, actor, activity)
    except notes_in.NotKept as exc:
        raise Ignore(str(exc)) from None


async def on_announce(
    ctx: FederationContext, session: AsyncSession, activity: dict[str, Any], actor: Actor
) -> None:
    """A share of one of our posts is counted; a followed actor relaying a remote post brings it in."""
    target = object_id(activity.get("object"))
    if target is None:
        raise Ignore("Announce without an object")
    local = await session.scalar(select(Actor.id).where(Actor.local.is_(True), Actor.ap_id == target))
    if target.startswith(ctx.settings.base_url + "/") or local:
        try:
            await notes_in.share(session, actor, activity)
        except notes_in.NotKept as exc:
            raise Ignore(str(exc)) from None
        return
    try:
        note = await fetch_document(ctx, target)
    except FetchError as exc:
        raise Ignore(f"cannot fetch the announced object: {exc}") from None
    if note.get("type") not in NOTE_TYPES or not isinstance(object_id(note.get("attributedTo")), str):
        raise Ignore("the announced object is not a post")
    author = await get_actor(ctx, session, object_id(note.get("attributedTo")) or "")
    try:
        await notes_in.receive_note(session, author, note, relayed_by=actor)
    except notes_in.NotKept as exc:
        raise Ignore(str(exc)) from None


HANDLERS: dict[str, Handler] = {
    "Like": on_like,
    "EmojiReact": on_like,
    "Announce": on_announce,
    "Create": on_create,
    "Follow": on_follow,
    "Undo": on_undo,
    "Accept": on_accept,
    "Reject": on_reject,
    "Block": on_block,
    "Update": on_update,
    "Delete": on_delete,
}


async def process_inbox_item(ctx: FederationContext, session: AsyncSession, item: InboxItem) -> None:
    handler = HANDLERS.get(item.activity_type)
    if handler is None:
        raise Ignore(f"{item.activity_type} is stored but not handled")
    if item.activity_type == "Delete":
        actor = await session.scalar(select(Actor).where(Actor.ap_id == item.actor_ap_id))
        if actor is None:
            raise Ignore("Delete from an actor we never knew")
    else:
        actor = await get_actor(ctx, session, item.actor_ap_id)
        if actor.deleted_at is not None:
            raise Ignore("activity from a deleted actor")
    await handler(ctx, session, item.activity, actor)

"""ActivityPub HTTP endpoints: actor documents (content-negotiated), collections, inboxes, the instance actor.

GETs are answered to signed and unsigned requests alike (keys and actors must stay reachable without a
signature, so that no peer deadlocks on fetching our key). Private elements are not exposed.
"""

from __future__ import annotations

from typing import Any

import orjson
from quart import Blueprint, Response, abort, redirect, request
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from coserver.models import Actor, Link, Post
from coserver.services.elements import get_local_actor
from coserver.state import db, settings
from federation.converters.note import tombstone
from federation.documents import actor_document, event_document, note_document
from federation.instance import ensure_instance_actor
from federation.vocabulary import AS_CONTEXT

blueprint = Blueprint("federation", __name__)
AP_TYPE = "application/activity+json"
PAGE_SIZE = 50


def wants_activitypub() -> bool:
    """True when any ActivityPub type is acceptable, even next to text/html."""
    for value, quality in request.accept_mimetypes:
        media = value.split(";", 1)[0].strip().lower()
        if quality > 0 and media in {"application/activity+json", "application/ld+json"}:
            return True
    return False


def ap_response(doc: dict[str, Any], status: int = 200) -> Response:
    response = Response(orjson.dumps(doc), status=status, content_type=AP_TYPE)
    response.headers["Vary"] = "Accept"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _check_public(actor: Actor | None) -> Actor:
    if actor is None or actor.is_private or actor.kind == "application":
        abort(404)
    return actor


async def _public_actor(username: str) -> Actor:
    async with db().session() as session:
        return _check_public(await get_local_actor(session, username, with_place=False))


@blueprint.get("/actors/<username>")
async def actor(username: str):
    async with db().session() as session:
        subject = _check_public(
            await session.scalar(
                select(Actor)
                .where(
                    Actor.local.is_(True),
                    func.lower(Actor.username) == username.lower(),
                    Actor.deleted_at.is_(None),
                )
                .options(joinedload(Actor.place))
            )
        )
        if not wants_activitypub():
            return redirect(subject.profile_url or "/", 302)
        doc = await actor_document(session, settings(), subject)
    return ap_response(doc)


@blueprint.get("/actor")
async def instance_actor():
    async with db().transaction() as session:
        subject = await ensure_instance_actor(session, settings())
        doc = await actor_document(session, settings(), subject)
    return ap_response(doc)


@blueprint.get("/actors/<username>/event")
async def event_object(username: str):
    subject = await _public_actor(username)
    if subject.kind != "event":
        abort(404)
    async with db().session() as session:
        doc = await event_document(session, subject)
    return ap_response(doc)


def _page_number() -> int | None:
    raw = request.args.get("page")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        abort(400)
    return int(raw)


def collection(collection_id: str, total: int, page: int | None, items: list[Any]) -> dict[str, Any]:
    """An ``OrderedCollection`` (no ``page``) or one of its ``OrderedCollectionPage``s."""
    if page is None:
        doc: dict[str, Any] = {
            "@context": AS_CONTEXT,
            "id": collection_id,
            "type": "OrderedCollection",
            "totalItems": total,
        }
        if total:
            doc["first"] = f"{collection_id}?page=1"
        return doc
    doc = {
        "@context": AS_CONTEXT,
        "id": f"{collection_id}?page={page}",
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "totalItems": total,
        "orderedItems": items,
    }
    if page * PAGE_SIZE < total:
        doc["next"] = f"{collection_id}?page={page + 1}"
    if page > 1:
        doc["prev"] = f"{collection_id}?page={page - 1}"
    return doc


async def _links_collection(subject: Actor, *, followers: bool) -> Response:
    page = _page_number()
    if followers:
        cond = (Link.object_id == subject.id, Link.type == "follower", Link.state == "accepted")
        join_on = Link.subject_id == Actor.id
        collection_id = subject.followers_url or ""
    else:
        cond = (Link.subject_id == subject.id, Link.type == "follower", Link.state == "accepted")
        join_on = Link.object_id == Actor.id
        collection_id = subject.following_url or ""
    async with db().session() as session:
        total = await session.scalar(select(func.count()).select_from(Link).where(*cond)) or 0
        items: list[str] = []
        if page is not None:
            stmt = (
                select(Actor.ap_id)
                .join(Link, join_on)
                .where(*cond, Actor.deleted_at.is_(None))
                .order_by(Link.id.desc())
                .offset((page - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE)
            )
            items = list(await session.scalars(stmt))
    return ap_response(collection(collection_id, total, page, items))


@blueprint.get("/actors/<username>/followers")
async def followers(username: str):
    return await _links_collection(await _public_actor(username), followers=True)


@blueprint.get("/actors/<username>/following")
async def following(username: str):
    return await _links_collection(await _public_actor(username), followers=False)


@blueprint.get("/actors/<username>/outbox")
async def outbox_collection(username: str):
    """The element's wall as ``Create`` activities of its public posts (newest first)."""
    subject = await _public_actor(username)
    page = _page_number()
    cond = (
        Post.wall_id == subject.id,
        Post.local.is_(True),
        Post.scope == "public",
        Post.deleted_at.is_(None),
    )
    async with db().session() as session:
        total = await session.scalar(select(func.count()).select_from(Post).where(*cond)) or 0
        items: list[Any] = []
        if page is not None:
            posts = list(
                await session.scalars(
                    select(Post)
                    .where(*cond)
                    .order_by(Post.id.desc())
                    .offset((page - 1) * PAGE_SIZE)
                    .limit(PAGE_SIZE)
                )
            )
            for post in posts:
                note = await note_document(session, settings(), post, with_context=False)
                items.append(
                    {
                        "id": f"{post.ap_id}/activity",
                        "type": "Create",
                        "actor": note["attributedTo"],
                        "published": note["published"],
                        "to": note["to"],
                        "cc": note["cc"],
                        "object": note,
                    }
                )
    return ap_response(collection(subject.outbox_url or "", total, page, items))


@blueprint.get("/posts/<int:post_id>")
async def post_object(post_id: int):
    async with db().session() as session:
        post = await session.get(Post, post_id)
        if post is None or not post.local or post.scope != "public":
            abort(404)
        if post.deleted_at is not None:
            return ap_response({"@context": AS_CONTEXT, **tombstone(post)}, status=410)
        if not wants_activitypub():
            wall = await session.get(Actor, post.wall_id)
            return redirect(settings().url(f"/@{wall.username}/posts/{post.id}") if wall else "/", 302)
        doc = await note_document(session, settings(), post)
    return ap_response(doc)


@blueprint.get("/posts/<int:post_id>/replies")
async def post_replies(post_id: int):
    """Replies collection; the first page is embedded with its items (Mastodon fetches up to 5)."""
    async with db().session() as session:
        post = await session.get(Post, post_id)
        if post is None or not post.local or post.scope != "public" or post.deleted_at is not None:
            abort(404)
        replies = list(
            await session.scalars(
                select(Post.ap_id)
                .where(Post.in_reply_to_id == post.id, Post.scope == "public", Post.deleted_at.is_(None))
                .order_by(Post.id)
                .limit(PAGE_SIZE)
            )
        )
    collection_id = f"{post.ap_id}/replies"
    return ap_response(
        {
            "@context": AS_CONTEXT,
            "id": collection_id,
            "type": "Collection",
            "totalItems": len(replies),
            "first": {
                "id": f"{collection_id}?page=1",
                "type": "CollectionPage",
                "partOf": collection_id,
                "items": replies,
            },
        }
    )


@blueprint.get("/actors/<username>/featured")
async def featured(username: str):
    """Pinned objects (Mastodon backfills them): an event's own ``Event`` object."""
    subject = await _public_actor(username)
    items: list[Any] = []
    if subject.kind == "event":
        async with db().session() as session:
            items.append(await event_document(session, subject))
        for item in items:
            item.pop("@context", None)
    doc = {
        "@context": AS_CONTEXT,
        "id": subject.featured_url,
        "type": "OrderedCollection",
        "totalItems": len(items),
        "orderedItems": items,
    }
    return ap_response(doc)


# Inbox POSTs (/inbox, /actor/inbox, /actors/<username>/inbox) are answered by federation.asgi, in front of
# Quart, with federation.inbox.InboxReceiver.


@blueprint.get("/authorize_interaction")
async def authorize_interaction():
    """Remote-follow landing (the WebFinger subscribe template): show the local element if it is one."""
    uri = request.args.get("uri", "")
    base = settings().url("/actors/")
    if uri.startswith(base):
        return redirect(settings().url("/@" + uri[len(base) :].split("/")[0]), 302)
    abort(404)

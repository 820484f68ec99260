"""ActivityPub HTTP endpoints: actor documents (content-negotiated), collections, inboxes, the instance actor.

GETs are answered to signed and unsigned requests alike (keys and actors must stay reachable without a
signature, so that no peer deadlocks on fetching our key). Private elements are not exposed.
"""

from __future__ import annotations

from typing import Any

import orjson
from quart import Blueprint, Response, abort, current_app, redirect, request
from sqlalchemy import func, select

from coserver.models import Actor, Link
from coserver.services.elements import get_local_actor
from coserver.state import app_state, db, settings
from federation.context import FederationContext
from federation.documents import actor_document, event_document
from federation.inbox import MAX_BODY_BYTES, InboxReceiver
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


async def _public_actor(username: str) -> Actor:
    async with db().session() as session:
        actor = await get_local_actor(session, username, with_place=False)
    if actor is None or actor.is_private or actor.kind == "application":
        abort(404)
    return actor


@blueprint.get("/actors/<username>")
async def actor(username: str):
    subject = await _public_actor(username)
    if not wants_activitypub():
        return redirect(subject.profile_url or "/", 302)
    async with db().session() as session:
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
    subject = await _public_actor(username)
    page = _page_number()
    return ap_response(collection(subject.outbox_url or "", 0, page, []))


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


# -- inboxes ---------------------------------------------------------------------------------------------
def receiver() -> InboxReceiver:
    state = app_state()
    found = current_app.extensions.get("coserver.inbox")
    if found is None:
        assert state.db is not None and state.http is not None
        found = InboxReceiver(FederationContext(state.settings, state.db, state.http))
        current_app.extensions["coserver.inbox"] = found
    return found


async def _receive(recipient_id: int | None) -> Response:
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        return Response(orjson.dumps({"error": "too large"}), status=413, content_type="application/json")
    body = await request.get_data(cache=False)
    scope = request.scope
    path = scope.get("raw_path") or request.path.encode()
    query = scope.get("query_string") or b""
    path_and_query = path.decode("latin-1") + (("?" + query.decode("latin-1")) if query else "")
    result = await receiver().receive(
        method=request.method,
        path_and_query=path_and_query,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        recipient_id=recipient_id,
        scheme=settings().scheme,
    )
    return Response(orjson.dumps(result.body), status=result.status, content_type="application/json")


@blueprint.post("/inbox")
async def shared_inbox():
    return await _receive(None)


@blueprint.post("/actors/<username>/inbox")
async def actor_inbox(username: str):
    subject = await _public_actor(username)
    return await _receive(subject.id)


@blueprint.post("/actor/inbox")
async def instance_inbox():
    return await _receive(None)


@blueprint.get("/authorize_interaction")
async def authorize_interaction():
    """Remote-follow landing (the WebFinger subscribe template): show the local element if it is one."""
    uri = request.args.get("uri", "")
    base = settings().url("/actors/")
    if uri.startswith(base):
        return redirect(settings().url("/@" + uri[len(base) :].split("/")[0]), 302)
    abort(404)

"""Shared pieces of the newsfeed API (``posts`` and ``timelines``): the post schemas, the token readers,
the post lookup that respects visibility, the page arguments and the JSON rendering of posts and pages
(from ``coserver.services.timeline_rows``: one shape for every post the API returns)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel
from quart import Response, request, url_for
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.api.auth import has_token, require_account
from coserver.api.schemas import PlaceOut
from coserver.models import Actor, Post
from coserver.services import timeline_rows, timelines
from coserver.services.errors import InvalidInput, NotFound


class ActorRef(BaseModel):
    username: str
    name: str
    kind: str
    url: str
    local: bool


class PostOut(BaseModel):
    id: int
    ap_id: str
    author: ActorRef
    wall: ActorRef
    as_element: bool
    scope: str
    content_html: str
    tags: list[str]
    in_reply_to: str | None = None
    place: PlaceOut | None = None
    published_at: datetime
    edited_at: datetime | None = None
    replies_count: int
    likes_count: int
    shares_count: int


class TimelineOut(BaseModel):
    items: list[PostOut]
    next: str | None = None


async def account_person(session: AsyncSession) -> Actor:
    """The person of the request's (required) token."""
    return (await require_account(session)).person


async def request_viewer(session: AsyncSession) -> Actor | None:
    """The token's person when the request has an ``Authorization`` header, else None. For a read: the
    token's last use, when recorded, is committed at once (the read-only session is rolled back)."""
    if not has_token():
        return None
    person = await account_person(session)
    if session.info.pop("token_touched", False):
        await session.commit()
    return person


def _ref(row: Mapping[str, Any], prefix: str) -> dict:
    username, domain = row[prefix + "username"], row[prefix + "domain"]
    return {
        "username": f"{username}@{domain}" if domain else username,
        "name": row[prefix + "name"] or username,
        "kind": row[prefix + "kind"],
        "url": row[prefix + "url"],
        "local": row[prefix + "local"],
    }


def _place(row: Mapping[str, Any]) -> dict | None:
    if row["place_id"] is None:
        return None
    fields = ("name", "street", "postal_code", "locality", "locality_code", "country", "lat", "lon")
    return {f: row["place_" + f] for f in fields}


def post_json(row: Mapping[str, Any]) -> dict:
    """A post row (``coserver.services.timeline_rows``) as the API's ``PostOut``."""
    return {
        "id": row["id"],
        "ap_id": row["ap_id"],
        "author": _ref(row, "author_"),
        "wall": _ref(row, "wall_"),
        "as_element": row["as_element"],
        "scope": row["scope"],
        "content_html": row["content_html"],
        "tags": row["tags"],
        "in_reply_to": row["in_reply_to_ap_id"],
        "place": _place(row),
        "published_at": row["published_at"],
        "edited_at": row["edited_at"],
        "replies_count": row["replies_count"],
        "likes_count": row["likes_count"],
        "shares_count": row["shares_count"],
    }


async def posts_out(session: AsyncSession, posts: list[Post]) -> list[dict]:
    return [post_json(r) for r in await timeline_rows.post_rows(session, [p.id for p in posts])]


async def post_out(session: AsyncSession, post: Post) -> dict:
    return (await posts_out(session, [post]))[0]


async def visible_post(session: AsyncSession, post_id: int, viewer: Actor | None) -> Post:
    """The post ``post_id`` if it exists, is not deleted and ``viewer`` may see it (else NotFound)."""
    post = await session.get(Post, post_id)
    if post is None or post.deleted_at is not None or not await timelines.visible_to(session, viewer, post):
        raise NotFound("no such post", field="post")
    return post


def page_args() -> tuple[int | None, int]:
    """``before`` (a post id) and ``limit`` of a timeline request."""
    try:
        before = int(request.args["before"]) if "before" in request.args else None
        limit = int(request.args.get("limit", 20))
    except ValueError:
        raise InvalidInput("before and limit are whole numbers", field="before") from None
    if not 1 <= limit <= timelines.MAX_LIMIT:
        raise InvalidInput(f"limit is between 1 and {timelines.MAX_LIMIT}", field="limit")
    return before, limit


def timeline_response(page: timeline_rows.RowPage) -> Response:
    """A timeline page (``TimelineOut``) with the URL of the next page (same endpoint and arguments, older
    ``before``), serialised straight from the rows."""
    next_url = None
    if page.next_before is not None:
        args = {**request.args.to_dict(), "before": str(page.next_before)}
        next_url = url_for(request.endpoint or "", _external=False, **(request.view_args or {}), **args)
    body = {"items": [post_json(r) for r in page.rows], "next": next_url}
    return Response(orjson.dumps(body, option=orjson.OPT_UTC_Z), content_type="application/json")

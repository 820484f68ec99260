"""Shared pieces of the newsfeed API (``posts`` and ``timelines``): the post schemas, the token readers,
the post lookup that respects visibility, the page arguments and the JSON rendering of posts and pages."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from quart import request, url_for
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from coserver.api.auth import require_account
from coserver.api.schemas import PlaceOut, place_out
from coserver.models import Actor, Post
from coserver.services import timelines
from coserver.services.errors import InvalidInput, NotFound
from coserver.services.places import places_by_id


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
    """The token's person when the request has an ``Authorization`` header, else None."""
    if not request.headers.get("Authorization", ""):
        return None
    return await account_person(session)


async def reader(session: AsyncSession, *, optional: bool = False) -> Actor | None:
    """The token's person for a timeline read (None without a token when ``optional``): the token's
    ``last_used_at`` touch (at most every 5 minutes) is committed at once, rather than flushed with the next
    query and rolled back with the read-only session, on every request."""
    if optional and not request.headers.get("Authorization", ""):
        return None
    person = await account_person(session)
    if session.dirty:
        await session.commit()
    return person


_REF_COLUMNS = (
    Actor.username, Actor.domain, Actor.name, Actor.kind, Actor.profile_url, Actor.ap_id, Actor.local,
)  # fmt: skip


def _ref(actor: Actor) -> ActorRef:
    return ActorRef(
        username=actor.handle,
        name=actor.name or actor.username,
        kind=actor.kind,
        url=actor.profile_url or actor.ap_id,
        local=actor.local,
    )


async def posts_out(session: AsyncSession, posts: list[Post]) -> list[PostOut]:
    ids = {p.author_id for p in posts} | {p.wall_id for p in posts}
    refs = select(Actor).where(Actor.id.in_(ids)).options(load_only(*_REF_COLUMNS))
    actors = {a.id: a for a in await session.scalars(refs)} if ids else {}
    places = await places_by_id(session, {p.place_id for p in posts if p.place_id is not None})
    return [
        PostOut(
            id=p.id,
            ap_id=p.ap_id,
            author=_ref(actors[p.author_id]),
            wall=_ref(actors[p.wall_id]),
            as_element=p.as_element,
            scope=p.scope,
            content_html=p.content_html,
            tags=p.tags,
            in_reply_to=p.in_reply_to_ap_id,
            place=place_out(*places[p.place_id]) if p.place_id in places else None,
            published_at=p.published_at,
            edited_at=p.edited_at,
            replies_count=p.replies_count,
            likes_count=p.likes_count,
            shares_count=p.shares_count,
        )
        for p in posts
    ]


async def post_out(session: AsyncSession, post: Post) -> PostOut:
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


async def timeline_out(session: AsyncSession, page: timelines.Page) -> TimelineOut:
    """A timeline page, with the URL of the next page (same endpoint and arguments, older ``before``)."""
    next_url = None
    if page.next_before is not None:
        args = {**request.args.to_dict(), "before": str(page.next_before)}
        next_url = url_for(request.endpoint or "", _external=False, **(request.view_args or {}), **args)
    return TimelineOut(items=await posts_out(session, page.posts), next=next_url)

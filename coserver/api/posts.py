"""Newsfeed API: tokens, posting, editing, deleting, comments, reactions, shares, and the timelines.

Writes need ``Authorization: Bearer <token>``; reads accept it optionally (restricted and private posts
show to those allowed to see them).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from quart import request, url_for
from quart_schema import tag, validate_request, validate_response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from coserver.api import blueprint
from coserver.api.auth import require_account
from coserver.api.schemas import PlaceOut, PostPlaceIn, place_out
from coserver.models import Actor, Post
from coserver.services import interactions, timelines
from coserver.services.accounts import authenticate
from coserver.services.elements import can_view, get_local_actor, require_local_actor
from coserver.services.errors import InvalidInput, NotFound
from coserver.services.places import PlaceInput, places_by_id
from coserver.services.posting import delete_post, edit_post, post_on_wall
from coserver.services.tokens import Unauthorized, create_token
from coserver.state import db, settings


class TokenIn(BaseModel):
    username: str
    password: str
    name: str = "api"


class TokenOut(BaseModel):
    token: str


class PostIn(BaseModel):
    wall: str = Field(description="Username of the wall (your own, or an element you belong to)")
    text: str = Field(description="Plain text; #hashtags and @mentions are linked")
    scope: str = Field(default="public", description="public, restricted (followers + members) or private")
    as_element: bool = Field(default=False, description="Publish in the element's name (admins only)")
    place: PostPlaceIn | None = Field(default=None, description="Where the post is about (public posts)")


class TextIn(BaseModel):
    text: str


class EditIn(BaseModel):
    text: str
    place: PostPlaceIn | None = Field(default=None, description="New place; null: none")


def _place_input(place: PostPlaceIn | None) -> PlaceInput:
    return PlaceInput(**place.model_dump()) if place is not None else PlaceInput()


class ReactionIn(BaseModel):
    emoji: str = Field(default="", description="Empty for a plain like")


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


class Empty(BaseModel):
    ok: bool = True


async def resolve_remote_mentions(session: AsyncSession, text: str) -> dict[str, Actor]:
    """``@user@domain`` handles of other servers, resolved by WebFinger (unknown ones stay plain text)."""
    from coserver.state import app_state
    from coserver.text.render import render_text
    from federation.context import FederationContext
    from federation.following import find_remote_actor

    conf = settings()
    handles = [
        h
        for h in render_text(text, hashtag_url=lambda t: conf.url(f"/tags/{t}")).mentions
        if h.count("@") == 2 and not h.lower().endswith("@" + conf.domain.lower())
    ]
    state = app_state()
    found: dict[str, Actor] = {}
    for handle in handles[:10]:
        try:
            found[handle] = await find_remote_actor(
                FederationContext(conf, state.db, state.http), session, handle
            )
        except NotFound:
            continue
    return found


async def _viewer(session: AsyncSession) -> Actor | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    return (await require_account(session)).person


async def _reader(session: AsyncSession, *, optional: bool = False) -> Actor | None:
    """The token's person for a timeline read (None without a token when ``optional``): the token's
    ``last_used_at`` touch (at most every 5 minutes) is committed at once, rather than flushed with the next
    query and rolled back with the read-only session, on every request."""
    if optional and not request.headers.get("Authorization", ""):
        return None
    person = (await require_account(session)).person
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


async def _out(session: AsyncSession, posts: list[Post]) -> list[PostOut]:
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


async def _post(session: AsyncSession, post_id: int, viewer: Actor | None) -> Post:
    post = await session.get(Post, post_id)
    if post is None or post.deleted_at is not None or not await timelines.visible_to(session, viewer, post):
        raise NotFound("no such post", field="post")
    return post


def _page_args() -> tuple[int | None, int]:
    try:
        before = int(request.args["before"]) if "before" in request.args else None
        limit = int(request.args.get("limit", 20))
    except ValueError:
        raise InvalidInput("before and limit are whole numbers", field="before") from None
    if not 1 <= limit <= timelines.MAX_LIMIT:
        raise InvalidInput(f"limit is between 1 and {timelines.MAX_LIMIT}", field="limit")
    return before, limit


async def _timeline(session: AsyncSession, page: timelines.Page) -> TimelineOut:
    next_url = None
    if page.next_before is not None:
        args = {**request.args.to_dict(), "before": str(page.next_before)}
        next_url = url_for(request.endpoint or "", _external=False, **(request.view_args or {}), **args)
    return TimelineOut(items=await _out(session, page.posts), next=next_url)


@blueprint.post("/tokens")
@tag(["newsfeed"])
@validate_request(TokenIn)
@validate_response(TokenOut, 201)
async def new_token(data: TokenIn):
    """Create an API token with a username (or e-mail) and password."""
    async with db().transaction() as session:
        account = await authenticate(session, data.username, data.password)
        if account is None:
            raise Unauthorized("wrong username or password")
        return TokenOut(token=await create_token(session, account, data.name)), 201


@blueprint.post("/posts")
@tag(["newsfeed"])
@validate_request(PostIn)
@validate_response(PostOut, 201)
async def create_post(data: PostIn):
    """Post on a wall."""
    async with db().transaction() as session:
        person = (await require_account(session)).person
        wall = await require_local_actor(session, data.wall)
        mentions = await resolve_remote_mentions(session, data.text)
        post = await post_on_wall(
            session,
            settings(),
            person,
            wall,
            data.text,
            scope=data.scope,
            as_element=data.as_element,
            remote_mentions=mentions,
            place=_place_input(data.place) if data.place is not None else None,
        )
        return (await _out(session, [post]))[0], 201


@blueprint.get("/posts/<int:post_id>")
@tag(["newsfeed"])
@validate_response(TimelineOut, 200)
async def read_post(post_id: int):
    """A post followed by its comments."""
    async with db().session() as session:
        viewer = await _viewer(session)
        post = await _post(session, post_id, viewer)
        thread = [post, *[c for c in await timelines.comments(session, post, viewer) if c.id != post.id]]
        return TimelineOut(items=await _out(session, thread))


@blueprint.post("/posts/<int:post_id>/comments")
@tag(["newsfeed"])
@validate_request(TextIn)
@validate_response(PostOut, 201)
async def comment(post_id: int, data: TextIn):
    async with db().transaction() as session:
        person = (await require_account(session)).person
        parent = await _post(session, post_id, person)
        wall = await session.get(Actor, parent.wall_id)
        mentions = await resolve_remote_mentions(session, data.text)
        post = await post_on_wall(
            session,
            settings(),
            person,
            wall,
            data.text,
            scope=parent.scope,
            in_reply_to=parent,
            remote_mentions=mentions,
        )
        return (await _out(session, [post]))[0], 201


@blueprint.patch("/posts/<int:post_id>")
@tag(["newsfeed"])
@validate_request(EditIn)
@validate_response(PostOut, 200)
async def update_post(post_id: int, data: EditIn):
    """Edit a post's text (and its place when ``place`` is given: null removes it)."""
    place = _place_input(data.place) if "place" in data.model_fields_set else None
    async with db().transaction() as session:
        person = (await require_account(session)).person
        post = await _post(session, post_id, person)
        post = await edit_post(session, settings(), person, post, data.text, place=place)
        return (await _out(session, [post]))[0]


@blueprint.delete("/posts/<int:post_id>")
@tag(["newsfeed"])
@validate_response(Empty, 200)
async def remove_post(post_id: int):
    async with db().transaction() as session:
        person = (await require_account(session)).person
        await delete_post(session, settings(), person, await _post(session, post_id, person))
        return Empty()


@blueprint.post("/posts/<int:post_id>/reactions")
@tag(["newsfeed"])
@validate_request(ReactionIn)
@validate_response(PostOut, 201)
async def add_reaction(post_id: int, data: ReactionIn):
    async with db().transaction() as session:
        person = (await require_account(session)).person
        post = await _post(session, post_id, person)
        await interactions.react(session, person, post, data.emoji)
        await session.refresh(post)
        return (await _out(session, [post]))[0], 201


@blueprint.post("/posts/<int:post_id>/shares")
@tag(["newsfeed"])
@validate_response(PostOut, 201)
async def add_share(post_id: int):
    async with db().transaction() as session:
        person = (await require_account(session)).person
        post = await _post(session, post_id, person)
        await interactions.share(session, person, post)
        await session.refresh(post)
        return (await _out(session, [post]))[0], 201


@blueprint.get("/elements/<username>/wall")
@tag(["newsfeed"])
@validate_response(TimelineOut, 200)
async def wall_timeline(username: str):
    before, limit = _page_args()
    async with db().session() as session:
        viewer = await _reader(session, optional=True)
        element = await get_local_actor(session, username, with_place=False)
        if element is None or not await can_view(session, viewer, element):
            raise NotFound(f"no element named {username!r}", field="username")
        return await _timeline(
            session, await timelines.wall(session, element, viewer, before=before, limit=limit)
        )


@blueprint.get("/timelines/home")
@tag(["newsfeed"])
@validate_response(TimelineOut, 200)
async def home_timeline():
    before, limit = _page_args()
    async with db().session() as session:
        person = await _reader(session)
        return await _timeline(session, await timelines.home(session, person, before=before, limit=limit))


@blueprint.get("/timelines/live")
@tag(["newsfeed"])
@validate_response(TimelineOut, 200)
async def live_timeline():
    before, limit = _page_args()
    args = request.args
    try:
        lat = float(args["lat"]) if "lat" in args else None
        lon = float(args["lon"]) if "lon" in args else None
        radius = float(args["radius_km"]) if "radius_km" in args else None
    except ValueError:
        raise InvalidInput("lat, lon and radius_km are numbers", field="lat") from None
    if lat is not None and not -90 <= lat <= 90:
        raise InvalidInput("lat is between -90 and 90", field="lat")
    if lon is not None and not -180 <= lon <= 180:
        raise InvalidInput("lon is between -180 and 180", field="lon")
    if radius is not None and not 0.1 <= radius <= 100:
        raise InvalidInput("radius_km is between 0.1 and 100", field="radius_km")
    async with db().session() as session:
        page = await timelines.live(
            session,
            locality=args.get("locality"),
            zone=args.get("zone"),
            tag=args.get("tag"),
            lat=lat,
            lon=lon,
            radius_km=radius,
            territory=settings().territory,
            before=before,
            limit=limit,
        )
        return await _timeline(session, page)


@blueprint.get("/tags/<tag_name>")
@tag(["newsfeed"])
@validate_response(TimelineOut, 200)
async def tag_timeline(tag_name: str):
    before, limit = _page_args()
    async with db().session() as session:
        viewer = await _reader(session, optional=True)
        return await _timeline(
            session, await timelines.hashtag(session, tag_name, viewer, before=before, limit=limit)
        )

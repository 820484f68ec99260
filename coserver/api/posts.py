"""Newsfeed API: tokens, posting, editing, deleting, comments, reactions and shares (timelines are in
``coserver.api.timelines``, the shared post schemas and readers in ``coserver.api.post_views``).

Writes need ``Authorization: Bearer <token>``; reads accept it optionally (restricted and private posts
show to those allowed to see them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import BaseModel, Field
from quart_schema import tag, validate_request, validate_response
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.api import blueprint
from coserver.api.post_views import (
    PostOut,
    TimelineOut,
    account_person,
    post_out,
    posts_out,
    request_viewer,
    visible_post,
)
from coserver.api.schemas import PostPlaceIn
from coserver.models import Actor, Post
from coserver.services import interactions, timelines
from coserver.services.accounts import authenticate
from coserver.services.elements import require_local_actor
from coserver.services.errors import NotFound
from coserver.services.places import PlaceInput
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


async def _interact(
    post_id: int, act: Callable[[AsyncSession, Actor, Post], Awaitable[object]]
) -> tuple[PostOut, int]:
    """Run a reaction or share of the token's person on a visible post; the post with its new counts."""
    async with db().transaction() as session:
        person = await account_person(session)
        post = await visible_post(session, post_id, person)
        await act(session, person, post)
        await session.refresh(post)
        return await post_out(session, post), 201


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
        person = await account_person(session)
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
        return await post_out(session, post), 201


@blueprint.get("/posts/<int:post_id>")
@tag(["newsfeed"])
@validate_response(TimelineOut, 200)
async def read_post(post_id: int):
    """A post followed by its comments."""
    async with db().session() as session:
        viewer = await request_viewer(session)
        post = await visible_post(session, post_id, viewer)
        thread = [post, *[c for c in await timelines.comments(session, post, viewer) if c.id != post.id]]
        return TimelineOut(items=await posts_out(session, thread))


@blueprint.post("/posts/<int:post_id>/comments")
@tag(["newsfeed"])
@validate_request(TextIn)
@validate_response(PostOut, 201)
async def comment(post_id: int, data: TextIn):
    async with db().transaction() as session:
        person = await account_person(session)
        parent = await visible_post(session, post_id, person)
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
        return await post_out(session, post), 201


@blueprint.patch("/posts/<int:post_id>")
@tag(["newsfeed"])
@validate_request(EditIn)
@validate_response(PostOut, 200)
async def update_post(post_id: int, data: EditIn):
    """Edit a post's text (and its place when ``place`` is given: null removes it)."""
    place = _place_input(data.place) if "place" in data.model_fields_set else None
    async with db().transaction() as session:
        person = await account_person(session)
        post = await visible_post(session, post_id, person)
        post = await edit_post(session, settings(), person, post, data.text, place=place)
        return await post_out(session, post)


@blueprint.delete("/posts/<int:post_id>")
@tag(["newsfeed"])
@validate_response(Empty, 200)
async def remove_post(post_id: int):
    async with db().transaction() as session:
        person = await account_person(session)
        await delete_post(session, settings(), person, await visible_post(session, post_id, person))
        return Empty()


@blueprint.post("/posts/<int:post_id>/reactions")
@tag(["newsfeed"])
@validate_request(ReactionIn)
@validate_response(PostOut, 201)
async def add_reaction(post_id: int, data: ReactionIn):
    async def react(session: AsyncSession, person: Actor, post: Post) -> None:
        await interactions.react(session, person, post, data.emoji)

    return await _interact(post_id, react)


@blueprint.post("/posts/<int:post_id>/shares")
@tag(["newsfeed"])
@validate_response(PostOut, 201)
async def add_share(post_id: int):
    return await _interact(post_id, interactions.share)

"""Newsfeed pages: a person's home timeline (``/home``), an element's wall tab (``/@<username>/wall``) and a
post's page with its comments (``/@<wall>/posts/<id>``). Older pages are reached with ``?before=<id>``
(keyset cursors from ``coserver.services.timelines``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from quart import abort, g, redirect, render_template, request
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Actor, Post
from coserver.services import timelines
from coserver.services.elements import can_view, get_local_actor
from coserver.state import db
from coserver.web import blueprint
from coserver.web.element_header import header_context
from coserver.web.feed_common import cards_for, post_form_context, post_path, wall_slug
from coserver.web.forms import FormErrors
from coserver.web.session import login_required


def before_arg() -> int | None:
    """The ``?before=`` cursor (404 when it is not a number: there is no such page)."""
    raw = request.args.get("before", "")
    if not raw:
        return None
    if not raw.isdigit():
        abort(404)
    return int(raw)


def older_href(next_before: int | None, **extra: Any) -> str | None:
    """Link to the next (older) page, keeping the page's other query arguments."""
    if next_before is None:
        return None
    args = {k: v for k, v in request.args.items() if k != "before" and v}
    args.update(extra)
    args["before"] = str(next_before)
    return f"{request.path}?{urlencode(args)}"


@blueprint.get("/home")
@login_required
async def home_timeline_page():
    """What the person follows or belongs to, plus their own posts; a posting box for their own wall."""
    before = before_arg()
    async with db().session() as session:
        person = await session.get(Actor, g.person.id)
        page = await timelines.home(session, person, before=before)
        cards = await cards_for(session, person, page.posts)
        form = await post_form_context(session, person, person)
    return await render_template(
        "feed/home.html",
        posts=page.posts,
        cards=cards,
        form=form,
        older=older_href(page.next_before),
        first_page=before is None,
    )


async def visible_element(session: AsyncSession, username: str, viewer: Actor | None) -> Actor:
    element = await get_local_actor(session, username)
    if element is None or element.kind == "application" or not await can_view(session, viewer, element):
        abort(404)
    return element


async def render_wall(
    session: AsyncSession,
    viewer: Actor | None,
    element: Actor,
    *,
    before: int | None = None,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
):
    """The wall tab of an element page (also re-shown with the errors of a refused post)."""
    page = await timelines.wall(session, element, viewer, before=before)
    cards = await cards_for(session, viewer, page.posts)
    form = await post_form_context(session, viewer, element)
    context = await header_context(session, viewer, element, tab="wall")
    body = await render_template(
        "feed/wall.html",
        **context,
        posts=page.posts,
        cards=cards,
        form=form,
        values=values or {},
        errors=errors or FormErrors(),
        older=older_href(page.next_before),
        first_page=before is None,
    )
    return body, status


@blueprint.get("/@<username>/wall")
async def wall_page(username: str):
    before = before_arg()
    async with db().session() as session:
        viewer = await session.get(Actor, g.person.id) if g.person else None
        element = await visible_element(session, username, viewer)
        return await render_wall(session, viewer, element, before=before)


async def visible_post(session: AsyncSession, post_id: int, viewer: Actor | None) -> tuple[Post, Actor]:
    """The post and its wall, or 404 for a viewer who may not see it (deleted, private, restricted)."""
    post = await session.get(Post, post_id)
    if post is None or post.deleted_at is not None or not await timelines.visible_to(session, viewer, post):
        abort(404)
    wall = await session.get(Actor, post.wall_id)
    if wall is None or wall.deleted_at is not None or not await can_view(session, viewer, wall):
        abort(404)
    return post, wall


@blueprint.get("/@<wall_name>/posts/<int:post_id>")
async def post_page(wall_name: str, post_id: int):
    """A post and its comments, with the reply form."""
    async with db().session() as session:
        viewer = await session.get(Actor, g.person.id) if g.person else None
        post, wall = await visible_post(session, post_id, viewer)
        if post.root_id or wall_name.lower() != wall_slug(wall).lower():
            return redirect(post_path(post, wall), 302)
        comments = [c for c in await timelines.comments(session, post, viewer) if c.id != post.id]
        cards = await cards_for(session, viewer, [post, *comments])
    return await render_template("feed/post.html", post=post, wall=wall, comments=comments, cards=cards)

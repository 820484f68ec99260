"""Home page and element pages (plain server-rendered HTML; the full UI comes with its own blueprint)."""

from __future__ import annotations

from quart import abort, redirect, render_template, request

from coserver.models import Actor, Post
from coserver.services import listings, timelines
from coserver.services.elements import community_counts, get_local_actor
from coserver.services.places import coordinates
from coserver.state import db, settings
from coserver.web import blueprint


@blueprint.get("/")
async def home():
    async with db().session() as session:
        counts = await listings.counts_by_kind(session)
        events = await listings.upcoming_events(session, limit=8)
        organizations = await listings.recent_elements(session, ("organization",), limit=8)
        projects = await listings.recent_elements(session, ("project",), limit=8)
        live = (await timelines.live(session, territory=settings().territory, limit=10)).posts
        authors = await _authors(session, live)
    return await render_template(
        "home.html",
        settings=settings(),
        counts=counts,
        events=events,
        organizations=organizations,
        projects=projects,
        live=live,
        authors=authors,
    )


def _wants_activitypub() -> bool:
    return any(
        q > 0 and v.split(";")[0].strip() in {"application/activity+json", "application/ld+json"}
        for v, q in request.accept_mimetypes
    )


@blueprint.get("/@<username>")
async def element_page(username: str):
    if _wants_activitypub():  # fediverse software fetching the profile URL gets the actor document
        return redirect(settings().url(f"/actors/{username}"), 302)
    async with db().session() as session:
        actor = await get_local_actor(session, username)
        if actor is None or actor.is_private or actor.kind == "application":
            abort(404)
        members = await listings.community(session, actor)
        counts = await community_counts(session, actor)
        related = await listings.children(session, actor)
        wall = (await timelines.wall(session, actor, None, limit=10)).posts
        authors = await _authors(session, wall)
    return await render_template(
        "element.html",
        settings=settings(),
        actor=actor,
        coords=coordinates(actor.place),
        members=members,
        counts=counts,
        related=related,
        wall=wall,
        authors=authors,
        handle=f"@{actor.username}@{settings().domain}",
    )


async def _authors(session, posts: list[Post]) -> dict[int, Actor]:
    """Authors and walls of ``posts``, by id (one query)."""
    from sqlalchemy import select

    ids = {p.author_id for p in posts} | {p.wall_id for p in posts}
    if not ids:
        return {}
    return {a.id: a for a in await session.scalars(select(Actor).where(Actor.id.in_(ids)))}

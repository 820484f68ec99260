"""The home page (element pages live in ``element_page``)."""

from __future__ import annotations

from quart import render_template

from coserver.models import Actor, Post
from coserver.services import listings, timelines
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


async def _authors(session, posts: list[Post]) -> dict[int, Actor]:
    """Authors and walls of ``posts``, by id (one query)."""
    from sqlalchemy import select

    ids = {p.author_id for p in posts} | {p.wall_id for p in posts}
    if not ids:
        return {}
    return {a.id: a for a in await session.scalars(select(Actor).where(Actor.id.in_(ids)))}

"""The home page (element pages live in ``element_page``)."""

from __future__ import annotations

from quart import render_template

from coserver.models import Actor, Post
from coserver.services import listings, timelines
from coserver.state import db, settings
from coserver.web import blueprint


@blueprint.get("/")
async def home():
    """The territory's front page: what it is, its numbers, the live excerpt, events, organizations, projects;
    for a logged-in person, a box to post a first message on the live and a link to their home timeline."""
    from quart import g

    from coserver.web.feed_common import cards_for, post_form_context

    async with db().session() as session:
        viewer = await session.get(Actor, g.person.id) if g.get("person") else None
        counts = await listings.counts_by_kind(session)
        events = await listings.upcoming_events(session, limit=6)
        organizations = await listings.recent_elements(session, ("organization",), limit=6)
        projects = await listings.recent_elements(session, ("project",), limit=6)
        live = (await timelines.live(session, territory=settings().territory, limit=8)).posts
        cards = await cards_for(session, viewer, live)
        form = await post_form_context(session, viewer, viewer) if viewer else None
    return await render_template(
        "home.html",
        counts=counts,
        events=events,
        organizations=organizations,
        projects=projects,
        live=live,
        cards=cards,
        form=form,
    )


async def _authors(session, posts: list[Post]) -> dict[int, Actor]:
    """Authors and walls of ``posts``, by id (one query)."""
    from sqlalchemy import select

    ids = {p.author_id for p in posts} | {p.wall_id for p in posts}
    if not ids:
        return {}
    return {a.id: a for a in await session.scalars(select(Actor).where(Actor.id.in_(ids)))}

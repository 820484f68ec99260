"""An element's pages: one layout (``elements/_layout.html``), one server-rendered URL per tab.

``/@u`` (about), ``/@u/community``, ``/@u/events``, ``/@u/projects``, ``/@u/map``, ``/@u/history``; the wall
(``/@u/wall``) lives in ``feed_pages``. ActivityPub clients asking ``/@u`` are redirected to the actor.
Private elements answer 404 to anyone but their members.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from quart import abort, g, redirect, render_template, request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from coserver.models import Actor, Post
from coserver.services import community, history, timelines
from coserver.services.elements import can_view, get_local_actor
from coserver.services.places import coordinates
from coserver.services.profiles import profile_view
from coserver.state import db, settings
from coserver.web import blueprint
from coserver.web.element_header import header_context, visible_place


def _wants_activitypub() -> bool:
    return any(
        q > 0 and v.split(";")[0].strip() in {"application/activity+json", "application/ld+json"}
        for v, q in request.accept_mimetypes
    )


async def load_element(session: AsyncSession, username: str) -> Actor:
    """The local element named ``username`` as the browser may see it, or abort with 404."""
    actor = await get_local_actor(session, username)
    if actor is None or actor.kind == "application":
        abort(404)
    if not await can_view(session, await viewer(session), actor):
        abort(404)
    return actor


async def viewer(session: AsyncSession) -> Actor | None:
    """The logged-in person, attached to ``session`` (or None)."""
    person = g.get("person")
    if person is None:
        return None
    return await session.get(Actor, person.id)


async def render_tab(session: AsyncSession, actor: Actor, tab: str, template: str, **context: Any) -> str:
    """Render one tab of ``actor``'s pages with the shared header."""
    header = await header_context(session, await viewer(session), actor, tab)
    return await render_template(template, **header, **context)


async def post_authors(session: AsyncSession, posts: list[Post]) -> dict[int, Actor]:
    """Authors and walls of ``posts``, by id (one query)."""
    ids = {p.author_id for p in posts} | {p.wall_id for p in posts}
    if not ids:
        return {}
    return {a.id: a for a in await session.scalars(select(Actor).where(Actor.id.in_(ids)))}


@blueprint.get("/@<username>")
async def element_page(username: str):
    """The about tab: description, dates, address, contact and links, and the latest wall posts."""
    if _wants_activitypub():  # fediverse software fetching the profile URL gets the actor document
        return redirect(settings().url(f"/actors/{username}"), 302)
    async with db().session() as session:
        actor = await load_element(session, username)
        seeing = await viewer(session)
        profile = await profile_view(session, seeing, actor) if actor.kind == "person" else None
        if profile is not None:  # e-mail and phone shown like an element's contact
            profile["contact"] = {k: profile[k] for k in ("email", "phone") if profile.get(k)}
        wall = (await timelines.wall(session, actor, seeing, limit=5)).posts
        return await render_tab(
            session,
            actor,
            "about",
            "elements/about.html",
            profile=profile,
            wall=wall,
            authors=await post_authors(session, wall),
        )


async def _children(session: AsyncSession, actor: Actor, kinds: tuple[str, ...]) -> list[Actor]:
    """Public elements of ``kinds`` whose parent (or organizer) is ``actor``."""
    stmt = (
        select(Actor)
        .where(
            Actor.local.is_(True),
            Actor.is_private.is_(False),
            Actor.deleted_at.is_(None),
            Actor.kind.in_(kinds),
            (Actor.parent_id == actor.id) | (Actor.organizer_id == actor.id),
        )
        .order_by(Actor.starts_at.nulls_last(), Actor.name, Actor.id)
        .limit(200)
        .options(selectinload(Actor.place))
    )
    return list(await session.scalars(stmt))


async def _belongs_to(session: AsyncSession, person: Actor, kinds: tuple[str, ...]) -> list[Actor]:
    rows = await community.memberships_of(session, person, kinds)
    ids = [a.id for a, _link in rows]
    if not ids:
        return []
    found = await session.scalars(select(Actor).where(Actor.id.in_(ids)).options(selectinload(Actor.place)))
    by_id = {a.id: a for a in found}
    return [by_id[i] for i in ids if i in by_id]


@blueprint.get("/@<username>/events")
async def events_tab(username: str):
    async with db().session() as session:
        actor = await load_element(session, username)
        if actor.kind == "person":
            events = await _belongs_to(session, actor, ("event",))
        else:
            events = await _children(session, actor, ("event",))
        now = datetime.now(UTC)
        upcoming = [e for e in events if (e.ends_at or e.starts_at or now) >= now]
        past = [e for e in events if e not in upcoming]
        return await render_tab(
            session, actor, "events", "elements/events.html", upcoming=upcoming, past=past[::-1]
        )


@blueprint.get("/@<username>/projects")
async def projects_tab(username: str):
    async with db().session() as session:
        actor = await load_element(session, username)
        if actor.kind == "person":
            projects = await _belongs_to(session, actor, ("project",))
            organizations = await _belongs_to(session, actor, ("organization",))
        else:
            projects = await _children(session, actor, ("project",))
            organizations = await _children(session, actor, ("organization",))
        return await render_tab(
            session,
            actor,
            "projects",
            "elements/projects.html",
            projects=projects,
            organizations=organizations,
            places=await _children(session, actor, ("poi",)) if actor.kind != "person" else [],
        )


def _map_point(actor: Actor, coords: tuple[float, float] | None, *, main: bool = False) -> dict | None:
    if coords is None:
        return None
    return {
        "name": actor.name or actor.username,
        "kind": actor.kind,
        "lat": coords[0],
        "lon": coords[1],
        "url": f"/@{actor.username}",
        "main": main,
    }


@blueprint.get("/@<username>/map")
async def map_tab(username: str):
    async with db().session() as session:
        actor = await load_element(session, username)
        if actor.kind == "person":
            related = await _belongs_to(session, actor, ("organization", "project", "event"))
        else:
            related = await _children(session, actor, ("organization", "project", "event", "poi"))
        coords, _locality = await visible_place(session, await viewer(session), actor)
        main = _map_point(actor, coords, main=True)
        others = (_map_point(r, coordinates(r.__dict__.get("place"))) for r in related)
        points = [p for p in [main, *others] if p]
        return await render_tab(session, actor, "map", "elements/map.html", points=points)


@blueprint.get("/@<username>/history")
async def history_tab(username: str):
    before = request.args.get("before", type=int)
    async with db().session() as session:
        actor = await load_element(session, username)
        page = await history.edits(session, actor, before=before, limit=20)
        return await render_tab(session, actor, "history", "elements/history.html", page=page)

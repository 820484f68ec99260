"""Hashtag pages and Atom feeds of walls (server-rendered; readers and feed aggregators)."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from quart import Response, abort, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coserver.models import Actor
from coserver.services import timelines
from coserver.services.elements import get_local_actor
from coserver.state import db, settings
from coserver.web import blueprint
from coserver.web.pages import _authors

ATOM = "http://www.w3.org/2005/Atom"


@blueprint.get("/tags/<tag>")
async def hashtag_page(tag: str):
    tag = tag.lower().lstrip("#")[:64]
    async with db().session() as session:
        posts = (await timelines.hashtag(session, tag, None, limit=30)).posts
        authors = await _authors(session, posts)
        elements = list(
            await session.scalars(
                select(Actor)
                .where(
                    Actor.local.is_(True),
                    Actor.is_private.is_(False),
                    Actor.deleted_at.is_(None),
                    Actor.kind != "application",
                    Actor.tags.contains([tag]),
                )
                .options(selectinload(Actor.place))
                .limit(30)
            )
        )
    return await render_template(
        "tag.html", settings=settings(), tag=tag, posts=posts, authors=authors, elements=elements
    )


@blueprint.get("/live")
async def live_page():
    """The territory's live feed, filterable by locality, zone, hashtag and radius; ``?before=`` pages."""
    args = request.args
    try:
        before = int(args["before"]) if args.get("before") else None
        lat = float(args["lat"]) if args.get("lat") else None
        lon = float(args["lon"]) if args.get("lon") else None
        radius = float(args["radius_km"]) if args.get("radius_km") else None
    except ValueError:
        abort(400)
    if (lat is not None and not -90 <= lat <= 90) or (lon is not None and not -180 <= lon <= 180):
        abort(400)
    if radius is not None and not 0.1 <= radius <= 100:
        abort(400)
    async with db().session() as session:
        page = await timelines.live(
            session,
            locality=args.get("locality") or None,
            zone=args.get("zone") or None,
            tag=args.get("tag") or None,
            lat=lat,
            lon=lon,
            radius_km=radius,
            territory=settings().territory,
            before=before,
            limit=20,
        )
        authors = await _authors(session, page.posts)
    next_args = {**args.to_dict(), "before": page.next_before} if page.next_before else None
    return await render_template(
        "live.html", settings=settings(), posts=page.posts, authors=authors, args=args, next_args=next_args
    )


@blueprint.get("/@<username>/feed.atom")
async def wall_feed(username: str):
    """Atom feed of an element's public wall (RFC 4287)."""
    async with db().session() as session:
        element = await get_local_actor(session, username, with_place=False)
        if element is None or element.is_private or element.kind == "application":
            abort(404)
        posts = (await timelines.wall(session, element, None, limit=30)).posts
        authors = await _authors(session, posts)
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}id").text = element.ap_id
    ET.SubElement(feed, f"{{{ATOM}}}title").text = f"{element.name} — {settings().territory_name}"
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=element.profile_url or "")
    ET.SubElement(
        feed,
        f"{{{ATOM}}}link",
        rel="self",
        type="application/atom+xml",
        href=settings().url(f"/@{element.username}/feed.atom"),
    )
    updated = max(
        (p.edited_at or p.published_at for p in posts), default=element.updated_at or datetime.now(UTC)
    )
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = updated.isoformat()
    for post in posts:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        author = authors.get(post.wall_id if post.as_element else post.author_id)
        ET.SubElement(entry, f"{{{ATOM}}}id").text = post.ap_id
        ET.SubElement(entry, f"{{{ATOM}}}title").text = (post.source or "")[:80] or "Publication"
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=post.url or post.ap_id)
        ET.SubElement(entry, f"{{{ATOM}}}published").text = post.published_at.isoformat()
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = (post.edited_at or post.published_at).isoformat()
        if author is not None:
            ET.SubElement(ET.SubElement(entry, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = author.name
        ET.SubElement(entry, f"{{{ATOM}}}content", type="html").text = post.content_html
        for tag in post.tags:
            ET.SubElement(entry, f"{{{ATOM}}}category", term=tag)
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return Response(body, content_type="application/atom+xml; charset=utf-8")

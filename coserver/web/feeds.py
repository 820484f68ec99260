"""The territory's live feed and hashtag pages (HTML), and Atom feeds of walls (for feed readers).

The live page's filters are a plain GET form: locality, zone code, hashtag, and a radius around a point
(latitude/longitude typed in, or filled by "around me" in ``static/js/feed.js``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from quart import Response, abort, g, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coserver.models import Actor, Zone
from coserver.services import timelines
from coserver.services.elements import get_local_actor
from coserver.state import db, settings
from coserver.web import blueprint
from coserver.web.feed_common import actors_of, cards_for, post_form_context
from coserver.web.feed_pages import before_arg, older_href
from coserver.web.forms import FormErrors
from coserver.web.i18n import _

DEFAULT_RADIUS_KM = 10.0

ATOM = "http://www.w3.org/2005/Atom"


@blueprint.get("/tags/<tag>")
async def hashtag_page(tag: str):
    """Posts with a hashtag (those the viewer may see), and the territory's elements tagged with it."""
    tag = tag.lower().lstrip("#")[:64]
    before = before_arg()
    async with db().session() as session:
        viewer = await session.get(Actor, g.person.id) if g.person else None
        page = await timelines.hashtag(session, tag, viewer, before=before)
        cards = await cards_for(session, viewer, page.posts)
        elements = []
        if before is None:
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
        "tag.html",
        tag=tag,
        posts=page.posts,
        cards=cards,
        elements=elements,
        older=older_href(page.next_before),
    )


def _live_filters() -> tuple[dict[str, Any], FormErrors]:
    """The live page's GET form, checked: errors are shown next to their field."""
    args, errors = request.args, FormErrors()
    filters: dict[str, Any] = {
        "locality": args.get("locality", "").strip()[:100] or None,
        "zone": args.get("zone", "").strip()[:64] or None,
        "tag": args.get("tag", "").strip().lstrip("#").lower()[:64] or None,
        "lat": None,
        "lon": None,
        "radius_km": None,
    }
    for name, low, high, message in (
        ("lat", -90, 90, _("The latitude is a number between -90 and 90.")),
        ("lon", -180, 180, _("The longitude is a number between -180 and 180.")),
        ("radius_km", 0.1, 100, _("The radius is a number of kilometres between 0.1 and 100.")),
    ):
        raw = args.get(name, "").strip().replace(",", ".")
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not low <= value <= high:  # NaN fails too
            errors.add(name, message)
        else:
            filters[name] = value
    if (filters["lat"] is None) != (filters["lon"] is None) and not errors:
        errors.add("lat", _("Give both a latitude and a longitude."))
    if filters["lat"] is not None and filters["lon"] is not None and filters["radius_km"] is None:
        filters["radius_km"] = DEFAULT_RADIUS_KM
    if filters["radius_km"] is not None and filters["lat"] is None and not errors:
        errors.add("lat", _("A radius needs a point: give a latitude and a longitude, or use “around me”."))
    return filters, errors


@blueprint.get("/live")
async def live_page():
    """The territory's live feed, filterable by locality, zone, hashtag and radius; ``?before=`` pages."""
    filters, errors = _live_filters()
    before = before_arg()
    async with db().session() as session:
        viewer = await session.get(Actor, g.person.id) if g.person else None
        posts, older = [], None
        if not errors:
            page = await timelines.live(session, territory=settings().territory, before=before, **filters)
            posts, older = page.posts, older_href(page.next_before)
        cards = await cards_for(session, viewer, posts)
        form = await post_form_context(session, viewer, viewer) if viewer and before is None else None
        zones = list(await session.execute(select(Zone.code, Zone.name).order_by(Zone.name).limit(500)))
    body = await render_template(
        "live.html",
        posts=posts,
        cards=cards,
        values=request.args,
        errors=errors,
        older=older,
        form=form,
        zones=zones,
        filtered=any(v is not None for v in filters.values()),
    )
    return body, 400 if errors else 200


@blueprint.get("/@<username>/feed.atom")
async def wall_feed(username: str):
    """Atom feed of an element's public wall (RFC 4287)."""
    async with db().session() as session:
        element = await get_local_actor(session, username, with_place=False)
        if element is None or element.is_private or element.kind == "application":
            abort(404)
        posts = (await timelines.wall(session, element, None, limit=30)).posts
        authors = await actors_of(session, posts)
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

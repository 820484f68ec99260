"""Newsfeed API timelines: an element's wall, the home timeline, the live (territory) feed and hashtags.

The home timeline needs ``Authorization: Bearer <token>``; the others accept it optionally (restricted and
private posts show to those allowed to see them).

The read path is lean on purpose (issue 4's goal: HTTP within 2× the SQL): a raw asyncpg connection in
autocommit mode, the token look-up (when there is a token), then one statement per page compiled once per
shape (``coserver.services.timeline_rows``: posts with their author, wall and place), serialised straight
to JSON. The response schema is documented, not re-validated; the tests check the JSON against it.
"""

from __future__ import annotations

from quart import request
from quart_schema import document_response, tag

from coserver.api import blueprint
from coserver.api.auth import reader_id
from coserver.api.post_views import TimelineOut, page_args, timeline_response
from coserver.services import timeline_rows as rows
from coserver.services.errors import InvalidInput, NotFound
from coserver.state import db, settings


@blueprint.get("/elements/<username>/wall")
@tag(["newsfeed"])
@document_response(TimelineOut, 200)
async def wall_timeline(username: str):
    before, limit = page_args()
    async with db().raw() as conn:
        viewer_id = await reader_id(conn, optional=True)
        page = await rows.fetch(conn, rows.wall_query(username, viewer_id, before=before, limit=limit), limit)
        if not page.rows:
            element, params = rows.wall_element_query(username, viewer_id)
            if await element.fetchrow(conn, **params) is None:
                raise NotFound(f"no element named {username!r}", field="username")
    return timeline_response(page)


@blueprint.get("/timelines/home")
@tag(["newsfeed"])
@document_response(TimelineOut, 200)
async def home_timeline():
    before, limit = page_args()
    async with db().raw() as conn:
        person_id = await reader_id(conn)
        page = await rows.fetch(conn, rows.home_query(person_id, before=before, limit=limit), limit)
    return timeline_response(page)


def _coordinate(name: str, low: float, high: float) -> float | None:
    if name not in request.args:
        return None
    try:
        value = float(request.args[name])
    except ValueError:
        raise InvalidInput("lat, lon and radius_km are numbers", field=name) from None
    if not low <= value <= high:
        raise InvalidInput(f"{name} is between {low:g} and {high:g}", field=name)
    return value


@blueprint.get("/timelines/live")
@tag(["newsfeed"])
@document_response(TimelineOut, 200)
async def live_timeline():
    before, limit = page_args()
    args = request.args
    query = rows.live_query(
        locality=args.get("locality"),
        zone=args.get("zone"),
        tag=args.get("tag"),
        lat=_coordinate("lat", -90, 90),
        lon=_coordinate("lon", -180, 180),
        radius_km=_coordinate("radius_km", 0.1, 100),
        territory=settings().territory,
        before=before,
        limit=limit,
    )
    async with db().raw() as conn:
        page = await rows.fetch(conn, query, limit)
    return timeline_response(page)


@blueprint.get("/tags/<tag_name>")
@tag(["newsfeed"])
@document_response(TimelineOut, 200)
async def tag_timeline(tag_name: str):
    before, limit = page_args()
    async with db().raw() as conn:
        viewer_id = await reader_id(conn, optional=True)
        query = rows.hashtag_query(tag_name, viewer_id, before=before, limit=limit)
        page = await rows.fetch(conn, query, limit)
    return timeline_response(page)

"""Newsfeed API timelines: an element's wall, the home timeline, the live (territory) feed and hashtags.

The home timeline needs ``Authorization: Bearer <token>``; the others accept it optionally (restricted and
private posts show to those allowed to see them).
"""

from __future__ import annotations

from quart import request
from quart_schema import tag, validate_response

from coserver.api import blueprint
from coserver.api.post_views import TimelineOut, page_args, reader, timeline_out
from coserver.services import timelines
from coserver.services.elements import can_view, get_local_actor
from coserver.services.errors import InvalidInput, NotFound
from coserver.state import db, settings


@blueprint.get("/elements/<username>/wall")
@tag(["newsfeed"])
@validate_response(TimelineOut, 200)
async def wall_timeline(username: str):
    before, limit = page_args()
    async with db().session() as session:
        viewer = await reader(session, optional=True)
        element = await get_local_actor(session, username, with_place=False)
        if element is None or not await can_view(session, viewer, element):
            raise NotFound(f"no element named {username!r}", field="username")
        return await timeline_out(
            session, await timelines.wall(session, element, viewer, before=before, limit=limit)
        )


@blueprint.get("/timelines/home")
@tag(["newsfeed"])
@validate_response(TimelineOut, 200)
async def home_timeline():
    before, limit = page_args()
    async with db().session() as session:
        person = await reader(session)
        return await timeline_out(session, await timelines.home(session, person, before=before, limit=limit))


@blueprint.get("/timelines/live")
@tag(["newsfeed"])
@validate_response(TimelineOut, 200)
async def live_timeline():
    before, limit = page_args()
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
        return await timeline_out(session, page)


@blueprint.get("/tags/<tag_name>")
@tag(["newsfeed"])
@validate_response(TimelineOut, 200)
async def tag_timeline(tag_name: str):
    before, limit = page_args()
    async with db().session() as session:
        viewer = await reader(session, optional=True)
        return await timeline_out(
            session, await timelines.hashtag(session, tag_name, viewer, before=before, limit=limit)
        )

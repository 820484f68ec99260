"""``GET /api/v1/elements/<username>``: one public element."""

from __future__ import annotations

from quart_schema import tag, validate_response

from coserver.api import blueprint
from coserver.api.schemas import ElementOut, ElementRef, ErrorOut, PlaceOut, UrlOut
from coserver.models import Actor
from coserver.services.elements import community_counts, get_local_actor
from coserver.services.errors import NotFound
from coserver.services.places import coordinates
from coserver.services.profiles import public_copy
from coserver.state import db, settings


def _ref(actor: Actor | None) -> ElementRef | None:
    return ElementRef(username=actor.username, name=actor.name, kind=actor.kind) if actor else None


def element_out(actor: Actor, counts: dict[str, int]) -> ElementOut:
    place = None
    if actor.place is not None:
        coords = coordinates(actor.place)
        p = actor.place
        place = PlaceOut(
            name=p.name,
            street=p.street,
            postal_code=p.postal_code,
            locality=p.locality,
            locality_code=p.locality_code,
            country=p.country,
            lat=coords[0] if coords else None,
            lon=coords[1] if coords else None,
        )
    return ElementOut(
        id=actor.ap_id,
        username=actor.username,
        handle=f"{actor.username}@{settings().domain}",
        kind=actor.kind,
        type=actor.subtype,
        stage=actor.stage,
        name=actor.name,
        short_description=actor.short_description,
        description_html=actor.description_html,
        tags=actor.tags,
        urls=[UrlOut(**u) for u in actor.urls],
        url=actor.profile_url or "",
        place=place,
        starts_at=actor.starts_at,
        ends_at=actor.ends_at,
        all_day=actor.all_day,
        timezone=actor.timezone,
        capacity=actor.capacity,
        organizer=_ref(actor.organizer),
        parent=_ref(actor.parent),
        open_edition=actor.open_edition,
        community=counts,
        created_at=actor.created_at,
        updated_at=actor.updated_at,
    )


@blueprint.get("/elements/<username>")
@tag(["elements"])
@validate_response(ElementOut, 200)
@validate_response(ErrorOut, 404)
async def get_element(username: str) -> ElementOut:
    """One public element of the territory, by username."""
    async with db().session() as session:
        actor = await get_local_actor(session, username)
        if actor is None or actor.is_private or actor.kind == "application":
            raise NotFound(f"no public element named {username!r}", field="username")
        counts = await community_counts(session, actor)
    return element_out(public_copy(actor), counts)  # a person's non-public fields stay out

"""The shared header of an element's pages (about, wall, community, events, projects, map, history).

``header_context`` is a stable contract used by every tab (including the wall, owned by the feed pages):
it returns everything ``templates/elements/_layout.html`` needs. Keys:

``actor``, ``handle`` (``@user@host``), ``coords`` (``(lat, lon)`` or None), ``locality``, ``initial``,
``avatar_url``, ``counts`` (accepted links by type), ``member_count``, ``follower_count``, ``tab`` (current
tab key), ``tabs`` (list of ``(key, label, url)``), ``viewer`` (the logged-in person or None), ``relation``
(dict: ``following``, ``follow_pending``, ``member``, ``admin``, ``pending``, ``invited``,
``admin_requested``, ``is_self``, ``membership_state``), ``membership_type`` (link type joining this kind,
or None), ``can_edit``, ``can_post``, ``can_join``, ``can_follow``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Actor, Link
from coserver.models.vocab import MEMBERSHIP_TYPE
from coserver.services import editing
from coserver.services.elements import community_counts
from coserver.services.places import coordinates
from coserver.services.posting import can_post_on
from coserver.services.profiles import profile_view
from coserver.state import settings
from coserver.web import element_labels  # noqa: F401  (template globals)
from coserver.web.i18n import _

TAB_KEYS = ("about", "wall", "community", "events", "projects", "map", "history")


def tab_list(actor: Actor) -> list[tuple[str, str, str]]:
    """``(key, label, url)`` of each tab of ``actor``'s pages, in display order."""
    base = f"/@{actor.username}"
    labels = {
        "about": _("About"),
        "wall": _("Wall"),
        "community": _("Community"),
        "events": _("Events"),
        "projects": _("Projects"),
        "map": _("Map"),
        "history": _("History"),
    }
    return [(key, labels[key], base if key == "about" else f"{base}/{key}") for key in TAB_KEYS]


async def viewer_relation(session: AsyncSession, viewer: Actor | None, actor: Actor) -> dict[str, Any]:
    """How ``viewer`` relates to ``actor``: follow and membership links, admin rights."""
    relation: dict[str, Any] = {
        "following": False,
        "follow_pending": False,
        "member": False,
        "admin": False,
        "pending": False,
        "invited": False,
        "admin_requested": False,
        "is_self": False,
        "membership_state": None,
    }
    if viewer is None:
        return relation
    if viewer.id == actor.id:
        relation.update(is_self=True, admin=True, member=True)
        return relation
    links = list(
        await session.scalars(select(Link).where(Link.subject_id == viewer.id, Link.object_id == actor.id))
    )
    membership = MEMBERSHIP_TYPE.get(actor.kind)
    for link in links:
        if link.type == "follower":
            relation["following"] = link.state == "accepted"
            relation["follow_pending"] = link.state != "accepted"
        elif link.type == membership:
            relation["membership_state"] = link.state
            relation["member"] = link.state in ("accepted", "admin_requested")
            relation["admin"] = link.state == "accepted" and link.is_admin
            relation["pending"] = link.state == "to_be_validated"
            relation["invited"] = link.state == "invited"
            relation["admin_requested"] = link.state == "admin_requested"
    return relation


async def visible_place(
    session: AsyncSession, viewer: Actor | None, actor: Actor
) -> tuple[tuple[float, float] | None, str]:
    """``(coords, locality)`` of ``actor`` as ``viewer`` may see them (a person's place may be hidden)."""
    if actor.kind == "person":
        place = (await profile_view(session, viewer, actor)).get("place") or {}
        if place.get("lat") is None:
            return None, place.get("locality", "")
        return (place["lat"], place["lon"]), place.get("locality", "")
    place = actor.__dict__.get("place")  # loaded by get_local_actor; never lazy-load here
    return coordinates(place), place.locality if place is not None else ""


async def header_context(session: AsyncSession, viewer: Actor | None, actor: Actor, tab: str) -> dict:
    """Everything ``elements/_layout.html`` needs to draw the header and the tab navigation."""
    relation = await viewer_relation(session, viewer, actor)
    counts = await community_counts(session, actor)
    membership = MEMBERSHIP_TYPE.get(actor.kind)
    coords, locality = await visible_place(session, viewer, actor)
    is_person = viewer is not None and viewer.local and viewer.kind == "person"
    can_edit = await editing.can_edit(session, viewer, actor)
    return {
        "actor": actor,
        "handle": f"@{actor.username}@{settings().domain}",
        "coords": coords,
        "locality": locality,
        "initial": (actor.name or actor.username or "?")[:1].upper(),
        "avatar_url": actor.icon_url,
        "counts": counts,
        "member_count": counts.get(membership, 0) if membership else 0,
        "follower_count": counts.get("follower", 0),
        "tab": tab,
        "tabs": tab_list(actor),
        "viewer": viewer,
        "relation": relation,
        "membership_type": membership,
        "can_edit": bool(can_edit),
        "can_post": bool(is_person and await can_post_on(session, viewer, actor)),
        "can_join": bool(is_person and membership and not relation["is_self"]),
        "can_follow": bool(is_person and not relation["is_self"]),
    }

"""Elements: creating and reading the actors of the territory (people, organizations, projects, events, POIs).

Every local element is an ActivityPub actor: it gets its URLs and an RSA-2048 key pair when created.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from coserver.config import Settings
from coserver.keys import generate_rsa_keypair
from coserver.models import Actor, Link
from coserver.models.vocab import ELEMENT_KINDS, MEMBERSHIP_TYPE, PROJECT_STAGES, SUBTYPES, URL_TYPES
from coserver.services.errors import InvalidInput, NotFound
from coserver.services.places import PlaceInput, create_place
from coserver.services.usernames import RESERVED, ensure_available, slugify, username_taken
from coserver.services.zones import attach_actor, geolocate
from coserver.text.render import render_description
from coserver.text.sanitize import sanitize_plain
from coserver.urls import local_actor_urls

MAX_TAGS = 30
# Link states of a member: accepted, or accepted and asking to become admin.
MEMBER_STATES = ("accepted", "admin_requested")
CONTACT_FIELDS = ("email", "phone", "mobile", "fax", "mastodon", "matrix")


@dataclass
class ElementInput:
    """What it takes to create an element; only kind, username and name are required."""

    kind: str
    username: str
    name: str
    short_description: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    urls: list[dict[str, str]] = field(default_factory=list)
    contact: dict[str, str] = field(default_factory=dict)
    place: PlaceInput | None = None
    subtype: str | None = None
    stage: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    all_day: bool = False
    timezone: str | None = None
    capacity: int | None = None
    organizer: Actor | None = None
    parent: Actor | None = None
    is_private: bool = False
    open_edition: bool = False
    open_data: bool = True
    manually_approves_followers: bool = False


def clean_tags(tags: list[str]) -> list[str]:
    """Lower-cased, ``#``-less, unique tags in their first order."""
    seen: dict[str, None] = {}
    for raw in tags:
        tag = sanitize_plain(str(raw), 64).lstrip("#").strip().lower()
        if tag:
            seen.setdefault(tag, None)
    if len(seen) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags", field="tags")
    return list(seen)


def clean_urls(urls: list[dict[str, str]]) -> list[dict[str, str]]:
    out = []
    for item in urls:
        url = str(item.get("url", "")).strip()
        kind = str(item.get("type", "website")).strip() or "website"
        if kind not in URL_TYPES:
            raise InvalidInput(f"unknown link type {kind!r}; one of {', '.join(URL_TYPES)}", field="urls")
        if not url.startswith(("http://", "https://")) or len(url) > 2000:
            raise InvalidInput(f"links must be http(s) URLs: {url[:80]!r}", field="urls")
        entry = {"type": kind, "url": url}
        if item.get("name"):
            entry["name"] = sanitize_plain(str(item["name"]), 100)
        out.append(entry)
    return out


def clean_contact(contact: dict[str, str]) -> dict[str, str]:
    unknown = set(contact) - set(CONTACT_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown contact field(s): {', '.join(sorted(unknown))}", field="contact")
    return {k: sanitize_plain(str(v), 200) for k, v in contact.items() if str(v).strip()}


def validate_kind_fields(data: ElementInput) -> None:
    """Kind, type, stage, dates, time zone and capacity of ``data`` must fit together."""
    if data.kind not in ELEMENT_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(ELEMENT_KINDS)}", field="kind")
    allowed = SUBTYPES.get(data.kind)
    if data.subtype is not None:
        if allowed is None:
            raise InvalidInput(f"a {data.kind} has no type", field="type")
        if data.subtype not in allowed:
            raise InvalidInput(f"{data.kind} type must be one of {', '.join(allowed)}", field="type")
    if data.stage is not None and (data.kind != "project" or data.stage not in PROJECT_STAGES):
        raise InvalidInput(f"a project stage is one of {', '.join(PROJECT_STAGES)}", field="stage")
    if data.kind == "event" and data.starts_at is None:
        raise InvalidInput("an event needs a start date", field="start")
    if (data.starts_at or data.ends_at) and data.kind not in {"event", "project"}:
        raise InvalidInput("only events and projects have dates", field="start")
    for name, label in (("starts_at", "start"), ("ends_at", "end")):
        value = getattr(data, name)
        if value is not None and value.tzinfo is None:
            raise InvalidInput("dates need a time zone", field=label)
    if data.starts_at and data.ends_at and data.ends_at < data.starts_at:
        raise InvalidInput("the end comes before the start", field="end")
    if data.timezone:
        try:
            ZoneInfo(data.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"unknown time zone {data.timezone!r}", field="timezone") from None
    if data.capacity is not None and (data.kind != "event" or data.capacity < 0):
        raise InvalidInput("capacity is a positive number of places, for events", field="capacity")


async def create_element(
    session: AsyncSession, settings: Settings, data: ElementInput, *, admin: Actor | None = None
) -> Actor:
    """Validate and store a new local element (with its place and key pair); ``admin`` becomes its admin.

    Flushes; the caller commits.
    """
    validate_kind_fields(data)
    username = await ensure_available(session, data.username)
    name = sanitize_plain(data.name, 200)
    if not name:
        raise InvalidInput("a name is required", field="name")
    private_pem, public_pem = await asyncio.to_thread(generate_rsa_keypair)
    place = None
    if data.place and not data.place.empty:
        await geolocate(session, settings, data.place)  # an address without coordinates gets a point
        place = await create_place(session, data.place)
    actor = Actor(
        kind=data.kind,
        local=True,
        username=username,
        domain=None,
        name=name,
        short_description=sanitize_plain(data.short_description, 300),
        description_source=data.description,
        description_html=render_description(data.description) if data.description.strip() else "",
        tags=clean_tags(data.tags),
        urls=clean_urls(data.urls),
        contact=clean_contact(data.contact),
        is_private=data.is_private,
        open_edition=data.open_edition,
        open_data=data.open_data,
        manually_approves_followers=data.manually_approves_followers,
        subtype=data.subtype,
        stage=data.stage,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        all_day=data.all_day,
        timezone=data.timezone,
        capacity=data.capacity,
        organizer_id=data.organizer.id if data.organizer else None,
        parent_id=data.parent.id if data.parent else None,
        place_id=place.id if place else None,
        public_key_pem=public_pem,
        private_key_pem=private_pem,
        **local_actor_urls(settings, username),
    )
    session.add(actor)
    await session.flush()
    if place is not None:
        await attach_actor(session, actor.id)  # the zones covering its point
    if admin is not None and data.kind in MEMBERSHIP_TYPE:
        await add_link(session, admin, actor, MEMBERSHIP_TYPE[data.kind], is_admin=True)
    return actor


async def suggest_username(session: AsyncSession, name: str) -> str:
    """A free username made from ``name`` ("Jardin partagé" -> "jardin_partage", then "jardin_partage_2")."""
    base = slugify(name)
    if base in RESERVED:
        base = f"{base}_1"
    candidate, n = base, 1
    while await username_taken(session, candidate):
        n += 1
        candidate = f"{base[:36]}_{n}"
    return candidate


async def add_link(
    session: AsyncSession,
    subject: Actor,
    obj: Actor,
    link_type: str,
    *,
    is_admin: bool = False,
    state: str = "accepted",
    roles: list[str] | None = None,
) -> Link:
    """Create (or update) the link ``subject --link_type--> obj``."""
    link = await session.scalar(
        select(Link).where(Link.subject_id == subject.id, Link.object_id == obj.id, Link.type == link_type)
    )
    if link is None:
        link = Link(subject_id=subject.id, object_id=obj.id, type=link_type)
        session.add(link)
    link.is_admin = is_admin
    link.state = state
    link.roles = [sanitize_plain(r, 80) for r in (roles or []) if r.strip()]
    await session.flush()
    return link


async def get_local_actor(session: AsyncSession, username: str, *, with_place: bool = True) -> Actor | None:
    stmt = select(Actor).where(
        Actor.local.is_(True),
        func.lower(Actor.username) == normal_username(username),
        Actor.deleted_at.is_(None),
    )
    if with_place:
        stmt = stmt.options(
            selectinload(Actor.place), selectinload(Actor.organizer), selectinload(Actor.parent)
        )
    return await session.scalar(stmt)


async def require_local_actor(session: AsyncSession, username: str) -> Actor:
    actor = await get_local_actor(session, username)
    if actor is None:
        raise NotFound(f"no element named {username!r}", field="username")
    return actor


async def is_member(session: AsyncSession, person: Actor | None, element: Actor) -> bool:
    """Whether ``person`` is an accepted member/contributor/attendee (or the element itself).

    A member who asked to become admin (``admin_requested``) stays a member meanwhile.
    """
    if person is None:
        return False
    if person.id == element.id:
        return True
    link_type = MEMBERSHIP_TYPE.get(element.kind)
    if link_type is None:
        return False
    stmt = select(Link.id).where(
        Link.subject_id == person.id,
        Link.object_id == element.id,
        Link.type == link_type,
        Link.state.in_(MEMBER_STATES),
    )
    return (await session.scalar(stmt)) is not None


async def can_view(session: AsyncSession, viewer: Actor | None, element: Actor) -> bool:
    """Private elements are visible to their members only."""
    return not element.is_private or await is_member(session, viewer, element)


def normal_username(username: str) -> str:
    return username.lower().lstrip("@")


def viewable_local_id(username: Any, viewer_id: Any) -> Select:
    """SQL: the id of the local element ``username`` if the viewer (a person's id) may see it — the rule of
    ``get_local_actor`` + ``can_view``, as one statement to fold into another (a wall page). Either may be a
    ``bindparam`` (then ``username`` stands for ``normal_username(name)``)."""
    if isinstance(username, str):
        username = normal_username(username)
    viewable = Actor.is_private.is_(False)
    if viewer_id is not None:
        member = select(Link.id).where(
            Link.subject_id == viewer_id,
            Link.object_id == Actor.id,
            Link.type == case(MEMBERSHIP_TYPE, value=Actor.kind),
            Link.state.in_(MEMBER_STATES),
        )
        viewable = or_(viewable, Actor.id == viewer_id, member.exists())
    return select(Actor.id).where(
        Actor.local.is_(True),
        func.lower(Actor.username) == username,
        Actor.deleted_at.is_(None),
        viewable,
    )


async def community_counts(session: AsyncSession, element: Actor) -> dict[str, int]:
    """Accepted links pointing at the element, by type (members asking to become admin included)."""
    rows = await session.execute(
        select(Link.type, func.count())
        .where(Link.object_id == element.id, Link.state.in_(MEMBER_STATES))
        .group_by(Link.type)
    )
    return {t: n for t, n in rows.all()}


def element_summary(actor: Actor) -> dict[str, Any]:
    """A small dict used by listings (web and API)."""
    return {"username": actor.username, "name": actor.name, "kind": actor.kind, "type": actor.subtype}

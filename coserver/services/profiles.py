"""Person profiles: what each viewer may see, and editing one's own profile.

Each optional field of a person has a visibility in ``Actor.field_visibility``: ``public`` (everyone, and
the fediverse), ``linked`` (people linked to the person: a follow either way or a shared membership of an
organization, project or event) or ``hidden`` (the person only). Name and username are always public (they
are how people and servers address the person). Contact e-mail and phone are hidden until chosen otherwise,
as in Communecter; the other fields are public by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from coserver.config import Settings
from coserver.models import Account, Actor, Link, Place
from coserver.models.vocab import LOCALES, MEMBERSHIP_TYPE
from coserver.services.accounts import ANONYMISED_HASH
from coserver.services.editing import update_element
from coserver.services.errors import InvalidInput
from coserver.services.places import PlaceInput, coordinates, create_place
from coserver.services.zones import attach_actor, geolocate
from federation import outbox

VISIBILITIES = ("public", "linked", "hidden")
# field -> default visibility; the fields a person chooses the visibility of, in form order.
VISIBILITY_FIELDS: dict[str, str] = {
    "short_description": "public",
    "description": "public",
    "tags": "public",
    "place": "public",
    "urls": "public",
    "email": "hidden",
    "phone": "hidden",
}
ANONYMISED_NAME = "Deleted account"  # stored on an anonymised person; translated when shown
_MEMBERSHIP_LINKS = tuple(MEMBERSHIP_TYPE.values())


def visibility(person: Actor, name: str) -> str:
    """The visibility of field ``name`` of ``person`` (non-person elements: everything is public)."""
    if person.kind != "person" or name not in VISIBILITY_FIELDS:
        return "public"
    chosen = (person.field_visibility or {}).get(name)
    return chosen if chosen in VISIBILITIES else VISIBILITY_FIELDS[name]


def is_public(person: Actor, name: str) -> bool:
    """Whether field ``name`` may go to anyone (anonymous pages, the API, the fediverse)."""
    return visibility(person, name) == "public"


def public_copy(actor: Actor) -> Actor:
    """A detached copy of a person showing only its public fields (other elements are returned as they are).

    For the anonymous API and open-data documents (JSON, JSON-LD, vCard), which read the columns directly.
    """
    if actor.kind != "person":
        return actor
    loaded = actor.__dict__
    values = {
        column.key: loaded[column.key]
        for column in Actor.__mapper__.column_attrs
        if column.key in loaded and column.key != "search_vector"
    }
    blanks = {
        "short_description": {"short_description": ""},
        "description": {"description_html": "", "description_source": None},
        "tags": {"tags": []},
        "urls": {"urls": []},
        "place": {"place_id": None},
    }
    for name, blank in blanks.items():
        if not is_public(actor, name):
            values.update(blank)
    contact = dict(values.get("contact") or {})
    for name in ("email", "phone"):
        if not is_public(actor, name):
            contact.pop(name, None)
            if name == "phone":
                contact.pop("mobile", None)
                contact.pop("fax", None)
    values["contact"] = contact
    copy = Actor(**values)
    copy.place = loaded.get("place") if values.get("place_id") else None
    copy.organizer = copy.parent = None
    return copy


async def is_linked(session: AsyncSession, a: Actor, b: Actor) -> bool:
    """Whether ``a`` and ``b`` follow each other in either direction, or share a membership."""
    if a.id == b.id:
        return True
    follows = select(Link.id).where(
        Link.type == "follower",
        Link.state == "accepted",
        or_(
            and_(Link.subject_id == a.id, Link.object_id == b.id),
            and_(Link.subject_id == b.id, Link.object_id == a.id),
        ),
    )
    other = aliased(Link)
    shared = (
        select(Link.id)
        .join(other, other.object_id == Link.object_id)
        .where(
            Link.subject_id == a.id,
            Link.type.in_(_MEMBERSHIP_LINKS),
            Link.state == "accepted",
            other.subject_id == b.id,
            other.type.in_(_MEMBERSHIP_LINKS),
            other.state == "accepted",
        )
    )
    return bool(await session.scalar(select(or_(exists(follows), exists(shared)))))


async def is_anonymised(session: AsyncSession, person: Actor) -> bool:
    return (
        await session.scalar(
            select(Account.id).where(Account.person_id == person.id, Account.password_hash == ANONYMISED_HASH)
        )
    ) is not None


def _place_dict(place: Place | None) -> dict[str, Any] | None:
    if place is None:
        return None
    coords = coordinates(place)
    return {
        "street": place.street,
        "postal_code": place.postal_code,
        "locality": place.locality,
        "country": place.country,
        "lat": coords[0] if coords else None,
        "lon": coords[1] if coords else None,
        "address": place.address_line(),
    }


async def profile_view(session: AsyncSession, viewer: Actor | None, person: Actor) -> dict[str, Any]:
    """The profile of ``person`` as ``viewer`` (None: anonymous) may see it.

    Always: ``username``, ``name``, ``kind``, ``is_self``, ``anonymised``. Each field of
    :data:`VISIBILITY_FIELDS` the viewer may see is present (``short_description``, ``description_html``
    for ``description``, ``tags``, ``place`` (dict or None), ``urls``, ``email``, ``phone``), the others are
    absent. The person themself also gets ``description_source`` and ``visibility`` (field -> choice).
    """
    is_self = viewer is not None and viewer.id == person.id
    linked = is_self or (viewer is not None and await is_linked(session, viewer, person))
    allowed = {"public", "linked"} if linked else {"public"}

    def shown(name: str) -> bool:
        return is_self or visibility(person, name) in allowed

    view: dict[str, Any] = {
        "username": person.username,
        "name": person.name,
        "kind": person.kind,
        "is_self": is_self,
        "linked": linked,
        "anonymised": person.local and await is_anonymised(session, person),
    }
    if shown("short_description"):
        view["short_description"] = person.short_description
    if shown("description"):
        view["description_html"] = person.description_html
    if shown("tags"):
        view["tags"] = list(person.tags)
    if shown("place"):
        place = person.__dict__.get("place")
        if place is None and person.place_id is not None:
            place = await session.get(Place, person.place_id)
        view["place"] = _place_dict(place)
    if shown("urls"):
        view["urls"] = list(person.urls)
    contact = person.contact or {}
    if shown("email"):
        view["email"] = contact.get("email", "")
    if shown("phone"):
        view["phone"] = contact.get("phone", "")
    if is_self:
        view["description_source"] = person.description_source or ""
        view["visibility"] = {name: visibility(person, name) for name in VISIBILITY_FIELDS}
    return view


@dataclass
class ProfileInput:
    """Everything the profile form edits."""

    name: str
    short_description: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    email: str = ""
    phone: str = ""
    place: PlaceInput = field(default_factory=PlaceInput)
    locale: str | None = None
    visibility: dict[str, str] = field(default_factory=dict)


def _clean_visibility(choices: dict[str, str]) -> dict[str, str]:
    out = {}
    for name, value in choices.items():
        if name not in VISIBILITY_FIELDS:
            raise InvalidInput(f"unknown profile field {name!r}", field=f"vis_{name}")
        if value not in VISIBILITIES:
            raise InvalidInput("choose public, linked people or hidden", field=f"vis_{name}")
        out[name] = value
    return out


def _same_place(place: Place | None, data: PlaceInput) -> bool:
    if place is None:
        return data.empty
    coords = coordinates(place)
    keys = ("street", "postal_code", "locality", "country")
    same_text = all(getattr(place, k) == getattr(data, k) for k in keys)
    if data.lat is None:
        return same_text
    return same_text and coords is not None and abs(coords[0] - data.lat) + abs(coords[1] - data.lon) < 1e-7


async def update_profile(
    session: AsyncSession, settings: Settings, account: Account, person: Actor, data: ProfileInput
) -> list[str]:
    """Save the profile form of ``person`` (owned by ``account``); returns the changed fields.

    Text fields go through :func:`coserver.services.editing.update_element` (sanitising, Markdown rendering,
    ``Update`` to remote followers); the place, field visibility and language are handled here, and an
    ``Update`` is sent when they alone changed something public. Flushes; the caller commits.
    """
    visibility_choices = _clean_visibility(data.visibility)
    if data.locale is not None and data.locale not in LOCALES:
        raise InvalidInput(f"locale must be one of {', '.join(LOCALES)}", field="locale")
    data.place.country = data.place.country.strip().upper()
    data.place.validate()
    changed: list[str] = []
    current_place = await session.get(Place, person.place_id) if person.place_id else None
    if not _same_place(current_place, data.place):
        if data.place.empty:
            person.place = None
        else:
            await geolocate(session, settings, data.place)
            place = await create_place(session, data.place)
            await session.refresh(place, ["location"])  # the point as stored, for the actor document
            person.place = place
        await session.flush()
        await attach_actor(session, person.id)
        changed.append("place")
    else:
        person.place = current_place
    merged = {**(person.field_visibility or {}), **visibility_choices}
    if merged != (person.field_visibility or {}):
        person.field_visibility = merged
        changed.append("visibility")
    if data.locale and data.locale != account.locale:
        account.locale = data.locale
        changed.append("locale")
    contact = {k: v for k, v in (person.contact or {}).items() if k not in {"email", "phone"}}
    contact.update(email=data.email, phone=data.phone)
    # update_element sends Update(actor) to remote followers when a public text field changed.
    edited = await update_element(
        session,
        settings,
        person,
        editor=person,
        name=data.name,
        short_description=data.short_description,
        description=data.description,
        tags=data.tags,
        urls=[{"type": "website", "url": url} for url in data.urls if url],
        contact=contact,
    )
    published = bool(edited and not person.is_private and set(edited) - {"contact"})
    if not published and not person.is_private and {"place", "visibility"} & set(changed):
        await outbox.publish_actor_update(session, settings, person)
    return edited + changed

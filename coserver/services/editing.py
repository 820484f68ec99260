"""Editing elements. Every change to a public profile is sent to remote followers as ``Update(actor)``, and
every edit is recorded in the element's history (``element_edits``: field → ``[old, new]``, editor, time).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coserver.config import Settings
from coserver.models import Actor, Place
from coserver.services.elements import (
    ElementInput,
    clean_contact,
    clean_tags,
    clean_urls,
    validate_kind_fields,
)
from coserver.services.errors import Forbidden, InvalidInput
from coserver.services.history import record_edit
from coserver.services.places import PlaceInput, coordinates, create_place
from coserver.text.render import render_description
from coserver.text.sanitize import sanitize_plain
from federation import outbox

EDITABLE = (
    "name",
    "short_description",
    "description",
    "tags",
    "urls",
    "contact",
    "manually_approves_followers",
    "discoverable",
    "open_edition",
    "open_data",
    "is_private",
    "subtype",
    "stage",
    "starts_at",
    "ends_at",
    "all_day",
    "timezone",
    "capacity",
    "parent",
    "place",
)
FLAGS = ("manually_approves_followers", "discoverable", "open_edition", "open_data", "is_private", "all_day")
KIND_FIELDS = ("subtype", "stage", "starts_at", "ends_at", "timezone", "capacity")
# Changes that remote followers do not need to hear about.
_NOT_FEDERATED = {"open_edition", "open_data", "contact", "is_private"}
_ADDRESS = ("street", "postal_code", "locality", "country")


async def can_edit(session: AsyncSession, person: Actor | None, actor: Actor) -> bool:
    """Admins edit their element, a person only themself; anyone logged in edits an open-edition element."""
    from coserver.services.community import is_admin

    if person is None or not person.local or person.kind != "person":
        return False
    if person.id == actor.id:
        return True
    if actor.kind == "person":
        return False
    return actor.open_edition or await is_admin(session, person, actor)


async def check_can_edit(session: AsyncSession, person: Actor | None, actor: Actor) -> None:
    if not await can_edit(session, person, actor):
        raise Forbidden("you may not edit this element")


def place_summary(place: Place | None) -> dict[str, Any] | None:
    """An element's place as recorded in the history: address fields and rounded point."""
    if place is None:
        return None
    summary: dict[str, Any] = {f: getattr(place, f) for f in _ADDRESS if getattr(place, f)}
    coords = coordinates(place)
    if coords is not None:
        summary["lat"], summary["lon"] = round(coords[0], 6), round(coords[1], 6)
    return summary


def _input_summary(data: PlaceInput | None) -> dict[str, Any] | None:
    if data is None or data.empty:
        return None
    summary: dict[str, Any] = {f: getattr(data, f) for f in _ADDRESS if getattr(data, f)}
    if data.lat is not None and data.lon is not None:
        summary["lat"], summary["lon"] = round(data.lat, 6), round(data.lon, 6)
    return summary


async def update_element(
    session: AsyncSession, settings: Settings, actor: Actor, *, editor: Actor | None = None, **changes: Any
) -> list[str]:
    """Apply ``changes`` (keys from :data:`EDITABLE`) to a local element; returns what changed.

    ``parent`` is an Actor (or None), ``place`` a :class:`PlaceInput` (or None to remove the place; an
    address without a point is geocoded). The edit is recorded with ``editor`` as its author.
    """
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(f"cannot edit {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    if not actor.local:
        raise InvalidInput("only local elements are edited here")
    history: dict[str, tuple[Any, Any]] = {}

    def put(column: str, value: Any, label: str) -> None:
        old = getattr(actor, column)
        if old != value:
            setattr(actor, column, value)
            history[label] = (old, value)

    if "name" in changes:
        name = sanitize_plain(str(changes["name"]), 200)
        if not name:
            raise InvalidInput("a name is required", field="name")
        put("name", name, "name")
    if "short_description" in changes:
        put("short_description", sanitize_plain(str(changes["short_description"]), 300), "short_description")
    if "description" in changes:
        source = str(changes["description"])
        if (actor.description_source or "") != source:
            put("description_source", source, "description")
            actor.description_html = render_description(source) if source.strip() else ""
    if "tags" in changes:
        put("tags", clean_tags(list(changes["tags"])), "tags")
    if "urls" in changes:
        put("urls", clean_urls(list(changes["urls"])), "urls")
    if "contact" in changes:
        put("contact", clean_contact(dict(changes["contact"])), "contact")
    for flag in FLAGS:
        if flag in changes:
            put(flag, bool(changes[flag]), flag)
    if set(KIND_FIELDS) & set(changes):
        _check_kind_fields(actor, changes)
        for column in KIND_FIELDS:
            if column in changes:
                put(column, changes[column], column)
    if "parent" in changes:
        await _set_parent(session, actor, changes["parent"], history)
    if "place" in changes:
        await _set_place(session, settings, actor, changes["place"], history)
    await session.flush()
    await record_edit(session, actor, editor, history)
    changed = list(history)
    if changed and not actor.is_private and set(changed) - _NOT_FEDERATED:
        await outbox.publish_actor_update(session, settings, actor)
    return changed


def _check_kind_fields(actor: Actor, changes: dict[str, Any]) -> None:
    """The element's kind-specific fields after the change must make sense together."""
    values = {c: changes.get(c, getattr(actor, c)) for c in KIND_FIELDS}
    probe = ElementInput(kind=actor.kind, username=actor.username, name=actor.name or "-", **values)
    validate_kind_fields(probe)


async def _set_parent(
    session: AsyncSession, actor: Actor, parent: Actor | None, history: dict[str, tuple[Any, Any]]
) -> None:
    new_id = parent.id if parent is not None else None
    if new_id == actor.parent_id:
        return
    if parent is not None and (parent.id == actor.id or not parent.local or parent.kind == "person"):
        raise InvalidInput("the parent is a local organization, project, event or place", field="parent")
    old = actor.__dict__.get("parent")
    history["parent"] = (
        old.username if old is not None else actor.parent_id,
        parent.username if parent else None,
    )
    actor.parent_id = new_id


async def _set_place(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    data: PlaceInput | None,
    history: dict[str, tuple[Any, Any]],
) -> None:
    from coserver.services.zones import attach_actor, geolocate

    old_place = await session.get(Place, actor.place_id) if actor.place_id else None
    old = place_summary(old_place)
    if data is None or data.empty:
        if old_place is not None:
            actor.place_id = None
            history["place"] = (old, None)
            await session.flush()
            await attach_actor(session, actor.id)
        return
    data.validate()
    wanted = _input_summary(data)
    same_address = old is not None and all(old.get(f, "") == (wanted or {}).get(f, "") for f in _ADDRESS)
    if same_address and wanted is not None and "lat" not in wanted and "lat" in (old or {}):
        return  # same address, no point given: keep the current point rather than geocode again
    await geolocate(session, settings, data)
    new = _input_summary(data)
    if new == old:
        return
    place = await create_place(session, PlaceInput(**{f.name: getattr(data, f.name) for f in fields(data)}))
    actor.place_id = place.id
    history["place"] = (old, new)
    await session.flush()
    await attach_actor(session, actor.id)

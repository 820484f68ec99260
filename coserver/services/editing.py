"""Editing elements. Every change to a public profile is sent to remote followers as ``Update(actor)``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coserver.config import Settings
from coserver.models import Actor
from coserver.services.elements import clean_contact, clean_tags, clean_urls
from coserver.services.errors import InvalidInput
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
)


async def update_element(
    session: AsyncSession, settings: Settings, actor: Actor, **changes: Any
) -> list[str]:
    """Apply ``changes`` (keys from :data:`EDITABLE`) to a local element; returns what changed."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(f"cannot edit {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    if not actor.local:
        raise InvalidInput("only local elements are edited here")
    changed: list[str] = []

    def put(column: str, value: Any, label: str) -> None:
        if getattr(actor, column) != value:
            setattr(actor, column, value)
            changed.append(label)

    if "name" in changes:
        name = sanitize_plain(str(changes["name"]), 200)
        if not name:
            raise InvalidInput("a name is required", field="name")
        put("name", name, "name")
    if "short_description" in changes:
        put("short_description", sanitize_plain(str(changes["short_description"]), 300), "short_description")
    if "description" in changes:
        source = str(changes["description"])
        put("description_source", source, "description")
        actor.description_html = render_description(source) if source.strip() else ""
    if "tags" in changes:
        put("tags", clean_tags(list(changes["tags"])), "tags")
    if "urls" in changes:
        put("urls", clean_urls(list(changes["urls"])), "urls")
    if "contact" in changes:
        put("contact", clean_contact(dict(changes["contact"])), "contact")
    for flag in ("manually_approves_followers", "discoverable", "open_edition", "open_data"):
        if flag in changes:
            put(flag, bool(changes[flag]), flag)
    await session.flush()
    if changed and not actor.is_private and set(changed) - {"open_edition", "open_data", "contact"}:
        await outbox.publish_actor_update(session, settings, actor)
    return changed

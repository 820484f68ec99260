"""Usernames: one ASCII namespace shared by every kind of local actor, following Mastodon's rules."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Actor
from coserver.services.errors import Conflict, InvalidInput

# Mastodon's Account::USERNAME_RE, anchored: letters, digits, underscore; dots and dashes only inside.
USERNAME_RE = re.compile(r"^[a-z0-9_]+(?:[.-]+[a-z0-9_]+)*$")
MAX_LENGTH = 64
RESERVED = frozenset(
    {
        "actor",
        "admin",
        "administrator",
        "api",
        "inbox",
        "outbox",
        "instance",
        "root",
        "search",
        "static",
        "tags",
        "settings",
        "login",
        "logout",
        "signup",
        "healthz",
        "nodeinfo",
        "webfinger",
        "well-known",
        "www",
        "about",
        "agenda",
        "live",
        "map",
        "support",
        "help",
        "system",
        "coserver",
    }
)


def normalize_username(raw: str) -> str:
    """Lower-case and validate a username; raise :class:`InvalidInput` naming the rule broken."""
    value = (raw or "").strip().lstrip("@").lower()
    if not value:
        raise InvalidInput("a username is required", field="username")
    if len(value) > MAX_LENGTH:
        raise InvalidInput(f"a username has at most {MAX_LENGTH} characters", field="username")
    if not USERNAME_RE.match(value):
        raise InvalidInput(
            "a username uses only letters a-z, digits and _ (dots and dashes allowed inside)",
            field="username",
        )
    if value in RESERVED:
        raise InvalidInput(f"the username {value!r} is reserved", field="username")
    return value


def slugify(text: str, max_length: int = 40) -> str:
    """A username-shaped slug for a display name ("Jardin partagé" -> "jardin_partage")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")
    return slug[:max_length].strip("_") or "element"


async def username_taken(session: AsyncSession, username: str) -> bool:
    stmt = select(Actor.id).where(Actor.local.is_(True), func.lower(Actor.username) == username.lower())
    return (await session.scalar(stmt)) is not None


async def ensure_available(session: AsyncSession, username: str) -> str:
    value = normalize_username(username)
    if await username_taken(session, value):
        raise Conflict(f"the username {value!r} is already taken", field="username")
    return value

"""NodeInfo 2.0 and 2.1 documents (https://nodeinfo.diaspora.software/), with real counts from the database.

The discovery document also carries the FEP-2677 link to the instance actor (``{base}/actor``). Usage is
computed on every request (nothing is cached yet) in one query: accounts, element counts and local posts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from coserver import __version__
from coserver.config import Settings
from coserver.models import Account, Actor, Post
from coserver.models.vocab import ELEMENT_KINDS

VERSIONS = ("2.0", "2.1")
SOFTWARE_NAME = "coserver"  # NodeInfo requires [a-z0-9-]+
SCHEMA_REL = "http://nodeinfo.diaspora.software/ns/schema/{version}"
FEP_2677_REL = "https://www.w3.org/ns/activitystreams#Application"

# Plural keys of ``metadata.elements``, per element kind.
ELEMENT_KEYS = {
    "person": "people",
    "organization": "organizations",
    "project": "projects",
    "event": "events",
    "poi": "pois",
}


@dataclass(frozen=True)
class Usage:
    """What the node reports about its use."""

    users_total: int = 0
    active_month: int = 0
    active_halfyear: int = 0
    local_posts: int = 0
    elements: dict[str, int] = field(default_factory=dict)  # kind -> public local elements


def content_type(version: str) -> str:
    return f'application/json; profile="{SCHEMA_REL.format(version=version)}#"'


def discovery_document(settings: Settings) -> dict[str, Any]:
    """``/.well-known/nodeinfo``: the schema links, then the FEP-2677 instance actor link."""
    links: list[dict[str, str]] = [
        {"rel": SCHEMA_REL.format(version=v), "href": settings.url(f"/nodeinfo/{v}")} for v in VERSIONS
    ]
    links.append({"rel": FEP_2677_REL, "href": settings.url("/actor")})
    return {"links": links}


def nodeinfo_document(version: str, settings: Settings, usage: Usage) -> dict[str, Any]:
    """The NodeInfo document for ``version`` (``2.0`` or ``2.1``; 2.1's optional software links omitted)."""
    if version not in VERSIONS:
        raise ValueError(f"unsupported NodeInfo version {version!r}")
    elements = {ELEMENT_KEYS[kind]: usage.elements.get(kind, 0) for kind in ELEMENT_KINDS}
    return {
        "version": version,
        "software": {"name": SOFTWARE_NAME, "version": __version__},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": settings.open_registrations,
        "usage": {
            "users": {
                "total": usage.users_total,
                "activeMonth": usage.active_month,
                "activeHalfyear": usage.active_halfyear,
            },
            "localPosts": usage.local_posts,
        },
        "metadata": {"nodeName": settings.territory_name, "elements": elements},
    }


async def gather_usage(session: AsyncSession) -> Usage:
    """Count active accounts, recently active ones, public local elements per kind, and local posts."""
    last_seen = func.coalesce(Account.last_login_at, Account.created_at)
    users = (
        select(
            func.count().label("total"),
            func.count().filter(last_seen >= func.now() - timedelta(days=30)).label("month"),
            func.count().filter(last_seen >= func.now() - timedelta(days=180)).label("halfyear"),
        )
        .select_from(Account)
        .join(Actor, Actor.id == Account.person_id)
        .where(Account.is_active.is_(True), Actor.deleted_at.is_(None))
        .subquery("u")
    )
    elements = (
        select(*(func.count().filter(Actor.kind == kind).label(kind) for kind in ELEMENT_KINDS))
        .where(Actor.local.is_(True), Actor.is_private.is_(False), Actor.deleted_at.is_(None))
        .subquery("e")
    )
    stmt = (
        select(
            users.c.total,
            users.c.month,
            users.c.halfyear,
            *(elements.c[kind] for kind in ELEMENT_KINDS),
            select(func.count())
            .select_from(Post)
            .where(Post.local.is_(True), Post.deleted_at.is_(None))
            .scalar_subquery()
            .label("local_posts"),
        )
        .select_from(users)
        .join(elements, true())
    )
    row = (await session.execute(stmt)).one()._mapping
    local_posts = int(row["local_posts"] or 0)
    return Usage(
        users_total=row["total"],
        active_month=row["month"],
        active_halfyear=row["halfyear"],
        local_posts=local_posts,
        elements={kind: row[kind] for kind in ELEMENT_KINDS},
    )

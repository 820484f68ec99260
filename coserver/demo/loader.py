"""Loading the demo territory (``reunion.json``) through the same services operators use.

Loaded only into a database without elements, so a restart never duplicates it. Demo accounts get a random
password (they are there to be seen, not logged into); an operator may reset one with the CLI.
Event dates are relative to the day of loading, so the agenda is alive whenever the demo is loaded.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.config import Settings
from coserver.db import Database
from coserver.models import Actor
from coserver.services.accounts import create_account
from coserver.services.elements import ElementInput, add_link, create_element
from coserver.services.places import PlaceInput

_PLACE_KEYS = {
    "street": "street",
    "postal_code": "postal_code",
    "locality": "locality",
    "locality_code": "locality_code",
    "country": "country",
    "lat": "lat",
    "lon": "lon",
    "name": "name",
}


def demo_data() -> dict[str, Any]:
    with resources.files("coserver.demo").joinpath("reunion.json").open(encoding="utf-8") as fh:
        return json.load(fh)


def _place(raw: dict[str, Any] | None) -> PlaceInput | None:
    if not raw:
        return None
    return PlaceInput(**{dst: raw[src] for src, dst in _PLACE_KEYS.items() if src in raw})


def _common(item: dict[str, Any], kind: str) -> ElementInput:
    return ElementInput(
        kind=kind,
        username=item["username"],
        name=item["name"],
        short_description=item.get("short_description", ""),
        description=item.get("description", ""),
        tags=item.get("tags", []),
        urls=item.get("urls", []),
        contact=item.get("contact", {}),
        place=_place(item.get("place")),
        open_edition=item.get("open_edition", False),
        manually_approves_followers=item.get("manually_approves_followers", False),
    )


def demo_origin(today: date) -> date:
    """Day 0 of the demo's event offsets, chosen so that days 5-6 fall on the coming Saturday-Sunday."""
    days_to_saturday = (5 - today.weekday()) % 7
    return today + timedelta(days=days_to_saturday - 5)


def _event_dates(item: dict[str, Any], origin: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    day = origin + timedelta(days=int(item.get("start_in_days", 0)))
    if item.get("all_day"):
        start = datetime.combine(day, time(0, 0), tz)
        end = datetime.combine(day + timedelta(days=int(item.get("duration_days", 1)) - 1), time(23, 59), tz)
        return start, end
    hours, minutes = (int(x) for x in item.get("start_time", "09:00").split(":"))
    start = datetime.combine(day, time(hours, minutes), tz)
    return start, start + timedelta(hours=float(item.get("duration_hours", 2)))


async def load_demo(
    db: Database, conf: Settings, data: dict[str, Any] | None = None, today: date | None = None
) -> dict[str, int]:
    """Load the demo territory in one transaction; returns counts per kind."""
    data = data or demo_data()
    tz = ZoneInfo(data.get("territory", {}).get("timezone") or conf.timezone)
    today = today or datetime.now(tz).date()
    actors: dict[str, Actor] = {}
    counts = {"people": 0, "organizations": 0, "projects": 0, "events": 0, "pois": 0, "posts": 0}

    async with db.transaction() as session:
        for item in data.get("people", []):
            person = _common(item, "person")
            account = await create_account(
                session,
                conf,
                username=item["username"],
                password=secrets.token_urlsafe(24),
                email=item.get("email"),
                name=item["name"],
                person=person,
            )
            actors[item["username"]] = account.person
            counts["people"] += 1

        async def members(
            element: Actor, item: dict[str, Any], admins_key: str, members_key: str, link_type: str
        ) -> None:
            roles = item.get("roles", {})
            for username in item.get(admins_key, []):
                await add_link(
                    session,
                    actors[username],
                    element,
                    link_type,
                    is_admin=True,
                    roles=roles.get(username, []),
                )
            for username in item.get(members_key, []):
                await add_link(session, actors[username], element, link_type, roles=roles.get(username, []))

        for item in data.get("organizations", []):
            org_input = _common(item, "organization")
            org_input.subtype = item.get("type")
            org = await create_element(session, conf, org_input)
            actors[item["username"]] = org
            await members(org, item, "admins", "members", "member")
            counts["organizations"] += 1

        for item in data.get("projects", []):
            project_input = _common(item, "project")
            project_input.stage = item.get("stage")
            if item.get("start"):
                project_input.starts_at = datetime.combine(date.fromisoformat(item["start"]), time(0), tz)
            if item.get("end"):
                project_input.ends_at = datetime.combine(date.fromisoformat(item["end"]), time(23, 59), tz)
            project_input.parent = actors.get(item.get("parent", ""))
            project = await create_element(session, conf, project_input)
            actors[item["username"]] = project
            await members(project, item, "admins", "contributors", "contributor")
            counts["projects"] += 1

        # Parents first, so sub-events can point at them.
        events = sorted(data.get("events", []), key=lambda e: bool(e.get("parent_event")))
        for item in events:
            event_input = _common(item, "event")
            event_input.subtype = item.get("type")
            event_input.starts_at, event_input.ends_at = _event_dates(item, demo_origin(today), tz)
            event_input.all_day = bool(item.get("all_day"))
            event_input.timezone = str(tz)
            event_input.capacity = item.get("capacity")
            event_input.organizer = actors.get(item.get("organizer", ""))
            event_input.parent = actors.get(item.get("parent_event", ""))
            event = await create_element(session, conf, event_input)
            actors[item["username"]] = event
            for username in item.get("attendees", []):
                await add_link(session, actors[username], event, "attendee")
            counts["events"] += 1

        for item in data.get("pois", []):
            poi_input = _common(item, "poi")
            poi_input.subtype = item.get("type")
            poi_input.parent = actors.get(item.get("parent", ""))
            actors[item["username"]] = await create_element(session, conf, poi_input)
            counts["pois"] += 1

        await _after_elements(session, conf, data, actors, today)
        counts["posts"] = len(data.get("posts", []))
    return counts


async def _after_elements(
    session: AsyncSession, conf: Settings, data: dict[str, Any], actors: dict[str, Actor], today: date
) -> None:
    """The demo's posts, through the posting service (replies thread under their parent)."""
    from coserver.services.posting import post_on_wall

    items = data.get("posts", [])
    # Oldest first (parents are never younger than their replies), so ids follow publication order.
    order = sorted(range(len(items)), key=lambda i: (-float(items[i].get("days_ago", 0)), i))
    created: dict[int, Any] = {}
    now = datetime.now(UTC)
    for rank, index in enumerate(order):
        item = items[index]
        parent = created.get(item["in_reply_to"]) if isinstance(item.get("in_reply_to"), int) else None
        post = await post_on_wall(
            session,
            conf,
            actors[item["author"]],
            actors[item["wall"]],
            item["text"],
            scope=item.get("scope", "public"),
            as_element=bool(item.get("as_element")),
            in_reply_to=parent,
        )
        post.published_at = now - timedelta(days=float(item.get("days_ago", 0)), minutes=len(order) - rank)
        created[index] = post


async def database_is_empty(db: Database) -> bool:
    async with db.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(Actor).where(Actor.local.is_(True), Actor.kind != "application")
        )
    return not count


async def load_demo_if_empty(conf: Settings, db: Database | None = None) -> dict[str, int] | None:
    """Load the demo when no local element exists yet; None when the database was not empty."""
    own = db is None
    db = db or Database(conf.database_url or "", pool_size=2)
    try:
        if not await database_is_empty(db):
            return None
        return await load_demo(db, conf)
    finally:
        if own:
            await db.dispose()

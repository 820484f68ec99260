"""Event actor <-> AS2 ``Event`` object (Mobilizon's shape, FEP-8a8e compatible).

A local event is an actor (a ``Group`` Mastodon users can follow) *and* an ``Event`` object at
``<actor id>/event``, pinned in its ``featured`` collection so that Mastodon backfills it. Its ``summary`` is
"long date (UTC offset) – address", what Mastodon shows under the title (Mobilizon's trick).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime

from coserver.models import Actor
from coserver.text.sanitize import sanitize_html, sanitize_plain
from federation.converters.place import place_from_as, place_to_as
from federation.vocabulary import CONTEXT, PUBLIC

# Communecter event types -> Mobilizon categories.
CATEGORIES = {
    "concert": "MUSIC",
    "festival": "PARTY",
    "exhibition": "ARTS",
    "film": "FILM_MEDIA",
    "workshop": "LEARNING",
    "course": "LEARNING",
    "conference": "LEARNING",
    "debate": "MEETING",
    "meeting": "MEETING",
    "getTogether": "COMMUNITY",
    "market": "COMMUNITY",
    "competition": "SPORTS",
    "contest": "GAMES",
    "stand": "COMMUNITY",
    "crowdfunding": "CAUSES",
    "others": "COMMUNITY",
}


def event_object_id(actor: Actor) -> str:
    return f"{actor.ap_id}/event"


def _zone(actor: Actor) -> ZoneInfo:
    try:
        return ZoneInfo(actor.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def event_summary(actor: Actor, locale: str = "fr") -> str:
    """ "samedi 12 octobre 2026 14:00 (UTC+02:00) – 3 rue X, 35000 Rennes"."""
    if actor.starts_at is None:
        return ""
    local = actor.starts_at.astimezone(_zone(actor))
    offset = local.strftime("%z")
    pattern = "EEEE d MMMM y" if actor.all_day else "EEEE d MMMM y HH:mm"
    text = format_datetime(local, pattern, locale=locale)
    if not actor.all_day:
        text += f" (UTC{offset[:3]}:{offset[3:]})"
    if actor.place is not None and actor.place.address_line():
        text += f" – {actor.place.address_line()}"
    return text


def event_to_as(
    actor: Actor, *, coords: tuple[float, float] | None = None, attendees: int | None = None
) -> dict[str, Any]:
    tz = _zone(actor)
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": event_object_id(actor),
        "type": "Event",
        "attributedTo": actor.ap_id,
        "name": actor.name,
        "summary": event_summary(actor),
        "content": actor.description_html or f"<p>{actor.short_description}</p>",
        "mediaType": "text/html",
        "url": actor.profile_url,
        "startTime": actor.starts_at.astimezone(tz).isoformat() if actor.starts_at else None,
        "timezone": str(tz),
        "joinMode": "free",
        "category": CATEGORIES.get(actor.subtype or "", "COMMUNITY"),
        "status": "CONFIRMED",
        "isOnline": False,
        "published": actor.created_at.isoformat() if actor.created_at else None,
        "to": [PUBLIC],
        "cc": [actor.followers_url],
        "tag": [{"type": "Hashtag", "name": f"#{t}"} for t in actor.tags],
    }
    if actor.ends_at:
        doc["endTime"] = actor.ends_at.astimezone(tz).isoformat()
    if actor.capacity is not None:
        doc["maximumAttendeeCapacity"] = actor.capacity
        if attendees is not None:
            doc["remainingAttendeeCapacity"] = max(actor.capacity - attendees, 0)
    if attendees is not None:
        doc["participantCount"] = attendees
    if actor.place is not None:
        doc["location"] = place_to_as(actor.place, coords)
    return doc


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def event_from_as(doc: dict[str, Any]) -> dict[str, Any] | None:
    """Plain data of a remote ``Event`` (name, dates, time zone, place, url), or None if unusable."""
    if doc.get("type") != "Event" or not isinstance(doc.get("id"), str):
        return None
    starts_at = _when(doc.get("startTime"))
    if starts_at is None:
        return None
    ends_at = _when(doc.get("endTime"))
    if ends_at is not None and ends_at < starts_at:
        ends_at = None
    tz = doc.get("timezone") if isinstance(doc.get("timezone"), str) else None
    try:
        if tz:
            ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        tz = None
    return {
        "ap_id": doc["id"],
        "name": sanitize_plain(str(doc.get("name") or ""), 200),
        "description_html": sanitize_html(doc["content"]) if isinstance(doc.get("content"), str) else "",
        "starts_at": starts_at,
        "ends_at": ends_at,
        "timezone": tz,
        "place": place_from_as(doc.get("location")),
        "url": doc.get("url") if isinstance(doc.get("url"), str) else None,
    }

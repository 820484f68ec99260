"""Post <-> AS2 ``Note``; the addressing of a post by scope (Mastodon's visibility table).

| scope | to | cc |
|---|---|---|
| public | Public | followers of the author (and of the wall) + mentioned |
| restricted | followers of the author (and of the wall) | mentioned |
| private | — (never leaves the node) | — |
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coserver.config import Settings
from coserver.models import Actor, Place, Post
from federation.converters.place import place_to_as
from federation.vocabulary import CONTEXT, PUBLIC


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def attributed_to(post: Post, author: Actor, wall: Actor) -> Actor:
    """Who the Note is from: the element when posted in its name, the author otherwise."""
    return wall if post.as_element else author


def addressing(
    post: Post, attributed: Actor, wall: Actor, mentioned: list[Actor]
) -> tuple[list[str], list[str]]:
    if post.scope == "private":
        return [], []
    followers = [u for u in dict.fromkeys([attributed.followers_url, wall.followers_url]) if u]
    mentions = [a.ap_id for a in mentioned]
    if post.scope == "public":
        return [PUBLIC], followers + mentions
    return followers, mentions


def note_to_as(
    post: Post,
    *,
    author: Actor,
    wall: Actor,
    mentioned: list[Actor],
    settings: Settings,
    parent_ap_id: str | None = None,
    with_context: bool = True,
    place: Place | None = None,
    coords: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """The Note of a local post; ``place`` (with its ``coords``) becomes its ``location``, an AS2 ``Place``
    (``name``, ``latitude``, ``longitude``, ``address``) as :func:`~federation.converters.place.place_from_as`
    reads it."""
    attributed = attributed_to(post, author, wall)
    to, cc = addressing(post, attributed, wall, mentioned)
    tags: list[dict[str, Any]] = [
        {"type": "Hashtag", "name": f"#{t}", "href": settings.url(f"/tags/{t}")} for t in post.tags
    ]
    tags += [
        {"type": "Mention", "href": a.ap_id, "name": f"@{a.username}@{a.domain or settings.domain}"}
        for a in mentioned
    ]
    doc: dict[str, Any] = {
        "id": post.ap_id,
        "type": "Note",
        "attributedTo": attributed.ap_id,
        "content": post.content_html,
        "mediaType": "text/html",
        "published": _iso(post.published_at),
        "url": post.url or post.ap_id,
        "to": to,
        "cc": cc,
        "tag": tags,
        "inReplyTo": parent_ap_id or post.in_reply_to_ap_id,
        "replies": f"{post.ap_id}/replies",
        "sensitive": bool(post.summary),
    }
    if wall.id != attributed.id:
        doc["audience"] = wall.ap_id  # FEP-1b12: the group (element) whose wall it is on
    if post.summary:
        doc["summary"] = post.summary
    if place is not None and coords is not None:
        doc["location"] = place_to_as(place, coords)
    if post.edited_at:
        doc["updated"] = _iso(post.edited_at)
    if with_context:
        doc = {"@context": CONTEXT, **doc}
    return doc


def tombstone(post: Post) -> dict[str, Any]:
    return {"id": post.ap_id, "type": "Tombstone", "formerType": "Note", "deleted": _iso(post.deleted_at)}

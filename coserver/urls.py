"""The URLs of things on this node (one place to change a route's shape).

Actor ids are ``/actors/<username>``; the human profile page is ``/@<username>``.
"""

from __future__ import annotations

from urllib.parse import quote

from coserver.config import Settings


def actor_id(settings: Settings, username: str) -> str:
    return settings.url(f"/actors/{quote(username)}")


def profile_url(settings: Settings, username: str) -> str:
    return settings.url(f"/@{quote(username)}")


def local_actor_urls(settings: Settings, username: str) -> dict[str, str]:
    """Every URL stored on a local actor row."""
    base = actor_id(settings, username)
    return {
        "ap_id": base,
        "key_id": f"{base}#main-key",
        "inbox_url": f"{base}/inbox",
        "shared_inbox_url": settings.url("/inbox"),
        "outbox_url": f"{base}/outbox",
        "followers_url": f"{base}/followers",
        "following_url": f"{base}/following",
        "featured_url": f"{base}/featured",
        "profile_url": profile_url(settings, username),
    }


def tag_url(settings: Settings, tag: str) -> str:
    return settings.url(f"/tags/{quote(tag.lower())}")

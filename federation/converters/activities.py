"""Builders of the activities we send (Follow, Accept, Reject, Undo, Update, Delete): pure functions."""

from __future__ import annotations

import uuid
from typing import Any

from federation.vocabulary import AS_CONTEXT, CONTEXT, PUBLIC


def new_activity_id(actor_id: str, kind: str) -> str:
    return f"{actor_id}#{kind.lower()}/{uuid.uuid4().hex}"


def follow(actor_id: str, object_id: str, activity_id: str | None = None) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": activity_id or new_activity_id(actor_id, "follows"),
        "type": "Follow",
        "actor": actor_id,
        "object": object_id,
    }


def accept(actor_id: str, follow_activity: dict[str, Any]) -> dict[str, Any]:
    """Accept embedding the Follow exactly as it was received (Mastodon matches it by id)."""
    return {
        "@context": AS_CONTEXT,
        "id": new_activity_id(actor_id, "accepts"),
        "type": "Accept",
        "actor": actor_id,
        "object": follow_activity,
    }


def reject(actor_id: str, follow_activity: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": new_activity_id(actor_id, "rejects"),
        "type": "Reject",
        "actor": actor_id,
        "object": follow_activity,
    }


def undo(actor_id: str, activity: dict[str, Any]) -> dict[str, Any]:
    """Undo always embeds the original activity (Mastodon needs it for Like/Accept)."""
    embedded = {k: v for k, v in activity.items() if k != "@context"}
    return {
        "@context": AS_CONTEXT,
        "id": new_activity_id(actor_id, "undos"),
        "type": "Undo",
        "actor": actor_id,
        "object": embedded,
    }


def update_actor(actor_doc: dict[str, Any], followers_url: str | None) -> dict[str, Any]:
    embedded = {k: v for k, v in actor_doc.items() if k != "@context"}
    return {
        "@context": CONTEXT,
        "id": new_activity_id(actor_doc["id"], "updates"),
        "type": "Update",
        "actor": actor_doc["id"],
        "to": [PUBLIC],
        "cc": [followers_url] if followers_url else [],
        "object": embedded,
    }


def delete_actor(actor_id: str, followers_url: str | None) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": new_activity_id(actor_id, "deletes"),
        "type": "Delete",
        "actor": actor_id,
        "to": [PUBLIC],
        "cc": [followers_url] if followers_url else [],
        "object": actor_id,
    }

"""Edit history of elements: who changed which fields of an element, when, from what to what.

Each edit is one ``ElementEdit`` row whose ``changes`` maps a field to ``[old, new]`` (JSON values: dates as
ISO strings, the place as a dict of its address and point, related elements by username).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Actor
from coserver.models.history import ElementEdit

MAX_VALUE_LENGTH = 2000


def json_value(value: Any) -> Any:
    """``value`` as stored in the history (JSON-friendly, long texts cut)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
        return value[:MAX_VALUE_LENGTH] + "…"
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return value


async def record_edit(
    session: AsyncSession, actor: Actor, editor: Actor | None, changes: dict[str, tuple[Any, Any]]
) -> ElementEdit | None:
    """Store one edit of ``actor`` (``changes``: field → (old, new)); nothing when nothing changed."""
    payload = {f: [json_value(old), json_value(new)] for f, (old, new) in changes.items() if old != new}
    if not payload:
        return None
    edit = ElementEdit(actor_id=actor.id, editor_id=editor.id if editor else None, changes=payload)
    session.add(edit)
    await session.flush()
    return edit


@dataclass
class HistoryPage:
    """Edits newest first, their editors by id, and the cursor of the next (older) page."""

    edits: list[ElementEdit]
    editors: dict[int, Actor]
    next_before: int | None


async def edits(
    session: AsyncSession, actor: Actor, *, before: int | None = None, limit: int = 20
) -> HistoryPage:
    """A page of ``actor``'s edits, newest first (keyset on the edit id)."""
    stmt = select(ElementEdit).where(ElementEdit.actor_id == actor.id)
    if before is not None:
        stmt = stmt.where(ElementEdit.id < before)
    rows = list(await session.scalars(stmt.order_by(ElementEdit.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    ids = {r.editor_id for r in rows if r.editor_id is not None}
    editors = {}
    if ids:
        editors = {a.id: a for a in await session.scalars(select(Actor).where(Actor.id.in_(ids)))}
    return HistoryPage(rows, editors, rows[-1].id if more and rows else None)

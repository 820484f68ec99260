"""The agenda: events overlapping a window (default: today and the next six days), grouped by day.

Same engine, parameters and visibility as the search (remote events brought in by federation included),
sorted by start. A multi-day event appears on every day it covers: all-day events on their own dates
(in the event's time zone, else the node's), timed events on the node's calendar days. An event ending at
midnight does not spill onto the next day.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from coserver.config import Settings
from coserver.search.engine import Handle, counts_of, page_of, reading
from coserver.search.hits import SearchHit
from coserver.search.params import AGENDA_DEFAULT_DAYS, SearchParams
from coserver.search.statements import bind


@dataclass
class AgendaPage:
    """Events grouped by day (dates ascending), the flat list in start order, and pagination."""

    days: list[tuple[date, list[SearchHit]]]
    hits: list[SearchHit]
    next_cursor: str | None
    total: int | None
    first_day: date
    last_day: date


def _zone(name: str | None, fallback: ZoneInfo) -> ZoneInfo:
    if not name:
        return fallback
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def event_days(hit: SearchHit, node_tz: ZoneInfo) -> tuple[date, date] | None:
    """First and last calendar day an event covers (all-day: its own zone; timed: the node's)."""
    if hit.starts_at is None:
        return None
    tz = _zone(hit.timezone, node_tz) if hit.all_day else node_tz
    start = hit.starts_at.astimezone(tz)
    end = (hit.ends_at or hit.starts_at).astimezone(tz)
    last = end.date()
    if hit.ends_at is not None and hit.ends_at > hit.starts_at and end.time() == time(0):
        last -= timedelta(days=1)  # ends at midnight: the next day is not covered
    return start.date(), max(last, start.date())


def window_days(start: datetime, end: datetime, node_tz: ZoneInfo) -> tuple[date, date]:
    """The node-local days of the half-open window [start, end)."""
    return start.astimezone(node_tz).date(), (end - timedelta(microseconds=1)).astimezone(node_tz).date()


def group_by_day(
    hits: list[SearchHit], first_day: date, last_day: date, node_tz: ZoneInfo
) -> list[tuple[date, list[SearchHit]]]:
    """Each hit on each day it covers within [first_day, last_day]; hits keep their order within a day."""
    by_day: dict[date, list[SearchHit]] = {}
    for hit in hits:
        covered = event_days(hit, node_tz)
        if covered is None:
            continue
        first, last = max(covered[0], first_day), min(covered[1], last_day)
        if first > last:  # the database found an overlap the calendar days do not show: keep it once
            first = last = min(max(covered[0], first_day), last_day)
        day = first
        while day <= last:
            by_day.setdefault(day, []).append(hit)
            day += timedelta(days=1)
    return sorted(by_day.items())


def agenda_params(params: SearchParams, settings: Settings, today: date | None = None) -> SearchParams:
    """``params`` made fit for the agenda: events, by date, with a window (default: a week from today)."""
    tz = ZoneInfo(settings.timezone)
    start, end = params.start, params.end
    from_text, to_text = params.from_text, params.to_text
    if start is None:
        first = today or datetime.now(tz).date()
        start, from_text = datetime.combine(first, time(0), tz), first.isoformat()
    if end is None:
        last = start.astimezone(tz).date() + timedelta(days=AGENDA_DEFAULT_DAYS - 1)
        end, to_text = datetime.combine(last + timedelta(days=1), time(0), tz), last.isoformat()
    return replace(
        params,
        endpoint="agenda",
        kinds=("event",),
        sort="date",
        start=start,
        end=end,
        from_text=from_text,
        to_text=to_text,
    )


async def agenda(
    handle: Handle,
    settings: Settings,
    params: SearchParams,
    *,
    viewer_id: int | None = None,
    today: date | None = None,
) -> AgendaPage:
    """Events overlapping the window of ``params``, around its point / in its box or zone, by day."""
    if params.cursor is not None and params.cursor.sort != "date":
        params = replace(params, cursor=None)
    params = agenda_params(params, settings, today)
    assert params.start is not None and params.end is not None
    node_tz = ZoneInfo(settings.timezone)
    # A first page holding every event is the total; otherwise the events are counted (capped).
    bound = bind(settings, params, viewer_id)
    async with reading(handle) as conn:
        hits, next_cursor = await page_of(conn, settings, params, bound)
        if params.cursor is None and next_cursor is None:
            total: int | None = len(hits)
        else:
            counts = await counts_of(conn, bound, params)
            total = counts.counts.get("event") if counts.total is not None else None
    first_day, last_day = window_days(params.start, params.end, node_tz)
    return AgendaPage(
        days=group_by_day(hits, first_day, last_day, node_tz),
        hits=hits,
        next_cursor=next_cursor,
        total=total,
        first_day=first_day,
        last_day=last_day,
    )

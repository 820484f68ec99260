"""The agenda page (``GET /agenda``): events overlapping a window, by day, in the territory's time zone.

Same form vocabulary as the search page (q, tags, theme, place or lat/lon with radius_km, zone, from, to;
``coserver.web.search_pages.read_query``); the window defaults to today and the six days after it, in
``settings.timezone``, :data:`PAGE_LIMIT` events a page unless ``limit`` says otherwise. Events come
from the engine's agenda (``coserver.search.agenda``), remote events brought in by federation included.

A multi-day event appears under EVERY day it covers (the engine's ``group_by_day``): under its first day
with its start time, under its last day with its end time ("until 02:00"), in between as "all day", and
each time with its whole range, marked as continuing. All-day events cover their own dates (in their own
time zone); an event ending at midnight does not spill onto the next day.

Links: "Subscribe (ICS)" (``/api/v1/agenda?...&format=ics`` and its ``webcal://`` twin) keeps the filters
but not the dates, so a calendar application always gets the coming week; GeoJSON and CSV keep the window.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from quart import render_template, request

from coserver.search.agenda import agenda, event_days
from coserver.search.hits import SearchHit
from coserver.search.params import MAX_LIMIT
from coserver.state import db, settings
from coserver.web import blueprint
from coserver.web.i18n import _, day_name, format_date, format_time
from coserver.web.search_pages import (
    api_url,
    distance_label,
    hit_href,
    page_url,
    radius_options,
    read_query,
    theme_labels,
    viewer_id,
)


@dataclass
class Entry:
    """One event under one day heading."""

    hit: SearchHit
    when: str  # "18:00 – 20:00", "All day", "From 18:00", "Until 02:00"
    when_iso: str  # for <time datetime="...">
    span: str | None  # the whole range of a multi-day event, else None
    continued: bool  # the event started on an earlier day


# Events per page when the address names no ``limit`` (the engine's agenda default, 100, makes a page of
# ~230 KB on a busy week); "More events" goes on with the same size, the exports keep the engine's.
PAGE_LIMIT = 30


def _entry(hit: SearchHit, day: date, tz: ZoneInfo) -> Entry:
    covered = event_days(hit, tz) or (day, day)
    first, last = covered
    multi = first != last
    span = _("%(start)s to %(end)s", start=format_date(first, "long"), end=format_date(last, "long"))
    assert hit.starts_at is not None
    start = hit.starts_at.astimezone(tz)
    end = hit.ends_at.astimezone(tz) if hit.ends_at and hit.ends_at > hit.starts_at else None
    if hit.all_day:
        when, iso = _("All day"), day.isoformat()
    elif not multi:
        when = format_time(start) + (f" – {format_time(end)}" if end else "")
        iso = start.isoformat()
    elif day == first:
        when, iso = _("From %(time)s", time=format_time(start)), start.isoformat()
    elif day == last and end is not None:
        when, iso = _("Until %(time)s", time=format_time(end)), end.isoformat()
    else:
        when, iso = _("All day"), day.isoformat()
    return Entry(hit=hit, when=when, when_iso=iso, span=span if multi else None, continued=day > first)


def _webcal(url: str) -> str:
    return "webcal://" + url.split("://", 1)[1] if "://" in url else url


@blueprint.get("/agenda")
async def agenda_page():
    conf = settings()
    tz = ZoneInfo(conf.timezone)
    query = await read_query(request.args, "agenda")
    params, args = query.params, query.args
    context: dict[str, Any] = {
        "query": query,
        "values": query.values,
        "errors": query.errors,
        "params": params,
        "page": None,
        "days": [],
        "themes": theme_labels(),
        "radius_options": radius_options(),
        "distance_label": distance_label,
        "hit_href": hit_href,
    }
    if params is None:
        return await render_template("search/agenda.html", **context), 400
    shown = params if any(k == "limit" for k, _v in args) else replace(params, limit=PAGE_LIMIT)
    async with db().raw() as conn:
        page = await agenda(conn, conf, shown, viewer_id=viewer_id())
    length = (page.last_day - page.first_day).days + 1
    step = timedelta(days=length)
    ics = api_url("/api/v1/agenda", replace(params, from_text=None, to_text=None, limit=MAX_LIMIT), "ics")
    next_url = page_url("/agenda", args, cursor=page.next_cursor) if page.next_cursor else None
    context.update(
        page=page,
        days=[
            {
                "date": day,
                "label": day_name(day),
                "entries": [_entry(hit, day, tz) for hit in hits],
            }
            for day, hits in page.days
        ],
        window=_(
            "%(start)s to %(end)s",
            start=format_date(page.first_day, "long"),
            end=format_date(page.last_day, "long"),
        ),
        prev_url=_window_url(args, page.first_day - step, page.first_day - timedelta(days=1)),
        next_week_url=_window_url(args, page.last_day + timedelta(days=1), page.last_day + step),
        this_week_url=page_url("/agenda", args, drop=("from", "to")),
        step_days=length,
        next_url=next_url,
        first_page=params.cursor is None,
        first_url=page_url("/agenda", args),
        ics_url=ics,
        webcal_url=_webcal(conf.url(ics)),
        geojson_url=api_url("/api/v1/agenda", params, "geojson"),
        csv_url=api_url("/api/v1/agenda", params, "csv"),
    )
    return await render_template("search/agenda.html", **context)


def _window_url(args: list[tuple[str, str]], first: date, last: date) -> str:
    window = {"from": first.isoformat(), "to": last.isoformat()}
    return page_url("/agenda", args, drop=("from", "to"), **window)

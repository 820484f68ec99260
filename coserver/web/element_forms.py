"""Reading the element form (create and edit): typed values for the services, per-field errors otherwise.

Field names of the form: ``name``, ``username``, ``subtype``, ``stage``, ``start_date``, ``start_time``,
``end_date``, ``end_time``, ``all_day``, ``timezone``, ``short_description``, ``description``, ``tags``
(comma-separated), ``urls`` (one per line, optionally preceded by a label), ``email``, ``phone``,
``mastodon``, ``matrix``, ``parent`` (a username), ``open_edition``, ``is_private``, ``street``,
``postal_code``, ``locality``, ``country``, ``lat``, ``lon``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from coserver.models import Actor, Place
from coserver.services.editing import place_summary
from coserver.services.places import PlaceInput, coordinates
from coserver.web.forms import FormErrors
from coserver.web.i18n import _

CONTACT_INPUTS = ("email", "phone", "mastodon", "matrix")
ADDRESS_INPUTS = ("street", "postal_code", "locality", "country")
# service error fields -> form inputs
SERVICE_FIELDS = {
    "start": "start_date",
    "end": "end_date",
    "type": "subtype",
    "contact": "email",
    "kind": "_form",
}


@dataclass
class ElementForm:
    """The typed content of a posted element form."""

    values: dict[str, Any]
    errors: FormErrors
    data: dict[str, Any] = field(default_factory=dict)

    def service_error(self, exc) -> None:
        """A service error next to its input, in the user's language."""
        name = SERVICE_FIELDS.get(exc.field or "", exc.field)
        self.errors.add(name if name in self.values or name == "_form" else "_form", _service_message(exc))


def _service_message(exc) -> str:
    """Translate a service message; those carrying a value get a fixed wording first."""
    text = exc.message
    if exc.field == "username" and text.endswith("is already taken"):
        return _("this username is already taken")
    if exc.field == "username" and text.endswith("is reserved"):
        return _("this username is reserved")
    if text.startswith("a username has at most"):
        return _("A username has at most 64 characters")
    if exc.field == "type" and "type must be one of" in text:
        return _("Choose a type from the list")
    if text.startswith("unknown time zone"):
        return _("Unknown time zone")
    if text.startswith("links must be http(s) URLs"):
        return _("Links must start with http:// or https://")
    if text.startswith("at most") and exc.field == "tags":
        return _("At most 30 tags")
    if text.startswith("a project stage is one of"):
        return _("Choose a stage from the list")
    return _(text)


def _flag(values: dict[str, Any], name: str) -> bool:
    return str(values.get(name, "")).lower() in {"1", "on", "true", "yes"}


def _number(form: ElementForm, name: str, label_error: str) -> float | None:
    raw = str(form.values.get(name, "")).strip().replace(",", ".")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        form.errors.add(name, label_error)
        return None


def _when(form: ElementForm, prefix: str, tz: ZoneInfo | None, all_day: bool, end: bool) -> datetime | None:
    day_raw = str(form.values.get(f"{prefix}_date", "")).strip()
    time_raw = str(form.values.get(f"{prefix}_time", "")).strip()
    if not day_raw:
        if time_raw:
            form.errors.add(f"{prefix}_date", _("Give a date with the time"))
        return None
    try:
        day = date.fromisoformat(day_raw)
    except ValueError:
        form.errors.add(f"{prefix}_date", _("Invalid date (expected YYYY-MM-DD)"))
        return None
    clock = time(23, 59) if end else time(0, 0)
    if time_raw and not all_day:
        try:
            clock = time.fromisoformat(time_raw)
        except ValueError:
            form.errors.add(f"{prefix}_time", _("Invalid time (expected HH:MM)"))
            return None
    return datetime.combine(day, clock, tzinfo=tz)


def _urls(form: ElementForm) -> list[dict[str, str]]:
    urls = []
    for line in str(form.values.get("urls", "")).splitlines():
        parts = line.strip().rsplit(None, 1)
        if not parts:
            continue
        entry = {"type": "website", "url": parts[-1]}
        if len(parts) == 2:
            entry["name"] = parts[0]
        urls.append(entry)
    return urls


def read_element_form(values: dict[str, Any], kind: str, default_tz: str) -> ElementForm:
    """Parse ``values`` for an element of ``kind``; ``form.data`` holds what the services take."""
    form = ElementForm(values, FormErrors())
    data = form.data
    data["name"] = str(values.get("name", ""))
    data["short_description"] = str(values.get("short_description", ""))
    data["description"] = str(values.get("description", ""))
    data["tags"] = [t for t in str(values.get("tags", "")).replace("\n", ",").split(",") if t.strip()]
    data["urls"] = _urls(form)
    data["contact"] = {k: str(values.get(k, "")) for k in CONTACT_INPUTS if str(values.get(k, "")).strip()}
    data["open_edition"] = _flag(values, "open_edition")
    data["is_private"] = _flag(values, "is_private")
    if not data["name"].strip():
        form.errors.add("name", _("A name is required"))
    if kind in ("organization", "event", "poi"):
        data["subtype"] = str(values.get("subtype", "")) or None
    if kind == "project":
        data["stage"] = str(values.get("stage", "")) or None
    if kind in ("event", "project"):
        all_day = _flag(values, "all_day") if kind == "event" else True
        tz_name = str(values.get("timezone", "")).strip() or default_tz
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            form.errors.add("timezone", _("Unknown time zone"))
            tz = ZoneInfo(default_tz)
        data["starts_at"] = _when(form, "start", tz, all_day, end=False)
        data["ends_at"] = _when(form, "end", tz, all_day, end=True)
        if kind == "event":
            data["all_day"] = all_day
            data["timezone"] = tz_name
            if data["starts_at"] is None and "start_date" not in form.errors:
                form.errors.add("start_date", _("An event needs a start date"))
        if data["starts_at"] and data["ends_at"] and data["ends_at"] < data["starts_at"]:
            form.errors.add("end_date", _("The end comes before the start"))
    lat = _number(form, "lat", _("Latitude is a number such as -21.34"))
    lon = _number(form, "lon", _("Longitude is a number such as 55.48"))
    if lat is not None and not -90 <= lat <= 90:
        form.errors.add("lat", _("Latitude is between -90 and 90"))
    if lon is not None and not -180 <= lon <= 180:
        form.errors.add("lon", _("Longitude is between -180 and 180"))
    if (lat is None) != (lon is None):
        form.errors.add("lon" if lon is None else "lat", _("Give both latitude and longitude, or neither"))
    country = str(values.get("country", "")).strip()
    if country and (len(country) != 2 or not country.isalpha()):
        form.errors.add("country", _("A two-letter country code such as FR or RE"))
    place = PlaceInput(lat=lat, lon=lon, **{k: str(values.get(k, "")).strip() for k in ADDRESS_INPUTS})
    data["place"] = None if place.empty else place
    return form


def element_values(
    actor: Actor, place: Place | None, parent: Actor | None, default_tz: str
) -> dict[str, Any]:
    """The edit form pre-filled from ``actor``."""
    tz = ZoneInfo(actor.timezone or default_tz)
    values: dict[str, Any] = {
        "name": actor.name,
        "username": actor.username,
        "short_description": actor.short_description,
        "description": actor.description_source or "",
        "tags": ", ".join(actor.tags),
        "urls": "\n".join(f"{u['name']} {u['url']}" if u.get("name") else u["url"] for u in actor.urls),
        "subtype": actor.subtype or "",
        "stage": actor.stage or "",
        "timezone": actor.timezone or default_tz,
        "parent": parent.username if parent else "",
        "open_edition": actor.open_edition,
        "is_private": actor.is_private,
        "all_day": actor.all_day,
    }
    values.update({k: actor.contact.get(k, "") for k in CONTACT_INPUTS})
    for prefix, when in (("start", actor.starts_at), ("end", actor.ends_at)):
        if when is not None:
            local = when.astimezone(tz)
            values[f"{prefix}_date"] = local.date().isoformat()
            values[f"{prefix}_time"] = "" if actor.all_day else local.strftime("%H:%M")
    summary = place_summary(place) or {}
    values.update({k: summary.get(k, "") for k in ADDRESS_INPUTS})
    coords = coordinates(place)
    if coords:
        values["lat"], values["lon"] = f"{coords[0]:.6f}", f"{coords[1]:.6f}"
    return values

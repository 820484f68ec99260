"""Open-data renderings parsed back with real parsers: shapely, csv, icalendar, pyld (no database)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from shapely.geometry import Point, shape

from coserver.config import Settings
from coserver.models import Actor, Place
from coserver.search.exports import (
    CSV_COLUMNS,
    choose_format,
    link_header,
    neutralize,
    render,
    to_csv,
    to_geojson,
    to_ics,
)
from coserver.search.hits import SearchHit
from coserver.search.jsonld import element_jsonld
from coserver.search.vcard import element_vcard, escape, fold
from coserver.services.errors import InvalidInput

SETTINGS = Settings(base_url="https://territoire.example", territory_name="La Réunion")
BASE = "https://territoire.example"
REUNION = ZoneInfo("Indian/Reunion")
UPDATED = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
TRICKY = 'Virgule, "guillemets"\net saut de ligne — éàç'


def hit(username: str, kind: str = "organization", **kw: Any) -> SearchHit:
    return SearchHit(
        id=kw.pop("id", 1),
        ap_id=f"{BASE}/actors/{username}",
        username=username,
        kind=kind,
        name=kw.pop("name", username.title()),
        url=f"{BASE}/@{username}",
        updated_at=kw.pop("updated_at", UPDATED),
        **kw,
    )


HITS = [
    hit(
        "kaz_compost",
        lat=-21.3393,
        lon=55.4781,
        tags=("compost", "déchets"),
        distance_m=1234.56,
        street="3 rue des Bons Enfants",
        postal_code="97410",
        locality="Saint-Pierre",
        country="RE",
        subtype="ngo",
        short_description=TRICKY,
    ),
    hit("sans_lieu", kind="project", stage="idea"),
    hit(
        "fete",
        kind="event",
        id=3,
        lat=-21.0,
        lon=55.5,
        starts_at=datetime(2026, 12, 19, 10, tzinfo=REUNION),
        ends_at=datetime(2026, 12, 19, 18, tzinfo=REUNION),
        timezone="Indian/Reunion",
        tags=("fête",),
        locality="Saint-Denis",
        short_description="Bal, musique; danse",
    ),
    hit(
        "marche",
        kind="event",
        id=4,
        all_day=True,
        timezone="Europe/Paris",
        starts_at=datetime(2026, 12, 20, tzinfo=ZoneInfo("Europe/Paris")),
        ends_at=datetime(2026, 12, 21, 23, 59, tzinfo=ZoneInfo("Europe/Paris")),
    ),
    hit("=cmd", name='=HYPERLINK("http://evil")', short_description="+1 -2 @3", tags=("-x",)),
]


# -- GeoJSON -------------------------------------------------------------------------------------------------
def test_geojson_is_an_rfc7946_feature_collection():
    doc = json.loads(json.dumps(to_geojson(HITS, SETTINGS, links=[{"rel": "next", "href": "x"}])))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    assert doc["name"] == "La Réunion" and doc["links"] == [{"rel": "next", "href": "x"}]
    assert len(doc["features"]) == len(HITS)
    for feature, h in zip(doc["features"], HITS, strict=True):
        assert feature["type"] == "Feature" and feature["id"] == h.ap_id
        props = feature["properties"]
        assert (props["id"], props["username"], props["kind"]) == (h.ap_id, h.username, h.kind)
        if h.lat is None:
            assert feature["geometry"] is None
            continue
        geom = shape(feature["geometry"])
        assert isinstance(geom, Point) and geom.is_valid
        assert feature["geometry"]["coordinates"] == [h.lon, h.lat]  # lon, lat order
        assert -180 <= geom.x <= 180 and -90 <= geom.y <= 90


def test_geojson_properties():
    features = {f["properties"]["username"]: f["properties"] for f in to_geojson(HITS, SETTINGS)["features"]}
    kaz = features["kaz_compost"]
    assert kaz["tags"] == ["compost", "déchets"] and kaz["type"] == "ngo"
    assert kaz["distance_m"] == 1234.6 and kaz["short_description"] == TRICKY
    assert (kaz["street"], kaz["postal_code"], kaz["locality"], kaz["country"]) == (
        "3 rue des Bons Enfants",
        "97410",
        "Saint-Pierre",
        "RE",
    )
    assert "starts_at" not in kaz and "distance_m" not in features["sans_lieu"]
    fete = features["fete"]
    assert fete["starts_at"] == "2026-12-19T10:00:00+04:00" and fete["ends_at"] == "2026-12-19T18:00:00+04:00"
    assert datetime.fromisoformat(fete["starts_at"]) == HITS[2].starts_at
    assert (fete["all_day"], fete["timezone"]) == (False, "Indian/Reunion")
    assert features["marche"]["all_day"] is True


# -- CSV -----------------------------------------------------------------------------------------------------
def test_csv_round_trip_with_tricky_values():
    text = to_csv(HITS)
    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["username"] for r in rows] == ["kaz_compost", "sans_lieu", "fete", "marche", "'=cmd"]
    kaz, no_place, fete, marche, evil = rows
    assert kaz["short_description"] == TRICKY  # commas, quotes, newline, accents survive
    assert kaz["tags"] == "compost;déchets"
    assert (float(kaz["lat"]), float(kaz["lon"])) == (-21.3393, 55.4781)  # negative numbers untouched
    assert kaz["distance_m"] == "1234.6"
    assert no_place["lat"] == no_place["lon"] == "" and no_place["stage"] == "idea"
    assert datetime.fromisoformat(fete["starts_at"]) == HITS[2].starts_at
    assert (fete["all_day"], marche["all_day"]) == ("false", "true")
    assert datetime.fromisoformat(kaz["updated_at"]) == UPDATED
    # Formula injection: every text cell a spreadsheet would evaluate starts with a quote.
    assert evil["name"] == '\'=HYPERLINK("http://evil")'
    assert evil["short_description"] == "'+1 -2 @3" and evil["tags"] == "'-x"
    assert text.encode("utf-8").decode("utf-8") == text


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_neutralize_prefixes_formula_starts(value):
    assert neutralize(value) == "'" + value
    assert neutralize("a" + value) == "a" + value


# -- iCalendar -----------------------------------------------------------------------------------------------
def _events(data: bytes) -> dict[str, Any]:
    cal = Calendar.from_ical(data)
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_ics_parses_back_with_icalendar():
    data = to_ics(HITS, SETTINGS)
    cal = Calendar.from_ical(data)
    assert str(cal["X-WR-CALNAME"]) == "La Réunion" and "coserver" in str(cal["PRODID"])
    events = _events(data)
    assert set(events) == {f"{BASE}/actors/fete", f"{BASE}/actors/marche"}  # non-events skipped
    fete = events[f"{BASE}/actors/fete"]
    assert fete.get("DTSTART").params["TZID"] == "Indian/Reunion"
    assert fete.decoded("DTSTART") == HITS[2].starts_at and fete.decoded("DTEND") == HITS[2].ends_at
    assert str(fete["SUMMARY"]) == "Fete"
    assert str(fete["DESCRIPTION"]) == "Bal, musique; danse"
    assert str(fete["LOCATION"]) == "Saint-Denis" and str(fete["URL"]) == f"{BASE}/@fete"
    assert (fete["GEO"].latitude, fete["GEO"].longitude) == (-21.0, 55.5)
    assert [str(c) for c in fete["CATEGORIES"].cats] == ["fête"]
    assert fete.decoded("LAST-MODIFIED") == UPDATED and fete.decoded("DTSTAMP") == UPDATED
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Indian/Reunion"]


def test_ics_all_day_is_date_valued_with_exclusive_end():
    marche = _events(to_ics(HITS, SETTINGS))[f"{BASE}/actors/marche"]
    assert marche.get("DTSTART").params.get("VALUE") == "DATE"
    start, end = marche.decoded("DTSTART"), marche.decoded("DTEND")
    assert type(start) is date and type(end) is date
    assert (start, end) == (date(2026, 12, 20), date(2026, 12, 22))  # two days: the 20th and the 21st
    single = hit(
        "jour",
        kind="event",
        all_day=True,
        starts_at=datetime(2026, 5, 1, tzinfo=REUNION),
        timezone="Indian/Reunion",
    )
    one = _events(to_ics([single], SETTINGS))[single.ap_id]
    assert one.decoded("DTEND") - one.decoded("DTSTART") == timedelta(days=1)


# -- negotiation and rendering -------------------------------------------------------------------------------
def test_choose_format_and_render():
    assert choose_format(None, None) == "json"
    assert choose_format("GeoJSON") == "geojson"
    assert choose_format(None, "text/calendar") == "ics"
    assert choose_format(None, "text/html, application/geo+json;q=0.9") == "geojson"
    assert choose_format(None, "text/calendar", allowed=("json", "csv")) == "json"
    with pytest.raises(InvalidInput) as err:
        choose_format("xml")
    assert err.value.field == "format"
    out = render(HITS, "csv", SETTINGS, basename="agenda")
    assert out.content_type.startswith("text/csv") and out.filename == "agenda.csv"
    assert out.headers["Content-Disposition"] == 'inline; filename="agenda.csv"'
    assert json.loads(render(HITS, "geojson", SETTINGS).body)["type"] == "FeatureCollection"
    assert link_header({"next": "https://x/a?cursor=1", "prev": ""}) == '<https://x/a?cursor=1>; rel="next"'


# -- JSON-LD -------------------------------------------------------------------------------------------------
def actor(username: str, kind: str, **kw: Any) -> Actor:
    values: dict[str, Any] = dict(
        ap_id=f"{BASE}/actors/{username}",
        kind=kind,
        local=True,
        username=username,
        name=username.title(),
        profile_url=f"{BASE}/@{username}",
        short_description="",
        tags=[],
        urls=[],
        contact={},
        is_private=False,
        open_data=True,
        all_day=False,
        created_at=UPDATED,
        updated_at=UPDATED,
    )
    values.update(kw)
    return Actor(**values)


PLACE = Place(name="", street="3 rue X; bât. B", postal_code="97410", locality="Saint-Pierre", country="RE")
AS2_CONTEXT = Path(__file__).parents[2] / "federation" / "contexts" / "activitystreams.jsonld"


def _loader(url: str, options: dict | None = None) -> dict:
    assert url.rstrip("#") == "https://www.w3.org/ns/activitystreams", url  # no network, ever
    document = json.loads(AS2_CONTEXT.read_text(encoding="utf-8"))
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": document,
        "contentType": "application/ld+json",
    }


def _keys(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_keys(n) for n in node)) if node else set()
    if isinstance(node, dict):
        return set(node).union(*(_keys(v) for v in node.values()))
    return set()


def test_event_jsonld_expands_to_as2_and_schema_org():
    from pyld import jsonld

    organizer = actor("kaz_compost", "organization", subtype="ngo")
    event = actor(
        "fete",
        "event",
        subtype="festival",
        starts_at=datetime(2026, 12, 19, 6, tzinfo=UTC),
        timezone="Indian/Reunion",
        tags=["fête"],
        short_description="Bal",
        organizer=organizer,
        place=PLACE,
        contact={"email": "fete@example.org"},
        urls=[{"type": "website", "url": "https://fete.example"}],
    )
    doc = json.loads(json.dumps(element_jsonld(event, (-21.34, 55.48), SETTINGS)))
    assert doc["@context"][0] == "https://www.w3.org/ns/activitystreams"
    assert doc["@context"][1]["schema"] == "https://schema.org/"
    assert doc["type"] == ["Group", "schema:Event"] and doc["id"] == f"{BASE}/actors/fete"
    assert doc["startDate"] == "2026-12-19T10:00:00+04:00" and doc["keywords"] == ["fête"]
    assert doc["organizer"]["type"] == ["Organization", "schema:NGO"]
    assert doc["location"]["address"]["streetAddress"] == "3 rue X; bât. B"
    assert doc["location"]["geo"]["schema:latitude"] == -21.34

    expanded = jsonld.expand(doc, {"documentLoader": _loader})[0]
    assert set(expanded["@type"]) == {
        "https://www.w3.org/ns/activitystreams#Group",
        "https://schema.org/Event",
    }
    assert expanded["https://schema.org/startDate"][0]["@value"] == "2026-12-19T10:00:00+04:00"
    assert expanded["https://schema.org/email"][0]["@value"] == "fete@example.org"
    assert expanded["https://schema.org/sameAs"][0]["@id"] == "https://fete.example"
    location = expanded["https://www.w3.org/ns/activitystreams#location"][0]
    geo = location["https://schema.org/geo"][0]
    assert geo["https://schema.org/longitude"][0]["@value"] == 55.48
    # Every property resolved to an absolute IRI: no term fell through AS2's "@vocab": "_:".
    assert all(k.startswith(("@", "https://", "http://")) for k in _keys(expanded)), _keys(expanded)


def test_jsonld_kinds_and_open_data_flag():
    assert element_jsonld(actor("p", "project"), None, SETTINGS)["type"] == ["Group", "schema:Project"]
    assert element_jsonld(actor("m", "person"), None, SETTINGS)["type"] == ["Person", "schema:Person"]
    poi = element_jsonld(actor("four", "poi", place=PLACE), (-21.0, 55.0), SETTINGS)
    assert poi["type"] == ["Organization", "schema:Place"] and poi["geo"]["schema:longitude"] == 55.0
    assert poi["address"]["addressLocality"] == "Saint-Pierre"
    closed = actor(
        "discret",
        "organization",
        open_data=False,
        short_description="x",
        tags=["t"],
        place=PLACE,
        contact={"email": "a@b.c"},
    )
    doc = element_jsonld(closed, (-21.0, 55.0), SETTINGS)
    assert set(doc) == {"@context", "id", "type", "name", "url"}


# -- vCard ---------------------------------------------------------------------------------------------------
def _unfold(card: str) -> list[str]:
    assert card.endswith("\r\n") and "\n" not in card.replace("\r\n", "")
    return card.replace("\r\n ", "").split("\r\n")[:-1]


def test_vcard_escaping_folding_and_fields():
    long_note = "Été " * 40 + "; fin, vraiment\nsuite"
    org = actor(
        "kaz",
        "organization",
        name="Kaz, Compost; & Co",
        short_description=long_note,
        tags=["compost", "a,b"],
        contact={"email": "contact@kaz.re", "phone": "+262 262 12 34 56", "fax": "demandez; à l'accueil"},
        urls=[{"type": "website", "url": "https://kaz.re"}],
    )
    card = element_vcard(org, PLACE, SETTINGS, coords=(-21.34, 55.48))
    for physical in card.split("\r\n")[:-1]:
        assert len(physical.encode("utf-8")) <= 75
    lines = _unfold(card)
    assert lines[:2] == ["BEGIN:VCARD", "VERSION:4.0"] and lines[-1] == "END:VCARD"
    assert "FN:Kaz\\, Compost\\; & Co" in lines and "ORG:Kaz\\, Compost\\; & Co" in lines
    assert "KIND:org" in lines and f"UID:{BASE}/actors/kaz" in lines and f"URL:{BASE}/@kaz" in lines
    assert "ADR;TYPE=work:;;3 rue X\\; bât. B;Saint-Pierre;;97410;RE" in lines
    assert "GEO:geo:-21.34,55.48" in lines
    assert "EMAIL;TYPE=work:contact@kaz.re" in lines
    assert "TEL;VALUE=uri;TYPE=voice:tel:+262262123456" in lines
    assert "TEL;VALUE=text;TYPE=fax:demandez\\; à l'accueil" in lines
    assert "CATEGORIES:compost,a\\,b" in lines and "URL;TYPE=work:https://kaz.re" in lines
    assert f"NOTE:{escape(long_note)}" in lines and "\\n" in escape(long_note)
    assert "REV:20261102T083000Z" in lines


def test_vcard_kinds_and_open_data_flag():
    assert "KIND:individual" in _unfold(element_vcard(actor("m", "person"), None, SETTINGS))
    assert "KIND:location" in _unfold(element_vcard(actor("f", "poi"), None, SETTINGS))
    closed = actor("d", "organization", open_data=False, contact={"email": "a@b.c"}, short_description="x")
    lines = _unfold(element_vcard(closed, PLACE, SETTINGS, coords=(1.0, 2.0)))
    assert not any(line.startswith(("EMAIL", "TEL", "ADR", "GEO", "NOTE")) for line in lines)


def test_fold_never_splits_a_utf8_sequence():
    line = "NOTE:" + "é" * 100 + "x" * 3 + "€" * 50
    folded = fold(line)
    parts = folded.split("\r\n ")
    assert "".join(parts) == line
    assert all(len(p.encode()) <= 75 for p in parts[:1]) and all(len(p.encode()) <= 74 for p in parts[1:])
    assert fold("short") == "short"

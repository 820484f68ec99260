"""Parsing the query vocabulary: defaults, canonical links, cursors, themes, and garbage → InvalidInput."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from werkzeug.datastructures import MultiDict

from coserver.config import Settings
from coserver.search.cursor import Cursor, decode_cursor, encode_cursor
from coserver.search.params import format_from_accept, parse_params
from coserver.search.themes import THEME_NAMES, expand_tag, resolve_theme, theme_tags
from coserver.services.errors import InvalidInput

SETTINGS = Settings(timezone="Indian/Reunion")
REUNION = ZoneInfo("Indian/Reunion")


def parse(endpoint: str = "search", **values: str):
    args = MultiDict([("from" if k == "from_" else k, v) for k, v in values.items()])
    return parse_params(args, SETTINGS, endpoint=endpoint, today=date(2026, 12, 1))


def test_defaults_and_sort_defaults():
    p = parse()
    assert (p.sort, p.limit, p.format, p.kinds, p.point) == ("recency", 20, "json", (), None)
    assert parse(q="jardin").sort == "relevance"
    assert parse(q="jardin", lat="-21", lon="55.5").sort == "distance"
    agenda = parse("agenda")
    assert (agenda.sort, agenda.kinds, agenda.limit) == ("date", ("event",), 100)


def test_lists_are_split_repeated_and_deduplicated():
    args = MultiDict([("kinds", "event, POI"), ("kinds", "event"), ("tags", "#Vélo,compost,,vélo")])
    p = parse_params(args, SETTINGS)
    assert p.kinds == ("event", "poi")
    assert p.tags == ("vélo", "compost")


def test_dates_are_whole_days_in_the_node_time_zone():
    p = parse(from_="2026-12-05", to="2026-12-06")
    assert p.start == datetime(2026, 12, 5, tzinfo=REUNION)
    assert p.end == datetime(2026, 12, 7, tzinfo=REUNION)  # the whole of the 6th
    same_day = parse(from_="2026-12-05", to="2026-12-05")
    assert same_day.end - same_day.start == timedelta(days=1)
    naive = parse(from_="2026-12-05T10:00")
    assert naive.start == datetime(2026, 12, 5, 10, tzinfo=REUNION)
    utc = parse(from_="2026-12-05T10:00:00Z")
    assert utc.start.utcoffset() == timedelta(0)


def test_agenda_window_defaults_to_a_week_from_today():
    p = parse("agenda")
    assert p.start == datetime(2026, 12, 1, tzinfo=REUNION)
    assert p.end == datetime(2026, 12, 8, tzinfo=REUNION)
    assert (p.from_text, p.to_text) == ("2026-12-01", "2026-12-07")


def test_canonical_query_items_round_trip():
    p = parse(q="jardin", kinds="poi,event", lat="-21.1", lon="55.5", radius_km="10", zone="locality:97416")
    items = p.query_items(cursor="abc")
    assert items[-1] == ("cursor", "abc")
    again = parse_params(MultiDict(items[:-1]), SETTINGS)
    assert again == p


def test_format_from_parameter_or_accept():
    assert parse(format="GeoJSON").format == "geojson"
    accept = parse_params(MultiDict(), SETTINGS, accept="text/csv")
    assert (accept.format, accept.format_given) == ("csv", False)
    assert format_from_accept("text/calendar") == "ics"
    assert parse_params(MultiDict(), SETTINGS, accept="text/calendar").format == "json"  # ics: agenda only
    assert parse_params(MultiDict(), SETTINGS, endpoint="agenda", accept="text/calendar").format == "ics"
    assert format_from_accept("text/html,*/*;q=0.8") is None
    assert format_from_accept(";;;===,,") is None


def test_bbox_may_cross_the_antimeridian():
    assert parse(bbox="179.5,-10,-179.5,10").bbox == (179.5, -10.0, -179.5, 10.0)


def test_zone_code_or_level_code():
    assert (parse(zone="97416").zone, parse(zone="97416").zone_level) == ("97416", None)
    p = parse(zone="Locality:97416")
    assert (p.zone, p.zone_level) == ("97416", "locality")
    assert parse(zone="FR:75").zone == "FR:75"  # not a level: the whole text is the code


def test_cursor_round_trip_and_sort_binding():
    when = datetime(2026, 12, 5, 10, 0, 0, 123456, tzinfo=REUNION)
    for cursor in (
        Cursor("distance", 1234.5678901234, 7),
        Cursor("date", None, 8),
        Cursor("date", when, 8),
        Cursor("recency", None, 9),
    ):
        assert decode_cursor(encode_cursor(cursor), cursor.sort) == cursor
    with pytest.raises(InvalidInput) as err:
        decode_cursor(encode_cursor(Cursor("distance", 1.0, 1)), "recency")
    assert err.value.field == "cursor"


def test_themes_cover_french_and_english_and_accents():
    assert len(THEME_NAMES) == 12
    assert {"compost", "zerodechet", "zérodéchet", "déchets", "dechets", "waste"} <= set(theme_tags("waste"))
    assert {"vélo", "velo", "covoiturage", "transport"} <= set(theme_tags("transport"))
    assert "maloya" in theme_tags("culture")
    assert resolve_theme("Environnement") == "environment"
    assert resolve_theme("citizen") == "citizenship"
    assert resolve_theme("nope") is None
    assert set(expand_tag("dechets")) == {"dechets", "déchets"}
    assert set(expand_tag("Santé")) == {"santé", "sante"}


def test_every_demo_tag_belongs_to_a_theme():
    import json
    from pathlib import Path

    import coserver.demo

    data = json.loads((Path(coserver.demo.__file__).parent / "reunion.json").read_text())
    tags = {
        t
        for key in ("people", "organizations", "projects", "events", "pois")
        for i in data[key]
        for t in i["tags"]
    }
    themed = {t for theme in THEME_NAMES for t in theme_tags(theme)}
    assert tags - themed == set()


GARBAGE = [
    ("lat", "nan"),
    ("lat", "NaN"),
    ("lat", "inf"),
    ("lat", "1e309"),
    ("lat", "-91"),
    ("lat", "abc"),
    ("lat", "0x10"),
    ("lat", "1" * 300),
    ("lon", "181"),
    ("lon", "-inf"),
    ("radius_km", "0"),
    ("radius_km", "0.05"),
    ("radius_km", "100.01"),
    ("radius_km", "-5"),
    ("radius_km", "nan"),
    ("bbox", "1,2,3"),
    ("bbox", "1,2,3,4,5"),
    ("bbox", "a,b,c,d"),
    ("bbox", "0,10,1,5"),
    ("bbox", "0,5,1,5"),
    ("bbox", "0,0,0,1"),
    ("bbox", "-181,0,1,1"),
    ("bbox", "0,-91,1,1"),
    ("bbox", "nan,0,1,1"),
    ("bbox", "1e309,0,1,1"),
    ("kinds", "person,dragon"),
    ("kinds", "application"),
    ("kinds", ",".join(f"k{i}" for i in range(50))),
    ("types", "rave"),
    ("tags_mode", "some"),
    ("theme", "astrology"),
    ("theme", "x" * 500),
    ("sort", "random"),
    ("sort", "distance"),
    ("sort", "relevance"),
    ("format", "xml"),
    ("format", "ics"),
    ("limit", "0"),
    ("limit", "101"),
    ("limit", "-1"),
    ("limit", "1e2"),
    ("limit", "99999999999999999999"),
    ("limit", "²"),
    ("limit", "ten"),
    ("from", "yesterday"),
    ("from", "2026-13-01"),
    ("from", "2026-12-05T25:00"),
    ("from", "0001-01-01"),
    ("from", "9999-12-31"),
    ("to", "2026-02-30"),
    ("cursor", "!!!"),
    ("cursor", "W10"),
    ("cursor", "x" * 1000),
    ("cursor", "WyJyZWNlbmN5IiwgMSwgMV0"),
    ("q", "x" * 201),
    ("q", "jardin\x00"),
    ("zone", "locality:"),
    ("zone", "z" * 100),
]


@pytest.mark.parametrize(("name", "value"), GARBAGE)
def test_garbage_is_invalid_input_naming_the_parameter(name, value):
    extra = {"lat": "-21", "lon": "55"} if name in {"radius_km"} else {}
    if name == "lon":
        extra = {"lat": "-21"}
    if name == "lat":
        extra = {"lon": "55"}
    args = MultiDict([*extra.items(), (name, value)])
    with pytest.raises(InvalidInput) as err:
        parse_params(args, SETTINGS)
    assert err.value.field == name, err.value.message


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"lat": "-21"}, "lon"),
        ({"lon": "55"}, "lat"),
        ({"radius_km": "10"}, "radius_km"),
        ({"from": "2026-12-06", "to": "2026-12-05"}, "from"),
        ({"from": "2026-12-05T10:00Z", "to": "2026-12-05T10:00Z"}, "from"),
        ({"from": "1900-01-01", "to": "2200-01-01"}, "to"),
        ({"q": "a", "q ": "b", "lat": "1", "lon": "2", "lat ": "x"}, None),
    ],
)
def test_combinations(values, field):
    args = MultiDict(list(values.items()))
    if field is None:
        parse_params(args, SETTINGS)  # unknown parameters are ignored
        return
    with pytest.raises(InvalidInput) as err:
        parse_params(args, SETTINGS)
    assert err.value.field == field


def test_repeated_single_parameters_and_agenda_rules():
    with pytest.raises(InvalidInput) as err:
        parse_params(MultiDict([("lat", "1"), ("lat", "2"), ("lon", "3")]), SETTINGS)
    assert err.value.field == "lat"
    for name, value in (("kinds", "person"), ("sort", "recency")):
        with pytest.raises(InvalidInput) as err:
            parse("agenda", **{name: value})
        assert err.value.field == name
    with pytest.raises(InvalidInput) as err:
        parse("agenda", from_="2026-01-01", to="2026-12-31")
    assert err.value.field == "to"


@pytest.mark.parametrize("value", ["", "   ", "\u200b", "👍", "ÀÉÎ", "🏳️‍🌈" * 10, "'; DROP TABLE actors; --"])
def test_odd_but_harmless_values_do_not_raise_unexpectedly(value):
    for name in ("q", "tags", "zone", "types", "kinds", "theme", "lat", "bbox", "from", "cursor", "limit"):
        try:
            parse_params(MultiDict([(name, value)]), SETTINGS)
        except InvalidInput as err:
            assert err.field == name

"""A query's shape and values (``coserver.search.shape``) against the statements compiled per shape: every
placeholder gets a value, every value has a placeholder, and queries of one shape share one SQL text."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from coserver.search.cursor import Cursor
from coserver.search.shape import Shape, bbox_boxes, split
from coserver.search.statements import bind, compiled
from tests.search.territory import params

FILTERS = [
    {},
    {"q": "jardin partagé"},
    {"kinds": "event,project"},
    {"types": "festival"},
    {"tags": "compost,vélo"},
    {"tags": "compost,velo,bio", "tags_mode": "all"},
    {"theme": "waste"},
    {"zone": "RE"},
    {"zone": "level4:97411"},
    {"from": "2026-12-01", "to": "2026-12-07"},
    {"from": "2026-12-01"},
    {"to": "2026-12-07"},
]
WHERES = [
    {},
    {"lat": -21.0, "lon": 55.5},
    {"lat": -21.0, "lon": 55.5, "radius_km": 7},
    {"bbox": "55.2,-21.4,55.8,-20.8"},
    {"bbox": "170,-20,-170,-10"},  # crosses the antimeridian: two boxes
    {"bbox": "-170,-60,170,60"},  # wider than 90°: several boxes
]


def _cases():
    for filters, where in itertools.product(FILTERS, WHERES):
        sorts = ["recency", "date"] + (["distance"] if "lat" in where else [])
        sorts += ["relevance"] if "q" in filters else []
        for sort in sorts:
            yield {**filters, **where, "sort": sort}


CASES = list(_cases())
WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
CURSOR_KEYS = {"recency": [None], "date": [None, WHEN], "distance": [1234.5], "relevance": [0.25]}


@pytest.mark.parametrize("viewer_id", [None, 42])
def test_every_placeholder_has_a_value_and_every_value_a_placeholder(settings, viewer_id):
    for case in CASES:
        query = params(settings, **case)
        for cursor in [None, *(Cursor(query.sort, key, 99) for key in CURSOR_KEYS[query.sort])]:
            query = replace(query, cursor=cursor)
            bound = bind(settings, query, viewer_id)
            used: set[str] = set()
            for which in ("hits", "facets", "walk", "probe"):
                statement = getattr(bound.statements, which)
                if statement is not None:
                    statement.args(bound.values)  # a missing value raises KeyError
                    used.update(statement._names)
            assert set(bound.values) - used == set(), case


def test_queries_of_one_shape_share_their_sql_and_differ_by_their_values(settings):
    first = params(settings, q="jardin", lat=-21.0, lon=55.5, radius_km=7, kinds="event")
    second = params(settings, q="compost", lat=48.8, lon=2.3, radius_km=50, kinds="poi,project")
    (shape_a, values_a), (shape_b, values_b) = split(first, settings), split(second, settings)
    assert shape_a == shape_b and values_a != values_b
    assert compiled(shape_a) is compiled(shape_b)
    assert bind(settings, first).sql("hits")[0] == bind(settings, second).sql("hits")[0]
    assert bind(settings, first).sql("hits")[1] != bind(settings, second).sql("hits")[1]


def test_what_changes_the_sql_changes_the_shape(settings):
    """Each flag of a shape changes its SQL or the values it takes (tags and theme: both ``tags && $n``): no
    two shapes of the cases compile to the same statements."""
    shapes = {split(params(settings, **case), settings)[0] for case in CASES}
    assert len(shapes) > 100
    sent = {
        tuple((s.sql, s._names) for s in (compiled(shape).hits, compiled(shape).facets)) for shape in shapes
    }
    assert len(sent) == len(shapes)


def test_boxes_cover_the_bbox():
    assert bbox_boxes((2.2, 48.8, 2.4, 48.9)) == [(pytest.approx(2.19), pytest.approx(2.41))]
    crossing = bbox_boxes((170.0, -20.0, -170.0, -10.0))
    assert crossing == [(pytest.approx(169.99), 180.0), (-180.0, pytest.approx(-169.99))]
    wide = bbox_boxes((-170.0, -60.0, 170.0, 60.0))
    assert len(wide) == 4 and wide[0][0] == pytest.approx(-170.01) and wide[-1][1] == pytest.approx(170.01)
    assert all(east - west <= 90.02 for west, east in wide)


def test_a_shape_holds_no_value(settings):
    shape, values = split(params(settings, q="jardin", lat=-21.0, lon=55.5, radius_km=7), settings)
    assert shape == Shape(text=True, point=True, radius=True, sort="distance")
    assert values["q"] == "jardin" and values["radius_m"] == 7000.0 and values["rows"] == 21

"""Zones on real PostGIS: import (promotion, repair, upsert, batches, parents), attachment, look-up, and the
address → point → zones path of saving an element."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from coserver.models import ActorZone, Place, Zone
from coserver.services.elements import ElementInput, create_element
from coserver.services.errors import InvalidInput
from coserver.services.places import PlaceInput, coordinates
from coserver.services.zones import (
    attach_actor,
    attach_all,
    find_zone,
    import_zones,
    iter_features,
    list_zones,
    normalize_level,
    polygon_geojson,
    zones_of,
)
from tests.factories import make_element

FIXTURES = Path(__file__).parent.parent / "fixtures" / "zones"


def features(name: str) -> list[dict]:
    return json.loads((FIXTURES / name).read_text())["features"]


def square(code: str, lon: float, lat: float, size: float = 0.1, **props) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {
        "type": "Feature",
        "properties": {"nom": props.pop("nom", f"Zone {code}"), "code": code, **props},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


async def load_reunion(session) -> None:
    await import_zones(
        session, features("departement.geojson"), level="level4", name_field="nom", code_field="code"
    )
    await import_zones(
        session,
        features("communes.geojson"),
        level="locality",
        name_field="nom",
        code_field="code",
        country="RE",
        parent_code_field="dep",
    )


async def test_import_fixture_with_parents(db):
    seen = []
    async with db.transaction() as s:
        assert (
            await import_zones(
                s,
                features("departement.geojson"),
                level="4",
                name_field="nom",
                code_field="code",
                country="re",
            )
            == 1
        )
        written = await import_zones(
            s,
            features("communes.geojson"),
            level="locality",
            name_field="nom",
            code_field="code",
            country="RE",
            parent_code_field="dep",
            progress=seen.append,
        )
    assert written == 3 and sum(seen) == 3
    async with db.session() as s:
        rows = {z.code: z for z in await s.scalars(select(Zone))}
        assert set(rows) == {"974", "97416", "97422", "97411"}
        assert rows["974"].level == "level4" and rows["974"].country == "RE"
        for code in ("97416", "97422", "97411"):  # "974" and "level4:974" both name the département
            assert rows[code].parent_id == rows["974"].id and rows[code].level == "locality"
        types = set(await s.scalars(text("SELECT DISTINCT ST_GeometryType(geom) FROM zones")))
        assert types == {"ST_MultiPolygon"}  # Polygons promoted
        assert await s.scalar(text("SELECT bool_and(ST_IsValid(geom) AND ST_SRID(geom) = 4326) FROM zones"))


async def test_repair_skip_and_upsert(db):
    bow_tie = {  # self-intersecting: ST_MakeValid turns it into two triangles
        "type": "Feature",
        "properties": {"nom": "Noeud", "code": "bow"},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
    }
    flat = {  # no area at all: nothing polygonal after repair
        "type": "Feature",
        "properties": {"nom": "Plat", "code": "flat"},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [2, 2], [0, 0]]]},
    }
    unclosed = {
        "type": "Feature",
        "properties": {"nom": "Ouvert", "code": "open"},
        "geometry": {"type": "Polygon", "coordinates": [[[5, 5], [6, 5], [6, 6], [5, 6]]]},
    }
    others = [
        {"type": "Feature", "properties": {"nom": "Ligne", "code": "line"},
         "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}},
        {"type": "Feature", "properties": {"nom": "Rien", "code": "none"}, "geometry": None},
        {"type": "Feature", "properties": {"nom": "Court", "code": "short"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}},
        {"type": "Feature", "properties": {"nom": "NaN", "code": "nan"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], ["x", 1], [1, 0], [0, 0]]]}},
    ]  # fmt: skip
    async with db.transaction() as s:
        written = await import_zones(
            s, [bow_tie, flat, unclosed, *others], level="level2", name_field="nom", code_field="code"
        )
    assert written == 2
    async with db.session() as s:
        zones = {z.code: z for z in await s.scalars(select(Zone))}
        assert set(zones) == {"bow", "open"}
        area = await s.scalar(text("SELECT ST_Area(geom) FROM zones WHERE code = 'bow'"))
        assert area == pytest.approx(0.5)
        bow_id = zones["bow"].id
    # Re-importing updates in place (same id), on (level, code).
    renamed = dict(bow_tie, properties={"nom": "Noeud papillon", "code": "bow"})
    async with db.transaction() as s:
        assert await import_zones(s, [renamed], level="level2", name_field="nom", code_field="code") == 1
        # The same code at another level is another zone.
        assert await import_zones(s, [renamed], level="level3", name_field="nom", code_field="code") == 1
    async with db.session() as s:
        bow = await s.scalar(select(Zone).where(Zone.level == "level2", Zone.code == "bow"))
        assert (bow.id, bow.name) == (bow_id, "Noeud papillon")
        assert await s.scalar(select(func.count()).select_from(Zone)) == 3


async def test_batches_and_duplicate_codes(db):
    many = [square(f"z{i}", lon=(i % 30) * 0.2, lat=(i // 30) * 0.2) for i in range(450)]
    many.append(square("z7", lon=50, lat=50, nom="Dernier z7"))  # same code again: the last one wins
    async with db.transaction() as s:
        written = await import_zones(
            s, iter(many), level="postal_code", name_field="nom", code_field="code", batch_size=100
        )
    assert written == 451  # every upserted row, the duplicate included
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Zone)) == 450
        z7 = await s.scalar(select(Zone).where(Zone.code == "z7"))
        assert z7.name == "Dernier z7"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"level": "level9"}, "level"),
        ({"name_field": "name"}, "feature 0 has no property 'name' (its properties: code, dep, nom)"),
        ({"code_field": "insee"}, "no property 'insee'"),
        ({"country": "France"}, "two-letter"),
    ],
)
async def test_import_errors(db, kwargs, needle):
    args = {"level": "locality", "name_field": "nom", "code_field": "code", **kwargs}
    async with db.session() as s:
        with pytest.raises(InvalidInput) as info:
            await import_zones(s, features("communes.geojson"), **args)
    assert needle in info.value.message


def test_iter_features_and_levels():
    collection = {"type": "FeatureCollection", "features": [{"a": 1}, {"b": 2}]}
    assert list(iter_features(collection)) == [{"a": 1}, {"b": 2}]
    assert collection["features"] == [None, None]  # released as they were handed out
    for bad in ({"type": "Feature"}, [], {"type": "FeatureCollection", "features": {}}):
        with pytest.raises(InvalidInput):
            iter_features(bad)
    assert normalize_level("2") == "level2" and normalize_level(" Locality ") == "locality"
    assert polygon_geojson({"type": "Point", "coordinates": [0, 0]}) is None


async def test_attach_all_and_stale_rows(db, make_settings):
    settings = make_settings()
    pierre = await make_element(db, settings, "poi", "kiosque", lat=-21.3393, lon=55.4781)
    tampon = await make_element(db, settings, "poi", "marche_tampon", lat=-21.2766, lon=55.5177)
    at_sea = await make_element(db, settings, "poi", "bouee", lat=-21.0, lon=56.5)
    nowhere = await make_element(db, settings, "organization", "sans_lieu")
    async with db.transaction() as s:
        await load_reunion(s)
        assert await attach_all(s) == 2
    async with db.session() as s:
        assert [z.code for z in await zones_of(s, pierre.id)] == ["974", "97416"]
        assert [z.code for z in await zones_of(s, tampon.id)] == ["974", "97422"]
        assert await zones_of(s, at_sea.id) == [] and await zones_of(s, nowhere.id) == []
    # The kiosk moves to Le Tampon: attach_all drops the stale Saint-Pierre row and is idempotent.
    async with db.transaction() as s:
        await s.execute(
            text(
                "UPDATE places SET location = ST_SetSRID(ST_MakePoint(55.52, -21.27), 4326)::geography "
                "WHERE id = (SELECT place_id FROM actors WHERE id = :id)"
            ),
            {"id": pierre.id},
        )
        assert await attach_all(s) == 2
        assert await attach_all(s) == 2
    async with db.session() as s:
        assert [z.code for z in await zones_of(s, pierre.id)] == ["974", "97422"]
        assert await s.scalar(select(func.count()).select_from(ActorZone)) == 4
        listed = {z.code: n for z, n in await list_zones(s)}
        assert listed == {"974": 2, "97422": 2, "97416": 0, "97411": 0}
        assert [z.name for z, _n in await list_zones(s, "locality")] == [
            "Le Tampon",
            "Saint-Denis",
            "Saint-Pierre",
        ]


async def test_point_on_a_shared_border_is_in_both(db, make_settings):
    # Saint-Pierre and Le Tampon squares share the -21.30 edge; ST_Covers counts the boundary.
    element = await make_element(db, make_settings(), "poi", "borne", lat=-21.30, lon=55.50)
    async with db.transaction() as s:
        await load_reunion(s)
        assert await attach_actor(s, element.id) == 3
    async with db.session() as s:
        assert [z.code for z in await zones_of(s, element.id)] == ["974", "97416", "97422"]


async def test_find_zone(db):
    async with db.transaction() as s:
        await load_reunion(s)
        await import_zones(
            s, [square("974", 0, 0, nom="Autre")], level="postal_code", name_field="nom", code_field="code"
        )
    async with db.session() as s:
        assert (await find_zone(s, "97416")).name == "Saint-Pierre"
        assert (await find_zone(s, "locality:97416")).name == "Saint-Pierre"
        assert (await find_zone(s, "974")).level == "level4"  # coarser level first
        assert (await find_zone(s, "postal_code:974")).name == "Autre"
        assert (await find_zone(s, "level4:974")).name == "La Réunion"
        assert (await find_zone(s, "la reunion")).code == "974"  # case- and accent-insensitive
        assert (await find_zone(s, "LA RÉUNION")).code == "974"
        assert (await find_zone(s, "saint-pierre")).code == "97416"
        assert await find_zone(s, "Atlantis") is None
        assert await find_zone(s, "level9:974") is None
        assert await find_zone(s, "  ") is None


async def test_attach_query_uses_the_gist_index(db, make_settings):
    element = await make_element(db, make_settings(), "poi", "kiosque", lat=-21.3393, lon=55.4781)
    async with db.transaction() as s:
        await load_reunion(s)
        await s.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            await s.scalars(
                text(
                    "EXPLAIN SELECT a.id, z.id FROM actors a JOIN places p ON p.id = a.place_id "
                    "JOIN zones z ON ST_Covers(z.geom, p.location::geometry) WHERE a.id = :id"
                ),
                {"id": element.id},
            )
        )
    assert "idx_zones_geom" in plan, plan


# --- saving an element: address → point → zones ------------------------------------------------------


async def test_locality_only_gets_a_point_and_zones(db, make_settings):
    settings = make_settings()
    async with db.transaction() as s:
        await load_reunion(s)
    async with db.transaction() as s:
        element = await create_element(
            s,
            settings,
            ElementInput(
                kind="organization",
                username="asso_st_pierre",
                name="Asso",
                place=PlaceInput(locality="Saint-Pierre", country="RE"),
            ),
        )
    async with db.session() as s:
        place = await s.get(Place, element.place_id)
        lat, lon = coordinates(place)
        assert abs(lat - -21.34) < 0.02 and abs(lon - 55.48) < 0.02
        assert place.locality == "Saint-Pierre" and place.country == "RE"
        assert [z.name for z in await zones_of(s, element.id)] == ["La Réunion", "Saint-Pierre"]


async def test_given_point_wins_and_unknown_places_stay_without_point(db, make_settings):
    settings = make_settings()
    async with db.transaction() as s:
        await load_reunion(s)
        given = await create_element(
            s,
            settings,
            ElementInput(
                kind="poi",
                username="point_donne",
                name="Point donné",
                place=PlaceInput(lat=-20.9, lon=55.45, locality="Saint-Pierre", country="RE"),
            ),
        )
        unknown = await create_element(
            s,
            settings,
            ElementInput(
                kind="poi",
                username="inconnu",
                name="Inconnu",
                place=PlaceInput(locality="Xyzzyville-sur-Nulle-Part", country="RE"),
            ),
        )
    async with db.session() as s:
        assert coordinates(await s.get(Place, given.place_id)) == pytest.approx((-20.9, 55.45))
        assert [z.code for z in await zones_of(s, given.id)] == ["974", "97411"]  # Saint-Denis, as given
        assert coordinates(await s.get(Place, unknown.place_id)) is None
        assert await zones_of(s, unknown.id) == []


async def test_postal_code_zone_gives_a_point(db, make_settings):
    settings = make_settings()
    async with db.transaction() as s:
        await load_reunion(s)
        # GeoNames has no postal codes; an imported postal-code zone does.
        await import_zones(
            s,
            [square("97410", 55.44, -21.36, size=0.04)],
            level="postal_code",
            name_field="nom",
            code_field="code",
        )
    async with db.transaction() as s:
        element = await create_element(
            s,
            settings,
            ElementInput(
                kind="poi", username="code_postal", name="CP", place=PlaceInput(postal_code="97410")
            ),
        )
    async with db.session() as s:
        lat, lon = coordinates(await s.get(Place, element.place_id))
        assert -21.36 <= lat <= -21.32 and 55.44 <= lon <= 55.48
        assert [z.code for z in await zones_of(s, element.id)] == ["974", "97416", "97410"]


async def test_invalid_place_is_still_refused_before_geocoding(db, make_settings):
    async with db.session() as s:
        with pytest.raises(InvalidInput) as info:
            await create_element(
                s,
                make_settings(),
                ElementInput(
                    kind="poi",
                    username="x_pays",
                    name="X",
                    place=PlaceInput(locality="Saint-Pierre", country="REU"),
                ),
            )
    assert info.value.field == "country"

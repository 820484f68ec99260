"""HTTP geocoders against real loopback stub servers (canned Nominatim, Photon and Addok answers)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs

import pytest

from coserver.geo.geocoder import (
    GeocodedPlace,
    OfflineGeocoder,
    StructuredAddress,
    country_from_postcode,
    geocode_address,
    geocoder_for,
)
from coserver.geo.providers import (
    MAX_BODY,
    AddokGeocoder,
    NominatimGeocoder,
    PhotonGeocoder,
)
from federation.http import make_client
from tests.servers import Reply, StubApp, serve_app

NOMINATIM_ANSWER = [
    {
        "place_id": 1,
        "lat": "-21.3401",
        "lon": "55.4772",
        "display_name": "Rue Désiré Barquisseau, Saint-Pierre, La Réunion, 97410, France",
        "address": {"road": "Rue Désiré Barquisseau", "town": "Saint-Pierre", "postcode": "97410",
                    "country_code": "fr"},
    },
    {"place_id": 2, "lat": "not a number", "lon": "55.1"},  # a broken item is skipped, not fatal
    {
        "place_id": 3,
        "lat": "43.29",
        "lon": "5.40",
        "display_name": "Saint-Pierre, Marseille, France",
        "address": {"suburb": "Saint-Pierre", "city": "Marseille", "postcode": "13005", "country_code": "fr"},
    },
]  # fmt: skip

PHOTON_ANSWER = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [55.5177, -21.2766]},
            "properties": {"name": "Le Tampon", "postcode": "97430", "city": "Le Tampon",
                           "countrycode": "FR", "country": "France", "osm_key": "place"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [2.35, 48.85]},
            "properties": {"name": "Tampon Café", "street": "Rue de Rivoli", "housenumber": "10",
                           "postcode": "75001", "city": "Paris", "countrycode": "FR"},
        },
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}},
    ],
}  # fmt: skip

ADDOK_ANSWER = {
    "type": "FeatureCollection",
    "version": "draft",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [55.4507, -20.8789]},
            "properties": {"label": "2 Rue de Paris 97400 Saint-Denis", "score": 0.93, "housenumber": "2",
                           "street": "Rue de Paris", "postcode": "97400", "citycode": "97411",
                           "city": "Saint-Denis", "type": "housenumber"},
        }
    ],
}  # fmt: skip


def _params(stub: StubApp, index: int = -1) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(stub.requests[index].query).items()}


@pytest.fixture
def geo_settings(make_settings):
    def _make(base: str, provider: str, **overrides):
        values = {"geocoder": provider, "geocoder_url": base, "geocoder_timeout": 2.0, **overrides}
        return make_settings(**values)

    return _make


async def test_nominatim(geo_settings):
    stub = StubApp({"/search": Reply.json(NOMINATIM_ANSWER, content_type="application/json")})
    async with serve_app(stub) as base:
        geocoder = NominatimGeocoder(geo_settings(base, "nominatim"))
        found = await geocoder.geocode("rue Désiré Barquisseau, Saint-Pierre", country="RE")
        params = _params(stub)
        assert params["format"] == "jsonv2" and params["q"] == "rue Désiré Barquisseau, Saint-Pierre"
        assert params["countrycodes"] == "re,fr"
        assert stub.requests[-1].headers["user-agent"].startswith("coserver/")
        assert "http://127.0.0.1:8000" in stub.requests[-1].headers["user-agent"]  # names the node
        # Overseas France reported as "fr": the postal code says La Réunion; Marseille is filtered out.
        assert found == [
            GeocodedPlace(
                lat=-21.3401,
                lon=55.4772,
                label="Rue Désiré Barquisseau, Saint-Pierre, La Réunion, 97410, France",
                locality="Saint-Pierre",
                postal_code="97410",
                country="RE",
                source="nominatim",
            )
        ]
        # Structured addresses use Nominatim's structured parameters.
        found = await geocoder.geocode(
            StructuredAddress(street="1 rue X", postal_code="97410", locality="St-P")
        )
        params = _params(stub)
        assert (params["street"], params["postalcode"], params["city"]) == ("1 rue X", "97410", "St-P")
        assert "q" not in params and "countrycodes" not in params
        assert [p.locality for p in found] == ["Saint-Pierre", "Marseille"]


async def test_photon(geo_settings):
    stub = StubApp({"/api": Reply.json(PHOTON_ANSWER, content_type="application/json")})
    async with serve_app(stub) as base:
        geocoder = PhotonGeocoder(geo_settings(base, "photon"))
        found = await geocoder.geocode("Tampon", country="RE")
        params = _params(stub)
        assert params["q"] == "Tampon" and params["lang"] == "fr"
        assert (params["lat"], params["lon"]) == ("-21.11500", "55.53600")  # biased to the territory
        assert len(found) == 1
        assert (found[0].lat, found[0].lon, found[0].country) == (-21.2766, 55.5177, "RE")
        assert found[0].label == "Le Tampon, 97430 Le Tampon"
        everything = await geocoder.geocode("Tampon")
        assert [p.country for p in everything] == ["RE", "FR"]
        assert everything[1].label == "Tampon Café, 10 Rue de Rivoli, 75001 Paris"


async def test_addok(geo_settings):
    stub = StubApp({"/search/": Reply.json(ADDOK_ANSWER, content_type="application/json")})
    async with serve_app(stub) as base:
        geocoder = AddokGeocoder(geo_settings(base, "addok"))
        [hit] = await geocoder.geocode(
            StructuredAddress(street="2 rue de Paris", postal_code="97400", locality="Saint-Denis"),
            country="RE",
        )
        params = _params(stub)
        assert params["q"] == "2 rue de Paris, 97400 Saint-Denis" and params["postcode"] == "97400"
        assert (hit.lat, hit.lon, hit.country, hit.label) == (
            -20.8789,
            55.4507,
            "RE",
            "2 Rue de Paris 97400 Saint-Denis",
        )
        assert await geocoder.geocode("2 rue de Paris", country="FR")  # FR covers overseas France
        # The BAN only knows France: no request at all for another country.
        before = len(stub.requests)
        assert await geocoder.geocode("Rue Neuve", country="BE") == []
        assert len(stub.requests) == before


async def test_timeout_gives_nothing_quickly(geo_settings):
    slow = Reply.json(PHOTON_ANSWER, content_type="application/json")
    slow.delay = 5
    stub = StubApp({"/api": slow})
    async with serve_app(stub) as base:
        geocoder = PhotonGeocoder(geo_settings(base, "photon", geocoder_timeout=0.3))
        started = time.monotonic()
        assert await geocoder.geocode("Tampon") == []
        assert time.monotonic() - started < 2


async def test_slow_trickle_counts_against_the_whole_timeout(geo_settings):
    body = b'{"type": "FeatureCollection", "features": []}' + b" " * 400
    stub = StubApp({"/api": Reply(body=body, chunk_size=20, chunk_delay=0.1)})
    async with serve_app(stub) as base:
        geocoder = PhotonGeocoder(geo_settings(base, "photon", geocoder_timeout=0.5))
        started = time.monotonic()
        assert await geocoder.geocode("Tampon") == []
        assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body=b"<html>not json</html>", headers={"Content-Type": "text/html"}),
        Reply(
            body=b'{"type": "FeatureCollection", "features": [', headers={"Content-Type": "application/json"}
        ),
        Reply.json({"type": "FeatureCollection", "features": "nope"}, content_type="application/json"),
        Reply.json([1, 2, 3], content_type="application/json"),
        Reply.json(
            {"features": [{"geometry": {"type": "Point", "coordinates": [500, 500]}}]},
            content_type="application/json",
        ),
        Reply(status=500, body=b"boom"),
        Reply(status=429, body=b"slow down"),
        Reply.redirect("http://127.0.0.1:1/elsewhere"),
        Reply(body=b" " * (MAX_BODY + 10), chunk_size=65536),
    ],
    ids=["html", "truncated", "features-not-list", "list", "out-of-range", "500", "429", "redirect", "huge"],
)
async def test_garbage_gives_nothing(geo_settings, reply):
    stub = StubApp({"/api": reply})
    async with serve_app(stub) as base:
        assert await PhotonGeocoder(geo_settings(base, "photon")).geocode("Tampon") == []


async def test_nominatim_garbage_and_connection_refused(geo_settings):
    stub = StubApp({"/search": Reply.json({"error": "Unable to geocode"}, content_type="application/json")})
    async with serve_app(stub) as base:
        assert await NominatimGeocoder(geo_settings(base, "nominatim")).geocode("x") == []
    # The server is gone now: connection refused.
    assert await NominatimGeocoder(geo_settings(base, "nominatim")).geocode("x") == []


async def test_private_addresses_refused_unless_allowed(geo_settings):
    stub = StubApp({"/api": Reply.json(PHOTON_ANSWER, content_type="application/json")})
    async with serve_app(stub) as base:
        strict = PhotonGeocoder(geo_settings(base, "photon", allow_private_addresses=False))
        assert await strict.geocode("Tampon") == []
        assert stub.requests == []  # refused before any connection
        allowed = PhotonGeocoder(geo_settings(base, "photon", allow_private_addresses=True))
        assert await allowed.geocode("Tampon")


async def test_shared_client(geo_settings):
    stub = StubApp({"/api": Reply.json(PHOTON_ANSWER, content_type="application/json")})
    async with serve_app(stub) as base:
        settings = geo_settings(base, "photon")
        async with make_client(settings) as http:
            geocoder = geocoder_for(settings, http)
            assert isinstance(geocoder, PhotonGeocoder) and geocoder.http is http
            assert len(await geocoder.geocode("Tampon", country="RE")) == 1


def test_geocoder_for(make_settings):
    assert isinstance(geocoder_for(make_settings()), OfflineGeocoder)
    nominatim = geocoder_for(make_settings(geocoder="nominatim"))
    assert isinstance(nominatim, NominatimGeocoder)
    assert nominatim.base_url == "https://nominatim.openstreetmap.org"
    assert isinstance(geocoder_for(make_settings(geocoder="photon")), PhotonGeocoder)
    addok = geocoder_for(make_settings(geocoder="addok", geocoder_url="https://adresse.example/ban/"))
    assert isinstance(addok, AddokGeocoder) and addok.base_url == "https://adresse.example/ban"


def test_country_from_postcode():
    assert country_from_postcode("97410") == "RE"
    assert country_from_postcode("97600") == "YT"
    assert country_from_postcode("35000") == "FR"
    assert country_from_postcode("") == "FR"


async def test_geocode_address_falls_back_to_the_gazetteer(geo_settings, make_settings):
    address = StructuredAddress(locality="Saint-Pierre", country="RE")
    stub = StubApp({"/api": Reply(status=503, body=b"down")})
    async with serve_app(stub) as base:
        found = await geocode_address(geo_settings(base, "photon"), address)
        assert len(stub.requests) == 1  # the provider was asked first
    assert found is not None and found.source == "gazetteer" and abs(found.lat - -21.34) < 0.02
    # Without a provider, straight to the gazetteer; a street alone finds nothing offline.
    assert (await geocode_address(make_settings(), address)).source == "gazetteer"
    assert await geocode_address(make_settings(), StructuredAddress(street="1 rue X")) is None

"""HTTP geocoding providers: Nominatim, Photon and Addok (BAN), one small class each.

Every request goes to a URL checked by :func:`federation.http.check_url` (private addresses refused unless
``COSERVER_ALLOW_PRIVATE_ADDRESSES``), carries a User-Agent naming the node, follows no redirect, reads at
most :data:`MAX_BODY` bytes and must finish within ``COSERVER_GEOCODER_TIMEOUT`` seconds as a whole.
Any failure (unsafe URL, timeout, connection error, HTTP status other than 200, body that is not the
expected JSON) is logged and gives an empty list: geocoding is a convenience, never a reason to fail a save.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import httpx
import orjson

from coserver.config import Settings
from coserver.geo.geocoder import (
    GeocodedPlace,
    StructuredAddress,
    country_from_postcode,
    country_matches,
)
from federation.http import UnsafeURL, check_url, user_agent

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # bytes; a geocoder answer is a few kilobytes
MAX_RESULTS = 10


class GeocoderError(Exception):
    """A provider answered something we cannot use (status, size, shape)."""


def _float(value: Any) -> float:
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return number


def _point(lat: Any, lon: Any) -> tuple[float, float]:
    lat, lon = _float(lat), _float(lon)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError("coordinates out of range")
    return lat, lon


class HTTPGeocoder:
    """The request/response plumbing shared by the providers; subclasses say what to ask and how to read."""

    name: ClassVar[str] = "http"
    default_url: ClassVar[str] = ""
    path: ClassVar[str] = ""

    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient | None = None,
        *,
        base_url: str | None = None,
        limit: int = 5,
    ) -> None:
        self.settings = settings
        self.http = http
        self.base_url = (base_url or settings.geocoder_url or self.default_url).rstrip("/")
        self.timeout = settings.geocoder_timeout
        self.limit = max(1, min(limit, MAX_RESULTS))

    async def geocode(
        self, query: str | StructuredAddress, *, country: str | None = None
    ) -> list[GeocodedPlace]:
        wanted = (country or "").upper() or None
        if isinstance(query, str) and not query.strip():
            return []
        if isinstance(query, StructuredAddress) and not query.text():
            return []
        url = self.base_url + self.path
        try:
            params = self.params(query, wanted)
            if params is None:
                return []
            await check_url(url, allow_private=self.settings.allow_private_addresses)
            async with asyncio.timeout(self.timeout):
                data = await self._get_json(url, params)
            places = self.parse(data)
        except UnsafeURL as exc:
            log.warning("geocoder %s: refused URL %s: %s", self.name, url, exc)
            return []
        except TimeoutError:
            log.warning("geocoder %s: no answer from %s within %s s", self.name, url, self.timeout)
            return []
        except httpx.HTTPError as exc:
            log.warning("geocoder %s: %s failed: %s", self.name, url, exc.__class__.__name__)
            return []
        except (
            GeocoderError,
            orjson.JSONDecodeError,
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
        ) as exc:
            log.warning("geocoder %s: unusable answer from %s: %s", self.name, url, exc)
            return []
        except Exception:
            log.exception("geocoder %s: unexpected failure", self.name)
            return []
        return [p for p in places if country_matches(wanted, p.country)][: self.limit]

    async def _get_json(self, url: str, params: dict[str, str]) -> Any:
        headers = {"User-Agent": user_agent(self.settings), "Accept": "application/json"}
        if self.http is not None:
            return await self._fetch(self.http, url, params, headers)
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
            return await self._fetch(client, url, params, headers)

    async def _fetch(
        self, client: httpx.AsyncClient, url: str, params: dict[str, str], headers: dict[str, str]
    ) -> Any:
        async with client.stream(
            "GET", url, params=params, headers=headers, timeout=self.timeout, follow_redirects=False
        ) as response:
            if response.status_code != 200:
                raise GeocoderError(f"HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    raise GeocoderError(f"answer larger than {MAX_BODY} bytes")
        return orjson.loads(body)

    def fetch_count(self, wanted: str | None) -> int:
        """How many results to ask for: more when we filter by country afterwards."""
        return min(MAX_RESULTS * 2, self.limit * 4) if wanted else self.limit

    def params(self, query: str | StructuredAddress, wanted: str | None) -> dict[str, str] | None:
        raise NotImplementedError

    def parse(self, data: Any) -> list[GeocodedPlace]:
        """Read every usable item of an answer; an answer of the wrong shape raises, a bad item is skipped."""
        places = []
        for item in self.items(data):
            try:
                places.append(self.read(item))
            except (GeocoderError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
                log.info("geocoder %s: skipped a result: %s", self.name, exc)
        return places

    def items(self, data: Any) -> list[dict[str, Any]]:
        raise NotImplementedError

    def read(self, item: dict[str, Any]) -> GeocodedPlace:
        raise NotImplementedError

    @staticmethod
    def _text(query: str | StructuredAddress) -> str:
        return query.text() if isinstance(query, StructuredAddress) else query.strip()


class GeoJSONGeocoder(HTTPGeocoder):
    """Providers answering a GeoJSON FeatureCollection of Points (Photon, Addok)."""

    def items(self, data: Any) -> list[dict[str, Any]]:
        if not isinstance(data, dict) or not isinstance(data.get("features"), list):
            raise GeocoderError("not a GeoJSON FeatureCollection")
        return [f for f in data["features"] if isinstance(f, dict)]


def _geojson_point(feature: dict[str, Any]) -> tuple[float, float]:
    geometry = feature.get("geometry") or {}
    if geometry.get("type") != "Point":
        raise GeocoderError("a feature without a Point geometry")
    lon, lat = geometry["coordinates"][:2]
    return _point(lat, lon)


class NominatimGeocoder(HTTPGeocoder):
    """Nominatim (OpenStreetMap): ``/search?format=jsonv2``, structured when the address is."""

    name = "nominatim"
    default_url = "https://nominatim.openstreetmap.org"
    path = "/search"

    def params(self, query: str | StructuredAddress, wanted: str | None) -> dict[str, str]:
        params = {
            "format": "jsonv2",
            "addressdetails": "1",
            "limit": str(self.fetch_count(wanted)),
            "accept-language": self.settings.default_locale,
        }
        if isinstance(query, StructuredAddress):
            parts = {"street": query.street, "postalcode": query.postal_code, "city": query.locality}
            params.update({k: v.strip() for k, v in parts.items() if v.strip()})
        else:
            params["q"] = query.strip()
        if wanted:
            # Overseas France is "fr" in some Nominatim data: ask for both, filter by postal code after.
            params["countrycodes"] = wanted.lower() if wanted == "FR" else f"{wanted.lower()},fr"
        return params

    def items(self, data: Any) -> list[dict[str, Any]]:
        if not isinstance(data, list):
            raise GeocoderError("not a JSON list")
        return [item for item in data if isinstance(item, dict)]

    def read(self, item: dict[str, Any]) -> GeocodedPlace:
        lat, lon = _point(item["lat"], item["lon"])
        address = item.get("address") if isinstance(item.get("address"), dict) else {}
        postcode = str(address.get("postcode") or "")
        country = str(address.get("country_code") or "").upper()
        if country == "FR":
            country = country_from_postcode(postcode)
        towns = ("city", "town", "village", "municipality", "hamlet")
        locality = next((str(address[k]) for k in towns if address.get(k)), "")
        return GeocodedPlace(
            lat=lat,
            lon=lon,
            label=str(item.get("display_name") or locality),
            locality=locality,
            postal_code=postcode,
            country=country,
            source=self.name,
        )


class PhotonGeocoder(GeoJSONGeocoder):
    """Photon (komoot): ``/api?q=...``, GeoJSON, biased towards the territory's centre."""

    name = "photon"
    default_url = "https://photon.komoot.io"
    path = "/api"

    def params(self, query: str | StructuredAddress, wanted: str | None) -> dict[str, str]:
        return {
            "q": self._text(query),
            "limit": str(self.fetch_count(wanted)),
            "lang": self.settings.default_locale,
            "lat": f"{self.settings.territory_lat:.5f}",
            "lon": f"{self.settings.territory_lon:.5f}",
        }

    def read(self, item: dict[str, Any]) -> GeocodedPlace:
        lat, lon = _geojson_point(item)
        props = item.get("properties") or {}
        postcode = str(props.get("postcode") or "")
        country = str(props.get("countrycode") or "").upper()
        if country == "FR":
            country = country_from_postcode(postcode)
        name = str(props.get("name") or "")
        street = " ".join(str(props[k]) for k in ("housenumber", "street") if props.get(k))
        locality = str(props.get("city") or props.get("town") or props.get("village") or "")
        town = " ".join(p for p in (postcode, locality) if p)
        return GeocodedPlace(
            lat=lat,
            lon=lon,
            label=", ".join(p for p in (name, street, town) if p) or locality,
            locality=locality or name,
            postal_code=postcode,
            country=country,
            source=self.name,
        )


class AddokGeocoder(GeoJSONGeocoder):
    """Addok, the engine of the French Base Adresse Nationale: ``/search/?q=...``, GeoJSON, France only."""

    name = "addok"
    default_url = "https://api-adresse.data.gouv.fr"
    path = "/search/"

    def params(self, query: str | StructuredAddress, wanted: str | None) -> dict[str, str] | None:
        if wanted and not country_matches("FR", wanted):
            return None  # the BAN covers France (with its overseas départements) only
        params = {
            "q": self._text(query),
            "limit": str(self.fetch_count(wanted)),
            "lat": f"{self.settings.territory_lat:.5f}",
            "lon": f"{self.settings.territory_lon:.5f}",
        }
        if isinstance(query, StructuredAddress) and query.postal_code.strip():
            params["postcode"] = query.postal_code.strip()
        return params

    def read(self, item: dict[str, Any]) -> GeocodedPlace:
        lat, lon = _geojson_point(item)
        props = item.get("properties") or {}
        postcode = str(props.get("postcode") or "")
        locality = str(props.get("city") or "")
        return GeocodedPlace(
            lat=lat,
            lon=lon,
            label=str(props.get("label") or locality),
            locality=locality,
            postal_code=postcode,
            country=country_from_postcode(postcode),
            source=self.name,
        )


PROVIDERS: dict[str, type[HTTPGeocoder]] = {
    "nominatim": NominatimGeocoder,
    "photon": PhotonGeocoder,
    "addok": AddokGeocoder,
}

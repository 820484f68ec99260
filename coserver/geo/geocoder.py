"""Geocoding: an address or a place name → points, behind one interface.

:class:`Geocoder` is the interface (like Mobilizon's geospatial ``Provider`` behaviour); implementations:

* :class:`OfflineGeocoder`: the GeoNames gazetteer shipped with the node (:mod:`coserver.geo.gazetteer`),
  localities only, no network; always available.
* HTTP providers in :mod:`coserver.geo.providers`: Nominatim, Photon, Addok (the French BAN geocoder),
  chosen by the operator with ``COSERVER_GEOCODER`` / ``COSERVER_GEOCODER_URL`` /
  ``COSERVER_GEOCODER_TIMEOUT``.

:func:`geocoder_for` picks the configured one; :func:`geocode_address` is what saving an element uses: the
configured provider first, then the gazetteer (a provider that is down or finds nothing does not leave a
locality without a point). A geocoder never raises: failures are logged and give no result.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from coserver.geo.gazetteer import Gazetteer, GazetteerPlace, default_gazetteer

if TYPE_CHECKING:
    import httpx

    from coserver.config import Settings

log = logging.getLogger(__name__)

# French overseas départements and collectivités: their own ISO code, but "FR" for some providers (OSM data
# puts them inside France) and for users who write "France". Postal code prefix → ISO code.
FRENCH_OVERSEAS = {
    "971": "GP",
    "972": "MQ",
    "973": "GF",
    "974": "RE",
    "975": "PM",
    "976": "YT",
    "977": "BL",
    "978": "MF",
    "986": "WF",
    "987": "PF",
    "988": "NC",
}
_OVERSEAS_CODES = frozenset(FRENCH_OVERSEAS.values())
_POSTCODE = re.compile(r"\b\d{4,6}\b")


@dataclass(frozen=True)
class StructuredAddress:
    """An address in parts, as stored on places; any part may be empty."""

    street: str = ""
    postal_code: str = ""
    locality: str = ""
    country: str = ""

    def text(self) -> str:
        """One line for free-text geocoders: ``"3 rue X, 97410 Saint-Pierre"``."""
        town = " ".join(p for p in (self.postal_code, self.locality) if p)
        return ", ".join(p for p in (self.street.strip(), town.strip()) if p)


@dataclass(frozen=True)
class GeocodedPlace:
    """One answer of a geocoder."""

    lat: float
    lon: float
    label: str
    locality: str = ""
    postal_code: str = ""
    country: str = ""  # ISO 3166-1 alpha-2, upper case; "" when the provider did not say
    source: str = ""  # "gazetteer", "nominatim", "photon", "addok"


class Geocoder(Protocol):
    """Turns a free-text query or a structured address into places, best first; never raises."""

    name: str

    async def geocode(
        self, query: str | StructuredAddress, *, country: str | None = None
    ) -> list[GeocodedPlace]: ...


def country_from_postcode(postal_code: str, default: str = "FR") -> str:
    """The ISO code of a French postal code (overseas ones have their own), else ``default``."""
    return FRENCH_OVERSEAS.get(postal_code.strip()[:3], default) if postal_code else default


def country_matches(wanted: str | None, got: str) -> bool:
    """Whether a result in country ``got`` answers a query for ``wanted``; "FR" covers overseas France."""
    if not wanted:
        return True
    wanted = wanted.upper()
    return got == wanted or (wanted == "FR" and got in _OVERSEAS_CODES)


class OfflineGeocoder:
    """Localities from the offline gazetteer, nearest the territory first; streets are ignored."""

    name = "gazetteer"

    def __init__(
        self,
        gazetteer: Gazetteer | None = None,
        *,
        near: tuple[float, float] | None = None,
        limit: int = 5,
    ) -> None:
        self.gazetteer = gazetteer or default_gazetteer()
        self.near = near
        self.limit = limit

    def _candidates(self, query: str | StructuredAddress) -> list[str]:
        if isinstance(query, StructuredAddress):
            return [query.locality] if query.locality.strip() else []
        # "12 rue X, 97410 Saint-Pierre": try the whole text, then each part from the last one.
        parts = [_POSTCODE.sub(" ", p).strip() for p in query.split(",")]
        names = [query.strip()] + [p for p in reversed(parts) if p]
        return list(dict.fromkeys(n for n in names if n))

    async def geocode(
        self, query: str | StructuredAddress, *, country: str | None = None
    ) -> list[GeocodedPlace]:
        try:
            if not self.gazetteer.loaded:
                await asyncio.to_thread(self.gazetteer.load)
            wanted = (country or "").upper() or None
            for name in self._candidates(query):
                found = self.gazetteer.find_place(
                    name, country=None if wanted == "FR" else wanted, near=self.near, limit=self.limit * 4
                )
                places = [p for p in found if country_matches(wanted, p.country)][: self.limit]
                if places:
                    return [self._result(p) for p in places]
        except Exception:  # the data file is missing or unreadable: no answer, never an error
            log.exception("offline geocoder failed")
        return []

    @staticmethod
    def _result(place: GazetteerPlace) -> GeocodedPlace:
        return GeocodedPlace(
            lat=place.lat,
            lon=place.lon,
            label=place.name,
            locality=place.name,
            country=place.country,
            source="gazetteer",
        )


def territory_centre(settings: Settings) -> tuple[float, float]:
    return (settings.territory_lat, settings.territory_lon)


def geocoder_for(settings: Settings, http: httpx.AsyncClient | None = None) -> Geocoder:
    """The geocoder the operator configured (``COSERVER_GEOCODER``); the offline one for ``none``.

    ``http`` is a shared client to reuse (the app's); without one each request opens its own.
    """
    from coserver.geo.providers import PROVIDERS

    provider = PROVIDERS.get(settings.geocoder)
    if provider is None:
        return OfflineGeocoder(near=territory_centre(settings))
    return provider(settings, http)


async def geocode_address(
    settings: Settings,
    address: StructuredAddress,
    *,
    http: httpx.AsyncClient | None = None,
) -> GeocodedPlace | None:
    """The best point for an address: the configured provider, then the offline gazetteer by locality."""
    country = address.country.upper() or None
    if settings.geocoder != "none":
        found = await geocoder_for(settings, http).geocode(address, country=country)
        if found:
            return found[0]
    if address.locality.strip():
        found = await OfflineGeocoder(near=territory_centre(settings)).geocode(address, country=country)
        if found:
            return found[0]
    return None

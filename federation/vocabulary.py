"""ActivityStreams constants and the JSON-LD ``@context`` we publish."""

from __future__ import annotations

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
PUBLIC_ALIASES = frozenset({PUBLIC, "as:Public", "Public"})
CO_NS = "https://w3id.org/coserver/ns#"

# Extension terms used in what we publish (Mastodon, schema.org, Mobilizon, our own namespace).
EXTENSIONS = {
    "toot": "http://joinmastodon.org/ns#",
    "schema": "http://schema.org#",
    "mz": "https://joinmobilizon.org/ns#",
    "co": CO_NS,
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "Hashtag": "as:Hashtag",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    "PostalAddress": "schema:PostalAddress",
    "address": "schema:address",
    "streetAddress": "schema:streetAddress",
    "postalCode": "schema:postalCode",
    "addressLocality": "schema:addressLocality",
    "addressRegion": "schema:addressRegion",
    "addressCountry": "schema:addressCountry",
    "maximumAttendeeCapacity": "schema:maximumAttendeeCapacity",
    "timezone": {"@id": "mz:timezone", "@type": "schema:Text"},
    "joinMode": {"@id": "mz:joinMode", "@type": "mz:joinModeType"},
    "isOnline": {"@id": "mz:isOnline", "@type": "schema:Boolean"},
    "category": "schema:category",
    "webfinger": {"@id": "https://purl.archive.org/socialweb/webfinger#webfinger", "@type": "xsd:string"},
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "elementType": "co:elementType",
    "elementSubtype": "co:elementSubtype",
    "eventObject": {"@id": "co:eventObject", "@type": "@id"},
}

CONTEXT = [AS_CONTEXT, SECURITY_CONTEXT, EXTENSIONS]

# Our element kinds as ActivityPub actor types (Mastodon only follows these five types).
ACTOR_TYPES = {
    "person": "Person",
    "organization": "Organization",
    "project": "Group",
    "event": "Group",
    "poi": "Organization",
    "application": "Application",
}
ACTOR_TYPE_NAMES = frozenset({"Application", "Group", "Organization", "Person", "Service"})

AP_CONTENT_TYPES = ("application/activity+json", "application/ld+json")


def is_public(addresses: object) -> bool:
    if isinstance(addresses, str):
        return addresses in PUBLIC_ALIASES
    if isinstance(addresses, list):
        return any(isinstance(a, str) and a in PUBLIC_ALIASES for a in addresses)
    return False

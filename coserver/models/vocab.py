"""Controlled vocabularies shared by models, services, API and federation (kinds, types, states).

Stored as plain text with CHECK constraints (not PostgreSQL enums) so that adding a value is a one-line
migration.
"""

from __future__ import annotations

# Element kinds. "application" is the instance actor (FEP-2677), never listed as an element.
ELEMENT_KINDS = ("person", "organization", "project", "event", "poi")
ACTOR_KINDS = (*ELEMENT_KINDS, "application")

# Organization types (Communecter's NGO, LocalBusiness, Group, GovernmentOrganization, plus cooperative).
ORGANIZATION_TYPES = ("ngo", "local_business", "informal_group", "public_body", "cooperative")

# Project stages ("avancement" in Communecter).
PROJECT_STAGES = ("idea", "concept", "started", "development", "testing", "mature")

# Event types, as in Communecter.
EVENT_TYPES = (
    "competition",
    "concert",
    "contest",
    "exhibition",
    "festival",
    "getTogether",
    "market",
    "meeting",
    "course",
    "workshop",
    "conference",
    "debate",
    "film",
    "stand",
    "crowdfunding",
    "others",
)

# Special places (POI) types.
POI_TYPES = (
    "compostPickup",
    "video",
    "sharedLibrary",
    "artPiece",
    "recoveryCenter",
    "trash",
    "history",
    "something2See",
    "streetArts",
    "openScene",
    "stand",
    "parking",
    "fablab",
    "repairCafe",
    "coworking",
    "tool",
    "machine",
    "software",
    "place",
    "other",
)

SUBTYPES = {
    "organization": ORGANIZATION_TYPES,
    "event": EVENT_TYPES,
    "poi": POI_TYPES,
}

# Typed URLs of an element.
URL_TYPES = (
    "website",
    "chat",
    "decisionroom",
    "partner",
    "documentation",
    "wiki",
    "funding",
    "social",
    "other",
)

# Relations between actors.
LINK_TYPES = ("member", "contributor", "attendee", "follower")
# Which link type joins a person to an element of each kind.
MEMBERSHIP_TYPE = {"organization": "member", "project": "contributor", "event": "attendee"}

# Pending states of a link; "accepted" is the settled state.
LINK_STATES = ("accepted", "to_be_validated", "admin_requested", "invited")

LOCALES = ("fr", "en")

"""Human, translated labels of the element vocabularies (kinds, types, stages, link types), for templates
and forms. Registered as template globals: ``kind_label``, ``subtype_label``, ``stage_label``,
``link_type_label``, ``join_label``, ``leave_label``."""

from __future__ import annotations

from coserver.models.vocab import EVENT_TYPES, ORGANIZATION_TYPES, POI_TYPES, PROJECT_STAGES
from coserver.web import blueprint
from coserver.web.i18n import _


def _kinds() -> dict[str, str]:
    return {
        "person": _("Person"),
        "organization": _("Organization"),
        "project": _("Project"),
        "event": _("Event"),
        "poi": _("Special place"),
    }


def _subtypes() -> dict[str, dict[str, str]]:
    return {
        "organization": {
            "ngo": _("Association / NGO"),
            "local_business": _("Local business"),
            "informal_group": _("Informal group"),
            "public_body": _("Public body"),
            "cooperative": _("Cooperative"),
        },
        "event": {
            "competition": _("Competition"),
            "concert": _("Concert"),
            "contest": _("Contest"),
            "exhibition": _("Exhibition"),
            "festival": _("Festival"),
            "getTogether": _("Get-together"),
            "market": _("Market"),
            "meeting": _("Meeting"),
            "course": _("Course"),
            "workshop": _("Workshop"),
            "conference": _("Conference"),
            "debate": _("Debate"),
            "film": _("Film screening"),
            "stand": _("Stand"),
            "crowdfunding": _("Crowdfunding"),
            "others": _("Other event"),
        },
        "poi": {
            "compostPickup": _("Compost pickup"),
            "video": _("Video"),
            "sharedLibrary": _("Shared library"),
            "artPiece": _("Work of art"),
            "recoveryCenter": _("Recovery centre"),
            "trash": _("Waste bin"),
            "history": _("Historic site"),
            "something2See": _("Something to see"),
            "streetArts": _("Street art"),
            "openScene": _("Open stage"),
            "stand": _("Stand"),
            "parking": _("Parking"),
            "fablab": _("Fab lab"),
            "repairCafe": _("Repair café"),
            "coworking": _("Coworking space"),
            "tool": _("Tool"),
            "machine": _("Machine"),
            "software": _("Software"),
            "place": _("Place"),
            "other": _("Other place"),
        },
    }


def _stages() -> dict[str, str]:
    return {
        "idea": _("Idea"),
        "concept": _("Concept"),
        "started": _("Started"),
        "development": _("In development"),
        "testing": _("Testing"),
        "mature": _("Mature"),
    }


@blueprint.app_template_global()
def kind_label(kind: str) -> str:
    return _kinds().get(kind, kind)


@blueprint.app_template_global()
def subtype_label(kind: str, subtype: str | None) -> str:
    if not subtype:
        return ""
    return _subtypes().get(kind, {}).get(subtype, subtype)


@blueprint.app_template_global()
def stage_label(stage: str | None) -> str:
    return _stages().get(stage or "", stage or "")


@blueprint.app_template_global()
def link_type_label(link_type: str) -> str:
    return {
        "member": _("Member"),
        "contributor": _("Contributor"),
        "attendee": _("Attendee"),
        "follower": _("Follower"),
    }.get(link_type, link_type)


@blueprint.app_template_global()
def join_label(kind: str) -> str:
    return {"organization": _("Join"), "project": _("Contribute"), "event": _("Attend")}.get(kind, _("Join"))


@blueprint.app_template_global()
def leave_label(kind: str) -> str:
    return {
        "organization": _("Leave"),
        "project": _("Stop contributing"),
        "event": _("Not attending any more"),
    }.get(kind, _("Leave"))


def subtype_options(kind: str) -> list[tuple[str, str]]:
    """``(value, label)`` choices of the type of ``kind`` (empty list when the kind has no type)."""
    values = {"organization": ORGANIZATION_TYPES, "event": EVENT_TYPES, "poi": POI_TYPES}.get(kind, ())
    labels = _subtypes().get(kind, {})
    return [(v, labels.get(v, v)) for v in values]


def stage_options() -> list[tuple[str, str]]:
    labels = _stages()
    return [(v, labels.get(v, v)) for v in PROJECT_STAGES]


@blueprint.app_template_global()
def contact_label(key: str) -> str:
    return {
        "email": _("Email"),
        "phone": _("Phone"),
        "mobile": _("Mobile"),
        "fax": _("Fax"),
        "mastodon": _("Mastodon"),
        "matrix": _("Matrix"),
    }.get(key, key)


@blueprint.app_template_global()
def field_label(name: str) -> str:
    """The form label of an editable field (as named in the edit history)."""
    return {
        "name": _("Name"),
        "short_description": _("Short description"),
        "description": _("Description"),
        "tags": _("Tags"),
        "urls": _("Links"),
        "contact": _("Contact"),
        "manually_approves_followers": _("Approve followers by hand"),
        "discoverable": _("Discoverable"),
        "open_edition": _("Open edition"),
        "open_data": _("Open data"),
        "is_private": _("Private"),
        "subtype": _("Type"),
        "stage": _("Stage"),
        "starts_at": _("Start"),
        "ends_at": _("End"),
        "all_day": _("All day"),
        "timezone": _("Time zone"),
        "capacity": _("Capacity"),
        "parent": _("Part of"),
        "place": _("Address"),
    }.get(name, name)

"""Community of an element: joining and leaving, invitations, admin requests, admins.

Membership is the link type of the element's kind (``MEMBERSHIP_TYPE``: member of an organization,
contributor to a project, attendee of an event). Validation rule: joining a **private** element, an
**organization**, or an element that approves its followers by hand (``manually_approves_followers``)
creates a ``to_be_validated`` request that an admin accepts or refuses; joining an open project or event is
immediate. An invited person (``invited``, sent by an admin) accepts or refuses. An accepted member may ask to
become admin (``admin_requested``, still a member meanwhile). An element always keeps at least one admin.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Actor, Link
from coserver.models.vocab import MEMBERSHIP_TYPE
from coserver.services.elements import MEMBER_STATES, add_link
from coserver.services.errors import Conflict, Forbidden, InvalidInput, NotFound


def membership_type(element: Actor) -> str:
    link_type = MEMBERSHIP_TYPE.get(element.kind)
    if link_type is None or not element.local:
        raise InvalidInput("one cannot join this element", field="element")
    return link_type


def requires_validation(element: Actor) -> bool:
    """Whether joining ``element`` waits for an admin (see the module docstring)."""
    return element.is_private or element.kind == "organization" or element.manually_approves_followers


async def membership(session: AsyncSession, person: Actor, element: Actor) -> Link | None:
    return await session.scalar(
        select(Link).where(
            Link.subject_id == person.id, Link.object_id == element.id, Link.type == membership_type(element)
        )
    )


async def is_admin(session: AsyncSession, person: Actor | None, element: Actor) -> bool:
    if person is None:
        return False
    if person.id == element.id:
        return True
    link = await membership(session, person, element) if element.kind in MEMBERSHIP_TYPE else None
    return link is not None and link.state in MEMBER_STATES and link.is_admin


async def require_admin(session: AsyncSession, person: Actor, element: Actor) -> None:
    if not await is_admin(session, person, element):
        raise Forbidden("only an admin of this element may do this")


def _require_person(person: Actor) -> None:
    if not person.local or person.kind != "person":
        raise Forbidden("only local people join elements")


async def check_parent(session: AsyncSession, person: Actor, parent: Actor) -> None:
    """``person`` may attach a new element to ``parent``: a member of it, or it is open to edition."""
    if parent.kind == "person" or not parent.local or parent.deleted_at is not None:
        raise InvalidInput("the parent is a local organization, project, event or place", field="parent")
    if parent.open_edition or await is_admin(session, person, parent):
        return
    link = await membership(session, person, parent) if parent.kind in MEMBERSHIP_TYPE else None
    if link is None or link.state not in MEMBER_STATES:
        raise Forbidden("only members of the parent element may attach elements to it", field="parent")


async def admin_count(session: AsyncSession, element: Actor) -> int:
    return (
        await session.scalar(
            select(func.count()).where(
                Link.object_id == element.id,
                Link.type == membership_type(element),
                Link.state.in_(MEMBER_STATES),
                Link.is_admin.is_(True),
            )
        )
        or 0
    )


async def join(session: AsyncSession, person: Actor, element: Actor) -> Link:
    """``person`` joins ``element``: at once, or as a request for the admins; accepts a pending invitation."""
    _require_person(person)
    link_type = membership_type(element)
    link = await membership(session, person, element)
    if link is not None:
        if link.state == "invited":
            return await answer_invitation(session, person, element, accept=True)
        if link.state == "to_be_validated":
            raise Conflict("your request is already waiting for an admin")
        raise Conflict("you are already a member", field="element")
    state = "to_be_validated" if requires_validation(element) else "accepted"
    return await add_link(session, person, element, link_type, state=state)


async def leave(session: AsyncSession, person: Actor, element: Actor) -> None:
    """``person`` leaves ``element`` (or withdraws a request); the last admin cannot leave."""
    link = await membership(session, person, element)
    if link is None:
        raise NotFound("you are not a member", field="element")
    if link.is_admin and link.state in MEMBER_STATES and await admin_count(session, element) <= 1:
        raise Conflict("the last admin cannot leave; make someone else admin first")
    await session.delete(link)
    await session.flush()


async def invite(session: AsyncSession, admin: Actor, element: Actor, invitee: Actor) -> Link:
    """An admin invites a local person; the invitee accepts or refuses from the element's page."""
    await require_admin(session, admin, element)
    if not invitee.local or invitee.kind != "person" or invitee.deleted_at is not None:
        raise NotFound("no local person with this username", field="username")
    link = await membership(session, invitee, element)
    if link is not None and link.state in MEMBER_STATES:
        raise Conflict("this person is already a member", field="username")
    if link is not None and link.state == "invited":
        raise Conflict("this person is already invited", field="username")
    link = await add_link(session, invitee, element, membership_type(element), state="invited")
    link.invited_by_id = admin.id
    await session.flush()
    return link


async def answer_invitation(session: AsyncSession, person: Actor, element: Actor, *, accept: bool) -> Link:
    link = await membership(session, person, element)
    if link is None or link.state != "invited":
        raise NotFound("no invitation to answer", field="element")
    if accept:
        link.state = "accepted"
        await session.flush()
    else:
        await session.delete(link)
        await session.flush()
    return link


async def request_admin(session: AsyncSession, person: Actor, element: Actor) -> Link:
    """A member asks to become admin of ``element``."""
    link = await membership(session, person, element)
    if link is None or link.state not in MEMBER_STATES:
        raise Forbidden("join first, then ask to become admin")
    if link.is_admin:
        raise Conflict("you are already an admin")
    if link.state == "admin_requested":
        raise Conflict("your request is already waiting for an admin")
    link.state = "admin_requested"
    await session.flush()
    return link


async def decide_request(
    session: AsyncSession, admin: Actor, element: Actor, subject: Actor, *, accept: bool
) -> Link | None:
    """An admin accepts or refuses a join request or an admin request of ``subject``."""
    await require_admin(session, admin, element)
    link = await membership(session, subject, element)
    if link is None or link.state not in ("to_be_validated", "admin_requested"):
        raise NotFound("no pending request from this person", field="username")
    if link.state == "admin_requested":
        link.state = "accepted"  # refused: stays a member
        link.is_admin = accept
    elif accept:
        link.state = "accepted"
    else:
        await session.delete(link)
        await session.flush()
        return None
    await session.flush()
    return link


async def set_admin(
    session: AsyncSession, admin: Actor, element: Actor, subject: Actor, *, value: bool
) -> Link:
    """An admin makes a member admin, or takes the right away (never from the last admin)."""
    await require_admin(session, admin, element)
    link = await membership(session, subject, element)
    if link is None or link.state not in MEMBER_STATES:
        raise NotFound("this person is not a member", field="username")
    if not value and link.is_admin and await admin_count(session, element) <= 1:
        raise Conflict("an element keeps at least one admin")
    link.is_admin = value
    link.state = "accepted"
    await session.flush()
    return link


async def members(session: AsyncSession, element: Actor, limit: int = 500) -> list[tuple[Actor, Link]]:
    """Members / contributors / attendees, admins first then by name."""
    if element.kind not in MEMBERSHIP_TYPE:
        return []
    stmt = (
        select(Actor, Link)
        .join(Link, Link.subject_id == Actor.id)
        .where(
            Link.object_id == element.id, Link.type == membership_type(element), Link.state.in_(MEMBER_STATES)
        )
        .order_by(Link.is_admin.desc(), Actor.name, Actor.id)
        .limit(limit)
    )
    return [(a, link) for a, link in (await session.execute(stmt)).all()]


async def pending(session: AsyncSession, element: Actor) -> list[tuple[Actor, Link]]:
    """Join requests, admin requests and invitations, oldest first (for the admins)."""
    if element.kind not in MEMBERSHIP_TYPE:
        return []
    stmt = (
        select(Actor, Link)
        .join(Link, Link.subject_id == Actor.id)
        .where(
            Link.object_id == element.id,
            Link.type == membership_type(element),
            Link.state.in_(("to_be_validated", "admin_requested", "invited")),
        )
        .order_by(Link.created_at, Link.id)
    )
    return [(a, link) for a, link in (await session.execute(stmt)).all()]


async def memberships_of(
    session: AsyncSession, person: Actor, kinds: tuple[str, ...]
) -> list[tuple[Actor, Link]]:
    """The public elements of ``kinds`` ``person`` belongs to (accepted links)."""
    stmt = (
        select(Actor, Link)
        .join(Link, Link.object_id == Actor.id)
        .where(
            Link.subject_id == person.id,
            Link.type.in_(list(MEMBERSHIP_TYPE.values())),
            Link.state.in_(MEMBER_STATES),
            Actor.kind.in_(kinds),
            Actor.is_private.is_(False),
            Actor.deleted_at.is_(None),
        )
        .order_by(Actor.starts_at.nulls_last(), Actor.name)
    )
    return [(a, link) for a, link in (await session.execute(stmt)).all()]

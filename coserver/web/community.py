"""Community of an element in the browser: the community tab, follow/join/invite/admin forms, remote follow.

Handlers stay thin: ``coserver.services.community`` and ``coserver.services.follows`` decide and raise;
every form posts here and comes back (303) with a translated flash message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from quart import abort, flash, g, redirect, render_template, request
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Actor
from coserver.services import community, follows
from coserver.services.elements import get_local_actor
from coserver.services.errors import ServiceError
from coserver.services.remote_follow import subscribe_url
from coserver.state import app_state, db, settings
from coserver.web import blueprint
from coserver.web.element_header import header_context
from coserver.web.element_page import load_element, render_tab, viewer
from coserver.web.forms import FormErrors, form_values
from coserver.web.i18n import _
from coserver.web.session import login_required, safe_next

Action = Callable[[AsyncSession, Actor, Actor, dict[str, Any]], Awaitable[str]]


@blueprint.get("/@<username>/community")
async def community_tab(username: str):
    async with db().session() as session:
        actor = await load_element(session, username)
        seeing = await viewer(session)
        admin = await community.is_admin(session, seeing, actor) if actor.kind != "person" else False
        return await render_tab(
            session,
            actor,
            "community",
            "elements/community.html",
            members=await community.members(session, actor),
            pending=await community.pending(session, actor) if admin else [],
            followers=await follows.pending_follow_requests(session, actor) if admin else [],
            viewer_is_admin=admin,
        )


async def _act(username: str, action: Action) -> Any:
    """Run ``action(session, person, element, form)`` in a transaction; flash its message or the error."""
    form = await form_values()
    back = safe_next(form.get("next"), f"/@{username}")
    async with db().session() as session:
        element = await load_element(session, username)
        person = await session.get(Actor, g.person.id)
        try:
            message = await action(session, person, element, form)
        except ServiceError as exc:
            await session.rollback()
            await flash(_(exc.message), "error")
            return redirect(back, 303)
        await session.commit()
    await flash(message)
    return redirect(back, 303)


async def _subject(session: AsyncSession, form: dict[str, Any]) -> Actor:
    """The local person named by the form's ``username`` field."""
    from coserver.services.errors import NotFound

    subject = await get_local_actor(session, str(form.get("username", "")), with_place=False)
    if subject is None or subject.kind != "person":
        raise NotFound("no local person with this username", field="username")
    return subject


@blueprint.post("/@<username>/follow")
@login_required
async def follow_element(username: str):
    async def action(session, person, element, form):
        link = await follows.follow(session, settings(), person, element)
        return (
            _("You follow %(name)s.", name=element.name)
            if link.state == "accepted"
            else _("Your follow request was sent.")
        )

    return await _act(username, action)


@blueprint.post("/@<username>/unfollow")
@login_required
async def unfollow_element(username: str):
    async def action(session, person, element, form):
        await follows.unfollow(session, person, element)
        return _("You no longer follow %(name)s.", name=element.name)

    return await _act(username, action)


@blueprint.post("/@<username>/join")
@login_required
async def join_element(username: str):
    async def action(session, person, element, form):
        link = await community.join(session, person, element)
        if link.state == "accepted":
            return _("Welcome to %(name)s!", name=element.name)
        return _("Your request was sent to the admins.")

    return await _act(username, action)


@blueprint.post("/@<username>/leave")
@login_required
async def leave_element(username: str):
    async def action(session, person, element, form):
        await community.leave(session, person, element)
        return _("You left %(name)s.", name=element.name)

    return await _act(username, action)


@blueprint.post("/@<username>/invitation/<answer>")
@login_required
async def answer_invitation(username: str, answer: str):
    if answer not in ("accept", "refuse"):
        abort(404)

    async def action(session, person, element, form):
        await community.answer_invitation(session, person, element, accept=answer == "accept")
        if answer == "accept":
            return _("Welcome to %(name)s!", name=element.name)
        return _("Invitation declined.")

    return await _act(username, action)


@blueprint.post("/@<username>/admin-request")
@login_required
async def request_admin(username: str):
    async def action(session, person, element, form):
        await community.request_admin(session, person, element)
        return _("Your request to become admin was sent.")

    return await _act(username, action)


@blueprint.post("/@<username>/invite")
@login_required
async def invite_person(username: str):
    async def action(session, person, element, form):
        invitee = await _subject(session, form)
        await community.invite(session, person, element, invitee)
        return _("%(name)s is invited.", name=invitee.name or invitee.username)

    return await _act(username, action)


@blueprint.post("/@<username>/community/<decision>")
@login_required
async def decide(username: str, decision: str):
    """Admins: ``accept``/``refuse`` a request, ``make-admin``/``unmake-admin``, and follow requests."""
    if decision not in ("accept", "refuse", "make-admin", "unmake-admin", "accept-follow", "refuse-follow"):
        abort(404)

    async def action(session, person, element, form):
        subject = await _subject(session, form)
        if decision in ("accept", "refuse"):
            await community.decide_request(session, person, element, subject, accept=decision == "accept")
            return _("Request accepted.") if decision == "accept" else _("Request refused.")
        if decision in ("make-admin", "unmake-admin"):
            await community.set_admin(session, person, element, subject, value=decision == "make-admin")
            return _("Admins updated.")
        await community.require_admin(session, person, element)
        await follows.decide_follow_request(session, element, subject, accept=decision == "accept-follow")
        return _("Request accepted.") if decision == "accept-follow" else _("Request refused.")

    return await _act(username, action)


@blueprint.route("/@<username>/remote-follow", methods=["GET", "POST"])
async def remote_follow(username: str):
    """A visitor types their fediverse address; we send them to their server's subscribe page."""
    errors = FormErrors()
    values: dict[str, Any] = {}
    async with db().session() as session:
        actor = await load_element(session, username)
        if actor.is_private:
            abort(404)
        if request.method == "POST":
            values = await form_values()
            try:
                target = await subscribe_url(
                    app_state().http, settings(), str(values.get("handle", "")), actor.ap_id
                )
            except ServiceError as exc:
                errors.from_service(exc)
            else:
                return redirect(target, 303)
        header = await header_context(session, await viewer(session), actor, "remote-follow")
        html = await render_template("elements/remote_follow.html", **header, values=values, errors=errors)
    return html, 400 if errors else 200

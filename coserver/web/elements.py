"""Creating and editing elements in the browser: ``/new`` (chooser), ``/new/<kind>``, ``/@u/edit``.

The creator of an element becomes its admin. Editing follows ``services.editing.can_edit`` (admins, or
anyone logged in for an open-edition element); a person's own profile is edited at ``/settings/profile``.
Every edit goes through ``services.editing.update_element`` (recorded in the history, federated).
"""

from __future__ import annotations

from typing import Any

from quart import abort, flash, g, redirect, render_template, request
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Actor, Place
from coserver.services import community, editing
from coserver.services.elements import ElementInput, create_element, get_local_actor, suggest_username
from coserver.services.errors import NotFound, ServiceError
from coserver.state import db, settings
from coserver.web import blueprint
from coserver.web.element_forms import ElementForm, element_values, read_element_form
from coserver.web.element_header import header_context
from coserver.web.element_labels import kind_label, stage_options, subtype_options
from coserver.web.element_page import load_element, viewer
from coserver.web.forms import FormErrors, form_values
from coserver.web.i18n import _
from coserver.web.session import login_required

CREATABLE = ("organization", "project", "event", "poi")


@blueprint.get("/new")
@login_required
async def new_chooser():
    return await render_template("elements/new.html", kinds=CREATABLE)


def _form_context(kind: str, values: dict[str, Any], errors: FormErrors, **extra: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "kind_name": kind_label(kind),
        "values": values,
        "errors": errors,
        "subtypes": [("", _("Choose…")), *subtype_options(kind)],
        "stages": [("", _("Choose…")), *stage_options()],
        **extra,
    }


async def _parent(
    session: AsyncSession, person: Actor, form: ElementForm, current: int | None = None
) -> Actor | None:
    """The parent element named in the form (checked unless it is the ``current`` one), or None."""
    name = str(form.values.get("parent", "")).strip().lstrip("@")
    if not name:
        return None
    parent = await get_local_actor(session, name, with_place=False)
    if parent is None or parent.kind == "application":
        raise NotFound("no element with this username", field="parent")
    if parent.id != current:
        await community.check_parent(session, person, parent)
    return parent


@blueprint.route("/new/<kind>", methods=["GET", "POST"])
@login_required
async def new_element(kind: str):
    if kind not in CREATABLE:
        abort(404)
    if request.method == "GET":
        values = {"timezone": settings().timezone, "parent": request.args.get("parent", "")}
        return await render_template("elements/form.html", **_form_context(kind, values, FormErrors()))
    values = await form_values()
    form = read_element_form(values, kind, settings().timezone)
    async with db().session() as session:
        person = await session.get(Actor, g.person.id)
        try:
            parent = await _parent(session, person, form)
            username = str(values.get("username", "")).strip() or await suggest_username(
                session, form.data["name"]
            )
            if not form.errors:
                data = ElementInput(kind=kind, username=username, parent=parent, **form.data)
                actor = await create_element(session, settings(), data, admin=person)
                await session.commit()
                await flash(_("%(name)s is created.", name=actor.name))
                return redirect(f"/@{actor.username}", 303)
        except ServiceError as exc:
            await session.rollback()
            form.service_error(exc)
    html = await render_template("elements/form.html", **_form_context(kind, values, form.errors))
    return html, 400


async def _editable(session: AsyncSession, username: str) -> tuple[Actor, Actor]:
    actor = await load_element(session, username)
    person = await viewer(session)
    if not await editing.can_edit(session, person, actor):
        abort(403)
    return actor, person


@blueprint.route("/@<username>/edit", methods=["GET", "POST"])
@login_required
async def edit_element(username: str):
    async with db().session() as session:
        actor = await load_element(session, username)
        if actor.kind == "person":
            return redirect("/settings/profile", 303 if request.method == "POST" else 302)
        actor, person = await _editable(session, username)
        errors = FormErrors()
        if request.method == "POST":
            values = await form_values()
            form = read_element_form(values, actor.kind, settings().timezone)
            errors = form.errors
            try:
                parent = await _parent(session, person, form, current=actor.parent_id)
                if not form.errors:
                    changes = dict(form.data)
                    changes["parent"] = parent
                    changed = await editing.update_element(
                        session, settings(), actor, editor=person, **changes
                    )
                    await session.commit()
                    await flash(_("Changes saved.") if changed else _("Nothing changed."))
                    return redirect(f"/@{actor.username}", 303)
            except ServiceError as exc:
                await session.rollback()
                form.service_error(exc)
            actor = await load_element(session, username)
        else:
            place = await session.get(Place, actor.place_id) if actor.place_id else None
            values = element_values(actor, place, actor.parent, settings().timezone)
        header = await header_context(session, person, actor, "edit")
        html = await render_template(
            "elements/form.html", **header, **_form_context(actor.kind, values, errors, editing=True)
        )
    return html, 400 if errors else 200

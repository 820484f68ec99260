"""Settings pages of the logged-in person: profile (with per-field visibility), password, account (e-mail,
deletion). Registered by ``coserver.web.accounts``."""

from __future__ import annotations

from typing import Any

from quart import flash, g, redirect, render_template, request

from coserver.models import Account, Actor, Place
from coserver.services import account_deletion, profiles
from coserver.services.accounts import change_email, change_password
from coserver.services.errors import InvalidInput, ServiceError
from coserver.services.places import PlaceInput, coordinates
from coserver.state import db, settings
from coserver.web import blueprint
from coserver.web.accounts import language_options
from coserver.web.forms import FormErrors, form_values
from coserver.web.i18n import _
from coserver.web.session import log_out, login_required

PLACE_FIELDS = ("street", "postal_code", "locality", "country")


def visibility_options() -> list[tuple[str, str]]:
    return [("public", _("Everyone")), ("linked", _("Linked people")), ("hidden", _("Only me"))]


def _lines(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value or "").splitlines()
    return [line.strip() for line in items if line.strip()]


def _profile_values(person: Actor, account: Account, place: Place | None) -> dict[str, Any]:
    contact = person.contact or {}
    coords = coordinates(place)
    values: dict[str, Any] = {
        "name": person.name,
        "short_description": person.short_description,
        "description": person.description_source or "",
        "tags": ", ".join(person.tags),
        "urls": "\n".join(u.get("url", "") for u in person.urls),
        "contact_email": contact.get("email", ""),
        "phone": contact.get("phone", ""),
        "locale": account.locale,
        "lat": f"{coords[0]:.6f}" if coords else "",
        "lon": f"{coords[1]:.6f}" if coords else "",
    }
    for name in PLACE_FIELDS:
        values[name] = getattr(place, name) if place is not None else ""
    for name in profiles.VISIBILITY_FIELDS:
        values[f"vis_{name}"] = profiles.visibility(person, name)
    return values


def _profile_input(values: dict[str, Any], errors: FormErrors) -> profiles.ProfileInput:
    point: dict[str, float | None] = {}
    for name in ("lat", "lon"):
        raw = str(values.get(name, "")).replace(",", ".").strip()
        try:
            point[name] = float(raw) if raw else None
        except ValueError:
            errors.add(name, _("Enter a number such as 45.7640 (or leave it empty)."))
            point[name] = None
    urls = _lines(values.get("urls"))
    if any(not url.startswith(("https://", "http://")) for url in urls):
        errors.add("urls", _("Each link starts with https:// or http://"))
    return profiles.ProfileInput(
        name=str(values.get("name", "")),
        short_description=str(values.get("short_description", "")),
        description=str(values.get("description", "")),
        tags=[t.strip() for t in str(values.get("tags", "")).replace("\n", ",").split(",") if t.strip()],
        urls=urls,
        email=str(values.get("contact_email", "")),
        phone=str(values.get("phone", "")),
        place=PlaceInput(
            lat=point["lat"], lon=point["lon"], **{n: str(values.get(n, "")) for n in PLACE_FIELDS}
        ),
        locale=str(values.get("locale", "")) or None,
        visibility={
            n: str(values.get(f"vis_{n}", "")) for n in profiles.VISIBILITY_FIELDS if values.get(f"vis_{n}")
        },
    )


_FIELD_NAMES = {"email": "contact_email", "contact": "contact_email", "visibility": "_form"}


@blueprint.route("/settings/profile", methods=["GET", "POST"])
@login_required
async def settings_profile():
    errors = FormErrors()
    async with db().session() as session:
        person = await session.get(Actor, g.person.id)
        account = await session.get(Account, g.account.id)
        assert person is not None and account is not None
        if request.method == "POST":
            values = await form_values()
            data = _profile_input(values, errors)
            if not errors:
                try:
                    await profiles.update_profile(session, settings(), account, person, data)
                except ServiceError as exc:
                    await session.rollback()
                    if exc.field:
                        exc.field = _FIELD_NAMES.get(exc.field, exc.field)
                    errors.from_service(exc)
                else:
                    await session.commit()
                    g.locale = account.locale
                    await flash(_("Your profile is saved."))
                    return redirect("/settings/profile", 303)
        else:
            place = await session.get(Place, person.place_id) if person.place_id else None
            values = _profile_values(person, account, place)
    body = await render_template(
        "accounts/settings_profile.html",
        values=values,
        errors=errors,
        languages=language_options(),
        visibility_options=visibility_options(),
        current="profile",
    )
    return body, 400 if errors else 200


@blueprint.route("/settings/password", methods=["GET", "POST"])
@login_required
async def settings_password():
    errors = FormErrors()
    if request.method == "POST":
        values = await form_values()
        async with db().session() as session:
            account = await session.get(Account, g.account.id)
            assert account is not None
            try:
                await change_password(
                    session,
                    account,
                    values.get("current_password", ""),
                    values.get("password", ""),
                    values.get("password_confirm", ""),
                    keep_session=g.session_token,
                )
            except ServiceError as exc:
                await session.rollback()
                errors.from_service(exc)
            else:
                await session.commit()
                await flash(_("Your password is changed; your other sessions are closed."))
                return redirect("/settings/password", 303)
    body = await render_template("accounts/settings_password.html", errors=errors, current="password")
    return body, 400 if errors else 200


@blueprint.route("/settings/account", methods=["GET", "POST"])
@login_required
async def settings_account():
    errors = FormErrors()
    delete_errors = FormErrors()
    async with db().session() as session:
        account = await session.get(Account, g.account.id)
        person = await session.get(Actor, g.person.id)
        assert account is not None and person is not None
        values: dict[str, Any] = {"email": account.email or ""}
        will_anonymise = await account_deletion.has_activity(session, person)
        if request.method == "POST":
            form = await form_values()
            if form.get("action") == "delete":
                response = await _delete(session, account, form, delete_errors)
                if response is not None:
                    return response
            else:
                values = form
                try:
                    changed = await change_email(session, account, form.get("email", ""))
                except ServiceError as exc:
                    await session.rollback()
                    errors.from_service(exc)
                else:
                    await session.commit()
                    if changed:
                        await flash(_("Your e-mail address is saved."))
                    return redirect("/settings/account", 303)
    body = await render_template(
        "accounts/settings_account.html",
        values=values,
        errors=errors,
        delete_errors=delete_errors,
        will_anonymise=will_anonymise,
        current="account",
    )
    return body, 400 if errors or delete_errors else 200


async def _delete(session, account: Account, form: dict[str, Any], errors: FormErrors):
    if form.get("confirm") != "yes":
        errors.add("confirm", _("Tick the box to confirm."))
    try:
        if errors:
            raise InvalidInput("", field=None)
        outcome = await account_deletion.delete_account(
            session, settings(), account, form.get("password", "")
        )
    except ServiceError as exc:
        await session.rollback()
        if exc.message:
            errors.from_service(exc)
        return None
    await log_out(session)
    await session.commit()
    g.account = g.person = None
    g.pop("locale", None)  # the message in the language of the next (anonymous) page
    if outcome == "anonymised":
        await flash(_("Your account is deleted. Your contributions stay, signed “Deleted account”."))
    else:
        await flash(_("Your account and your profile are deleted."))
    return redirect("/", 303)

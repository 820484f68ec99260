"""Accounts pages: sign-up, log-in and log-out, forgotten password (reset link by e-mail).

Sign-up, log-in and reset requests are rate-limited (per client IP, and per login name for log-in and
resets) with counters in PostgreSQL; every attempt counts, in its own short transaction. Asking for a reset
link always gets the same answer, and the mail leaves in a background task, so nobody learns whether an
account exists. The settings pages (profile, password, account) are in ``coserver.web.account_settings``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from quart import current_app, flash, g, redirect, render_template, request

from coserver.config import Settings
from coserver.services import mail, password_resets, ratelimit
from coserver.services.accounts import authenticate, check_signup, create_account
from coserver.services.errors import ServiceError
from coserver.services.ratelimit import RateLimited
from coserver.state import db, settings
from coserver.web import blueprint
from coserver.web.forms import FormErrors, form_values
from coserver.web.i18n import LOCALES, _, browser_locale, language_name
from coserver.web.session import log_in, log_out, safe_next

log = logging.getLogger(__name__)

SIGNUP_LIMIT = (5, 3600)  # accounts created per client IP per hour
LOGIN_IP_LIMIT = (10, 300)  # log-in attempts per client IP per 5 minutes
LOGIN_NAME_LIMIT = (5, 300)  # log-in attempts per login name per 5 minutes
RESET_IP_LIMIT = (5, 3600)  # reset requests per client IP per hour
RESET_NAME_LIMIT = (3, 3600)  # reset requests per login name per hour


def client_ip() -> str:
    return request.remote_addr or "unknown"


async def rate_limit(*rules: tuple[str, tuple[int, int]]) -> RateLimited | None:
    """Count one use of each ``(key, (limit, window))``; the first limit passed, or None. Commits."""
    async with db().session() as session:
        try:
            for key, (limit, window) in rules:
                await ratelimit.hit(session, key, limit=limit, window_seconds=window)
        except RateLimited as exc:
            await session.commit()
            return exc
        await session.commit()
    return None


def retry_headers(exc: RateLimited) -> dict[str, str]:
    return {"Retry-After": str(exc.retry_after)}


async def too_many(exc: RateLimited):
    """The 429 page, in the site frame."""
    body = await render_template(
        "error.html",
        code=429,
        title=_("Too many requests"),
        message=_(
            "Too many attempts from your connection. Try again in %(minutes)s minutes.", minutes=_minutes(exc)
        ),
    )
    return body, 429, retry_headers(exc)


def _minutes(exc: RateLimited) -> int:
    return max(1, -(-exc.retry_after // 60))


def language_options() -> list[tuple[str, str]]:
    return [(code, language_name(code)) for code in LOCALES]


# -- sign-up ---------------------------------------------------------------------------------------------
@blueprint.route("/signup", methods=["GET", "POST"])
async def signup():
    conf = settings()
    if g.person is not None:
        return redirect("/", 303)
    if not conf.open_registrations:
        body = await render_template("accounts/closed.html")
        return body, 403 if request.method == "POST" else 200
    values: dict[str, Any] = {"locale": browser_locale()}
    errors = FormErrors()
    if request.method == "POST":
        values = await form_values()
        async with db().session() as session:
            for problem in await check_signup(
                session,
                username=values.get("username", ""),
                email=values.get("email", ""),
                password=values.get("password", ""),
                confirmation=values.get("password_confirm", ""),
            ):
                errors.from_service(problem)
        if values.get("locale") not in LOCALES:
            errors.add("locale", _("Choose a language from the list"))
        if not errors:
            limited = await rate_limit((f"signup:ip:{client_ip()}", SIGNUP_LIMIT))
            if limited is not None:
                return await too_many(limited)
            response = await _create(conf, values, errors)
            if response is not None:
                return response
    body = await render_template(
        "accounts/signup.html", values=values, errors=errors, languages=language_options()
    )
    return body, 400 if errors else 200


async def _create(conf: Settings, values: dict[str, Any], errors: FormErrors):
    async with db().session() as session:
        try:
            account = await create_account(
                session,
                conf,
                username=values.get("username", ""),
                password=values.get("password", ""),
                email=values.get("email") or None,
                name=values.get("name") or None,
                locale=values["locale"],
            )
        except ServiceError as exc:  # a race with another sign-up: shown like the checks above
            await session.rollback()
            errors.from_service(exc)
            return None
        await log_in(session, account)
        await session.commit()
        name = account.person.name
    g.locale = values["locale"]
    await flash(
        _("Welcome, %(name)s! Complete your profile so that people of the territory can find you.", name=name)
    )
    return redirect("/settings/profile", 303)


# -- log-in, log-out -------------------------------------------------------------------------------------
@blueprint.route("/login", methods=["GET", "POST"])
async def login():
    target = safe_next(request.args.get("next"))
    values: dict[str, Any] = {"next": target}
    errors = FormErrors()
    status, headers = 200, {}
    if request.method == "POST":
        values = await form_values()
        target = safe_next(values.get("next"))
        login_name = values.get("login", "").strip().lstrip("@").lower()[:254]
        limited = await rate_limit(
            (f"login:ip:{client_ip()}", LOGIN_IP_LIMIT), (f"login:name:{login_name}", LOGIN_NAME_LIMIT)
        )
        if limited is not None:
            errors.add(
                "_form", _("Too many attempts. Try again in %(minutes)s minutes.", minutes=_minutes(limited))
            )
            status, headers = 429, retry_headers(limited)
        else:
            async with db().session() as session:
                account = await authenticate(session, values.get("login", ""), values.get("password", ""))
                if account is not None:
                    await log_in(session, account)
                    await session.commit()
                    return redirect(target, 303)
            errors.add("_form", _("Wrong username, e-mail address or password."))
            status = 400
        values["next"] = target
    body = await render_template("accounts/login.html", values=values, errors=errors)
    return body, status, headers


@blueprint.post("/logout")
async def logout():
    async with db().session() as session:
        await log_out(session)
        await session.commit()
    g.account = g.person = None
    g.pop("locale", None)  # the message in the language of the next (anonymous) page
    await flash(_("You are logged out."))
    return redirect("/", 303)


# -- forgotten password ----------------------------------------------------------------------------------
@contextmanager
def in_locale(locale: str) -> Iterator[None]:
    """Translate into ``locale`` for a while (a mail goes out in its recipient's language)."""
    saved = g.get("locale")
    g.locale = locale
    try:
        yield
    finally:
        if saved is None:
            g.pop("locale", None)
        else:
            g.locale = saved


async def _deliver_reset(conf: Settings, link: password_resets.ResetLink, subject: str, body: str) -> None:
    """Background task: the reset mail, or the log when nobody can receive it by e-mail."""
    if not link.email:
        mail.log_for_operator(subject, body, f"account @{link.account.person.username} has no e-mail address")
        return
    try:
        await mail.send_mail(conf, link.email, subject, body)
    except mail.MailError:
        log.exception("password reset mail for account %s not sent", link.account.id)


@blueprint.route("/password/forgot", methods=["GET", "POST"])
async def forgot_password():
    values: dict[str, Any] = {}
    errors = FormErrors()
    if request.method == "POST":
        values = await form_values()
        login_name = values.get("login", "").strip().lstrip("@").lower()[:254]
        if not login_name:
            errors.add("login", _("Enter your username or e-mail address."))
        else:
            limited = await rate_limit(
                (f"reset:ip:{client_ip()}", RESET_IP_LIMIT), (f"reset:name:{login_name}", RESET_NAME_LIMIT)
            )
            if limited is not None:
                return await too_many(limited)
            conf = settings()
            async with db().transaction() as session:
                link = await password_resets.request_reset(session, conf, login_name)
            if link is not None:
                with in_locale(link.account.locale):
                    subject, body = _reset_mail(conf, link)
                current_app.add_background_task(_deliver_reset, conf, link, subject, body)
            await flash(
                _(
                    "If an account matches, a link to choose a new password is on its way to its e-mail "
                    "address; it is valid for one hour. Accounts without an e-mail address: ask the "
                    "administrators of this server."
                )
            )
            return redirect("/password/forgot", 303)
    body = await render_template("accounts/forgot.html", values=values, errors=errors)
    return body, 400 if errors else 200


def _reset_mail(conf: Settings, link: password_resets.ResetLink) -> tuple[str, str]:
    person = link.account.person
    subject = _("Choose a new password on %(site)s", site=conf.territory_name)
    body = _(
        "Hello %(name)s,\n\nSomeone, probably you, asked to choose a new password for the account "
        "@%(username)s on %(site)s.\n\nTo choose it, open this link within one hour:\n%(url)s\n\n"
        "If you did not ask for it, ignore this message: your password stays the same.\n",
        name=person.name,
        username=person.username,
        site=conf.territory_name,
        url=link.url,
    )
    return subject, body


@blueprint.route("/password/reset/<token>", methods=["GET", "POST"])
async def reset_password(token: str):
    errors = FormErrors()
    async with db().session() as session:
        valid = await password_resets.find_reset(session, token) is not None
        if not valid:
            body = await render_template("accounts/reset_invalid.html")
            return body, 400, {"Referrer-Policy": "no-referrer"}
        if request.method == "POST":
            values = await form_values()
            try:
                account = await password_resets.complete_reset(
                    session, token, values.get("password", ""), values.get("password_confirm", "")
                )
            except ServiceError as exc:
                await session.rollback()
                errors.from_service(exc)
            else:
                await log_in(session, account)
                await session.commit()
                await flash(
                    _("Your new password is saved; you are logged in. Your other sessions are closed.")
                )
                return redirect("/", 303)
    body = await render_template("accounts/reset.html", token=token, errors=errors)
    return body, 400 if errors else 200, {"Referrer-Policy": "no-referrer"}


from coserver.web import account_settings  # noqa: E402,F401  (the settings pages register on import)

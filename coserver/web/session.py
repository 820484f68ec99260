"""Who is browsing: the session cookie → ``g.account`` / ``g.person``; log-in and log-out; CSRF protection.

The cookie (``__Host-co_session`` over HTTPS, ``co_session`` otherwise) is HttpOnly, SameSite=Lax and Secure
over HTTPS; it carries a random token whose digest names a ``web_sessions`` row. Every state-changing request
to the web blueprint must carry the CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``): for a
logged-in browser the session's own secret, for an anonymous one an HMAC of a random anonymous cookie (log-in
CSRF is covered too).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from quart import Response, abort, g, redirect, request

from coserver.models import Account
from coserver.services import web_sessions
from coserver.services.web_sessions import SESSION_LIFETIME
from coserver.state import db, settings

_ANON_COOKIE = "co_anon"
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def cookie_name() -> str:
    return "__Host-co_session" if settings().scheme == "https" else "co_session"


def _cookie_args() -> dict[str, Any]:
    return {"httponly": True, "samesite": "Lax", "secure": settings().scheme == "https", "path": "/"}


async def load_browser() -> None:
    """``before_request`` of the web blueprint: fills ``g.account``, ``g.person``, ``g.web_session``."""
    g.account = g.person = g.web_session = None
    g.session_token = None
    token = request.cookies.get(cookie_name())
    if token:
        async with db().session() as session:
            found = await web_sessions.find_session(session, token)
            if found is not None:
                g.web_session, g.account, g.person = found
                g.session_token = token
                if session.dirty:
                    await session.commit()
    if request.method in _UNSAFE:
        await check_csrf()


def csrf_token() -> str:
    """The token forms must echo back (``{{ csrf_token() }}`` in templates)."""
    if g.get("web_session") is not None:
        return g.web_session.csrf_token
    anon = request.cookies.get(_ANON_COOKIE) or g.get("new_anon_cookie")
    if not anon:
        anon = g.new_anon_cookie = secrets.token_urlsafe(24)
    return hmac.new(settings().secret_key.encode(), b"anon:" + anon.encode(), hashlib.sha256).hexdigest()


async def check_csrf() -> None:
    """Refuse a state-changing request from another site or without this browser's CSRF token."""
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != urlsplit(settings().base_url).netloc:
        abort(403, "cross-site request refused")
    sent = request.headers.get("X-CSRF-Token") or ""
    if not sent and request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        sent = (await request.form).get("csrf_token", "")
    if not sent or not hmac.compare_digest(sent, csrf_token()):
        abort(400, "this form has expired; reload the page and try again")


def set_cookies(response: Response) -> Response:
    """``after_request``: the anonymous CSRF cookie when one was minted; the session cookie on log-in."""
    if g.get("new_anon_cookie"):
        response.set_cookie(_ANON_COOKIE, g.new_anon_cookie, max_age=SESSION_LIFETIME, **_cookie_args())
    if g.get("login_token"):
        response.set_cookie(
            cookie_name(), g.login_token, max_age=int(SESSION_LIFETIME.total_seconds()), **_cookie_args()
        )
    if g.get("logout"):
        response.delete_cookie(cookie_name(), path="/", secure=settings().scheme == "https", httponly=True)
    if g.get("account") is not None or g.get("login_token"):
        response.headers["Cache-Control"] = "private, no-store"
    return response


async def log_in(session, account: Account) -> None:
    """Open a session for ``account`` (the caller commits); the cookie is set on the response."""
    if g.get("session_token"):
        await web_sessions.close_session(session, g.session_token)
    g.login_token = await web_sessions.open_session(session, account, request.headers.get("User-Agent", ""))


async def log_out(session) -> None:
    if g.get("session_token"):
        await web_sessions.close_session(session, g.session_token)
    g.logout = True


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to after log-in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def login_required(handler: F) -> F:
    """Redirect anonymous browsers to the log-in page, coming back here afterwards."""

    @wraps(handler)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("person") is None:
            path = request.full_path.rstrip("?") if request.method == "GET" else request.path
            return redirect("/login?" + urlencode({"next": path}))
        return await handler(*args, **kwargs)

    return wrapper  # type: ignore[return-value]

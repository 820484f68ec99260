"""Error pages of the web UI, in the browser's language, inside the site frame."""

from __future__ import annotations

from quart import render_template
from werkzeug.exceptions import HTTPException

from coserver.web.i18n import gettext

_TITLES = {
    400: "Bad request",
    403: "Forbidden",
    404: "Page not found",
    405: "Method not allowed",
    413: "Too large",
    429: "Too many requests",
}


async def error_page(exc: HTTPException):
    code = exc.code or 500
    title = gettext(_TITLES.get(code, "Error"))
    default = exc.__class__.description
    message = gettext(exc.description) if exc.description and exc.description != default else ""
    body = await render_template("error.html", code=code, title=title, message=message)
    return body, code, {"Content-Type": "text/html; charset=utf-8"}

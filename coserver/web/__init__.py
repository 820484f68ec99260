"""Server-rendered pages (HTML). Web code never builds ActivityStreams.

Every request to this blueprint first learns who is browsing (``coserver.web.session``) and refuses a state-
changing request without the browser's CSRF token; pages are in French or English (``coserver.web.i18n``).
"""

from quart import Blueprint, flash, redirect, request
from quart import g as _g

from coserver.web.session import csrf_token, load_browser, safe_next, set_cookies

blueprint = Blueprint("web", __name__, template_folder="templates")
blueprint.before_request(load_browser)
blueprint.after_request(set_cookies)


@blueprint.app_context_processor
def _template_globals() -> dict:
    from coserver.state import settings

    return {"csrf_token": csrf_token, "settings": settings(), "g": _g}


@blueprint.post("/lang")
async def choose_language():
    """The language menu: remembered in a cookie, and as the account's choice when logged in."""
    from coserver.models import Account
    from coserver.state import db
    from coserver.web.i18n import LANG_COOKIE, LOCALES, gettext

    form = await request.form
    lang = form.get("lang", "")
    target = safe_next(form.get("next"))
    response = redirect(target, 303)
    if lang not in LOCALES:
        await flash(gettext("Unknown language"), "error")
        return response
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", path="/", httponly=True)
    if _g.get("account") is not None:
        async with db().session() as session:
            account = await session.get(Account, _g.account.id)
            if account is not None:
                account.locale = lang
                await session.commit()
    return response


from coserver.web import (  # noqa: E402,F401  (routes register on import)
    accounts,
    agenda_page,
    assets,
    community,
    element_page,
    elements,
    feed_pages,
    feeds,
    health,
    pages,
    post_actions,
    search_pages,
)

"""French and English for the web UI, with Babel: message catalogues, locale choice, dates and numbers.

Source strings are English. Translations live in ``coserver/web/i18n/<locale>/*.po`` — one file per area of
the UI (accounts, elements, feed...) so they can be edited side by side — merged and compiled in memory at
start-up: no build step. The locale is the account's choice when logged in, else the ``lang`` cookie (the
language menu), else the browser's ``Accept-Language``, else the operator's default.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from quart import g, has_request_context, request

from coserver.state import settings

LOCALES = ("fr", "en")
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}
LANG_COOKIE = "lang"
CATALOG_DIR = Path(__file__).parent / "i18n"


def catalog(locale: str) -> Catalog:
    """All ``.po`` files of ``locale`` merged into one catalogue (later files win on duplicates)."""
    merged = Catalog(locale=locale)
    for path in sorted((CATALOG_DIR / locale).glob("*.po")):
        with path.open("rb") as fh:
            for message in read_po(fh, locale=locale):
                if message.id and message.string:
                    merged[message.id] = message
    return merged


@cache
def translations(locale: str) -> NullTranslations:
    if locale == "en" or not (CATALOG_DIR / locale).is_dir():
        return NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, catalog(locale), use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer)


def select_locale() -> str:
    account = g.get("account")
    if account is not None and account.locale in LOCALES:
        return account.locale
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LOCALES:
        return chosen
    return browser_locale()


def browser_locale() -> str:
    best = request.accept_languages.best_match(LOCALES)
    return best or settings().default_locale


def current_locale() -> str:
    if not has_request_context():
        return "en"
    if "locale" not in g:
        g.locale = select_locale()
    return g.locale


def gettext(message: str, **variables: Any) -> str:
    """``message`` in the current language, with ``%(name)s`` placeholders filled from ``variables``."""
    text = translations(current_locale()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    text = translations(current_locale()).ngettext(singular, plural, num)
    variables.setdefault("num", num)
    return text % variables


_ = gettext


def _tz() -> ZoneInfo:
    return ZoneInfo(settings().timezone)


def format_datetime(value: datetime | None, fmt: str = "medium", tz: str | None = None) -> str:
    if value is None:
        return ""
    return dates.format_datetime(value, fmt, tzinfo=ZoneInfo(tz) if tz else _tz(), locale=current_locale())


def format_date(value: date | datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(_tz()).date()
    return dates.format_date(value, fmt, locale=current_locale())


def format_time(value: datetime | None, fmt: str = "short") -> str:
    if value is None:
        return ""
    return dates.format_time(value, fmt, tzinfo=_tz(), locale=current_locale())


def format_number(value: float | int, decimals: int | None = None) -> str:
    if decimals is None:
        return numbers.format_decimal(value, locale=current_locale())
    return numbers.format_decimal(
        value, format=f"#,##0.{'0' * decimals}" if decimals else "#,##0", locale=current_locale()
    )


def format_timedelta_ago(value: datetime | None) -> str:
    """ "3 hours ago" / "il y a 3 heures"."""
    if value is None:
        return ""
    delta = value - datetime.now(value.tzinfo)
    return dates.format_timedelta(delta, add_direction=True, threshold=1.1, locale=current_locale())


def day_name(value: date) -> str:
    return dates.format_date(value, "full", locale=current_locale())


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code) or Locale.parse(code).get_display_name(code) or code


def install(app) -> None:
    """Wire gettext and the formatters into the app's Jinja environment."""
    env = app.jinja_env
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        datetime=format_datetime,
        date=format_date,
        time=format_time,
        number=format_number,
        ago=format_timedelta_ago,
    )
    env.globals.update(current_locale=current_locale, LOCALES=LOCALES, language_name=language_name)

"""A browser-like wrapper around Quart's test client: keeps cookies, logs in through a real session row and
sends the CSRF token with every form, as the pages' own forms do."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from coserver.models import Account, Actor, WebSession
from coserver.services.web_sessions import digest, open_session
from tests.factories import app_db

_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """``await get(path)``, ``await post(path, {...})`` (CSRF added), ``await login(person)``."""

    def __init__(self, app, *, lang: str = "en") -> None:
        self.app = app
        self.client = app.test_client()
        self.lang = lang
        self.csrf: str | None = None

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        merged = {"Accept-Language": self.lang, "Accept": "text/html"}
        merged.update(headers or {})
        return merged

    async def get(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any):
        response = await self.client.get(path, headers=self._headers(headers), **kwargs)
        body = await response.get_data(as_text=True)
        found = _CSRF_RE.search(body)
        if found:
            self.csrf = found.group(1)
        return response

    async def text(self, path: str, expect: int = 200) -> str:
        response = await self.get(path)
        body = await response.get_data(as_text=True)
        assert response.status_code == expect, (path, response.status_code, body[:500])
        return body

    async def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any):
        form = dict(data or {})
        if csrf and "csrf_token" not in form:
            if self.csrf is None:
                await self.get("/")
            form["csrf_token"] = self.csrf
        return await self.client.post(
            path, form=form, headers=self._headers(kwargs.pop("headers", None)), **kwargs
        )

    async def login(self, person: Actor) -> None:
        """Log in as ``person`` (who has an account) by opening a real session row and setting its cookie."""
        async with app_db(self.app).transaction() as session:
            account = await session.scalar(select(Account).where(Account.person_id == person.id))
            assert account is not None, f"{person.username} has no account"
            token = await open_session(session, account)
            row = await session.scalar(select(WebSession).where(WebSession.token_hash == digest(token)))
            self.csrf = row.csrf_token
        self.client.set_cookie("127.0.0.1", cookie_name_for(self.app), token)


def cookie_name_for(app) -> str:
    settings = app.extensions["coserver"].settings
    return "__Host-co_session" if settings.scheme == "https" else "co_session"

"""Shared helpers for the accounts pages tests: a valid sign-up form and account/session look-ups."""

from __future__ import annotations

from sqlalchemy import func, select

from coserver.models import Account, Actor, WebSession
from tests.factories import app_db


def _signup_form(**overrides) -> dict[str, str]:
    form = {
        "username": "nadia",
        "name": "Nadia B.",
        "email": "nadia@example.org",
        "password": "correct horse battery",
        "password_confirm": "correct horse battery",
        "locale": "en",
    }
    form.update(overrides)
    return form


async def _account(app, username: str) -> Account | None:
    async with app_db(app).session() as s:
        return await s.scalar(
            select(Account).join(Actor, Actor.id == Account.person_id).where(Actor.username == username)
        )


async def _sessions(app, account_id: int) -> int:
    async with app_db(app).session() as s:
        return await s.scalar(
            select(func.count()).select_from(WebSession).where(WebSession.account_id == account_id)
        )

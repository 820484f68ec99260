"""Accounts: sign-up creates a person actor; argon2 passwords; login by username or e-mail."""

from __future__ import annotations

import pytest

from coserver.services.accounts import authenticate, create_account
from coserver.services.errors import Conflict, InvalidInput


async def test_create_and_authenticate(db, make_settings):
    async with db.transaction() as s:
        account = await create_account(
            s, make_settings(), username="Ti_Jean", password="correct horse", email="tijean@example.org"
        )
    assert account.password_hash.startswith("$argon2")
    assert account.person.kind == "person" and account.person.username == "ti_jean"
    async with db.transaction() as s:
        assert (await authenticate(s, "ti_jean", "correct horse")).id == account.id
        assert (await authenticate(s, "TIJEAN@example.org", "correct horse")).id == account.id
        assert await authenticate(s, "ti_jean", "wrong password") is None
        assert await authenticate(s, "nobody", "correct horse") is None


async def test_pseudonym_without_email(db, make_settings):
    async with db.transaction() as s:
        account = await create_account(s, make_settings(), username="zoizo", password="12345678")
    assert account.email is None


async def test_rules(db, make_settings):
    settings = make_settings()
    async with db.transaction() as s:
        await create_account(s, settings, username="one", password="12345678", email="a@example.org")
    for kwargs, error in [
        ({"username": "two", "password": "short"}, InvalidInput),
        ({"username": "three", "password": "12345678", "email": "not-an-email"}, InvalidInput),
        ({"username": "four", "password": "12345678", "email": "A@example.org"}, Conflict),
        ({"username": "one", "password": "12345678"}, Conflict),
        ({"username": "five", "password": "12345678", "locale": "de"}, InvalidInput),
    ]:
        async with db.transaction() as s:
            with pytest.raises(error):
                await create_account(s, settings, **kwargs)

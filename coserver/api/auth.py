"""Bearer-token authentication for the API (``Authorization: Bearer co_...``)."""

from __future__ import annotations

import asyncpg
from quart import request
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Account
from coserver.services.tokens import Unauthorized, account_for_token, token_owner_raw


def has_token() -> bool:
    return bool(request.headers.get("Authorization", ""))


def bearer_token() -> str:
    """The request's bearer token (Unauthorized without one)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "send Authorization: Bearer <token> (coserver token create, or POST /api/v1/tokens)"
        )
    return token.strip()


async def require_account(session: AsyncSession) -> Account:
    return await account_for_token(session, bearer_token())


async def reader_id(conn: asyncpg.Connection, *, optional: bool = False) -> int | None:
    """The person id of the request's token, for the raw read paths (``Database.raw``): one statement.
    None without an ``Authorization`` header when ``optional``."""
    if optional and not has_token():
        return None
    return (await token_owner_raw(conn, bearer_token())).person_id

"""Bearer-token authentication for the API (``Authorization: Bearer co_...``)."""

from __future__ import annotations

from quart import request
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Account
from coserver.services.tokens import Unauthorized, account_for_token


async def require_account(session: AsyncSession) -> Account:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "send Authorization: Bearer <token> (coserver token create, or POST /api/v1/tokens)"
        )
    return await account_for_token(session, token.strip())

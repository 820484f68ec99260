"""Local people following remote accounts by handle (``@user@domain``, resolved with WebFinger) or by URL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Actor, Link
from coserver.services import follows
from coserver.services.errors import InvalidInput, NotFound
from federation.context import FederationContext
from federation.fetch import FetchError, get_actor
from webfinger.client import WebFingerError, resolve_handle


async def find_remote_actor(ctx: FederationContext, session: AsyncSession, target: str) -> Actor:
    """The actor for a handle or an actor URL, fetched (and cached) when needed."""
    target = target.strip()
    if not target:
        raise InvalidInput("say whom to follow", field="target")
    try:
        if target.startswith(("https://", "http://")):
            url = target
        else:
            url = await resolve_handle(ctx.http, ctx.settings, target)
        return await get_actor(ctx, session, url)
    except (WebFingerError, FetchError) as exc:
        raise NotFound(f"cannot find {target}: {exc}", field="target") from None


async def follow_remote(ctx: FederationContext, session: AsyncSession, person: Actor, target: str) -> Link:
    actor = await find_remote_actor(ctx, session, target)
    return await follows.follow(session, ctx.settings, person, actor)


async def unfollow_remote(ctx: FederationContext, session: AsyncSession, person: Actor, target: str) -> bool:
    actor = await find_remote_actor(ctx, session, target)
    return await follows.unfollow(session, person, actor)

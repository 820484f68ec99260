"""Local people reacting to and sharing posts (local or remote); federated through ``federation.outbox``."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Actor, Post, Reaction, Share
from coserver.services.errors import Forbidden, InvalidInput
from coserver.services.timelines import visible_to
from coserver.text.sanitize import sanitize_plain
from federation import outbox

MAX_EMOJI = 16


async def _recount(session: AsyncSession, post_id: int) -> None:
    likes = select(func.count()).select_from(Reaction).where(Reaction.post_id == post_id).scalar_subquery()
    shares = select(func.count()).select_from(Share).where(Share.post_id == post_id).scalar_subquery()
    await session.execute(
        update(Post).where(Post.id == post_id).values(likes_count=likes, shares_count=shares)
    )


async def _check(session: AsyncSession, person: Actor, post: Post) -> None:
    if post.deleted_at is not None or not await visible_to(session, person, post):
        raise Forbidden("you cannot see this post", field="post")


async def react(session: AsyncSession, person: Actor, post: Post, emoji: str = "") -> Reaction:
    await _check(session, person, post)
    emoji = sanitize_plain(emoji, MAX_EMOJI)
    if len(emoji) > MAX_EMOJI:
        raise InvalidInput("one emoji, please", field="emoji")
    found = await session.scalar(
        select(Reaction).where(
            Reaction.post_id == post.id, Reaction.actor_id == person.id, Reaction.emoji == emoji
        )
    )
    if found is not None:
        return found
    reaction = Reaction(post_id=post.id, actor_id=person.id, emoji=emoji)
    session.add(reaction)
    await session.flush()
    reaction.ap_id = f"{person.ap_id}#reactions/{reaction.id}"
    await _recount(session, post.id)
    await outbox.publish_reaction(session, person, post, emoji, reaction.ap_id)
    return reaction


async def share(session: AsyncSession, person: Actor, post: Post) -> Share:
    await _check(session, person, post)
    if post.scope != "public":
        raise Forbidden("only public posts can be shared", field="post")
    found = await session.scalar(select(Share).where(Share.post_id == post.id, Share.actor_id == person.id))
    if found is not None:
        return found
    shared = Share(post_id=post.id, actor_id=person.id)
    session.add(shared)
    await session.flush()
    shared.ap_id = f"{person.ap_id}#shares/{shared.id}"
    await _recount(session, post.id)
    await outbox.publish_share(session, person, post, shared.ap_id)
    return shared

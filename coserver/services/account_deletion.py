"""Deleting one's account, as Communecter does: anonymise a person with activity, delete the others.

A person with activity (posts, reactions, shares, memberships or admin rights, edits of elements) is
*anonymised*: their person actor stays so that threads and histories keep an author, but it is renamed
"Deleted account" (translated when shown) and emptied (descriptions, contact, links, tags, place), and the
account is disabled with its e-mail and password wiped; remote followers receive ``Update(actor)``.

A person without activity is *deleted*: the account row goes (with its sessions, API tokens and reset
links), remote followers receive ``Delete(actor)``, and the person actor becomes an empty tombstone
(``deleted_at``): it is no longer served nor listed, its username is never given to someone else (remote
servers still know it), and its key only remains to sign the pending ``Delete``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.config import Settings
from coserver.models import Account, Actor, ApiToken, Link, PasswordReset, Post, Reaction, Share, WebSession
from coserver.models.history import ElementEdit
from coserver.models.vocab import MEMBERSHIP_TYPE
from coserver.services.accounts import ANONYMISED_HASH, verify_password
from coserver.services.errors import InvalidInput
from coserver.services.profiles import ANONYMISED_NAME
from federation import outbox
from federation.converters.activities import delete_actor

Outcome = Literal["anonymised", "deleted"]


async def has_activity(session: AsyncSession, person: Actor) -> bool:
    """Whether removing ``person`` would leave holes in what others see (threads, communities, histories)."""
    checks = (
        select(Post.id).where(Post.author_id == person.id),
        select(Reaction.id).where(Reaction.actor_id == person.id),
        select(Share.id).where(Share.actor_id == person.id),
        select(Link.id).where(
            Link.subject_id == person.id,
            or_(Link.type.in_(tuple(MEMBERSHIP_TYPE.values())), Link.is_admin.is_(True)),
        ),
        select(ElementEdit.id).where(ElementEdit.editor_id == person.id, ElementEdit.actor_id != person.id),
    )
    found = await session.scalar(select(or_(*(exists(check) for check in checks))))
    return bool(found)


def _empty_profile(person: Actor) -> None:
    person.short_description = ""
    person.description_source = None
    person.description_html = ""
    person.tags = []
    person.urls = []
    person.contact = {}
    person.place_id = None
    person.field_visibility = {}
    person.icon_url = None
    person.image_url = None
    person.discoverable = False


async def _forget_account(session: AsyncSession, account: Account) -> None:
    for model in (WebSession, ApiToken, PasswordReset):
        await session.execute(delete(model).where(model.account_id == account.id))


async def delete_account(
    session: AsyncSession, settings: Settings, account: Account, password: str
) -> Outcome:
    """Delete (or anonymise) ``account`` after checking its password. Flushes; the caller commits."""
    if not verify_password(account.password_hash, password):
        raise InvalidInput("the password is not right", field="password")
    person = await session.get(Actor, account.person_id)
    assert person is not None
    await _forget_account(session, account)
    if await has_activity(session, person):
        _empty_profile(person)
        person.name = ANONYMISED_NAME
        account.is_active = False
        account.email = None
        account.password_hash = ANONYMISED_HASH
        # Their follows of others go; memberships stay, so communities keep their history.
        await session.execute(delete(Link).where(Link.subject_id == person.id, Link.type == "follower"))
        await session.flush()
        person.place = None
        await outbox.publish_actor_update(session, settings, person)
        return "anonymised"
    inboxes = await outbox.remote_follower_inboxes(session, person)
    await outbox.enqueue(session, person, delete_actor(person.ap_id, person.followers_url), inboxes)
    _empty_profile(person)
    person.name = ""
    person.deleted_at = datetime.now(UTC)
    await session.execute(delete(Link).where(or_(Link.subject_id == person.id, Link.object_id == person.id)))
    await session.delete(account)
    await session.flush()
    return "deleted"

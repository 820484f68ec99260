"""What the newsfeed pages share: the data post cards need (authors and walls, reactions, the viewer's
rights), post permalinks, the posting form's options and the publishing step used by every posting box.

Post cards (``templates/_post.html``) receive a :class:`Cards` built by :func:`cards_for` in one handful of
queries per page, whatever the number of posts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Actor, Post, Reaction, Share
from coserver.services.errors import ServiceError
from coserver.services.places import PlaceInput, places_by_id
from coserver.services.posting import MAX_POST_LENGTH, can_post_on, is_admin, post_on_wall
from coserver.state import settings
from coserver.web import blueprint
from coserver.web.forms import FormErrors
from coserver.web.i18n import _

# Reactions offered under each post: "" is a plain like (federated as Like), the others as EmojiReact.
REACTIONS = ("", "❤️", "🎉", "😮", "😢")
LIKE_SYMBOL = "👍"


@dataclass
class Cards:
    """Everything a page of post cards needs besides the posts themselves."""

    actors: dict[int, Actor] = field(default_factory=dict)
    reactions: dict[int, dict[str, int]] = field(default_factory=dict)  # post id → emoji → count
    mine: dict[int, set[str]] = field(default_factory=dict)  # the viewer's own reactions
    shared: set[int] = field(default_factory=set)  # posts the viewer shared
    manageable: set[int] = field(default_factory=set)  # posts the viewer may edit and delete
    places: dict[int, CardPlace] = field(default_factory=dict)  # post id → its place
    viewer: Actor | None = None
    reaction_choices: tuple[str, ...] = REACTIONS
    like_symbol: str = LIKE_SYMBOL


async def actors_of(session: AsyncSession, posts: list[Post]) -> dict[int, Actor]:
    """Authors and walls of ``posts``, by id (one query)."""
    ids = {p.author_id for p in posts} | {p.wall_id for p in posts}
    if not ids:
        return {}
    return {a.id: a for a in await session.scalars(select(Actor).where(Actor.id.in_(ids)))}


async def cards_for(session: AsyncSession, viewer: Actor | None, posts: list[Post]) -> Cards:
    cards = Cards(viewer=viewer)
    if not posts:
        return cards
    ids = [p.id for p in posts]
    cards.actors = await actors_of(session, posts)
    located = await places_by_id(session, {p.place_id for p in posts if p.place_id is not None})
    for post in posts:
        place, coords = located.get(post.place_id, (None, None))
        if place is not None and coords is not None:
            name = place.name or place.locality or place.address_line()
            cards.places[post.id] = CardPlace(name=name, lat=coords[0], lon=coords[1])
    rows = await session.execute(
        select(Reaction.post_id, Reaction.emoji, func.count())
        .where(Reaction.post_id.in_(ids))
        .group_by(Reaction.post_id, Reaction.emoji)
    )
    for post_id, emoji, count in rows.all():
        cards.reactions.setdefault(post_id, {})[emoji] = count
    if viewer is None:
        return cards
    rows = await session.execute(
        select(Reaction.post_id, Reaction.emoji).where(
            Reaction.post_id.in_(ids), Reaction.actor_id == viewer.id
        )
    )
    for post_id, emoji in rows.all():
        cards.mine.setdefault(post_id, set()).add(emoji)
    cards.shared = set(
        await session.scalars(
            select(Share.post_id).where(Share.post_id.in_(ids), Share.actor_id == viewer.id)
        )
    )
    admin_of = {
        wall_id
        for wall_id in {p.wall_id for p in posts if p.local}
        if wall_id in cards.actors and await is_admin(session, viewer, cards.actors[wall_id])
    }
    cards.manageable = {
        p.id for p in posts if p.local and (p.author_id == viewer.id or p.wall_id in admin_of)
    }
    return cards


def wall_slug(wall: Actor) -> str:
    """How a wall is named in page paths: the username of a local actor, ``user@domain`` of a remote one."""
    return wall.username if wall.local else wall.handle


@blueprint.app_template_global("post_path")
def post_path(post: Post, wall: Actor | None) -> str:
    """The post's page; a comment's page is its thread, scrolled to the comment."""
    target = post.root_id or post.id
    anchor = f"#post-{post.id}" if post.root_id else ""
    return f"/@{wall_slug(wall)}/posts/{target}{anchor}" if wall is not None else f"/posts/{post.id}"


def scope_choices(wall: Actor, author: Actor) -> list[tuple[str, str, str]]:
    """(value, label, explanation) of each scope, explained for this wall."""
    own = wall.id == author.id
    return [
        (
            "public",
            _("Public"),
            _("Everyone can read it; it appears on the territory live and is shared with the fediverse."),
        ),
        (
            "restricted",
            _("My followers") if own else _("Followers and members"),
            _("Only your followers can read it.")
            if own
            else _(
                "Only the followers and members of %(name)s can read it.", name=wall.name or wall.username
            ),
        ),
        (
            "private",
            _("Only me") if own else _("Members only"),
            _("Only you can read it; it never leaves this server.")
            if own
            else _(
                "Only the members of %(name)s can read it; it never leaves this server.",
                name=wall.name or wall.username,
            ),
        ),
    ]


async def post_form_context(
    session: AsyncSession, viewer: Actor | None, wall: Actor
) -> dict[str, Any] | None:
    """The posting box for ``wall`` (None when the viewer may not post there)."""
    if viewer is None or not await can_post_on(session, viewer, wall):
        return None
    return {
        "wall": wall,
        "action": f"/@{wall.username}/wall",
        "scopes": scope_choices(wall, viewer),
        "can_post_as": wall.id != viewer.id and await is_admin(session, viewer, wall),
        "max_length": MAX_POST_LENGTH,
    }


async def _place_named(name: str, errors: FormErrors) -> PlaceInput | None:
    """The form's "Place" resolved with the offline gazetteer (an error on ``place`` when unknown)."""
    from coserver.web.search_pages import MAX_PLACE_LENGTH, find_place_named

    name = name.strip()
    if not name:
        return None
    if len(name) > MAX_PLACE_LENGTH:
        errors.add("place", _("The place name is too long."))
        return None
    found = await find_place_named(name)
    if found is None:
        errors.add("place", _("No place called “%(name)s” was found.", name=name))
        return None
    return PlaceInput(
        lat=found.lat, lon=found.lon, name=found.name, locality=found.name, country=found.country
    )


@dataclass
class CardPlace:
    """What a post card shows of the post's place."""

    name: str
    lat: float
    lon: float

    @property
    def search_href(self) -> str:
        return f"/search?{urlencode({'lat': f'{self.lat:.5f}', 'lon': f'{self.lon:.5f}', 'radius_km': 5})}"


async def publish(
    session: AsyncSession, person: Actor, wall: Actor, values: dict[str, Any]
) -> tuple[Post | None, FormErrors]:
    """Post the submitted form on ``wall``; the caller commits when there is no error."""
    from coserver.api.posts import resolve_remote_mentions  # @user@domain handles, by WebFinger

    errors = FormErrors()
    text = str(values.get("text", ""))
    place = await _place_named(str(values.get("place") or ""), errors)
    if errors:
        return None, errors
    try:
        post = await post_on_wall(
            session,
            settings(),
            person,
            wall,
            text,
            scope=str(values.get("scope") or "public"),
            as_element=values.get("as_element") == "1",
            remote_mentions=await resolve_remote_mentions(session, text) if "@" in text else None,
            place=place,
        )
    except ServiceError as exc:
        errors.from_service(exc)
        return None, errors
    return post, errors

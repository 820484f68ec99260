"""Actors: every element (person, organization, project, event, special place), local or remote.

One table keyed by the ActivityPub id. Local actors carry an RSA key pair; remote actors carry the URLs
and key we learnt by fetching them. Kind-specific fields (organization type, project stage and dates,
event dates, organizer, parent and capacity, POI type) are nullable columns of the same row, so searches
never need a join to filter by kind, type or date.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from geoalchemy2 import Geography
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    FetchedValue,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coserver.db import Base
from coserver.models.vocab import ACTOR_KINDS

if TYPE_CHECKING:
    from coserver.models.places import Place


# Full-text search document: French and English stems, accents folded (co_unaccent is an IMMUTABLE
# wrapper of unaccent created by migration 0003). Weights: name A, short description and tags B, the
# English reading C, the long description D.
SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('simple', co_unaccent(coalesce(name, ''))), 'A') || "
    "setweight(to_tsvector('french', co_unaccent(coalesce(name, '') || ' ' "
    "|| coalesce(short_description, '') || ' ' || co_join(tags))), 'B') || "
    "setweight(to_tsvector('english', co_unaccent(coalesce(name, '') || ' ' "
    "|| coalesce(short_description, '') || ' ' || co_join(tags))), 'C') || "
    "setweight(to_tsvector('french', co_unaccent(left(coalesce(description_source, ''), 20000))), 'D')"
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Actor(Base):
    """A local or remote ActivityPub actor; for local ones, an element of the territory."""

    __tablename__ = "actors"
    __table_args__ = (
        CheckConstraint(_in("kind", ACTOR_KINDS), name="kind"),
        CheckConstraint("ends_at IS NULL OR starts_at IS NULL OR ends_at >= starts_at", name="dates_ordered"),
        CheckConstraint("local = (domain IS NULL)", name="local_has_no_domain"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_positive"),
        # One username namespace across kinds for local actors, case-insensitive.
        Index(
            "uq_actors_local_username",
            text("lower(username)"),
            unique=True,
            postgresql_where=text("local IS TRUE"),  # as the code writes it (Actor.local.is_(True))
        ),
        Index(
            "ix_actors_place_wall",
            "place_id",
            postgresql_include=["id"],
            postgresql_where=text("local IS TRUE AND is_private IS FALSE"),
        ),
        Index(
            "ix_actors_remote_handle", text("lower(username)"), "domain", postgresql_where=text("NOT local")
        ),
        Index("ix_actors_tags", "tags", postgresql_using="gin"),
        Index("ix_actors_kind_starts_at", "kind", "starts_at"),
        Index(
            "ix_actors_span",
            text("tstzrange(starts_at, COALESCE(ends_at, starts_at), '[]')"),
            postgresql_using="gist",
            postgresql_where=text("starts_at IS NOT NULL"),
        ),
        Index("ix_actors_search_vector", "search_vector", postgresql_using="gin"),
        Index("ix_actors_name_folded_trgm", text("name_folded gin_trgm_ops"), postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ap_id: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text)
    local: Mapped[bool] = mapped_column(Boolean)
    username: Mapped[str] = mapped_column(Text)
    domain: Mapped[str | None] = mapped_column(Text)

    name: Mapped[str] = mapped_column(Text, default="", server_default="")
    short_description: Mapped[str] = mapped_column(Text, default="", server_default="")
    description_html: Mapped[str] = mapped_column(Text, default="", server_default="")  # sanitised
    description_source: Mapped[str | None] = mapped_column(Text)  # what a local user typed
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    urls: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    contact: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")

    # Settings
    is_private: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    open_edition: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    open_data: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    manually_approves_followers: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    discoverable: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # per-field visibility of a profile: field -> "public" | "linked" | "hidden" (absent: public)
    field_visibility: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict, server_default="{}")

    # Kind-specific fields
    subtype: Mapped[str | None] = mapped_column(Text)  # organization type, event type or POI type
    stage: Mapped[str | None] = mapped_column(Text)  # project stage
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    all_day: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    timezone: Mapped[str | None] = mapped_column(Text)  # IANA name
    capacity: Mapped[int | None] = mapped_column(Integer)
    organizer_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"), index=True)
    place_id: Mapped[int | None] = mapped_column(ForeignKey("places.id", ondelete="SET NULL"), index=True)
    # The place's point, copied by PostgreSQL (triggers of migration 0009): read-only here, never assigned.
    location = mapped_column(
        Geography(geometry_type="POINT", srid=4326, spatial_index=False),
        server_default=FetchedValue(),
        server_onupdate=FetchedValue(),
        deferred=True,
    )

    # Federation
    public_key_pem: Mapped[str | None] = mapped_column(Text)
    private_key_pem: Mapped[str | None] = mapped_column(Text)  # local actors only
    key_id: Mapped[str | None] = mapped_column(Text, index=True)
    inbox_url: Mapped[str | None] = mapped_column(Text)
    shared_inbox_url: Mapped[str | None] = mapped_column(Text)
    outbox_url: Mapped[str | None] = mapped_column(Text)
    followers_url: Mapped[str | None] = mapped_column(Text)
    following_url: Mapped[str | None] = mapped_column(Text)
    featured_url: Mapped[str | None] = mapped_column(Text)
    profile_url: Mapped[str | None] = mapped_column(Text)
    icon_url: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # remote actor document as fetched
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    search_vector = mapped_column(TSVECTOR, Computed(SEARCH_VECTOR_SQL, persisted=True), deferred=True)
    # The name accent- and case-folded once per write (trigram matches and similarity of the text search).
    name_folded = mapped_column(Text, Computed("co_unaccent(lower(name))", persisted=True), deferred=True)

    place: Mapped[Place | None] = relationship(lazy="raise", foreign_keys=[place_id])
    organizer: Mapped[Actor | None] = relationship(
        lazy="raise", remote_side=[id], foreign_keys=[organizer_id]
    )
    parent: Mapped[Actor | None] = relationship(lazy="raise", remote_side=[id], foreign_keys=[parent_id])

    @property
    def handle(self) -> str:
        """``username@domain`` for remote actors, ``username`` for local ones."""
        return f"{self.username}@{self.domain}" if self.domain else self.username

    def __repr__(self) -> str:
        return f"<Actor {self.kind} {self.handle}>"

"""Posts (the newsfeed): walls as outboxes, comments as replies, reactions and shares.

A post has an author (who wrote it) and a wall (whose newsfeed it is on: the author's own, or an
organization's, project's or event's). ``as_element`` marks a post published in the wall element's name by
one of its admins. Remote posts keep their raw JSON next to the extracted columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from coserver.db import Base

POST_SCOPES = ("public", "restricted", "private")


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (
        CheckConstraint(f"scope IN ({', '.join(repr(s) for s in POST_SCOPES)})", name="scope"),
        Index("ix_posts_wall_id_id", "wall_id", text("id DESC")),
        Index("ix_posts_author_id_id", "author_id", text("id DESC")),
        Index(
            "ix_posts_public_live",
            text("id DESC"),
            postgresql_where=text("scope = 'public' AND deleted_at IS NULL"),
        ),
        Index(
            "ix_posts_live",
            text("id DESC"),
            postgresql_include=["wall_id", "local", "place_id"],
            postgresql_where=text("scope = 'public' AND in_reply_to_id IS NULL AND deleted_at IS NULL"),
        ),
        Index(
            "ix_posts_wall_live",
            "wall_id",
            text("id DESC"),
            postgresql_where=text("scope = 'public' AND in_reply_to_id IS NULL AND deleted_at IS NULL"),
        ),
        Index(
            "ix_posts_placed_live",
            text("id DESC"),
            postgresql_include=["place_id"],
            postgresql_where=text(
                "scope = 'public' AND in_reply_to_id IS NULL AND deleted_at IS NULL AND place_id IS NOT NULL"
            ),
        ),
        Index("ix_posts_tags", "tags", postgresql_using="gin"),
        Index("ix_posts_in_reply_to_id", "in_reply_to_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ap_id: Mapped[str] = mapped_column(Text, unique=True)
    local: Mapped[bool] = mapped_column(Boolean)
    author_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    wall_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    as_element: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    scope: Mapped[str] = mapped_column(Text, default="public", server_default="public")
    source: Mapped[str | None] = mapped_column(Text)  # what a local author typed
    content_html: Mapped[str] = mapped_column(Text, default="", server_default="")  # sanitised
    summary: Mapped[str | None] = mapped_column(Text)  # content warning
    language: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    mention_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list, server_default="{}")
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    in_reply_to_ap_id: Mapped[str | None] = mapped_column(Text)
    root_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    place_id: Mapped[int | None] = mapped_column(ForeignKey("places.id", ondelete="SET NULL"))
    url: Mapped[str | None] = mapped_column(Text)
    replies_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    likes_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    shares_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Reaction(Base):
    """A like or an emoji reaction (Communecter's love/support/... reactions map to emoji)."""

    __tablename__ = "reactions"
    __table_args__ = (UniqueConstraint("post_id", "actor_id", "emoji", name="uq_reactions_post_actor_emoji"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    emoji: Mapped[str] = mapped_column(Text, default="", server_default="")  # "" = a plain Like
    ap_id: Mapped[str | None] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Share(Base):
    """A share (``Announce``) of a post by an actor."""

    __tablename__ = "shares"
    __table_args__ = (UniqueConstraint("post_id", "actor_id", name="uq_shares_post_actor"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    ap_id: Mapped[str | None] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

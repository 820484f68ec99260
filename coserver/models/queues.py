"""Durable federation queues, in PostgreSQL: inbox items to process and deliveries to send.

Workers claim rows in batches with ``FOR UPDATE SKIP LOCKED`` and a lease (``locked_until``); a worker that
dies leaves its lease to expire and another picks the rows up. A row is marked done right after its work is
acknowledged, so nothing acknowledged is ever done twice.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from coserver.db import Base

QUEUE_STATES = ("pending", "done", "failed", "ignored")


class InboxItem(Base):
    """A verified incoming activity, stored before anything else is done with it."""

    __tablename__ = "inbox_items"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in QUEUE_STATES)})", name="status"),
        Index("ix_inbox_items_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(Text, unique=True)  # activity id, or a hash of the body
    activity_type: Mapped[str] = mapped_column(Text)
    actor_ap_id: Mapped[str] = mapped_column(Text)  # the verified signer (== activity actor)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    activity: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Delivery(Base):
    """One activity to POST to one inbox (shared inbox when the recipient has one), signed by ``actor``."""

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in QUEUE_STATES)})", name="status"),
        UniqueConstraint("activity_id", "inbox_url", name="uq_deliveries_activity_inbox"),
        Index("ix_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[str] = mapped_column(Text)
    inbox_url: Mapped[str] = mapped_column(Text)
    domain: Mapped[str] = mapped_column(Text, index=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)  # serialised once; the Digest covers these bytes
    status: Mapped[str] = mapped_column(Text, default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DomainHealth(Base):
    """Delivery failures per remote domain: failing on 7 distinct days marks it unavailable.

    Any successful delivery to it, or any signed request from it, deletes the row.
    """

    __tablename__ = "domain_health"

    domain: Mapped[str] = mapped_column(Text, primary_key=True)
    failure_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_failure_day: Mapped[date | None] = mapped_column(Date)
    unavailable_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

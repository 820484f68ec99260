"""Links: typed relations between actors (member, contributor, attendee, follower).

The subject is who is linked (a person, or any actor for follows), the object is the element. A link may
be pending (to be validated by the element's admins, admin requested, invited); ``is_admin`` marks the
element's administrators. Follows coming from (or going to) the fediverse keep the Follow activity id and,
for incoming ones, the activity exactly as received (embedded verbatim in our Accept).
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
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from coserver.db import Base
from coserver.models.vocab import LINK_STATES, LINK_TYPES


class Link(Base):
    """A relation ``subject --type--> object``."""

    __tablename__ = "links"
    __table_args__ = (
        CheckConstraint(f"type IN ({', '.join(repr(v) for v in LINK_TYPES)})", name="type"),
        CheckConstraint(f"state IN ({', '.join(repr(v) for v in LINK_STATES)})", name="state"),
        CheckConstraint("subject_id <> object_id", name="not_self"),
        UniqueConstraint("subject_id", "object_id", "type", name="uq_links_subject_object_type"),
        Index("ix_links_object_type_state", "object_id", "type", "state"),
        Index("ix_links_subject_type", "subject_id", "type"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    object_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, default="accepted", server_default="accepted")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    activity_id: Mapped[str | None] = mapped_column(Text, unique=True)  # the Follow's AP id
    activity: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # the Follow as received
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    @property
    def pending(self) -> bool:
        return self.state != "accepted"

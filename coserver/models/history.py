"""Edit history of elements: every change made through the UI or the API, with its author and time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from coserver.db import Base


class ElementEdit(Base):
    """One edit of ``actor`` by ``editor``: ``changes`` maps each changed field to ``[old, new]``."""

    __tablename__ = "element_edits"
    __table_args__ = (Index("ix_element_edits_actor_id_id", "actor_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")

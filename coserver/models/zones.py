"""Zones: administrative areas (levels 1–4), localities and postal codes, as (multi)polygons.

Elements are attached to every zone that covers their place (``actor_zones``), on save and on import, so
"in zone X" searches use the polygon once, at attach time, and an index afterwards.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from coserver.db import Base

ZONE_LEVELS = ("level1", "level2", "level3", "level4", "locality", "postal_code")


class Zone(Base):
    __tablename__ = "zones"
    __table_args__ = (
        CheckConstraint(f"level IN ({', '.join(repr(v) for v in ZONE_LEVELS)})", name="level"),
        UniqueConstraint("level", "code", name="uq_zones_level_code"),
        Index("ix_zones_name_lower", text("lower(name)")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    level: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2), default="", server_default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id", ondelete="SET NULL"))
    # geometry (not geography): ST_Covers on polygons is much faster in planar coordinates, and the GiST
    # index answers bounding-box tests; areas are small enough for the difference not to matter.
    geom = mapped_column(
        Geometry(geometry_type="MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ActorZone(Base):
    __tablename__ = "actor_zones"

    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), primary_key=True)
    zone_id: Mapped[int] = mapped_column(
        ForeignKey("zones.id", ondelete="CASCADE"), primary_key=True, index=True
    )

"""Places: a postal address and a point on the globe, shared by elements."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geography
from sqlalchemy import BigInteger, DateTime, Identity, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from coserver.db import Base


class Place(Base):
    """An address with an optional ``geography(Point,4326)`` location (GiST-indexed)."""

    __tablename__ = "places"
    __table_args__ = (Index("ix_places_lower_locality", text("lower(locality)")),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ap_id: Mapped[str | None] = mapped_column(Text, unique=True)  # AS2 Place id, when it has one
    name: Mapped[str] = mapped_column(Text, default="", server_default="")
    street: Mapped[str] = mapped_column(Text, default="", server_default="")
    postal_code: Mapped[str] = mapped_column(String(16), default="", server_default="")
    locality: Mapped[str] = mapped_column(Text, default="", server_default="")
    locality_code: Mapped[str] = mapped_column(String(16), default="", server_default="")  # e.g. INSEE code
    country: Mapped[str] = mapped_column(String(2), default="", server_default="")  # ISO 3166-1 alpha-2
    level1_name: Mapped[str] = mapped_column(Text, default="", server_default="")
    level1_code: Mapped[str] = mapped_column(String(32), default="", server_default="")
    level2_name: Mapped[str] = mapped_column(Text, default="", server_default="")
    level2_code: Mapped[str] = mapped_column(String(32), default="", server_default="")
    level3_name: Mapped[str] = mapped_column(Text, default="", server_default="")
    level3_code: Mapped[str] = mapped_column(String(32), default="", server_default="")
    level4_name: Mapped[str] = mapped_column(Text, default="", server_default="")
    level4_code: Mapped[str] = mapped_column(String(32), default="", server_default="")
    # GeoAlchemy2 declares the GiST index (spatial_index=True) once, here.
    location = mapped_column(Geography(geometry_type="POINT", srid=4326, spatial_index=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    def address_line(self) -> str:
        """A one-line human address: "3 rue X, 35000 Rennes"."""
        town = " ".join(p for p in (self.postal_code, self.locality) if p)
        return ", ".join(p for p in (self.street, town) if p)

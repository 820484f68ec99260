"""Indexes for the 1,000,000-row timeline and search figures: local usernames, the live page, localities.

* ``uq_actors_local_username`` is rebuilt with the predicate ``local IS TRUE``: every username look-up of
  the code is written ``local IS true AND lower(username) = …`` (SQLAlchemy's ``Actor.local.is_(True)``),
  which PostgreSQL cannot match with the predicate ``local``, so each one was a sequential scan of actors
  (tens of ms at 50,000 actors). Same uniqueness (``local`` is NOT NULL).
* ``ix_posts_live``: public top-level posts newest first, covering the live page's filters (wall, local,
  place): the live page walks it index-only and fetches the rows of its page alone.
* ``ix_actors_place_wall``: the public local walls of a set of places (radius and locality filters of the
  live page), index-only.
* ``ix_places_lower_locality``: the ``locality`` filter of the live page (case-insensitive).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = "scope = 'public' AND in_reply_to_id IS NULL AND deleted_at IS NULL"
_WALL = "local IS TRUE AND is_private IS FALSE"


def upgrade() -> None:
    op.drop_index("uq_actors_local_username", table_name="actors", postgresql_where=sa.text("local"))
    op.create_index(
        "uq_actors_local_username",
        "actors",
        [sa.literal_column("lower(username)")],
        unique=True,
        postgresql_where=sa.text("local IS TRUE"),
    )
    op.create_index(
        "ix_posts_live",
        "posts",
        [sa.literal_column("id DESC")],
        postgresql_include=["wall_id", "local", "place_id"],
        postgresql_where=sa.text(_LIVE),
    )
    op.create_index(
        "ix_actors_place_wall",
        "actors",
        ["place_id"],
        postgresql_include=["id"],
        postgresql_where=sa.text(_WALL),
    )
    op.create_index("ix_places_lower_locality", "places", [sa.literal_column("lower(locality)")])


def downgrade() -> None:
    op.drop_index("ix_places_lower_locality", table_name="places")
    op.drop_index("ix_actors_place_wall", table_name="actors", postgresql_where=sa.text(_WALL))
    op.drop_index("ix_posts_live", table_name="posts", postgresql_where=sa.text(_LIVE))
    op.drop_index("uq_actors_local_username", table_name="actors", postgresql_where=sa.text("local IS TRUE"))
    op.create_index(
        "uq_actors_local_username",
        "actors",
        [sa.literal_column("lower(username)")],
        unique=True,
        postgresql_where=sa.text("local"),
    )

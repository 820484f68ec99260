"""Indexes for the live page's separately limited parts and the agenda's window (1,000,000-row figures).

* ``ix_posts_wall_live``: a wall's public top-level posts newest first: the live page reads each wall's
  newest posts when its area holds few walls (a sparse area would otherwise walk most of ``ix_posts_live``).
* ``ix_posts_remote_live``: remote public top-level posts newest first with their place: the live page's
  "remote posts located in the area" part walks these alone, not every post.
* ``ix_actors_span``: GiST over each dated element's [starts_at, ends_at] range: the agenda's window test
  (``coserver.search.engine._window_clause``) reads the events meeting the week, not every event that
  started before its end.
* ``jit = off`` for the database: PostGIS prices ``ST_DWithin`` at 10,000 operator costs a row, so a
  town's radius (thousands of places) passes ``jit_above_cost`` and every such request paid tens to
  hundreds of milliseconds of LLVM compilation for a statement that runs in a few. Set only where the
  migrating role may (the database's owner); otherwise left as it is.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = "scope = 'public' AND in_reply_to_id IS NULL AND deleted_at IS NULL"
_REMOTE = _LIVE + " AND local IS FALSE"
_JIT = """DO $$ BEGIN
    EXECUTE format('ALTER DATABASE %%I %s', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'jit left as it is (not the database owner)';
END $$"""
_SPAN = "tstzrange(starts_at, COALESCE(ends_at, starts_at), '[]')"


def upgrade() -> None:
    op.create_index(
        "ix_posts_wall_live",
        "posts",
        ["wall_id", sa.literal_column("id DESC")],
        postgresql_where=sa.text(_LIVE),
    )
    op.create_index(
        "ix_posts_remote_live",
        "posts",
        [sa.literal_column("id DESC")],
        postgresql_include=["place_id"],
        postgresql_where=sa.text(_REMOTE),
    )
    op.create_index(
        "ix_actors_span",
        "actors",
        [sa.literal_column(_SPAN)],
        postgresql_using="gist",
        postgresql_where=sa.text("starts_at IS NOT NULL"),
    )
    op.execute(_JIT % "SET jit = off")


def downgrade() -> None:
    op.execute(_JIT % "RESET jit")
    op.drop_index("ix_actors_span", table_name="actors", postgresql_where=sa.text("starts_at IS NOT NULL"))
    op.drop_index("ix_posts_remote_live", table_name="posts", postgresql_where=sa.text(_REMOTE))
    op.drop_index("ix_posts_wall_live", table_name="posts", postgresql_where=sa.text(_LIVE))

"""The live page's "posts located in the area" part covers local posts tied to a place too.

A public post can be tied to a place (issue 4): a remote post by its AS2 ``location``, a local one by its
author's choice. The live page's radius filter read local posts through their wall's place only, so a local
post tied to a place in the area, on a wall elsewhere, did not show. ``ix_posts_placed_live`` (public
top-level posts with a place, newest first, ``place_id`` included) replaces ``ix_posts_remote_live`` (remote
posts only, with or without a place): the part now walks every located post, and only those.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = "scope = 'public' AND in_reply_to_id IS NULL AND deleted_at IS NULL"


def _index(name: str, where: str) -> None:
    op.create_index(
        name,
        "posts",
        [sa.literal_column("id DESC")],
        postgresql_include=["place_id"],
        postgresql_where=sa.text(where),
    )


def upgrade() -> None:
    _index("ix_posts_placed_live", _LIVE + " AND place_id IS NOT NULL")
    op.drop_index("ix_posts_remote_live", table_name="posts")


def downgrade() -> None:
    _index("ix_posts_remote_live", _LIVE + " AND local IS FALSE")
    op.drop_index("ix_posts_placed_live", table_name="posts")

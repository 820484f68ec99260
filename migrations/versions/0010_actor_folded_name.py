"""The actor's name folded once, on write: ``actors.name_folded`` and its trigram index.

The text search's name match (``coserver.search.clauses._text_query``: trigram ``%`` / ``<%`` for typos, and
``similarity`` in the rank) compared ``co_unaccent(lower(name))``, an expression PostgreSQL recomputed for
every candidate row (the trigram index is lossy: each candidate is rechecked) and again for its rank — about
10 µs a row, tens of milliseconds for a common word at 1,000,000 elements. A stored generated column computes
it once per write; ``ix_actors_name_folded_trgm`` replaces the expression index ``ix_actors_name_trgm``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOLDED = "co_unaccent(lower(name))"


def upgrade() -> None:
    op.add_column("actors", sa.Column("name_folded", sa.Text(), sa.Computed(FOLDED, persisted=True)))
    op.create_index(
        "ix_actors_name_folded_trgm",
        "actors",
        [sa.literal_column("name_folded gin_trgm_ops")],
        postgresql_using="gin",
    )
    op.drop_index("ix_actors_name_trgm", table_name="actors", postgresql_using="gin")


def downgrade() -> None:
    op.create_index(
        "ix_actors_name_trgm", "actors", [sa.literal_column(f"{FOLDED} gin_trgm_ops")], postgresql_using="gin"
    )
    op.drop_index("ix_actors_name_folded_trgm", table_name="actors", postgresql_using="gin")
    op.drop_column("actors", "name_folded")

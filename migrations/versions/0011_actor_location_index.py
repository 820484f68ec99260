"""GiST index on ``actors.location`` (the place's point, kept by triggers since 0009): every located search.

A radius, a box or nearest-first without a time window tested ``places.location`` (``idx_places_location``)
and so joined every place of the area to its actor: the facet sample, the located recency walk and the
hits each read a dense town's places and then their actors. With the point on the actor, such a query
filters and sorts on ``actors`` alone and joins only its page's places by primary key.

* ``ix_actors_location``: GiST over ``actors.location``, partial (``WHERE location IS NOT NULL``: the
  actors without a place are not indexed; every located statement says ``location IS NOT NULL`` and its
  ``&&`` tests imply it). It serves ``&&`` (radius box, map box) and KNN ``<->`` (nearest-first).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 09:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_actors_location ON actors USING gist (location) WHERE location IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX ix_actors_location")

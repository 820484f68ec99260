"""Search and zones: full-text search vector (French + English, accents folded), trigram name index,
zones (multi)polygons and the actor-zone attachment table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:14:57.336293
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


FUNCTIONS = (
    # unaccent() is STABLE (its dictionary could change); generated columns and index expressions need
    # IMMUTABLE functions, so we pin the dictionary and declare the wrapper immutable (standard practice).
    "CREATE OR REPLACE FUNCTION co_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT "
    "AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$",
    "CREATE OR REPLACE FUNCTION co_join(text[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE "
    "AS $$ SELECT coalesce(array_to_string($1, ' '), '') $$",
)


def upgrade() -> None:
    for statement in FUNCTIONS:
        op.execute(statement)
    op.create_geospatial_table(
        "zones",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), server_default="", nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "level IN ('level1', 'level2', 'level3', 'level4', 'locality', 'postal_code')",
            name=op.f("ck_zones_level"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["zones.id"], name=op.f("fk_zones_parent_id_zones"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zones")),
        sa.UniqueConstraint("level", "code", name="uq_zones_level_code"),
    )
    op.create_geospatial_index(
        "idx_zones_geom", "zones", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index("ix_zones_name_lower", "zones", [sa.literal_column("lower(name)")], unique=False)
    op.create_table(
        "actor_zones",
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("zone_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["actors.id"], name=op.f("fk_actor_zones_actor_id_actors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_actor_zones_zone_id_zones"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("actor_id", "zone_id", name=op.f("pk_actor_zones")),
    )
    op.create_index(op.f("ix_actor_zones_zone_id"), "actor_zones", ["zone_id"], unique=False)
    op.add_column(
        "actors",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('simple', co_unaccent(coalesce(name, ''))), 'A') || setweight(to_tsvector('french', co_unaccent(coalesce(name, '') || ' ' || coalesce(short_description, '') || ' ' || co_join(tags))), 'B') || setweight(to_tsvector('english', co_unaccent(coalesce(name, '') || ' ' || coalesce(short_description, '') || ' ' || co_join(tags))), 'C') || setweight(to_tsvector('french', co_unaccent(left(coalesce(description_source, ''), 20000))), 'D')",
                persisted=True,
            ),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_actors_name_trgm",
        "actors",
        [sa.literal_column("co_unaccent(lower(name)) gin_trgm_ops")],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_actors_search_vector", "actors", ["search_vector"], unique=False, postgresql_using="gin"
    )


def downgrade() -> None:
    op.drop_index("ix_actors_search_vector", table_name="actors", postgresql_using="gin")
    op.drop_index("ix_actors_name_trgm", table_name="actors", postgresql_using="gin")
    op.drop_column("actors", "search_vector")
    op.drop_index(op.f("ix_actor_zones_zone_id"), table_name="actor_zones")
    op.drop_table("actor_zones")
    op.drop_index("ix_zones_name_lower", table_name="zones")
    op.drop_geospatial_index(
        "idx_zones_geom", table_name="zones", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("zones")
    op.execute("DROP FUNCTION IF EXISTS co_join(text[])")
    op.execute("DROP FUNCTION IF EXISTS co_unaccent(text)")

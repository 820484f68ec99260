"""Schema v1: accounts, actors (local and remote), places (geography + GiST), links.

Extensions postgis, unaccent and pg_trgm are created if missing (and left in place on downgrade).

Revision ID: 0001
Revises:
Create Date: 2026-11-22 03:06:11.253556
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for extension in ("postgis", "unaccent", "pg_trgm"):
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    op.create_geospatial_table(
        "places",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("ap_id", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("street", sa.Text(), server_default="", nullable=False),
        sa.Column("postal_code", sa.String(length=16), server_default="", nullable=False),
        sa.Column("locality", sa.Text(), server_default="", nullable=False),
        sa.Column("locality_code", sa.String(length=16), server_default="", nullable=False),
        sa.Column("country", sa.String(length=2), server_default="", nullable=False),
        sa.Column("level1_name", sa.Text(), server_default="", nullable=False),
        sa.Column("level1_code", sa.String(length=32), server_default="", nullable=False),
        sa.Column("level2_name", sa.Text(), server_default="", nullable=False),
        sa.Column("level2_code", sa.String(length=32), server_default="", nullable=False),
        sa.Column("level3_name", sa.Text(), server_default="", nullable=False),
        sa.Column("level3_code", sa.String(length=32), server_default="", nullable=False),
        sa.Column("level4_name", sa.Text(), server_default="", nullable=False),
        sa.Column("level4_code", sa.String(length=32), server_default="", nullable=False),
        sa.Column(
            "location",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
            ),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_places")),
        sa.UniqueConstraint("ap_id", name=op.f("uq_places_ap_id")),
    )
    op.create_geospatial_index(
        "idx_places_location",
        "places",
        ["location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "actors",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("ap_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("local", sa.Boolean(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("domain", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("short_description", sa.Text(), server_default="", nullable=False),
        sa.Column("description_html", sa.Text(), server_default="", nullable=False),
        sa.Column("description_source", sa.Text(), nullable=True),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("urls", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("contact", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("is_private", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("open_edition", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("open_data", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("manually_approves_followers", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("discoverable", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("subtype", sa.Text(), nullable=True),
        sa.Column("stage", sa.Text(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("all_day", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("timezone", sa.Text(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("organizer_id", sa.BigInteger(), nullable=True),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("place_id", sa.BigInteger(), nullable=True),
        sa.Column("public_key_pem", sa.Text(), nullable=True),
        sa.Column("private_key_pem", sa.Text(), nullable=True),
        sa.Column("key_id", sa.Text(), nullable=True),
        sa.Column("inbox_url", sa.Text(), nullable=True),
        sa.Column("shared_inbox_url", sa.Text(), nullable=True),
        sa.Column("outbox_url", sa.Text(), nullable=True),
        sa.Column("followers_url", sa.Text(), nullable=True),
        sa.Column("following_url", sa.Text(), nullable=True),
        sa.Column("featured_url", sa.Text(), nullable=True),
        sa.Column("profile_url", sa.Text(), nullable=True),
        sa.Column("icon_url", sa.Text(), nullable=True),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('person', 'organization', 'project', 'event', 'poi', 'application')",
            name=op.f("ck_actors_kind"),
        ),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name=op.f("ck_actors_capacity_positive")),
        sa.CheckConstraint(
            "ends_at IS NULL OR starts_at IS NULL OR ends_at >= starts_at",
            name=op.f("ck_actors_dates_ordered"),
        ),
        sa.CheckConstraint("local = (domain IS NULL)", name=op.f("ck_actors_local_has_no_domain")),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["actors.id"], name=op.f("fk_actors_organizer_id_actors"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["actors.id"], name=op.f("fk_actors_parent_id_actors"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["place_id"], ["places.id"], name=op.f("fk_actors_place_id_places"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actors")),
        sa.UniqueConstraint("ap_id", name=op.f("uq_actors_ap_id")),
    )
    op.create_index(op.f("ix_actors_key_id"), "actors", ["key_id"], unique=False)
    op.create_index("ix_actors_kind_starts_at", "actors", ["kind", "starts_at"], unique=False)
    op.create_index(op.f("ix_actors_organizer_id"), "actors", ["organizer_id"], unique=False)
    op.create_index(op.f("ix_actors_parent_id"), "actors", ["parent_id"], unique=False)
    op.create_index(op.f("ix_actors_place_id"), "actors", ["place_id"], unique=False)
    op.create_index(
        "ix_actors_remote_handle",
        "actors",
        [sa.literal_column("lower(username)"), "domain"],
        unique=False,
        postgresql_where=sa.text("NOT local"),
    )
    op.create_index("ix_actors_tags", "actors", ["tags"], unique=False, postgresql_using="gin")
    op.create_index(
        "uq_actors_local_username",
        "actors",
        [sa.literal_column("lower(username)")],
        unique=True,
        postgresql_where=sa.text("local"),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("locale", sa.Text(), server_default="fr", nullable=False),
        sa.Column("is_admin", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["actors.id"], name=op.f("fk_accounts_person_id_actors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("person_id", name=op.f("uq_accounts_person_id")),
    )
    op.create_index(
        "uq_accounts_email",
        "accounts",
        [sa.literal_column("lower(email)")],
        unique=True,
        postgresql_where=sa.text("email IS NOT NULL"),
    )
    op.create_table(
        "links",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), server_default="accepted", nullable=False),
        sa.Column("is_admin", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("invited_by_id", sa.BigInteger(), nullable=True),
        sa.Column("activity_id", sa.Text(), nullable=True),
        sa.Column("activity", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "state IN ('accepted', 'to_be_validated', 'admin_requested', 'invited')",
            name=op.f("ck_links_state"),
        ),
        sa.CheckConstraint(
            "type IN ('member', 'contributor', 'attendee', 'follower')", name=op.f("ck_links_type")
        ),
        sa.CheckConstraint("subject_id <> object_id", name=op.f("ck_links_not_self")),
        sa.ForeignKeyConstraint(
            ["invited_by_id"], ["actors.id"], name=op.f("fk_links_invited_by_id_actors"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["object_id"], ["actors.id"], name=op.f("fk_links_object_id_actors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["actors.id"], name=op.f("fk_links_subject_id_actors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_links")),
        sa.UniqueConstraint("activity_id", name=op.f("uq_links_activity_id")),
        sa.UniqueConstraint("subject_id", "object_id", "type", name="uq_links_subject_object_type"),
    )
    op.create_index("ix_links_object_type_state", "links", ["object_id", "type", "state"], unique=False)
    op.create_index("ix_links_subject_type", "links", ["subject_id", "type"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_links_subject_type", table_name="links")
    op.drop_index("ix_links_object_type_state", table_name="links")
    op.drop_table("links")
    op.drop_index("uq_accounts_email", table_name="accounts", postgresql_where=sa.text("email IS NOT NULL"))
    op.drop_table("accounts")
    op.drop_index("uq_actors_local_username", table_name="actors", postgresql_where=sa.text("local"))
    op.drop_index("ix_actors_tags", table_name="actors", postgresql_using="gin")
    op.drop_index("ix_actors_remote_handle", table_name="actors", postgresql_where=sa.text("NOT local"))
    op.drop_index(op.f("ix_actors_place_id"), table_name="actors")
    op.drop_index(op.f("ix_actors_parent_id"), table_name="actors")
    op.drop_index(op.f("ix_actors_organizer_id"), table_name="actors")
    op.drop_index("ix_actors_kind_starts_at", table_name="actors")
    op.drop_index(op.f("ix_actors_key_id"), table_name="actors")
    op.drop_table("actors")
    op.drop_geospatial_index(
        "idx_places_location", table_name="places", postgresql_using="gist", column_name="location"
    )
    op.drop_geospatial_table("places")

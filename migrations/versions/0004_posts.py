"""Posts, reactions and shares (the newsfeed).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 04:18:55.221116
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("ap_id", sa.Text(), nullable=False),
        sa.Column("local", sa.Boolean(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("wall_id", sa.BigInteger(), nullable=False),
        sa.Column("as_element", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("scope", sa.Text(), server_default="public", nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("content_html", sa.Text(), server_default="", nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("mention_ids", postgresql.ARRAY(sa.BigInteger()), server_default="{}", nullable=False),
        sa.Column("in_reply_to_id", sa.BigInteger(), nullable=True),
        sa.Column("in_reply_to_ap_id", sa.Text(), nullable=True),
        sa.Column("root_id", sa.BigInteger(), nullable=True),
        sa.Column("place_id", sa.BigInteger(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("replies_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("likes_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("shares_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "published_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope IN ('public', 'restricted', 'private')", name=op.f("ck_posts_scope")),
        sa.ForeignKeyConstraint(
            ["author_id"], ["actors.id"], name=op.f("fk_posts_author_id_actors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["in_reply_to_id"], ["posts.id"], name=op.f("fk_posts_in_reply_to_id_posts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["place_id"], ["places.id"], name=op.f("fk_posts_place_id_places"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["root_id"], ["posts.id"], name=op.f("fk_posts_root_id_posts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["wall_id"], ["actors.id"], name=op.f("fk_posts_wall_id_actors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        sa.UniqueConstraint("ap_id", name=op.f("uq_posts_ap_id")),
    )
    op.create_index(
        "ix_posts_author_id_id", "posts", ["author_id", sa.literal_column("id DESC")], unique=False
    )
    op.create_index("ix_posts_in_reply_to_id", "posts", ["in_reply_to_id"], unique=False)
    op.create_index(
        "ix_posts_public_live",
        "posts",
        [sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=sa.text("scope = 'public' AND deleted_at IS NULL"),
    )
    op.create_index("ix_posts_tags", "posts", ["tags"], unique=False, postgresql_using="gin")
    op.create_index("ix_posts_wall_id_id", "posts", ["wall_id", sa.literal_column("id DESC")], unique=False)
    op.create_table(
        "reactions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("post_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("emoji", sa.Text(), server_default="", nullable=False),
        sa.Column("ap_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["actors.id"], name=op.f("fk_reactions_actor_id_actors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_reactions_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reactions")),
        sa.UniqueConstraint("ap_id", name=op.f("uq_reactions_ap_id")),
        sa.UniqueConstraint("post_id", "actor_id", "emoji", name="uq_reactions_post_actor_emoji"),
    )
    op.create_index(op.f("ix_reactions_actor_id"), "reactions", ["actor_id"], unique=False)
    op.create_table(
        "shares",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("post_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("ap_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["actors.id"], name=op.f("fk_shares_actor_id_actors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_shares_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shares")),
        sa.UniqueConstraint("ap_id", name=op.f("uq_shares_ap_id")),
        sa.UniqueConstraint("post_id", "actor_id", name="uq_shares_post_actor"),
    )
    op.create_index(op.f("ix_shares_actor_id"), "shares", ["actor_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_shares_actor_id"), table_name="shares")
    op.drop_table("shares")
    op.drop_index(op.f("ix_reactions_actor_id"), table_name="reactions")
    op.drop_table("reactions")
    op.drop_index("ix_posts_wall_id_id", table_name="posts")
    op.drop_index("ix_posts_tags", table_name="posts", postgresql_using="gin")
    op.drop_index(
        "ix_posts_public_live",
        table_name="posts",
        postgresql_where=sa.text("scope = 'public' AND deleted_at IS NULL"),
    )
    op.drop_index("ix_posts_in_reply_to_id", table_name="posts")
    op.drop_index("ix_posts_author_id_id", table_name="posts")
    op.drop_table("posts")

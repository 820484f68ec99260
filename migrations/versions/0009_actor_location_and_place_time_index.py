"""Each actor's point next to its span, and one GiST index over both: the agenda's "window + radius".

Time (``actors.starts_at``/``ends_at``) and place (``places.location``) lived in two tables, so no index
could serve both: a week's events of the whole country were read through ``ix_actors_span`` and each was
joined to its place to test the radius (thousands of random reads at 1,000,000 elements), or a town's tens
of thousands of places were read to keep the few events of the week.

* ``actors.location``: a copy of ``places.location`` for every actor with a place (not only events: the
  copy then never depends on which columns an element has, an element that becomes dated needs nothing,
  and a future place-only query on actors can use it). Maintained by PostgreSQL itself, whoever writes
  (services, federation, bulk COPY, zone import):

  - ``co_actor_location`` BEFORE INSERT OR UPDATE OF place_id, location ON actors: the location is always
    re-read from the actor's place (a direct write to the column is overruled; ``ON DELETE SET NULL`` of a
    place clears it, the foreign key's action being an update of ``place_id``);
  - ``co_place_location`` AFTER UPDATE OF location ON places: the actors of a moved place follow.

* ``ix_actors_location_span``: GiST over ``(location, [starts_at, ends_at])`` for dated elements: a radius's
  box (``&&``) and a window (``&&``) tested in the same index scan.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SPAN = "tstzrange(starts_at, COALESCE(ends_at, starts_at), '[]')"

_ACTOR_FUNCTION = """
CREATE FUNCTION co_actor_location() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.place_id IS NULL THEN
        NEW.location := NULL;
    ELSE
        NEW.location := (SELECT p.location FROM places p WHERE p.id = NEW.place_id);
    END IF;
    RETURN NEW;
END $$"""

_PLACE_FUNCTION = """
CREATE FUNCTION co_place_location() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE actors SET location = NEW.location WHERE place_id = NEW.id;
    RETURN NULL;
END $$"""


def upgrade() -> None:
    op.execute("ALTER TABLE actors ADD COLUMN location geography(Point,4326)")
    # Backfill before the triggers exist: one join, not a lookup per row.
    op.execute(
        "UPDATE actors a SET location = p.location FROM places p"
        " WHERE p.id = a.place_id AND p.location IS NOT NULL"
    )
    op.execute(_ACTOR_FUNCTION)
    op.execute(_PLACE_FUNCTION)
    op.execute(
        "CREATE TRIGGER actors_location BEFORE INSERT OR UPDATE OF place_id, location ON actors"
        " FOR EACH ROW EXECUTE FUNCTION co_actor_location()"
    )
    op.execute(
        "CREATE TRIGGER places_location AFTER UPDATE OF location ON places"
        " FOR EACH ROW EXECUTE FUNCTION co_place_location()"
    )
    op.execute(
        f"CREATE INDEX ix_actors_location_span ON actors USING gist (location, ({_SPAN}))"
        " WHERE starts_at IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_actors_location_span")
    op.execute("DROP TRIGGER places_location ON places")
    op.execute("DROP TRIGGER actors_location ON actors")
    op.execute("DROP FUNCTION co_place_location()")
    op.execute("DROP FUNCTION co_actor_location()")
    op.execute("ALTER TABLE actors DROP COLUMN location")

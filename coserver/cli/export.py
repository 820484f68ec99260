"""``coserver export``: the whole public territory as GeoJSON or CSV, for open-data portals.

Every public local element (not private, not deleted, not the instance actor) is read in keyset batches of
5,000 rows (``WHERE id > last ORDER BY id LIMIT 5000``), so memory stays flat on a million elements, and
written as it comes: the GeoJSON FeatureCollection is streamed feature by feature, the CSV row by row with
the same cells as the search exports (:mod:`coserver.search.exports`). An element whose ``open_data`` flag
is off appears with its identity only (id, username, kind, name, URL), as in its JSON-LD. A file is written
to ``FILE.part`` and renamed when complete; ``-`` writes to standard output. One summary line goes to stderr.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

import click
from geoalchemy2 import Geometry
from sqlalchemy import Select, cast, func, select

from coserver.cli.common import cli, run_with_db
from coserver.config import Settings
from coserver.db import Database
from coserver.models import Actor, Place
from coserver.models.vocab import ELEMENT_KINDS
from coserver.search.exports import (
    CSV_COLUMNS,
    csv_writer,
    geojson_members,
    hit_feature,
    write_csv_rows,
)
from coserver.search.hits import SearchHit, without_hidden_fields

BATCH_SIZE = 5000


def export_query(kinds: tuple[str, ...], after_id: int, limit: int) -> Select:
    """One keyset batch of public local elements with their address and point."""
    geom = cast(Place.location, Geometry)
    return (
        select(
            Actor.id,
            Actor.ap_id,
            Actor.username,
            Actor.kind,
            Actor.name,
            Actor.profile_url,
            Actor.subtype,
            Actor.stage,
            Actor.short_description,
            Actor.tags,
            Actor.starts_at,
            Actor.ends_at,
            Actor.all_day,
            Actor.timezone,
            Actor.open_data,
            Actor.field_visibility,
            Actor.created_at,
            Actor.updated_at,
            Place.street,
            Place.postal_code,
            Place.locality,
            Place.country,
            func.ST_Y(geom).label("lat"),
            func.ST_X(geom).label("lon"),
        )
        .outerjoin(Place, Place.id == Actor.place_id)
        .where(
            Actor.local.is_(True),
            Actor.is_private.is_(False),
            Actor.deleted_at.is_(None),
            Actor.kind.in_(kinds),
            Actor.id > after_id,
        )
        .order_by(Actor.id)
        .limit(limit)
    )


def row_to_hit(row) -> SearchHit:
    """A :class:`SearchHit` from one export row (identity only when the element refused open data)."""
    identity = dict(
        id=row.id,
        ap_id=row.ap_id,
        username=row.username,
        kind=row.kind,
        name=row.name,
        url=row.profile_url or row.ap_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
    if not row.open_data:
        return SearchHit(**identity)
    hit = SearchHit(
        **identity,
        subtype=row.subtype,
        stage=row.stage,
        short_description=row.short_description or "",
        tags=tuple(row.tags or ()),
        lat=row.lat,
        lon=row.lon,
        street=row.street or "",
        postal_code=row.postal_code or "",
        locality=row.locality or "",
        country=row.country or "",
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        all_day=bool(row.all_day),
        timezone=row.timezone,
    )
    return without_hidden_fields(hit, row.field_visibility)


async def iter_public_hits(
    db: Database, kinds: tuple[str, ...] = ELEMENT_KINDS, batch_size: int = BATCH_SIZE
) -> AsyncIterator[list[SearchHit]]:
    """Batches of public elements in id order, all read from one REPEATABLE READ snapshot."""
    after = 0
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            while True:
                rows = (await conn.execute(export_query(kinds, after, batch_size))).all()
                if not rows:
                    return
                yield [row_to_hit(r) for r in rows]
                if len(rows) < batch_size:
                    return
                after = rows[-1].id


async def write_export(
    db: Database, settings: Settings, fmt: str, out: IO[str], kinds: tuple[str, ...] = ELEMENT_KINDS
) -> int:
    """Stream the export to ``out`` (a text stream opened with ``newline=""``); returns the count."""
    count = 0
    if fmt == "csv":
        csv_writer(out).writerow(CSV_COLUMNS)
        async for batch in iter_public_hits(db, kinds):
            count += write_csv_rows(out, batch, header=False)
        return count
    head = {"type": "FeatureCollection", **geojson_members(settings)}
    out.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "features": [')
    async for batch in iter_public_hits(db, kinds):
        for hit in batch:
            out.write(",\n" if count else "\n")
            out.write(json.dumps(hit_feature(hit), ensure_ascii=False))
            count += 1
    out.write("\n]}\n")
    return count


@cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv"]), default="geojson", show_default=True)
@click.option(
    "--output", "-o", default="-", show_default=True, help="File to write, or - for standard output."
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(ELEMENT_KINDS),
    help="Only these kinds (repeatable; default: all).",
)
def export_cmd(fmt: str, output: str, kinds: tuple[str, ...]) -> None:
    """Dump every public element of the territory as GeoJSON or CSV (open data)."""
    selected = kinds or ELEMENT_KINDS
    started = time.monotonic()

    if output == "-":
        stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
        try:
            count = run_with_db(lambda db, conf: write_export(db, conf, fmt, stream, selected))
        finally:
            stream.flush()
            stream.detach()
    else:
        target = Path(output)
        partial = target.with_name(target.name + ".part")
        try:
            fh = open(partial, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
        try:
            with fh:
                count = run_with_db(lambda db, conf: write_export(db, conf, fmt, fh, selected))
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    where = "standard output" if output == "-" else output
    click.echo(
        f"exported {count} element(s) as {fmt} to {where} in {time.monotonic() - started:.1f} s", err=True
    )

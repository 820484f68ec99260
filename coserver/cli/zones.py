"""``coserver zones import|list``: administrative areas from GeoJSON files (communes, départements, …).

``import`` reads a FeatureCollection of Polygon/MultiPolygon features, upserts them as zones of one level
(on level + code, so re-importing a newer file updates it), then re-attaches every element to the zones
covering its point. A progress bar shows on a terminal. Operator errors (unknown level, missing property,
not a FeatureCollection, unreadable file) print one line and exit 1.
"""

from __future__ import annotations

from pathlib import Path

import click

from coserver.cli.common import cli, run_with_db
from coserver.models.zones import ZONE_LEVELS
from coserver.services.errors import InvalidInput


@cli.group()
def zones() -> None:
    """Zones: administrative areas, localities and postal codes as polygons."""


def _read_collection(path: Path) -> dict:
    """The parsed GeoJSON file (one copy in memory: the raw bytes are released once parsed)."""
    import orjson

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", field="file") from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not valid JSON: {exc}", field="file") from None
    finally:
        del raw


@zones.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--level", required=True, help=f"Zone level: {', '.join(ZONE_LEVELS)} (or 1–4 for level1–level4)."
)
@click.option("--name-field", required=True, help="The feature property holding the zone's name (e.g. nom).")
@click.option("--code-field", required=True, help="The feature property holding its code (e.g. code).")
@click.option("--country", default=None, help="ISO 3166-1 code of the zones' country (e.g. FR, RE).")
@click.option(
    "--parent-field", default=None, help="The property holding the parent zone's code (or level:code)."
)
def import_cmd(
    file: Path, level: str, name_field: str, code_field: str, country: str | None, parent_field: str | None
) -> None:
    """Import (or update) zones from a GeoJSON FeatureCollection, then attach elements to them."""
    from tqdm import tqdm

    from coserver.services.zones import attach_all, import_zones, iter_features, normalize_level

    level = normalize_level(level)
    collection = _read_collection(file)
    features = iter_features(collection)  # fails on anything but a FeatureCollection, before the database
    total = len(collection["features"])

    async def work(db, conf):
        with tqdm(total=total, unit="feature", desc=f"zones {level}", disable=None, leave=False) as bar:
            async with db.transaction() as session:
                written = await import_zones(
                    session,
                    features,
                    level=level,
                    name_field=name_field,
                    code_field=code_field,
                    country=country,
                    parent_code_field=parent_field,
                    progress=bar.update,
                )
                attached = await attach_all(session)
        return written, attached

    written, attached = run_with_db(work)
    click.echo(f"imported {written} zone(s) at {level} from {total} feature(s) in {file.name}")
    click.echo(f"attached {attached} element(s) to their zones")


@zones.command("list")
@click.option("--level", default=None, help="Only this level.")
def list_cmd(level: str | None) -> None:
    """List zones: level, code, name, country and the number of elements in each."""
    from coserver.services.zones import list_zones, normalize_level

    level = normalize_level(level) if level else None

    async def work(db, conf):
        async with db.session() as session:
            rows = await list_zones(session, level)
            return [(z.level, z.code, z.name, z.country, n) for z, n in rows]

    rows = run_with_db(work)
    for zone_level, code, name, country, count in rows:
        click.echo(f"{zone_level}\t{code}\t{name}\t{country or '-'}\t{count}")
    click.echo(f"{len(rows)} zone(s)", err=True)

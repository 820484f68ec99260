"""``coserver export``, run as a real process against the test database; both formats parsed back."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from shapely.geometry import Point, shape
from sqlalchemy import update

from coserver.models import Actor
from tests.cli.test_cli import run
from tests.factories import make_element, make_person


async def _territory(db, settings) -> None:
    marie = await make_person(db, settings, "marie")
    await make_element(
        db,
        settings,
        "organization",
        "kaz_compost",
        name='Kaz "Compost", Saint-Pierre',
        admin=marie,
        lat=-21.34,
        lon=55.48,
        locality="Saint-Pierre",
        tags=["compost", "déchets"],
        short_description="=1+1 sur, deux; lignes",
    )
    await make_element(
        db,
        settings,
        "event",
        "fete",
        lat=-21.0,
        lon=55.5,
        starts_at=datetime(2026, 12, 19, 10, tzinfo=ZoneInfo("Indian/Reunion")),
        timezone="Indian/Reunion",
    )
    await make_element(db, settings, "project", "sans_lieu")
    await make_element(db, settings, "project", "secret_plan", is_private=True)
    await make_element(db, settings, "poi", "discret", lat=-21.1, lon=55.2, open_data=False, tags=["x"])
    gone = await make_element(db, settings, "poi", "demoli", lat=-21.2, lon=55.3)
    async with db.transaction() as s:
        await s.execute(
            update(Actor).where(Actor.id == gone.id).values(deleted_at=datetime.now(ZoneInfo("UTC")))
        )


PUBLIC = {"marie", "kaz_compost", "fete", "sans_lieu", "discret"}


async def test_export_geojson_and_csv(db, settings, database_url, tmp_path: Path):
    await _territory(db, settings)
    env = {
        "DATABASE_URL": database_url,
        "COSERVER_DATA_DIR": str(tmp_path / "data"),
        "COSERVER_SECRET_KEY": "cli-test-secret-0123456789",
    }

    target = tmp_path / "territoire.geojson"
    proc = run(["export", "--format", "geojson", "--output", str(target)], env)
    assert proc.returncode == 0, proc.stderr
    assert f"exported {len(PUBLIC)} element(s) as geojson to {target}" in proc.stderr
    assert not (tmp_path / "territoire.geojson.part").exists()
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and doc["name"] == "La Réunion"
    features = {f["properties"]["username"]: f for f in doc["features"]}
    assert set(features) == PUBLIC  # not private, not deleted, no instance actor
    for feature in doc["features"]:
        assert feature["type"] == "Feature" and feature["properties"]["id"] == feature["id"]
        if feature["geometry"] is not None:
            geom = shape(feature["geometry"])
            assert isinstance(geom, Point) and geom.is_valid
    kaz = features["kaz_compost"]
    assert kaz["geometry"]["coordinates"] == [55.48, -21.34]  # lon, lat
    assert kaz["properties"]["tags"] == ["compost", "déchets"]
    assert kaz["properties"]["locality"] == "Saint-Pierre"
    assert features["fete"]["properties"]["starts_at"] == "2026-12-19T10:00:00+04:00"
    assert features["sans_lieu"]["geometry"] is None
    # open_data off: identity only.
    assert features["discret"]["geometry"] is None and features["discret"]["properties"]["tags"] == []

    proc = run(["export", "--format", "csv", "--output", "-"], env)
    assert proc.returncode == 0, proc.stderr
    assert "to standard output" in proc.stderr
    rows = {r["username"]: r for r in csv.DictReader(io.StringIO(proc.stdout, newline=""))}
    assert set(rows) == PUBLIC
    kaz_row = rows["kaz_compost"]
    assert kaz_row["name"] == 'Kaz "Compost", Saint-Pierre'
    assert kaz_row["short_description"] == "'=1+1 sur, deux; lignes"
    assert (float(kaz_row["lat"]), float(kaz_row["lon"])) == (-21.34, 55.48)
    assert kaz_row["tags"] == "compost;déchets"
    assert datetime.fromisoformat(rows["fete"]["starts_at"]).hour == 10

    # Only some kinds, and keyset batches across several pages give the same rows.
    proc = run(["export", "--format", "geojson", "--kind", "event", "--kind", "poi"], env)
    assert proc.returncode == 0, proc.stderr
    kinds = sorted(f["properties"]["kind"] for f in json.loads(proc.stdout)["features"])
    assert kinds == ["event", "poi"]


async def test_export_batches(db, settings):
    """The keyset pager visits every row exactly once whatever the batch size."""
    from coserver.cli.export import iter_public_hits

    await _territory(db, settings)
    for size in (1, 2, 3, 5000):
        seen = [h.username async for batch in iter_public_hits(db, batch_size=size) for h in batch]
        assert sorted(seen) == sorted(PUBLIC) and len(seen) == len(set(seen))


def test_export_to_unwritable_path_is_one_line(tmp_path: Path):
    proc = run(
        ["export", "--output", str(tmp_path / "missing" / "x.geojson")], {"COSERVER_DATA_DIR": str(tmp_path)}
    )
    assert proc.returncode == 1
    assert "cannot write" in proc.stderr and "Traceback" not in proc.stderr

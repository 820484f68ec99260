"""``coserver zones import|list``, run as a real process against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from coserver.services.zones import zones_of
from tests.factories import make_element

COSERVER = [sys.executable, "-m", "coserver.cli.__main__"]
FIXTURES = Path(__file__).parent.parent / "fixtures" / "zones"


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("COSERVER_", "DATABASE_URL"))}
    full_env.update(env)
    return subprocess.run(COSERVER + args, env=full_env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "COSERVER_DATA_DIR": str(tmp_path / "data"),
        "COSERVER_SECRET_KEY": "cli-test-secret-0123456789",
    }


async def test_import_attach_and_list(cli_env, db, make_settings):
    settings = make_settings()
    kiosk = await make_element(db, settings, "poi", "kiosque", lat=-21.3393, lon=55.4781)
    await make_element(db, settings, "poi", "bouee", lat=-21.0, lon=56.5)  # at sea: no zone

    proc = run(
        [
            "zones",
            "import",
            str(FIXTURES / "departement.geojson"),
            "--level",
            "level4",
            "--name-field",
            "nom",
            "--code-field",
            "code",
            "--country",
            "RE",
        ],
        cli_env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "imported 1 zone(s) at level4 from 1 feature(s) in departement.geojson" in proc.stdout
    assert "attached 1 element(s) to their zones" in proc.stdout

    args = ["--level", "locality", "--name-field", "nom", "--code-field", "code", "--parent-field", "dep"]
    proc = run(["zones", "import", str(FIXTURES / "communes.geojson"), *args], cli_env)
    assert proc.returncode == 0, proc.stderr
    assert "imported 3 zone(s) at locality" in proc.stdout and "attached 1 element(s)" in proc.stdout
    async with db.session() as s:
        assert [z.code for z in await zones_of(s, kiosk.id)] == ["974", "97416"]

    proc = run(["zones", "list"], cli_env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == "level4\t974\tLa Réunion\tRE\t1"
    assert "locality\t97416\tSaint-Pierre\t-\t1" in lines and len(lines) == 4
    proc = run(["zones", "list", "--level", "4"], cli_env)
    assert proc.stdout.strip().splitlines() == ["level4\t974\tLa Réunion\tRE\t1"]


@pytest.mark.parametrize(
    ("file", "args", "needle"),
    [
        ("communes.geojson", ["--level", "level7"], "a zone level is one of"),
        ("communes.geojson", ["--name-field", "name"], "feature 0 has no property 'name'"),
        ("not-a-collection", [], "not a GeoJSON FeatureCollection (found 'Feature')"),
        ("broken", [], "is not valid JSON"),
        ("missing.geojson", [], "cannot read"),
    ],
)
def test_import_errors_are_one_line(cli_env, tmp_path, file, args, needle):
    path = FIXTURES / file
    if file == "not-a-collection":
        path = tmp_path / "feature.geojson"
        path.write_text('{"type": "Feature", "properties": {}, "geometry": null}')
    elif file == "broken":
        path = tmp_path / "broken.geojson"
        path.write_text('{"type": "FeatureCollection", "features": [')
    options = {"--level": "locality", "--name-field": "nom", "--code-field": "code"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        options[flag] = value
    proc = run(["zones", "import", str(path), *[x for pair in options.items() for x in pair]], cli_env)
    assert proc.returncode == 1, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("coserver: error:") and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr

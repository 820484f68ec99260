"""The embedded cluster: started by the session with the same code `make run` uses."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from coserver.dbcluster import EmbeddedCluster


def test_session_cluster_runs_without_tcp(pg_cluster: EmbeddedCluster):
    assert pg_cluster.is_running()
    assert "running" in pg_cluster.status()
    conf = (pg_cluster.pgdata / "postgresql.auto.conf").read_text()
    assert "listen_addresses = ''" in conf
    assert (pg_cluster.socket_dir / f".s.PGSQL.{pg_cluster.port}").exists()


async def test_databases_have_the_extensions(pg_cluster: EmbeddedCluster, database_url: str):
    dbname = make_url(database_url).database
    conn = await asyncpg.connect(user="coserver", database=dbname, host=str(pg_cluster.socket_dir))
    try:
        names = {r["extname"] for r in await conn.fetch("SELECT extname FROM pg_extension")}
    finally:
        await conn.close()
    assert {"postgis", "unaccent", "pg_trgm"} <= names


def test_long_paths_get_a_short_socket_dir(tmp_path):
    deep = tmp_path / ("x" * 120)
    cluster = EmbeddedCluster(deep / "pg")
    assert len(str(cluster.socket_dir)) < 80
    assert cluster.socket_dir != deep / "pg" / "run"


def test_missing_postgresql_names_the_packages(monkeypatch):
    import coserver.dbcluster as dbcluster

    monkeypatch.setattr(dbcluster.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(dbcluster.shutil, "which", lambda name: None)
    with pytest.raises(dbcluster.ClusterError, match=r"apt-get install postgresql postgresql-15-postgis-3"):
        dbcluster.find_binaries()


def test_missing_postgis_names_the_package(monkeypatch, tmp_path):
    import coserver.dbcluster as dbcluster

    bindir = tmp_path / "lib" / "postgresql" / "99" / "bin"
    bindir.mkdir(parents=True)
    for tool in ("initdb", "pg_ctl", "postgres"):
        (bindir / tool).touch()
    monkeypatch.setattr(dbcluster.glob, "glob", lambda pattern: [str(bindir / "postgres")])
    with pytest.raises(dbcluster.ClusterError, match=r"apt-get install postgresql-99-postgis-3"):
        dbcluster.find_binaries()

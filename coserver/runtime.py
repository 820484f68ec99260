"""Where the database is: ``DATABASE_URL``, or the embedded cluster in the data dir (started on demand)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from coserver.config import Settings
from coserver.dbcluster import EmbeddedCluster

log = logging.getLogger(__name__)
EMBEDDED_DBNAME = "coserver"


def embedded_cluster(settings: Settings) -> EmbeddedCluster:
    return EmbeddedCluster(settings.data_dir / "pg")


def ensure_database_url(settings: Settings) -> str:
    """The database URL to use, starting the embedded cluster (and leaving it running) when needed."""
    if settings.database_url:
        return settings.database_url
    cluster = embedded_cluster(settings)
    cluster.start()
    cluster.ensure_database(EMBEDDED_DBNAME)
    return cluster.url(EMBEDDED_DBNAME)


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """Yield the database URL; an embedded cluster started here is stopped cleanly on exit."""
    if settings.database_url:
        yield settings.database_url
        return
    cluster = embedded_cluster(settings)
    created = cluster.init()
    if created:
        log.info("created the embedded PostgreSQL cluster in %s", cluster.pgdata)
    started = cluster.start()
    try:
        cluster.ensure_database(EMBEDDED_DBNAME)
        yield cluster.url(EMBEDDED_DBNAME)
    finally:
        if started:
            cluster.stop()

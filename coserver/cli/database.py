"""``coserver migrate`` and ``coserver db start|stop|status|url`` (the embedded cluster)."""

from __future__ import annotations

import click

from coserver.cli.common import cli, settings
from coserver.runtime import EMBEDDED_DBNAME, database, embedded_cluster


@cli.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.option("--downgrade", is_flag=True, help="Downgrade to --revision instead of upgrading.")
def migrate(revision: str, downgrade: bool) -> None:
    """Bring the database schema up to date."""
    import logging

    from coserver import migrate as migrations

    logging.getLogger("alembic").setLevel(logging.INFO)
    with database(settings()) as url:
        if downgrade:
            migrations.downgrade(url, revision)
        else:
            migrations.upgrade(url, revision)
    click.echo(f"database at revision {revision}")


@cli.group()
def db() -> None:
    """The embedded PostgreSQL + PostGIS cluster (used when DATABASE_URL is unset)."""


def _cluster():
    conf = settings()
    if conf.database_url:
        raise click.ClickException("DATABASE_URL is set: the embedded cluster is not used")
    return embedded_cluster(conf)


@db.command()
def start() -> None:
    """Start the embedded cluster (creating it and the database on first use)."""
    cluster = _cluster()
    started = cluster.start()
    cluster.ensure_database(EMBEDDED_DBNAME)
    click.echo(("started " if started else "already running ") + cluster.status())


@db.command()
def stop() -> None:
    """Stop the embedded cluster."""
    cluster = _cluster()
    click.echo("stopped" if cluster.stop() else "not running")


@db.command()
def status() -> None:
    """Say whether the embedded cluster runs."""
    click.echo(_cluster().status())


@db.command()
def url() -> None:
    """Print the SQLAlchemy URL of the embedded database."""
    click.echo(_cluster().url(EMBEDDED_DBNAME))

"""The ``coserver`` command: serve, migrate, db, user, element, demo.

Errors an operator can fix (bad configuration, missing PostgreSQL/PostGIS, invalid input) print one line
``coserver: error: ...`` and exit with status 1, never a traceback.
"""

from __future__ import annotations

import logging
import sys

import click

# Sub-commands register themselves on `cli`.
from coserver.cli import (  # noqa: F401
    database,
    demo,
    elements,
    export,
    follows,
    serve,
    tokens,
    users,
    worker,
    zones,
)
from coserver.cli.common import cli
from coserver.config import ConfigError
from coserver.dbcluster import ClusterError
from coserver.services.errors import ServiceError


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        cli.main(args=argv, prog_name="coserver", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (ConfigError, ClusterError, ServiceError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        click.echo(f"coserver: error: {message}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)

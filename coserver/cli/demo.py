"""``coserver demo load``: the demo territory (La Réunion), loaded only into an empty database."""

from __future__ import annotations

import click

from coserver.cli.common import cli, run_with_db


@cli.group()
def demo() -> None:
    """The demo territory."""


@demo.command("load")
@click.option("--force", is_flag=True, help="Load even if the database already has elements (may conflict).")
def load(force: bool) -> None:
    """Load the demo territory (people, organizations, projects, events, places, posts)."""
    from coserver.demo.loader import load_demo, load_demo_if_empty

    async def work(db, conf):
        if force:
            return await load_demo(db, conf)
        return await load_demo_if_empty(conf, db=db)

    counts = run_with_db(work)
    if not counts:
        click.echo("the database already has elements: demo not loaded (use --force to load anyway)")
    else:
        click.echo("loaded " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))

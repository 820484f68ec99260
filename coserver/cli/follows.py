"""``coserver follow`` / ``coserver unfollow``: a local person follows a remote account (handle or URL)."""

from __future__ import annotations

import click

from coserver.cli.common import cli, run_with_db


def _run(person_name: str, target: str, *, follow: bool) -> str:
    from coserver.services.elements import require_local_actor
    from federation.context import FederationContext
    from federation.following import follow_remote, unfollow_remote
    from federation.http import make_client

    async def work(db, conf):
        async with make_client(conf) as http, db.transaction() as session:
            ctx = FederationContext(conf, db, http)
            person = await require_local_actor(session, person_name)
            if follow:
                link = await follow_remote(ctx, session, person, target)
                return (
                    "following" if link.state == "accepted" else "follow requested (delivered by the worker)"
                )
            return (
                "unfollowed" if await unfollow_remote(ctx, session, person, target) else "was not following"
            )

    return run_with_db(work)


@cli.command()
@click.option("--as", "person", required=True, help="Username of the local person who follows.")
@click.argument("target")
def follow(person: str, target: str) -> None:
    """Follow TARGET (@user@domain or an actor URL)."""
    click.echo(_run(person, target, follow=True))


@cli.command()
@click.option("--as", "person", required=True, help="Username of the local person who unfollows.")
@click.argument("target")
def unfollow(person: str, target: str) -> None:
    """Stop following TARGET."""
    click.echo(_run(person, target, follow=False))

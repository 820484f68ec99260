"""``coserver token create``: an API token for an account (printed once)."""

from __future__ import annotations

import click

from coserver.cli.common import cli, run_with_db


@cli.group()
def token() -> None:
    """API bearer tokens."""


@token.command("create")
@click.option("--username", required=True)
@click.option("--name", default="cli", help="A label to recognise the token by.")
def create_token_cmd(username: str, name: str) -> None:
    """Create a token for USERNAME's account and print it (it is not stored in clear)."""
    from sqlalchemy import func, select

    from coserver.models import Account, Actor
    from coserver.services.errors import NotFound
    from coserver.services.tokens import create_token

    async def work(db, conf):
        async with db.transaction() as session:
            account = await session.scalar(
                select(Account)
                .join(Actor, Actor.id == Account.person_id)
                .where(func.lower(Actor.username) == username.lower().lstrip("@"))
            )
            if account is None:
                raise NotFound(f"no account named {username!r}", field="username")
            return await create_token(session, account, name)

    click.echo(run_with_db(work))

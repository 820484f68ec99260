"""``coserver user create``: a local account and its person actor."""

from __future__ import annotations

import click

from coserver.cli.common import cli, run_with_db


@cli.group()
def user() -> None:
    """Local accounts."""


@user.command("create")
@click.option("--username", required=True, help="Unique username (a-z, 0-9, _; dots and dashes inside).")
@click.option("--email", default=None, help="E-mail address (optional: pseudonyms are welcome).")
@click.option("--name", default=None, help="Display name (defaults to the username).")
@click.option(
    "--password", prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters."
)
@click.option("--locale", type=click.Choice(["fr", "en"]), default=None)
@click.option("--admin", is_flag=True, help="Make this account an administrator of the node.")
def create_user(
    username: str, email: str | None, name: str | None, password: str, locale: str | None, admin: bool
) -> None:
    """Create an account (and its person actor)."""
    from coserver.services.accounts import create_account

    async def work(db, conf):
        async with db.transaction() as session:
            account = await create_account(
                session,
                conf,
                username=username,
                password=password,
                email=email,
                name=name,
                locale=locale,
                is_admin=admin,
            )
            return account.person.ap_id

    ap_id = run_with_db(work)
    click.echo(f"created {'administrator ' if admin else ''}{username}: {ap_id}")

"""``coserver element create``: operators script their territory with it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import click

from coserver.cli.common import cli, run_with_db
from coserver.models.vocab import EVENT_TYPES, ORGANIZATION_TYPES, POI_TYPES, PROJECT_STAGES


def _parse_when(value: str | None, tz: str, option: str) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date/time", param_hint=option) from None
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo(tz))


@cli.group()
def element() -> None:
    """Elements of the territory (organizations, projects, events, special places)."""


@element.command("create")
@click.option("--kind", type=click.Choice(["organization", "project", "event", "poi"]), required=True)
@click.option("--username", required=True)
@click.option("--name", required=True)
@click.option("--lat", type=click.FloatRange(-90, 90), default=None)
@click.option("--lon", type=click.FloatRange(-180, 180), default=None)
@click.option("--admin", "admin_username", default=None, help="Username of the person who administers it.")
@click.option(
    "--type",
    "subtype",
    default=None,
    help=f"Organization type ({', '.join(ORGANIZATION_TYPES)}), event type ({', '.join(EVENT_TYPES[:4])}, "
    f"...) or POI type ({', '.join(POI_TYPES[:4])}, ...).",
)
@click.option("--stage", type=click.Choice(PROJECT_STAGES), default=None, help="Project stage.")
@click.option(
    "--start", default=None, help="ISO 8601 start (events, projects); local time in --timezone if naive."
)
@click.option("--end", default=None, help="ISO 8601 end.")
@click.option("--all-day", is_flag=True)
@click.option("--timezone", default=None, help="IANA time zone (default: the node's).")
@click.option("--capacity", type=click.IntRange(0), default=None)
@click.option("--organizer", default=None, help="Username of the organizer (events).")
@click.option("--parent", default=None, help="Username of the parent element.")
@click.option("--short-description", default="")
@click.option("--description", default="")
@click.option("--tags", default="", help="Comma-separated tags.")
@click.option("--street", default="")
@click.option("--postal-code", default="")
@click.option("--locality", default="")
@click.option("--country", default="")
@click.option("--private", is_flag=True, help="Visible to its members only.")
@click.option("--open-edition", is_flag=True, help="Any logged-in user may edit it.")
def create_element_cmd(**opts) -> None:
    """Create an element (and, with --admin, make that person its administrator)."""
    from coserver.services.elements import ElementInput, create_element, require_local_actor
    from coserver.services.places import PlaceInput

    async def work(db, conf):
        tz = opts["timezone"] or conf.timezone
        async with db.transaction() as session:
            admin = (
                await require_local_actor(session, opts["admin_username"]) if opts["admin_username"] else None
            )
            organizer = await require_local_actor(session, opts["organizer"]) if opts["organizer"] else None
            parent = await require_local_actor(session, opts["parent"]) if opts["parent"] else None
            data = ElementInput(
                kind=opts["kind"],
                username=opts["username"],
                name=opts["name"],
                short_description=opts["short_description"],
                description=opts["description"],
                tags=[t for t in opts["tags"].split(",") if t.strip()],
                place=PlaceInput(
                    lat=opts["lat"],
                    lon=opts["lon"],
                    street=opts["street"],
                    postal_code=opts["postal_code"],
                    locality=opts["locality"],
                    country=opts["country"],
                ),
                subtype=opts["subtype"],
                stage=opts["stage"],
                starts_at=_parse_when(opts["start"], tz, "--start"),
                ends_at=_parse_when(opts["end"], tz, "--end"),
                all_day=opts["all_day"],
                timezone=tz if opts["kind"] == "event" else None,
                capacity=opts["capacity"],
                organizer=organizer,
                parent=parent,
                is_private=opts["private"],
                open_edition=opts["open_edition"],
            )
            actor = await create_element(session, conf, data, admin=admin)
            return actor.ap_id

    click.echo(f"created {opts['kind']} {opts['username']}: {run_with_db(work)}")

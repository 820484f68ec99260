"""A person's non-public profile fields (``Actor.field_visibility``) never match a public search nor appear in
its hits or in the territory export: a hidden place is not found "around" it, hidden tags and description are
not searchable, the name always is."""

from __future__ import annotations

from coserver.cli.export import iter_public_hits
from coserver.search.engine import search
from tests.search.territory import Territory, params

SAINT_PIERRE = (-21.3393, 55.4781)


async def _people(db) -> None:
    async with db.transaction() as s:
        t = Territory(s)
        lat, lon = SAINT_PIERRE
        await t.element(
            "person", "Open Olivia", lat=lat, lon=lon, tags=["apiculture"], short_description="Apicultrice"
        )
        await t.element(
            "person",
            "Discreet Dora",
            lat=lat + 0.001,
            lon=lon,
            tags=["apiculture"],
            short_description="Apicultrice",
            field_visibility={"place": "hidden", "tags": "linked", "short_description": "hidden"},
        )


async def _names(db, settings, **values) -> list[str]:
    async with db.session() as session:
        page = await search(session, settings, params(settings, **values))
    return sorted(hit.name for hit in page.hits)


async def test_hidden_place_tags_and_description_never_match(db, settings):
    await _people(db)
    lat, lon = SAINT_PIERRE
    assert await _names(db, settings, lat=lat, lon=lon, radius_km=5) == ["Open Olivia"]
    box = f"{lon - 0.05},{lat - 0.05},{lon + 0.05},{lat + 0.05}"
    assert await _names(db, settings, bbox=box) == ["Open Olivia"]
    assert await _names(db, settings, tags="apiculture") == ["Open Olivia"]
    assert await _names(db, settings, q="apicultrice") == ["Open Olivia"]
    assert await _names(db, settings, q="discreet dora") == ["Discreet Dora"]  # the name stays public


async def test_hits_and_exports_carry_no_hidden_field(db, settings):
    await _people(db)
    async with db.session() as session:
        page = await search(session, settings, params(settings, q="dora"))
    (dora,) = page.hits
    assert (dora.lat, dora.lon, dora.locality, dora.tags, dora.short_description) == (None, None, "", (), "")
    exported = [hit async for batch in iter_public_hits(db) for hit in batch]
    by_name = {hit.name: hit for hit in exported}
    assert by_name["Discreet Dora"].lat is None and by_name["Discreet Dora"].tags == ()
    assert by_name["Open Olivia"].lat is not None and by_name["Open Olivia"].tags == ("apiculture",)

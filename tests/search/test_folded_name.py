"""``actors.name_folded`` (migration 0010): the name folded once per write follows every rename, and the
text search's typo match reads it."""

from __future__ import annotations

from sqlalchemy import select, update
from werkzeug.datastructures import MultiDict

from coserver.models import Actor
from coserver.search.engine import search
from coserver.search.params import parse_params
from tests.factories import make_element


async def _names(db, settings, q: str) -> list[str]:
    params = parse_params(MultiDict({"q": q}), settings)
    async with db.session() as s:
        return [hit.name for hit in (await search(s, settings, params)).hits]


async def test_folded_name_follows_renames_and_serves_typos(db, make_settings):
    settings = make_settings(database_url=db.url)
    element = await make_element(db, settings, "organization", "kaz", name="Jardin Partagé de l'Étang")
    async with db.session() as s:
        folded = await s.scalar(select(Actor.name_folded).where(Actor.id == element.id))
    assert folded == "jardin partage de l'etang"
    assert await _names(db, settings, "jardn partagé") == ["Jardin Partagé de l'Étang"]
    assert await _names(db, settings, "ETANG") == ["Jardin Partagé de l'Étang"]

    async with db.transaction() as s:
        await s.execute(update(Actor).where(Actor.id == element.id).values(name="Ressourcerie Éco"))
    async with db.session() as s:
        assert await s.scalar(select(Actor.name_folded).where(Actor.id == element.id)) == "ressourcerie eco"
    assert await _names(db, settings, "resourcerie") == ["Ressourcerie Éco"]  # a typo, on the new name
    assert await _names(db, settings, "jardn partagé") == []

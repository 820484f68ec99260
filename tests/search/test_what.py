"""What: text (stems, accents, typos), tags any/all, themes, kinds/types, visibility, facet counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coserver.search.engine import FACET_CAP, search
from tests.search.territory import Territory, bulk_insert, params


async def run(db, settings, viewer_id=None, **values):
    async with db.session() as session:
        return await search(session, settings, params(settings, **values), viewer_id=viewer_id)


async def names(db, settings, viewer_id=None, **values) -> list[str]:
    return [hit.name for hit in (await run(db, settings, viewer_id, **values)).hits]


@pytest.fixture
async def texts(db, settings):
    async with db.transaction() as s:
        t = Territory(s)
        await t.element("organization", "Jardin partagé de Ravine Blanche", tags=["jardinpartage", "compost"])
        await t.element("project", "La Réunion à vélo", tags=["vélo", "mobilité"])
        await t.element(
            "event", "Kabar du samedi", short_description="Soirée maloya et séga", tags=["maloya"]
        )
        await t.element("organization", "Community gardens network", short_description="Sharing gardens")
        await t.element("poi", "Déchetterie du Port", tags=["déchets"])


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("jardin partagé", "Jardin partagé de Ravine Blanche"),
        ("jardn partagé", "Jardin partagé de Ravine Blanche"),  # typo: trigram similarity
        ("jardn", "Jardin partagé de Ravine Blanche"),  # typo in one word of a longer name
        ("jardins partages", "Jardin partagé de Ravine Blanche"),  # French stems, no accents
        ("reunion", "La Réunion à vélo"),
        ("RÉUNION VELO", "La Réunion à vélo"),
        ("maloya", "Kabar du samedi"),  # description and tags are searched too
        ("garden", "Community gardens network"),  # English stems
        ("dechetterie", "Déchetterie du Port"),
    ],
)
async def test_text_search(db, settings, texts, q, expected):
    found = await names(db, settings, q=q)
    assert found and found[0] == expected, found


async def test_text_search_ranks_and_tolerates_syntax(db, settings, texts):
    page = await run(db, settings, q="jardin partagé")
    assert page.hits[0].rank is not None and page.hits[0].rank > 0
    for q in ('"jardin" -compost OR', "(((", "!!! & | :*", "le la les", "\\", "'"):
        await run(db, settings, q=q)  # no error; stop words alone find nothing
    assert await names(db, settings, q="le la les") == []


@pytest.fixture
async def tagged(db, settings):
    async with db.transaction() as s:
        t = Territory(s)
        await t.element("organization", "A", tags=["déchets", "compost"], subtype="ngo")
        await t.element("project", "B", tags=["zerodechet"])
        await t.element(
            "event", "C", tags=["vélo"], subtype="festival", starts_at=datetime(2026, 12, 5, tzinfo=UTC)
        )
        await t.element("poi", "D", tags=["maloya", "culture"], subtype="compostPickup")
        await t.element("person", "E", tags=["santé"])


async def test_tags_any_all_and_accents(db, settings, tagged):
    assert await names(db, settings, tags="dechets", sort="recency") == ["A"]
    assert await names(db, settings, tags="déchets") == ["A"]
    assert sorted(await names(db, settings, tags="compost,velo")) == ["A", "C"]
    assert await names(db, settings, tags="compost,dechets", tags_mode="all") == ["A"]
    assert await names(db, settings, tags="compost,vélo", tags_mode="all") == []
    assert await names(db, settings, tags="#Sante") == ["E"]


async def test_themes(db, settings, tagged):
    assert sorted(await names(db, settings, theme="waste")) == ["A", "B"]
    assert await names(db, settings, theme="transport") == ["C"]
    assert sorted(await names(db, settings, theme="déchets")) == ["A", "B"]  # French name of the theme
    assert sorted(await names(db, settings, theme="waste", tags="zerodechet")) == ["B"]
    assert await names(db, settings, theme="culture") == ["D"]
    assert await names(db, settings, theme="health") == ["E"]


async def test_kinds_and_types(db, settings, tagged):
    assert sorted(await names(db, settings, kinds="event,poi")) == ["C", "D"]
    assert await names(db, settings, types="festival") == ["C"]
    assert sorted(await names(db, settings, types="ngo,compostPickup")) == ["A", "D"]
    assert await names(db, settings, kinds="person", types="ngo") == []


async def test_visibility(db, settings):
    async with db.transaction() as s:
        t = Territory(s)
        viewer = await t.element("person", "Viewer")
        other = await t.element("person", "Other")
        secret = await t.element("organization", "Secret org", is_private=True)
        await t.element("project", "Secret project", is_private=True)
        await t.element("organization", "Deleted org", deleted_at=datetime(2026, 1, 1, tzinfo=UTC))
        await t.element("organization", "Hidden org", discoverable=False)
        await t.element("application", "Instance actor")
        await t.element("event", "Remote event", local=False, lat=-21.1, lon=55.5, username="remote_ev")
        await t.element("event", "Remote event without place", local=False, username="remote_noplace")
        await t.element("person", "Remote person", local=False, username="remote_person")
        await t.link(viewer, secret, "member")
        await t.link(other, secret, "member", state="to_be_validated")
        await t.link(viewer, secret, "follower")
    public = {"Viewer", "Other", "Remote event"}
    assert set(await names(db, settings)) == public
    assert set(await names(db, settings, viewer_id=viewer.id)) == public | {"Secret org"}
    assert set(await names(db, settings, viewer_id=other.id)) == public  # pending membership
    page = await run(db, settings, lat=-21.1, lon=55.5)
    assert [(h.name, h.local, h.url) for h in page.hits] == [
        ("Remote event", False, "https://mobilizon.example/events/remote_ev")
    ]


async def test_facet_counts_ignore_the_kind_filter(db, settings, tagged):
    page = await run(db, settings, kinds="event")
    assert [h.name for h in page.hits] == ["C"]
    assert page.counts == {"person": 1, "organization": 1, "project": 1, "event": 1, "poi": 1}
    assert page.total == 1
    page = await run(db, settings, theme="waste")
    assert page.counts == {"person": 0, "organization": 1, "project": 1, "event": 0, "poi": 0}
    assert page.total == 2 and not page.counts_capped


async def test_facet_counts_are_capped(db, settings):
    async with db.transaction() as s:
        await s.execute(*bulk_insert(max(FACET_CAP + 5, 1000), kinds=("poi",)))
    page = await run(db, settings, limit=1)
    assert page.counts_capped and page.total is None  # more than FACET_CAP matches: lower bounds
    assert page.counts == {"person": 0, "organization": 0, "project": 0, "event": 0, "poi": FACET_CAP}
    page = await run(db, settings, q="ressourcerie", limit=100)  # every 500th bulk element
    assert not page.counts_capped and page.total == len(page.hits) == page.counts["poi"] == 2

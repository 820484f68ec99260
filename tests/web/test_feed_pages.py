"""Newsfeed pages: walls, the home timeline, the live and its filters, hashtags, post pages, scope rules,
pagination, French rendering, and hostile remote HTML."""

from __future__ import annotations

import re

from coserver.models import Actor, Post
from coserver.services.elements import add_link
from coserver.services.follows import follow
from coserver.services.posting import post_on_wall
from federation import notes_in
from tests.factories import app_db, make_element, make_person
from tests.federation.helpers import remote_actor
from tests.web.helpers import Browser

CARD_RE = re.compile(r'data-testid="post-card" data-post-id="(\d+)"')


def card_ids(html: str) -> list[int]:
    return [int(i) for i in CARD_RE.findall(html)]


def card(html: str, post_id: int) -> str:
    start = html.index(f'id="post-{post_id}"')
    return html[start : html.index("</article>", start)]


async def write(app, settings, author: Actor, wall: Actor, text: str, **kwargs) -> Post:
    async with app_db(app).transaction() as s:
        return await post_on_wall(
            s, settings, await s.get(Actor, author.id), await s.get(Actor, wall.id), text, **kwargs
        )


async def link(app, subject: Actor, obj: Actor, link_type: str) -> None:
    async with app_db(app).transaction() as s:
        await add_link(s, await s.get(Actor, subject.id), await s.get(Actor, obj.id), link_type)


async def test_scope_rules_on_walls_post_pages_and_hashtags(app, settings):
    db = app_db(app)
    admin = await make_person(db, settings, "marie", locale="en")
    member = await make_person(db, settings, "paul", locale="en")
    fan = await make_person(db, settings, "fan", locale="en")
    stranger = await make_person(db, settings, "zoe", locale="en")
    kaz = await make_element(db, settings, "organization", "kaz", admin=admin)
    await link(app, member, kaz, "member")
    await link(app, fan, kaz, "follower")
    public = await write(app, settings, admin, kaz, "Pour tous #kaz")
    restricted = await write(app, settings, admin, kaz, "Pour les abonnés #kaz", scope="restricted")
    private = await write(app, settings, admin, kaz, "Entre membres #kaz", scope="private")

    browsers = {}
    for person in (member, fan, stranger):
        browsers[person.username] = Browser(app)
        await browsers[person.username].login(person)
    browsers["anonymous"] = Browser(app)
    expected = {
        "paul": {public.id, restricted.id, private.id},
        "fan": {public.id, restricted.id},
        "zoe": {public.id},
        "anonymous": {public.id},
    }
    for who, browser in browsers.items():
        assert set(card_ids(await browser.text("/@kaz/wall"))) == expected[who], who
        assert set(card_ids(await browser.text("/tags/kaz"))) == expected[who], who
        for post in (public, restricted, private):
            status = 200 if post.id in expected[who] else 404
            response = await browser.get(f"/@kaz/posts/{post.id}")
            assert response.status_code == status, (who, post.scope)
    html = await browsers["paul"].text("/@kaz/wall")
    assert 'data-testid="post-scope-badge">Members only<' in card(html, private.id)
    assert 'data-testid="post-scope-badge">Followers and members<' in card(html, restricted.id)
    assert set(card_ids(await Browser(app).text("/live"))) == {public.id}  # the live is public only
    # nothing to react to when one cannot see the post
    response = await browsers["zoe"].post(f"/posts/{private.id}/react", {"emoji": ""})
    assert response.status_code == 404


async def test_home_timeline_follows_what_the_person_follows(app, settings):
    db = app_db(app)
    lina = await make_person(db, settings, "lina", locale="en")
    marie = await make_person(db, settings, "marie", locale="en")
    kaz = await make_element(db, settings, "organization", "kaz", admin=marie)
    kaz_post = await write(app, settings, marie, kaz, "Nouvelles de Kaz")
    marie_post = await write(app, settings, marie, marie, "Nouvelles de Marie")
    own = await write(app, settings, lina, lina, "Mon carnet")
    anonymous = await Browser(app).get("/home")
    assert anonymous.status_code == 302 and anonymous.headers["Location"] == "/login?next=%2Fhome"

    browser = Browser(app)
    await browser.login(lina)
    html = await browser.text("/home")
    assert card_ids(html) == [own.id] and 'data-testid="post-form"' in html
    async with db.transaction() as s:
        await follow(s, settings, await s.get(Actor, lina.id), await s.get(Actor, kaz.id))
        await follow(s, settings, await s.get(Actor, lina.id), await s.get(Actor, marie.id))
    assert card_ids(await browser.text("/home")) == [own.id, marie_post.id, kaz_post.id]
    # the posting box of the home timeline posts on one's own wall and comes back here
    response = await browser.post(
        "/@lina/wall", {"text": "Depuis l'accueil", "scope": "public", "next": "/home"}
    )
    assert response.status_code == 303 and response.headers["Location"].startswith("/home#post-")
    new_id = int(response.headers["Location"].split("#post-")[1])
    html = await browser.text("/home")
    assert card_ids(html)[0] == new_id and "accueil" in card(html, new_id)


async def test_pagination_without_duplicates(app, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie", locale="en")
    kaz = await make_element(db, settings, "organization", "kaz", admin=marie, lat=-21.34, lon=55.48)
    written = [(await write(app, settings, marie, kaz, f"Message {i} #suite")).id for i in range(45)]
    lina = await make_person(db, settings, "lina", locale="en")
    await link(app, lina, kaz, "follower")
    browser = Browser(app)
    await browser.login(lina)
    for start in ("/@kaz/wall", "/live?tag=suite", "/tags/suite", "/home"):
        seen, path, pages = [], start, 0
        while path:
            html = await browser.text(path)
            seen += card_ids(html)
            pages += 1
            found = re.search(r'<a rel="next" href="([^"]+)"', html)
            path = found.group(1).replace("&amp;", "&") if found else None
        assert seen == sorted(written, reverse=True), start  # newest first, each post once
        assert pages == 3, start
    assert "tag=suite" in (await browser.text("/live?tag=suite")).split('rel="next" href="')[1][:80]
    assert (await browser.get("/@kaz/wall?before=abc")).status_code == 404


async def test_live_filters_locality_radius_zone_and_tag(app, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie", locale="en")
    south = await make_element(
        db, settings, "organization", "sud", admin=marie, lat=-21.34, lon=55.48, locality="Saint-Pierre"
    )
    north = await make_element(
        db, settings, "organization", "nord", admin=marie, lat=-20.88, lon=55.45, locality="Saint-Denis"
    )
    in_south = await write(app, settings, marie, south, "Au sud #mer")
    in_north = await write(app, settings, marie, north, "Au nord #montagne")
    browser = Browser(app)
    assert set(card_ids(await browser.text("/live"))) == {in_south.id, in_north.id}
    assert card_ids(await browser.text("/live?locality=saint-pierre")) == [in_south.id]
    assert card_ids(await browser.text("/live?tag=%23montagne")) == [in_north.id]
    near_north = await browser.text("/live?lat=-20.88&lon=55.45&radius_km=5")
    assert card_ids(near_north) == [in_north.id]
    assert 'value="-20.88"' in near_north  # the form keeps the filters
    assert card_ids(await browser.text("/live?lat=-20.88&lon=55.45")) == [in_north.id]  # 10 km by default
    assert set(card_ids(await browser.text("/live?lat=-21.1&lon=55.5&radius_km=50"))) == {
        in_south.id,
        in_north.id,
    }
    assert card_ids(await browser.text("/live?zone=nowhere")) == []
    bad = await browser.get("/live?lat=-20.88&lon=55.45&radius_km=900")
    html = await bad.get_data(as_text=True)
    assert bad.status_code == 400 and 'id="radius_km-error"' in html and 'aria-invalid="true"' in html
    bad = await browser.get("/live?radius_km=5")
    assert bad.status_code == 400 and "A radius needs a point" in await bad.get_data(as_text=True)
    bad = await browser.get("/live?lat=abc&lon=55")
    assert bad.status_code == 400 and 'id="lat-error"' in await bad.get_data(as_text=True)
    assert 'data-testid="around-me"' in await browser.text("/live")


async def test_hashtag_page_lists_posts_and_tagged_elements(app, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie", locale="en")
    kaz = await make_element(
        db, settings, "organization", "kaz", name="Kaz Compost", admin=marie, tags=["compost"]
    )
    tagged = await write(app, settings, marie, marie, "Mon #Compost maison")
    await write(app, settings, marie, marie, "Sans mot-clé")
    html = await Browser(app).text("/tags/COMPOST")
    assert card_ids(html) == [tagged.id] and "Kaz Compost" in html and "<h1>#compost</h1>" in html
    assert kaz.username in html


async def test_post_page_and_ap_url_for_browsers(app, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie", locale="en")
    kaz = await make_element(db, settings, "organization", "kaz", admin=marie)
    post = await write(app, settings, marie, kaz, "Une annonce")
    client = app.test_client()
    response = await client.get(f"/posts/{post.id}", headers={"Accept": "text/html"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/@kaz/posts/{post.id}")
    note = await client.get(f"/posts/{post.id}", headers={"Accept": "application/activity+json"})
    assert note.status_code == 200 and (await note.get_json())["type"] == "Note"
    html = await Browser(app).text(f"/@kaz/posts/{post.id}")
    assert card_ids(html) == [post.id] and 'id="comments"' in html and 'href="/@kaz/wall"' in html
    # the wrong wall in the address leads to the right one
    wrong = await Browser(app).get(f"/@marie/posts/{post.id}")
    assert wrong.status_code == 302 and wrong.headers["Location"] == f"/@kaz/posts/{post.id}"
    assert (await Browser(app).get("/@kaz/posts/999999")).status_code == 404


async def test_french_rendering(app, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie", locale="fr")
    kaz = await make_element(db, settings, "organization", "kaz", admin=marie, lat=-21.34, lon=55.48)
    post = await write(app, settings, marie, kaz, "Bonjour")
    browser = Browser(app, lang="fr")
    await browser.login(marie)
    wall = await browser.text("/@kaz/wall")
    assert "Qui peut le lire ?" in wall and "Publier au nom de Kaz" in wall and ">Publier<" in wall
    html = card(wall, post.id)
    assert "il y a" in html and "0 commentaire" in html and ">Partager<" in html and "J’aime" in html
    live = await browser.text("/live")
    assert "En direct du territoire" in live and ">Filtrer<" in live and "Autour de moi" in live
    home = await browser.text("/")
    assert "Publier sur le live" in home and "Votre fil d’accueil" in home and "Tout le live" in home
    assert "Votre fil d’accueil" in await browser.text("/home")
    assert "Commentaires" in await browser.text(f"/@kaz/posts/{post.id}")


async def test_hostile_remote_post_is_rendered_harmless(app, settings):
    """A remote Note stored by the federation path (sanitiser included) shows on a wall without any script."""
    db = app_db(app)
    marie = await make_person(db, settings, "marie", locale="en")
    kaz = await make_element(db, settings, "organization", "kaz", admin=marie)
    local = await write(app, settings, marie, kaz, "Question ouverte")
    bob = await remote_actor(db, "bob", "evil.example")
    await link(app, marie, kaz, "follower")  # someone here follows kaz: posts addressed to it are kept
    hostile = (
        '<p>Salut <script>alert("x")</script><img src="x" onerror="alert(1)">'
        '<a href="javascript:alert(2)">clic</a> <a href="https://ok.example/" onclick="alert(3)">ok</a>'
        '<iframe src="https://evil.example/"></iframe><svg onload="alert(4)"></svg>'
        '<span style="background:url(javascript:alert(5))">stylé</span></p>'
    )
    async with db.transaction() as s:
        sender = await s.get(Actor, bob.id)
        wall_note = await notes_in.receive_note(
            s,
            sender,
            {
                "id": "https://evil.example/notes/1",
                "type": "Note",
                "attributedTo": bob.ap_id,
                "audience": kaz.ap_id,
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "content": hostile,
                "summary": '<b onmouseover="alert(6)">CW</b>',
                "published": "2026-01-01T10:00:00Z",
            },
        )
        reply = await notes_in.receive_note(
            s,
            sender,
            {
                "id": "https://evil.example/notes/2",
                "type": "Note",
                "attributedTo": bob.ap_id,
                "inReplyTo": local.ap_id,
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "content": hostile,
            },
        )
        on_own_wall = await notes_in.receive_note(  # mentions Marie: kept on Bob's own (remote) wall
            s,
            sender,
            {
                "id": "https://evil.example/notes/3",
                "type": "Note",
                "attributedTo": bob.ap_id,
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "tag": [{"type": "Mention", "href": marie.ap_id, "name": "@marie"}],
                "content": hostile,
            },
        )
    assert wall_note.wall_id == kaz.id and reply.root_id == local.id and on_own_wall.wall_id == bob.id
    viewer = Browser(app)
    await viewer.login(marie)
    pages = {"/@kaz/wall": wall_note.id, f"/@kaz/posts/{wall_note.id}": wall_note.id}
    pages[f"/@kaz/posts/{local.id}"] = reply.id  # the remote reply, as a comment
    pages[f"/@bob@evil.example/posts/{on_own_wall.id}"] = on_own_wall.id  # a remote wall's post page
    for path, post_id in pages.items():
        for browser in (viewer, Browser(app)):
            shown = card(await browser.text(path), post_id).lower()
            assert "salut" in shown and "clic" in shown and "https://ok.example/" in shown, path
            for bad in (
                "<script",
                "onerror",
                "javascript:",
                "onclick",
                "onload",
                "onmouseover",
                "<iframe",
                "style=",
            ):
                assert bad not in shown, (path, bad)

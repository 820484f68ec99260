"""Posting, commenting, reacting, sharing, editing and deleting from the web pages (real sessions, CSRF,
database and services)."""

from __future__ import annotations

import re

from sqlalchemy import select

from coserver.models import Actor, Post, Reaction, Share
from coserver.services.elements import add_link
from tests.factories import app_db, make_element, make_person
from tests.web.helpers import Browser


def card(html: str, post_id: int) -> str:
    """The HTML of one post card."""
    start = html.index(f'id="post-{post_id}"')
    return html[start : html.index("</article>", start)]


async def posts(app, **where) -> list[Post]:
    async with app_db(app).session() as s:
        stmt = select(Post).order_by(Post.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(Post, key) == value)
        return list(await s.scalars(stmt))


async def community(app, settings):
    """Marie admin of Kaz, Paul a plain member, Zoé a stranger."""
    db = app_db(app)
    marie = await make_person(db, settings, "marie", name="Marie Payet", locale="en")
    paul = await make_person(db, settings, "paul", name="Paul Hoarau", locale="en")
    zoe = await make_person(db, settings, "zoe", name="Zoé Grondin", locale="en")
    kaz = await make_element(
        db, settings, "organization", "kaz", name="Kaz Compost", admin=marie, lat=-21.34, lon=55.48
    )
    async with db.transaction() as s:
        await add_link(s, await s.get(Actor, paul.id), await s.get(Actor, kaz.id), "member")
    return marie, paul, zoe, kaz


async def test_person_posts_on_own_wall_and_it_reaches_the_live(app, settings):
    db = app_db(app)
    lina = await make_person(db, settings, "lina", name="Lina", locale="en")
    browser = Browser(app)
    await browser.login(lina)
    wall = await browser.text("/@lina/wall")
    assert 'data-testid="post-form"' in wall and 'data-testid="post-scope"' in wall
    assert "Only you can read it" in wall  # the private scope explained for one's own wall
    assert 'data-testid="post-as-element"' not in wall  # nobody to post as on one's own wall
    response = await browser.post("/@lina/wall", {"text": "Bonjour la Réunion #kabar", "scope": "public"})
    assert response.status_code == 303
    [post] = await posts(app)
    assert response.headers["Location"] == f"/@lina/wall#post-{post.id}"
    assert post.author_id == lina.id and post.wall_id == lina.id and post.scope == "public"
    assert "Bonjour la Réunion" in card(await browser.text("/@lina/wall"), post.id)
    assert "Bonjour la Réunion" in await Browser(app).text("/live")
    # the "post on the live" box of the home page posts publicly on one's own wall and goes to the live
    home = await browser.text("/")
    assert 'data-testid="home-timeline-link"' in home and 'name="scope" value="public"' in home
    response = await browser.post(
        "/@lina/wall", {"text": "Premier message", "scope": "public", "next": "/live"}
    )
    assert response.headers["Location"].startswith("/live#post-")
    assert "Premier message" in await Browser(app).text("/live")


async def test_member_posts_on_an_organization_wall_admin_posts_as_it_stranger_refused(app, settings):
    marie, paul, zoe, _kaz = await community(app, settings)
    member = Browser(app)
    await member.login(paul)
    page = await member.text("/@kaz/wall")
    assert 'data-testid="post-form"' in page and "Write on the wall of Kaz Compost" in page
    assert "Only the members of Kaz Compost can read it" in page
    assert 'data-testid="post-as-element"' not in page  # a plain member cannot speak for Kaz
    assert (await member.post("/@kaz/wall", {"text": "Paul ici", "scope": "public"})).status_code == 303
    refused = await member.post("/@kaz/wall", {"text": "Au nom de Kaz", "as_element": "1"})
    assert refused.status_code == 400
    assert "only an admin posts in the element" in await refused.get_data(as_text=True)

    admin = Browser(app)
    await admin.login(marie)
    assert 'data-testid="post-as-element"' in await admin.text("/@kaz/wall")
    response = await admin.post(
        "/@kaz/wall", {"text": "Communiqué de Kaz", "scope": "public", "as_element": "1"}
    )
    assert response.status_code == 303
    as_kaz = (await posts(app, as_element=True))[0]
    html = card(await Browser(app).text("/@kaz/wall"), as_kaz.id)
    assert 'href="/@kaz"' in html and "Marie Payet" not in html  # signed by the organization
    assert "Marie Payet" in card(await admin.text("/@kaz/wall"), as_kaz.id)  # admins see who wrote it

    stranger = Browser(app)
    await stranger.login(zoe)
    assert 'data-testid="post-form"' not in await stranger.text("/@kaz/wall")
    response = await stranger.post("/@kaz/wall", {"text": "Intrus", "scope": "public"})
    assert response.status_code == 400
    assert "you may not post on this wall" in await response.get_data(as_text=True)
    assert [p.source for p in await posts(app)] == ["Paul ici", "Communiqué de Kaz"]


async def test_empty_post_shows_the_error_next_to_the_field(app, settings):
    lina = await make_person(app_db(app), settings, "lina", locale="fr")
    browser = Browser(app, lang="fr")
    await browser.login(lina)
    response = await browser.post("/@lina/wall", {"text": "   ", "scope": "restricted"})
    html = await response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="text-error"' in html and "une publication a besoin de texte" in html
    assert re.search(r'value="restricted"[^>]*checked', html)  # the chosen scope is kept
    assert await posts(app) == []


async def test_anonymous_actions_go_to_the_login_page(app, settings):
    _marie, *_ = await community(app, settings)
    browser = Browser(app)
    response = await browser.post("/@kaz/wall", {"text": "Anonyme"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    assert (await browser.post("/posts/1/react", {"emoji": ""})).status_code == 302
    assert await posts(app) == []


async def _publish(browser: Browser, wall: str, text: str, scope: str = "public") -> int:
    response = await browser.post(f"/@{wall}/wall", {"text": text, "scope": scope})
    assert response.status_code == 303, await response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("#post-", 1)[1])


async def test_comment_react_and_share(app, settings):
    marie, _paul, zoe, kaz = await community(app, settings)
    admin, reader = Browser(app), Browser(app)
    await admin.login(marie)
    await reader.login(zoe)
    post_id = await _publish(admin, "kaz", "Atelier samedi")
    page = await reader.text(f"/@kaz/posts/{post_id}")
    assert 'data-testid="comment-form"' in page and 'data-testid="share-button"' in page

    response = await reader.post(
        f"/posts/{post_id}/comment", {"text": "J'y serai !", "next": f"/@kaz/posts/{post_id}"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/@kaz/posts/{post_id}#post-{post_id}"
    [comment] = await posts(app, in_reply_to_id=post_id)
    assert comment.author_id == zoe.id and comment.wall_id == kaz.id and comment.scope == "public"
    page = await Browser(app).text(f"/@kaz/posts/{post_id}")
    comments = page[page.index('id="comments"') :]
    assert "y serai !" in comments and "1 comment" in card(page, post_id)
    assert "y serai" not in await Browser(app).text("/@kaz/wall")  # comments hang under their post
    # a comment's own page is its thread
    response = await Browser(app).get(f"/@kaz/posts/{comment.id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/@kaz/posts/{post_id}#post-{comment.id}"

    assert (await reader.post(f"/posts/{post_id}/react", {"emoji": ""})).status_code == 303
    assert (await reader.post(f"/posts/{post_id}/react", {"emoji": "🎉"})).status_code == 303
    assert (await reader.post(f"/posts/{post_id}/react", {"emoji": "🎉"})).status_code == 303  # idempotent
    assert (await admin.post(f"/posts/{post_id}/react", {"emoji": "🎉"})).status_code == 303
    html = card(await reader.text(f"/@kaz/posts/{post_id}"), post_id)
    assert re.search(r'data-emoji="like" aria-pressed="true"', html)
    assert re.search(r'data-emoji="🎉" aria-pressed="true"[^>]*>.*?<span class="count">2</span>', html, re.S)
    assert "3 reactions" in html

    assert (await reader.post(f"/posts/{post_id}/share", {})).status_code == 303
    html = card(await reader.text(f"/@kaz/posts/{post_id}"), post_id)
    assert "1 share" in html and ">Shared<" in html
    async with app_db(app).session() as s:
        assert len(list(await s.scalars(select(Reaction).where(Reaction.post_id == post_id)))) == 3
        assert len(list(await s.scalars(select(Share).where(Share.post_id == post_id)))) == 1


async def test_restricted_posts_cannot_be_shared(app, settings):
    marie, _paul, _zoe, _kaz = await community(app, settings)
    admin = Browser(app)
    await admin.login(marie)
    post_id = await _publish(admin, "kaz", "Pour les membres et abonnés", scope="restricted")
    assert 'data-testid="share-button"' not in card(await admin.text("/@kaz/wall"), post_id)
    response = await admin.post(f"/posts/{post_id}/share", {"next": "/@kaz/wall"})
    assert response.status_code == 303
    assert "only public posts can be shared" in await admin.text("/@kaz/wall")  # flashed refusal
    async with app_db(app).session() as s:
        assert list(await s.scalars(select(Share))) == []


async def test_edit_by_author_and_admin_only(app, settings):
    marie, paul, zoe, _kaz = await community(app, settings)
    author, admin, other = Browser(app), Browser(app), Browser(app)
    await author.login(paul)
    await admin.login(marie)
    await other.login(zoe)
    post_id = await _publish(author, "kaz", "Texte avec une faut")
    assert 'data-testid="edit-post"' in card(await author.text("/@kaz/wall"), post_id)
    assert 'data-testid="edit-post"' in card(await admin.text("/@kaz/wall"), post_id)  # admin of the wall
    assert 'data-testid="edit-post"' not in card(await other.text("/@kaz/wall"), post_id)
    assert (await other.get(f"/posts/{post_id}/edit")).status_code == 403
    assert (await other.post(f"/posts/{post_id}/edit", {"text": "Piraté"})).status_code == 403

    form = await author.text(f"/posts/{post_id}/edit")
    assert "Texte avec une faut</textarea>" in form
    response = await author.post(f"/posts/{post_id}/edit", {"text": "Texte sans faute #corrigé"})
    assert response.status_code == 303
    html = card(await Browser(app).text(f"/@kaz/posts/{post_id}"), post_id)
    assert "Texte sans faute" in html and "faut<" not in html and 'class="edited"' in html
    assert (await admin.post(f"/posts/{post_id}/edit", {"text": "Modéré"})).status_code == 303
    assert (await author.post(f"/posts/{post_id}/edit", {"text": ""})).status_code == 400
    assert [p.source for p in await posts(app)] == ["Modéré"]


async def test_delete_removes_the_post_everywhere(app, settings):
    _marie, paul, zoe, _kaz = await community(app, settings)
    author, other = Browser(app), Browser(app)
    await author.login(paul)
    await other.login(zoe)
    post_id = await _publish(author, "kaz", "Bientôt supprimé #adieu")
    assert "Bientôt supprimé" in await Browser(app).text("/live")
    assert (await other.post(f"/posts/{post_id}/delete", {})).status_code == 303  # refused: flashed
    assert "Bientôt supprimé" in await Browser(app).text("/@kaz/wall")
    response = await author.post(f"/posts/{post_id}/delete", {"next": f"/@kaz/posts/{post_id}"})
    assert response.status_code == 303 and response.headers["Location"] == "/@kaz/wall"
    for path in ("/@kaz/wall", "/live", "/tags/adieu", "/"):
        assert "Bientôt supprimé" not in await Browser(app).text(path), path
    assert "Bientôt supprimé" not in await author.text("/home")
    assert (await Browser(app).get(f"/@kaz/posts/{post_id}")).status_code == 404
    tombstone = await app.test_client().get(
        f"/posts/{post_id}", headers={"Accept": "application/activity+json"}
    )
    assert tombstone.status_code == 410
    assert (await author.post(f"/posts/{post_id}/delete", {})).status_code == 404

"""A hostile remote post in Chromium: a Create(Note) full of script vectors, from a remote actor a local
person follows, delivered signed to the served node's shared inbox and processed by the federation handlers
(the real inbound path, sanitiser included), then shown on the follower's home timeline, on the remote
author's wall and on its post page. No script runs (a ``window.__pwned`` trap), no dialog opens, nothing is
fetched from another host, and the console stays clean (a CSP violation would be a console error)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from coserver.models import Actor, Post
from coserver.services.elements import add_link
from tests.browser.conftest import shot
from tests.browser.helpers import log_in
from tests.factories import app_db, make_element, make_person
from tests.federation.helpers import process_all, remote_actor, signed

pytestmark = pytest.mark.browser

AS = "https://www.w3.org/ns/activitystreams"
PWN = "window.__pwned=(window.__pwned||0)+1"
HOSTILE = (
    f"<p>Kabar ce soir <script>{PWN}</script>"
    f'<img src="x" onerror="{PWN}"> <img src="javascript:{PWN}">'
    f'<a href="javascript:{PWN}" id="evil-link">clic</a> '
    f'<a href="https://ok.example/" onclick="{PWN}" onmouseover="{PWN}">ok</a>'
    f'<svg onload="{PWN}"><script>{PWN}</script></svg>'
    f'<style>body {{ display: none }} * {{ background: url("javascript:{PWN}") }}</style>'
    f'<iframe src="javascript:{PWN}"></iframe><iframe srcdoc="<script>parent.{PWN}</script>"></iframe>'
    f'<object data="javascript:{PWN}"></object><embed src="javascript:{PWN}">'
    f'<math><mtext><table><mglyph><style><img src=x onerror="{PWN}"></style></mglyph></table></mtext></math>'
    f'<form action="javascript:{PWN}"><button id="evil-button">envoyer</button></form>'
    f'<meta http-equiv="refresh" content="0;url=javascript:{PWN}">'
    f'<span style="position:fixed;top:0;left:0;width:100%;height:100%" onfocus="{PWN}" tabindex="0"'
    f' autofocus>stylé</span><details open ontoggle="{PWN}"><summary>plus</summary></details></p>'
)
TRAP = """
window.__pwned = 0;
window.alert = window.confirm = window.prompt = () => { window.__pwned = (window.__pwned || 0) + 100; };
"""


async def deliver(site, actor, activity) -> None:
    """POST ``activity`` signed by ``actor`` to the served node's shared inbox, then run the handlers."""
    host = site.base.removeprefix("http://")
    body, headers = signed("/inbox", activity, key_id=actor.key_id, host=host)
    async with httpx.AsyncClient() as client:
        response = await client.post(site.url("/inbox"), content=body, headers=headers)
    assert response.status_code == 202, response.text
    db = app_db(site.app)
    assert await process_all(db, site.settings) == [("Create", "done")]


async def test_hostile_remote_post_runs_no_script_in_the_browser(page, site):
    db = app_db(site.app)
    marie = await make_person(db, site.settings, "marie", locale="en")
    bob = await remote_actor(db, "bob", "evil.example")
    async with db.transaction() as s:  # Marie follows Bob: his public posts are kept here
        await add_link(s, await s.get(Actor, marie.id), await s.get(Actor, bob.id), "follower")
    kaz = await make_element(db, site.settings, "organization", "kaz", admin=marie, name="Kaz Kréol")
    async with db.transaction() as s:  # and Kaz's wall has a local follower: posts addressed to it are kept
        await add_link(s, await s.get(Actor, marie.id), await s.get(Actor, kaz.id), "follower")
    posts = {}
    for number, audience in ((1, None), (2, kaz.ap_id)):
        note_id = f"https://evil.example/users/bob/notes/{number}"
        note = {
            "id": note_id,
            "type": "Note",
            "attributedTo": bob.ap_id,
            "to": [f"{AS}#Public"],
            "cc": [bob.followers_url],
            "content": HOSTILE,
            "summary": f'<b onmouseover="{PWN}">CW</b>',
            "published": f"2026-01-0{number}T10:00:00Z",
        }
        if audience:
            note["audience"] = audience
        activity = {"@context": AS, "id": note_id + "/activity", "type": "Create", "actor": bob.ap_id}
        await deliver(site, bob, {**activity, "to": note["to"], "object": note})
        async with db.session() as s:
            posts[number] = await s.scalar(select(Post).where(Post.ap_id == note_id))
    assert posts[1].wall_id == bob.id and posts[2].wall_id == kaz.id

    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    await page.add_init_script(TRAP)
    await log_in(page, site, "marie")
    for path, post, name in (
        ("/home", posts[1], "home"),
        (f"/@bob@evil.example/posts/{posts[1].id}", posts[1], "remote-post-page"),
        ("/@kaz/wall", posts[2], "local-wall"),
        (f"/@kaz/posts/{posts[2].id}", posts[2], "wall-post-page"),
    ):
        response = await page.goto(site.url(path))
        assert response.status == 200, path
        card = page.locator(f"#post-{post.id}")
        assert await card.count() == 1, path
        warning = card.locator("details.content-warning > summary")
        assert (await warning.inner_text()).strip() == "CW"  # the summary, as plain text
        await warning.click()  # open the content warning
        text = await card.inner_text()
        assert "Kabar ce soir" in text and "clic" in text and "ok" in text, path
        # interact with what is left: hover and click the links, focus what can be focused
        await card.locator("a", has_text="ok").hover()
        if await page.locator("#evil-link").count():
            assert not (await page.get_attribute("#evil-link", "href") or "").lower().startswith("javascript")
        assert await page.locator("#evil-button, #evil-link[href^='javascript' i]").count() == 0
        html = (await card.locator(".content").inner_html()).lower()
        for bad in (
            "<script",
            "onerror",
            "javascript:",
            "onclick",
            "onload",
            "onmouseover",
            "<iframe",
            "<style",
            "<svg",
            "<object",
            "<embed",
            "<form",
            "<meta",
            "style=",
            "ontoggle",
            "srcdoc",
        ):
            assert bad not in html, (path, bad)
        assert await page.is_visible("body")  # the <style> did not hide the page
        await page.wait_for_timeout(300)  # give delayed handlers a chance
        assert await page.evaluate("() => window.__pwned") == 0, path
        assert all(
            await page.evaluate(
                "() => [...document.scripts].map(s => s.src !== '' || s.type === 'application/json')"
            )
        ), path
        await shot(page, name)
    assert dialogs == []

"""Account settings over HTTP: password change, profile edit, e-mail change, and account deletion
(deleted outright or anonymised, federated as Delete or Update)."""

from __future__ import annotations

import orjson
from sqlalchemy import func, select

from coserver.models import Account, Actor, ApiToken, Delivery, Link, Post
from coserver.services.accounts import verify_password
from coserver.services.elements import add_link
from coserver.services.posting import post_on_wall
from coserver.services.tokens import create_token
from tests.factories import app_db, make_element, make_person
from tests.federation.helpers import remote_actor
from tests.web.account_helpers import _account, _sessions, _signup_form
from tests.web.helpers import Browser


async def test_password_change_needs_the_current_one_and_closes_other_sessions(app, settings):
    person = await make_person(app_db(app), settings, "lina")
    account = await _account(app, "lina")
    browser, other = Browser(app, lang="fr"), Browser(app)
    await browser.login(person)
    await other.login(person)
    form = {"current_password": "nope-nope", "password": "new-secret-1", "password_confirm": "new-secret-1"}
    response = await browser.post("/settings/password", form)
    body = await response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="current_password-error"' in body and "pas le bon" in body
    form["current_password"] = "password-123"
    response = await browser.post("/settings/password", form)
    assert response.status_code == 303
    assert "Votre mot de passe est changé" in await browser.text("/settings/password")
    assert ">Log in<" in await other.text("/")
    assert await _sessions(app, account.id) == 1
    assert verify_password((await _account(app, "lina")).password_hash, "new-secret-1")


async def test_profile_edit_saves_fields_place_language_and_visibility(app, settings):
    person = await make_person(app_db(app), settings, "lina")
    browser = Browser(app)
    await browser.login(person)
    body = await browser.text("/settings/profile")
    assert 'data-testid="vis-email"' in body and '<option value="hidden" selected>' in body
    form = {
        "name": "Lina <b>K</b>",
        "short_description": "Gardener",
        "description": "I grow #tomatoes.\n\nSee https://lina.example",
        "tags": "Jardin, #compost",
        "urls": "https://lina.example\nhttps://blog.lina.example",
        "contact_email": "hello@lina.example",
        "phone": "+262 692 00 00 00",
        "street": "1 rue de Paris",
        "postal_code": "97400",
        "locality": "Saint-Denis",
        "country": "re",
        "lat": "-20,8821",
        "lon": "55.4504",
        "locale": "fr",
        "vis_email": "linked",
        "vis_place": "hidden",
        "vis_tags": "public",
    }
    response = await browser.post("/settings/profile", form)
    assert response.status_code == 303, await response.get_data(as_text=True)
    body = await browser.text("/settings/profile")
    assert "Votre profil est enregistré." in body and 'lang="fr"' in body
    async with app_db(app).session() as s:
        saved = await s.get(Actor, person.id)
        account = await s.scalar(select(Account).where(Account.person_id == person.id))
    assert saved.name == "Lina K" and saved.tags == ["jardin", "compost"]
    assert 'href="https://lina.example"' in saved.description_html and "<script" not in saved.description_html
    assert saved.contact == {"email": "hello@lina.example", "phone": "+262 692 00 00 00"}
    assert [u["url"] for u in saved.urls] == ["https://lina.example", "https://blog.lina.example"]
    assert saved.field_visibility == {"email": "linked", "place": "hidden", "tags": "public"} | {
        k: v for k, v in saved.field_visibility.items() if k not in {"email", "place", "tags"}
    }
    assert account.locale == "fr"
    assert 'value="-20.882100"' in body and 'value="RE"' in body  # the place is shown back


async def test_profile_errors_are_shown_next_to_their_field(app, settings):
    person = await make_person(app_db(app), settings, "lina")
    browser = Browser(app, lang="fr")
    await browser.login(person)
    response = await browser.post(
        "/settings/profile", {"name": "Lina", "lat": "north", "lon": "", "urls": "lina.example"}
    )
    body = await response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="lat-error"' in body and "Indiquez un nombre" in body
    assert 'id="urls-error"' in body and "Chaque lien commence par https://" in body
    response = await browser.post("/settings/profile", {"name": "  ", "lat": "95", "lon": "10"})
    body = await response.get_data(as_text=True)
    assert response.status_code == 400 and ('id="name-error"' in body or 'id="lat-error"' in body)


async def test_settings_need_a_login(app):
    for path in ("/settings/profile", "/settings/password", "/settings/account"):
        response = await Browser(app).get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


async def test_account_email_can_be_changed_and_must_be_unique(app, settings):
    await make_person(app_db(app), settings, "other", email="taken@example.org")
    person = await make_person(app_db(app), settings, "lina")
    browser = Browser(app)
    await browser.login(person)
    response = await browser.post("/settings/account", {"action": "email", "email": "Taken@example.org"})
    assert response.status_code == 400 and 'id="email-error"' in await response.get_data(as_text=True)
    response = await browser.post("/settings/account", {"action": "email", "email": "lina@example.org"})
    assert response.status_code == 303
    assert (await _account(app, "lina")).email == "lina@example.org"


async def _follow_from_remote(app, person: Actor) -> None:
    bob = await remote_actor(app_db(app), "bob", "one.example")
    async with app_db(app).transaction() as s:
        await add_link(s, await s.get(Actor, bob.id), await s.get(Actor, person.id), "follower")


async def _deliveries(app, person: Actor) -> list[dict]:
    async with app_db(app).session() as s:
        rows = await s.scalars(select(Delivery).where(Delivery.actor_id == person.id).order_by(Delivery.id))
        return [orjson.loads(d.body) for d in rows]


async def test_deleting_an_account_without_activity_deletes_it_and_federates_delete(app, settings):
    person = await make_person(app_db(app), settings, "lina", email="lina@example.org")
    await _follow_from_remote(app, person)
    browser = Browser(app, lang="fr")
    await browser.login(person)
    body = await browser.text("/settings/account")
    assert 'id="delete-delete"' in body
    response = await browser.post(
        "/settings/account", {"action": "delete", "password": "wrong-one", "confirm": "yes"}
    )
    assert response.status_code == 400 and "le mot de passe n&#39;est pas le bon" in await response.get_data(
        as_text=True
    )
    response = await browser.post("/settings/account", {"action": "delete", "password": "password-123"})
    assert response.status_code == 400 and 'id="confirm-error"' in await response.get_data(as_text=True)
    response = await browser.post(
        "/settings/account", {"action": "delete", "password": "password-123", "confirm": "yes"}
    )
    assert response.status_code == 303
    body = await browser.text("/")
    assert "Votre compte et votre profil sont supprimés." in body and ">Se connecter<" in body
    assert await _account(app, "lina") is None
    async with app_db(app).session() as s:
        actor = await s.get(Actor, person.id)
        links = await s.scalar(select(func.count()).select_from(Link).where(Link.object_id == person.id))
    assert actor.deleted_at is not None and actor.name == "" and links == 0
    activities = await _deliveries(app, person)
    assert [a["type"] for a in activities] == ["Delete"] and activities[0]["object"] == person.ap_id
    response = await app.test_client().get("/actors/lina", headers={"Accept": "application/activity+json"})
    assert response.status_code == 404
    # The username is never given to someone else.
    response = await Browser(app).post("/signup", _signup_form(username="lina"))
    assert response.status_code == 400


async def test_deleting_an_account_with_activity_anonymises_it_and_federates_update(app, settings):
    person = await make_person(app_db(app), settings, "lina", email="lina@example.org", name="Lina K")
    org = await make_element(app_db(app), settings, "organization", "kaz", admin=person)
    async with app_db(app).transaction() as s:
        author = await s.get(Actor, person.id)
        await post_on_wall(s, settings, author, author, "Hello #territory")
        account = await s.scalar(select(Account).where(Account.person_id == person.id))
        await create_token(s, account, "phone")
        author.contact = {"email": "hello@lina.example"}
        author.tags = ["jardin"]
    await _follow_from_remote(app, person)
    browser, other = Browser(app), Browser(app)
    await browser.login(person)
    await other.login(person)
    assert 'id="delete-anonymise"' in await browser.text("/settings/account")
    response = await browser.post(
        "/settings/account", {"action": "delete", "password": "password-123", "confirm": "yes"}
    )
    assert response.status_code == 303
    assert "signed “Deleted account”" in await browser.text("/")
    account = await _account(app, "lina")
    assert account is not None and not account.is_active and account.email is None
    assert not verify_password(account.password_hash, "password-123")
    async with app_db(app).session() as s:
        actor = await s.get(Actor, person.id)
        posts = await s.scalar(select(func.count()).select_from(Post).where(Post.author_id == person.id))
        tokens = await s.scalar(
            select(func.count()).select_from(ApiToken).where(ApiToken.account_id == account.id)
        )
        membership = await s.scalar(
            select(Link).where(Link.subject_id == person.id, Link.object_id == org.id)
        )
    assert actor.deleted_at is None and actor.name == "Deleted account"
    assert actor.contact == {} and actor.tags == [] and actor.description_html == ""
    assert posts == 1 and tokens == 0 and membership is not None  # threads and communities keep their author
    assert await _sessions(app, account.id) == 0 and ">Log in<" in await other.text("/")
    activities = await _deliveries(app, person)
    update_activity = activities[-1]
    assert update_activity["type"] == "Update" and update_activity["object"]["name"] == "Deleted account"
    response = await Browser(app).post("/login", {"login": "lina", "password": "password-123"})
    assert response.status_code == 400  # nobody logs in as the anonymised account

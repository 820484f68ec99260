"""Form validation in Chromium: errors next to their field, in the user's language, with aria-invalid and
aria-describedby; the sign-up form completed with the keyboard only (Tab, typing, Enter)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import shot
from tests.browser.helpers import PASSWORD, log_in
from tests.factories import app_db, make_person

pytestmark = pytest.mark.browser

MESSAGES = {
    "en-GB": {
        "taken": "this username is already taken",
        "short": "a password has at least 8 characters",
        "differ": "the two passwords differ",
        "name": "A name is required",
        "summary": "Please correct the fields marked below.",
        "lang": "en",
    },
    "fr-FR": {
        "taken": "ce nom d'utilisateur est déjà pris",
        "short": "un mot de passe a au moins 8 caractères",
        "differ": "les deux mots de passe sont différents",
        "name": "Un nom est requis",
        "summary": "Corrigez les champs signalés ci-dessous.",
        "lang": "fr",
    },
}


async def assert_field_error(page, name: str, message: str) -> None:
    """The error of field ``name`` says ``message``, sits in the field's box, is tied to the input, and the
    input can take the focus."""
    field = page.locator(f".field:has(#f-{name})")
    assert "has-error" in (await field.get_attribute("class"))
    error = field.locator(f"#{name}-error")
    assert await error.is_visible()
    assert (await error.inner_text()).strip().lower() == message.lower()
    control = page.locator(f"#f-{name}")
    assert await control.get_attribute("aria-invalid") == "true"
    assert await control.get_attribute("aria-describedby") == f"{name}-error"
    # the error is announced as the input's description
    description = await page.evaluate(
        """name => {
            const el = document.getElementById('f-' + name);
            return el.getAttribute('aria-describedby').split(' ')
                .map(id => document.getElementById(id).textContent.trim()).join(' ');
        }""",
        name,
    )
    assert description.lower() == message.lower()
    await control.focus()
    assert await page.evaluate("() => document.activeElement.id") == f"f-{name}"


@pytest.mark.parametrize("page_locale", ["en-GB", "fr-FR"])
async def test_sign_up_errors_next_to_the_fields_in_the_users_language(page, site, page_locale):
    words = MESSAGES[page_locale]
    await make_person(app_db(site.app), site.settings, "marie")
    await page.goto(site.url("/signup"))
    assert await page.get_attribute("html", "lang") == words["lang"]
    await page.fill("#f-username", "marie")
    await page.fill("#f-name", "Marie Hoarau")
    await page.fill("#f-password", "court")
    await page.fill("#f-password_confirm", "court")
    async with page.expect_navigation():
        await page.click("#signup-submit")
    assert page.url.endswith("/signup")
    await assert_field_error(page, "username", words["taken"])
    await assert_field_error(page, "password", words["short"])
    # the fields without a problem are not marked, and what was typed (but the password) is kept
    assert await page.get_attribute("#f-name", "aria-invalid") is None
    assert await page.input_value("#f-name") == "Marie Hoarau"
    assert await page.input_value("#f-username") == "marie"
    assert await page.input_value("#f-password") == ""
    await shot(page, "signup-errors")

    # a second try: another username, a long password typed differently twice
    await page.fill("#f-username", "marie_hoarau")
    await page.fill("#f-password", PASSWORD)
    await page.fill("#f-password_confirm", PASSWORD + "x")
    async with page.expect_navigation():
        await page.click("#signup-submit")
    await assert_field_error(page, "password_confirm", words["differ"])
    assert await page.get_attribute("#f-username", "aria-invalid") is None
    assert await page.locator("#username-error").count() == 0
    await shot(page, "signup-passwords-differ")


@pytest.mark.parametrize("page_locale", ["en-GB", "fr-FR"])
async def test_element_form_without_a_name_shows_the_error_next_to_it(page, site, page_locale):
    words = MESSAGES[page_locale]
    await make_person(app_db(site.app), site.settings, "paul", locale=words["lang"])
    await log_in(page, site, "paul")
    await page.goto(site.url("/new/organization"))
    await page.fill("#f-short_description", "Une association sans nom")
    await page.fill("#f-locality", "Saint-Pierre")
    async with page.expect_navigation():
        await page.click("#element-submit")
    assert page.url.endswith("/new/organization")
    assert await page.get_attribute("html", "lang") == words["lang"]
    assert (await page.inner_text("#form-has-errors")).strip() == words["summary"]
    await assert_field_error(page, "name", words["name"])
    assert await page.input_value("#f-short_description") == "Une association sans nom"
    assert await page.input_value("#f-locality") == "Saint-Pierre"
    await shot(page, "element-form-errors")


async def test_sign_up_with_the_keyboard_only(page, site):
    await page.goto(site.url("/signup"))
    # Tab from the top of the page to the first field
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement.id") == "f-username":
            break
    else:
        raise AssertionError("Tab never reaches the username field")
    outline = await page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused field shows no focus ring"
    typed = [
        ("f-username", "jean_keyboard"),
        ("f-name", "Jean Clavier"),
        ("f-email", "jean@example.re"),
        ("f-password", PASSWORD),
        ("f-password_confirm", PASSWORD),
    ]
    for index, (field_id, text) in enumerate(typed):
        assert await page.evaluate("() => document.activeElement.id") == field_id
        await page.keyboard.type(text)
        await page.keyboard.press("Tab")
        if index == 0:
            await shot(page, "keyboard-typing")
    # then the language menu of the form, then the submit button
    assert await page.evaluate("() => document.activeElement.id") == "f-locale"
    await page.keyboard.press("Tab")
    assert await page.evaluate("() => document.activeElement.id") == "signup-submit"
    await shot(page, "keyboard-on-submit")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url.endswith("/settings/profile")
    assert "Jean Clavier" in await page.locator(".flashes").inner_text()
    assert await page.locator("form[action='/logout']").count() == 1
    await shot(page, "keyboard-signed-up")

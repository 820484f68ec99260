"""The harness's own checks: an error page (a form answered with 400) is not a console error, but a broken
sub-resource or a CSP violation is."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

ADD_IMAGE = "() => { const i = new Image(); i.src = '/static/img/missing.png'; document.body.append(i); }"
ADD_SCRIPT = """() => {
    const s = document.createElement('script');
    s.textContent = 'window.x = 1';
    document.body.append(s);
}"""


async def test_an_error_page_is_not_a_console_error_but_a_broken_resource_is(page, site):
    response = await page.goto(site.url("/search?radius_km=-5"))  # a search with a bad parameter: 400
    assert response.status == 400
    problems = page.problems
    assert (response.url, 400) in problems.error_documents
    assert problems.console_errors and problems.real_console_errors() == []
    # a missing image is a console error
    await page.evaluate(ADD_IMAGE)
    await page.wait_for_function("() => document.images[document.images.length - 1].complete")
    await page.wait_for_timeout(200)
    real = problems.real_console_errors()
    assert len(real) == 1 and "status of 404" in real[0], problems.console_errors
    # an inline script is refused by the Content-Security-Policy, and that is a console error too
    await page.evaluate(ADD_SCRIPT)
    await page.wait_for_timeout(200)
    assert any("Content Security Policy" in text for text in problems.real_console_errors())
    assert await page.evaluate("() => window.x") is None
    problems.console_errors.clear()  # these failures are the test: don't fail it at teardown

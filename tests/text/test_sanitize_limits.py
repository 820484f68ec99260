"""Size and performance limits of :func:`coserver.text.sanitize.sanitize_html`: deep nesting, tag and
attribute floods, megabyte inputs in bounded time, and truncation that never breaks the markup."""

from __future__ import annotations

import time

import pytest

from coserver.text.sanitize import (
    MAX_DEPTH,
    sanitize_html,
)
from tests.text.sanitize_helpers import REL, assert_clean


@pytest.mark.parametrize(
    "source",
    [
        "<b><i><u>" * 5000 + "x",
        "<div>" * 10000 + "x",
        "<span>" * 10000 + "x" + "</span>" * 10000,
        '<a href="https://x.example/">' * 10000 + "x",
        "<blockquote>" * 10000 + "x",
        "<ul><li>" * 10000 + "x",
        "<table><tr><td>" * 5000 + "x",
        "<svg>" * 10000 + "x",
        "<math><mi>" * 5000 + "x",
        "<h1>" * 5000 + "x",
        "<span>" * 10000 + "</div>" * 10000,
    ],
    ids=[
        "b-i-u-5000",
        "div-10k",
        "span-10k",
        "a-10k",
        "blockquote-10k",
        "li-10k",
        "td-5000",
        "svg-10k",
        "math-5000",
        "h1-5000",
        "span-div-end",
    ],
)
def test_deep_nesting(source: str) -> None:
    out = sanitize_html(source)
    assert_clean(out)
    assert out.count("<b>") <= MAX_DEPTH
    assert out.count("<span>") <= MAX_DEPTH
    assert out.count("<blockquote>") <= MAX_DEPTH
    assert sanitize_html(out) is not None


def test_deep_nesting_keeps_text_and_drops_script_beyond_depth() -> None:
    out = sanitize_html(
        "<b>" * 500 + "deep<script>alert(1)</script><style>css</style><textarea>ta</textarea>"
    )
    assert "deep" in out
    assert "alert" not in out
    assert "css" not in out
    assert "ta" not in out


@pytest.mark.parametrize("inner", ["title", "style", "script"])
def test_foreign_raw_text_names_nest_bounded(inner: str) -> None:
    # Inside <svg>, <title>/<style>/<script> are ordinary (nestable) elements: still depth-limited.
    started = time.perf_counter()
    out = sanitize_html("<svg>" + f"<{inner}>" * 20_000 + "x")
    assert time.perf_counter() - started < 10
    assert out == ""


def test_tag_limit_still_drops_script_content() -> None:
    out = sanitize_html("<b></b>" * 30000 + "<script>alert(1)</script>end")
    assert "alert" not in out
    assert out.endswith("end")


def test_many_attributes() -> None:
    source = "<p " + " ".join(f"a{i}" for i in range(20000)) + ">x</p>" + "<p " + "a " * 100000 + ">y</p>"
    assert sanitize_html(source) == "<p>x</p><p>y</p>"


def test_one_megabyte_of_text_is_truncated_quickly() -> None:
    source = "lorem ipsum " * 90_000  # 1 080 000 characters
    started = time.perf_counter()
    out = sanitize_html(source)
    assert time.perf_counter() - started < 10
    assert len(out) <= 500_000
    assert out.startswith("lorem ipsum")


@pytest.mark.parametrize(
    "source",
    [
        "<" * 600_000,
        "&" * 600_000,
        "<b>x</b>" * 80_000,
        "<p>x" * 150_000,
        "<!--x-->" * 70_000,
        "".join(f'<p><b class="c{i}">x</p>' for i in range(20_000)),
        "<script>" * 100_000,
    ],
    ids=["lt", "amp", "dense-tags", "unclosed-p", "comments", "formatting-reconstruction", "script-starts"],
)
def test_hostile_megabyte_is_bounded(source: str) -> None:
    started = time.perf_counter()
    out = sanitize_html(source)
    assert time.perf_counter() - started < 20
    assert len(out) <= 5 * 500_000
    assert_clean(out)


def test_truncation_never_cuts_inside_a_tag() -> None:
    source = "a" * 99 + '<a href="https://x.example/">link</a>'
    assert sanitize_html(source, max_length=110) == "a" * 99
    assert sanitize_html(source, max_length=10_000).endswith(f'<a href="https://x.example/" {REL}>link</a>')


def test_truncation_never_cuts_inside_an_entity() -> None:
    assert sanitize_html("x" * 8 + "&amp;", max_length=11) == "x" * 8
    assert sanitize_html("x" * 8 + "&amp;", max_length=13) == "x" * 8 + "&amp;"


def test_truncation_closes_open_elements() -> None:
    assert sanitize_html("<p><b>" + "x" * 100, max_length=20) == "<p><b>" + "x" * 14 + "</b></p>"

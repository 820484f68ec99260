"""What :mod:`coserver.text.sanitize` keeps: Mastodon-shaped markup, the allowlist, safe hrefs, unsafe
characters, odd inputs and the parser fallback, and :func:`sanitize_plain`."""

from __future__ import annotations

import pytest

from coserver.text import sanitize as sanitize_module
from coserver.text.sanitize import (
    LINK_REL,
    safe_href,
    sanitize_html,
    sanitize_plain,
    strip_unsafe_chars,
)
from tests.text.sanitize_helpers import REL

MASTODON_POST = (
    '<p><span class="h-card" translate="no"><a href="https://m.example/@bob" class="u-url mention">'
    '@<span>bob</span></a></span> hello <a href="https://m.example/tags/v%C3%A9lo" class="mention hashtag" '
    'rel="tag">#<span>vélo</span></a> <a href="https://example.com/a/long/path" target="_blank" '
    'rel="nofollow noopener" translate="no"><span class="invisible">https://</span>'
    '<span class="ellipsis">example.com/a/long</span><span class="invisible">/path</span></a></p>'
    "<p>second<br>line</p>"
)


def test_mastodon_post_kept() -> None:
    assert sanitize_html(MASTODON_POST) == (
        '<p><span class="h-card" translate="no"><a href="https://m.example/@bob" class="u-url mention" '
        f'{REL}>@<span>bob</span></a></span> hello <a href="https://m.example/tags/v%C3%A9lo" '
        f'class="mention hashtag" rel="{LINK_REL} tag" target="_blank">#<span>vélo</span></a> '
        f'<a href="https://example.com/a/long/path" {REL} translate="no"><span class="invisible">https://</span>'
        '<span class="ellipsis">example.com/a/long</span><span class="invisible">/path</span></a></p>'
        "<p>second<br>line</p>"
    )


def test_all_allowed_elements_kept() -> None:
    source = (
        "<p>p</p><blockquote>q</blockquote><pre><code>c</code></pre><ul><li>u</li></ul><ol><li>o</li></ol>"
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><del>d</del><s>s</s><br>"
        "<ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby><span>sp</span>"
    )
    assert sanitize_html(source) == source


def test_odd_inputs_never_raise() -> None:
    assert sanitize_html("") == ""
    assert sanitize_html("   \n ") == ""
    assert sanitize_html(None) == ""  # type: ignore[arg-type]
    assert sanitize_html(b"<b>x</b>") == "<b>x</b>"  # type: ignore[arg-type]
    assert sanitize_html("<b>x</b>", max_length=0) == ""
    assert sanitize_html("\ud800\udfff\udc00<\x00>") is not None


def test_parser_failure_falls_back_to_escaped_text(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(text: str) -> None:
        raise RecursionError("boom")

    monkeypatch.setattr(sanitize_module, "_tokens", boom)
    out = sanitize_html('<p onclick="x">a & b</p><script>alert(1)</script>')
    assert "<" not in out.replace("&lt;", "")
    assert out.startswith("a &amp; b")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://ok.example/x", "https://ok.example/x"),
        (" https://ok.example/x\n", "https://ok.example/x"),
        ("HTTPS://OK.example", "HTTPS://OK.example"),
        ("java\tscript:alert(1)", None),
        ("javascript:alert(1)", None),
        ("/relative", None),
        ("//evil.example", None),
        ("https:evil.example", None),
        ("mailto:a@b.example", None),
        ("xmpp:a@b.example", "xmpp:a@b.example"),
        ("https://[::1", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_href(value: str | None, expected: str | None) -> None:
    assert safe_href(value) == expected


def test_strip_unsafe_chars() -> None:
    assert strip_unsafe_chars("a\x00b\tc\nd\r\ne\u202ef\u200dg\x9b") == "ab\tc\nd\ne" + "f\u200dg"


PLAIN_CASES = [
    ("tags-stripped", "  Bob <b>Smith</b>  ", 50, "Bob Smith"),
    ("script-content-dropped", "Bob<script>alert(1)</script>", 50, "Bob"),
    ("entities-decoded", "Tom &amp; Jerry &lt;3", 50, "Tom & Jerry <3"),
    ("blocks-separated", "<p>Hello</p><p>World</p>", 50, "Hello World"),
    ("whitespace-collapsed", "a\n\n\tb   c", 50, "a b c"),
    ("controls-removed", "a\x00b\x1bc\x7f", 50, "abc"),
    ("bidi-removed", "\u202egnp.exe", 50, "gnp.exe"),
    ("truncated", "abcdefghij", 5, "abcde"),
    ("truncated-then-trimmed", "abcd efgh", 5, "abcd"),
    ("truncation-keeps-combining-mark", "ab" + "e\u0301" * 3, 5, "abe\u0301"),
    ("truncation-keeps-zwj-sequence", "ab👩\u200d💻", 3, "ab"),
    ("zero-length", "abc", 0, ""),
    ("plain-lt-text", "a < b", 50, "a < b"),
]


@pytest.mark.parametrize(
    ("source", "max_length", "expected"), [c[1:] for c in PLAIN_CASES], ids=[c[0] for c in PLAIN_CASES]
)
def test_sanitize_plain(source: str, max_length: int, expected: str) -> None:
    assert sanitize_plain(source, max_length) == expected


def test_sanitize_plain_huge_input() -> None:
    assert sanitize_plain("<b>x</b>" * 200_000, 100) == "x" * 100
    assert sanitize_plain("y" * 2_000_000, 10) == "y" * 10

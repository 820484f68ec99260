"""Tests for :mod:`coserver.text.render`: plain text typed by local users rendered to the HTML subset."""

from __future__ import annotations

import pytest

from coserver.text.render import RenderedText, render_description, render_text
from coserver.text.sanitize import LINK_REL, sanitize_html

REL = f'rel="{LINK_REL}" target="_blank"'
MENTIONS = {
    "@alice": "https://local.example/@alice",
    "@bob@remote.example": "https://remote.example/users/bob",
}


def tag_url(tag: str) -> str:
    return f"https://local.example/tags/{tag}"


def render(source: str, mentions: dict[str, str] | None = MENTIONS) -> RenderedText:
    return render_text(source, mentions=mentions, hashtag_url=tag_url)


def hashtag(name: str, typed: str | None = None) -> str:
    return (
        f'<a href="https://local.example/tags/{name}" class="mention hashtag" rel="{LINK_REL} tag" '
        f'target="_blank">#<span>{typed or name}</span></a>'
    )


def mention(url: str, user: str) -> str:
    return (
        f'<span class="h-card" translate="no"><a href="{url}" class="u-url mention" {REL}>'
        f"@<span>{user}</span></a></span>"
    )


def link(url: str, text: str | None = None) -> str:
    return f'<a href="{url}" {REL}>{text or url}</a>'


def test_result_type() -> None:
    result = render("hi")
    assert result == RenderedText(html="<p>hi</p>", hashtags=(), mentions=())
    with pytest.raises(AttributeError):
        result.html = "x"  # type: ignore[misc]


def test_empty() -> None:
    assert render("") == RenderedText("", (), ())
    assert render(" \n\n \t ") == RenderedText("", (), ())


def test_script_typed_by_user_is_escaped() -> None:
    result = render("<script>alert(1)</script> & <b>\"q\" 'a'</b>")
    assert result.html == ("<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;\"q\" 'a'&lt;/b&gt;</p>")


def test_paragraphs_and_line_breaks() -> None:
    assert render("a\nb\n\n\nc\n \t \nd\r\ne").html == "<p>a<br>b</p><p>c</p><p>d<br>e</p>"


def test_leading_and_trailing_blank_lines_ignored() -> None:
    assert render("\n\n  hello  \n\n").html == "<p>hello</p>"


def test_controls_and_bidi_overrides_removed() -> None:
    assert render("a\x00b\u202ec\x1bd").html == "<p>abcd</p>"


def test_hashtags() -> None:
    result = render("#vélo and #Vélo, #Fahrrad!")
    assert (
        result.html
        == f"<p>{hashtag('vélo')} and {hashtag('vélo', 'Vélo')}, {hashtag('fahrrad', 'Fahrrad')}!</p>"
    )
    assert result.hashtags == ("vélo", "fahrrad")


def test_hashtag_decomposed_accent_is_normalised() -> None:
    decomposed = "ve\u0301lo"
    result = render("#" + decomposed)
    assert result.hashtags == ("vélo",)
    assert result.html == f"<p>{hashtag('vélo', decomposed)}</p>"


@pytest.mark.parametrize(
    "source",
    ["#123", "a#b", "x/#tag", "=#tag", "(x)#tag", "# tag", "#", "#·tag", "#_123"],
    ids=[
        "digits-only",
        "after-word-char",
        "after-slash",
        "after-equals",
        "after-paren",
        "space",
        "alone",
        "joiner-first",
        "underscore-digits",
    ],
)
def test_not_hashtags(source: str) -> None:
    result = render(source)
    assert result.hashtags == ()
    assert "<a" not in result.html


@pytest.mark.parametrize(
    ("source", "tags"),
    [
        ("#c3po", ("c3po",)),
        ("#2024年", ("2024年",)),
        ("#日本語・テスト", ("日本語・テスト",)),
        ("#فارسی\u200cزبان", ("فارسی\u200cزبان",)),
        ("#हिन्दी", ("हिन्दी",)),
        ("#snake_case", ("snake_case",)),
        ("(#paren)", ("paren",)),
        ("#tag.", ("tag",)),
        ("#a #a #A", ("a",)),
    ],
)
def test_hashtag_names(source: str, tags: tuple[str, ...]) -> None:
    assert render(source).hashtags == tags


def test_zero_width_joiner_ends_a_hashtag() -> None:
    result = render("#foo\u200dbar")
    assert result.hashtags == ("foo",)
    assert result.html == f"<p>{hashtag('foo')}\u200dbar</p>"


def test_url_with_fragment_is_not_a_hashtag() -> None:
    result = render("see https://example.com/page#section and #tag")
    assert result.hashtags == ("tag",)
    assert result.html == f"<p>see {link('https://example.com/page#section')} and {hashtag('tag')}</p>"


def test_urls() -> None:
    result = render("(https://ex.example/a_(b)?x=1&y=2), http://plain.example. HTTPS://UP.example")
    assert result.html == (
        f"<p>({link('https://ex.example/a_(b)?x=1&amp;y=2')}), {link('http://plain.example')}. "
        f"{link('HTTPS://UP.example')}</p>"
    )


@pytest.mark.parametrize(
    "source",
    ["https://", "ftp://files.example/", "javascript:alert(1)", "xhttps://a.example", "https://[::1"],
)
def test_not_links(source: str) -> None:
    assert "<a" not in render(source).html


def test_mentions_resolved_and_unresolved() -> None:
    result = render("@alice @BOB@remote.example. @carol @dave@elsewhere.example bob@mail.example @alice")
    assert result.html == (
        f"<p>{mention('https://local.example/@alice', 'alice')} "
        f"{mention('https://remote.example/users/bob', 'BOB')}. @carol @dave@elsewhere.example "
        f"bob@mail.example {mention('https://local.example/@alice', 'alice')}</p>"
    )
    assert result.mentions == ("@alice", "@BOB@remote.example", "@carol", "@dave@elsewhere.example")


def test_mentions_without_mapping_are_found_but_not_linked() -> None:
    result = render("hi @alice", mentions=None)
    assert result.html == "<p>hi @alice</p>"
    assert result.mentions == ("@alice",)


def test_mention_keys_without_at_sign() -> None:
    result = render("@alice", mentions={"ALICE": "https://local.example/@alice"})
    assert result.html == f"<p>{mention('https://local.example/@alice', 'alice')}</p>"


def test_mention_with_unsafe_url_stays_text() -> None:
    assert render("@alice", mentions={"@alice": "javascript:alert(1)"}).html == "<p>@alice</p>"


def test_hashtag_url_must_be_absolute() -> None:
    with pytest.raises(ValueError):
        render_text("#tag", hashtag_url=lambda tag: f"/tags/{tag}")


def test_render_description() -> None:
    html = render_description("#tag @alice <b>x</b>\nhttps://ex.example/ok")
    assert html == f"<p>#tag @alice &lt;b&gt;x&lt;/b&gt;<br>{link('https://ex.example/ok')}</p>"


ROUND_TRIP = [
    "hello",
    "<script>alert(1)</script> & \"quotes\" 'single' <3 >_<",
    "#vélo #Fahrrad @alice @bob@remote.example @unknown",
    "para one\nline two\n\npara two\n\n\n  indented para",
    "https://ex.example/?q=a&b=\"c\"'d'<e>#frag (https://ex.example/x_(y)) #tag",
    "tabs\tand  double  spaces  \ntrailing  ",
    "emoji 👩\u200d💻 #foo\u200dbar #فارسی\u200cزبان a\u200eb",
    "&amp; &lt; &#x202e; literal entities",
    "\u202eoverride\x00nul\r\ncrlf",
    "@alice@ #tag# ##double @@at",
]


@pytest.mark.parametrize("source", ROUND_TRIP)
def test_rendered_html_survives_sanitizer(source: str) -> None:
    html = render(source).html
    assert sanitize_html(html) == html


@pytest.mark.parametrize("source", ROUND_TRIP)
def test_rendered_description_survives_sanitizer(source: str) -> None:
    html = render_description(source)
    assert sanitize_html(html) == html


def test_long_input_is_linear() -> None:
    source = (
        "#" * 50_000 + "@" * 50_000 + "a#1" * 20_000 + " @a" * 20_000 + " https://x.example/" + ")" * 50_000
    )
    result = render(source, mentions=None)
    assert result.hashtags == ()
    assert len(result.mentions) == 1
    assert '<a href="https://x.example/"' in result.html

"""Tests for :mod:`coserver.text.sanitize`: a hostile-content corpus, Mastodon-shaped content, limits."""

from __future__ import annotations

import time

import pytest

from coserver.text import sanitize as sanitize_module
from coserver.text.sanitize import (
    LINK_REL,
    MAX_DEPTH,
    safe_href,
    sanitize_html,
    sanitize_plain,
    strip_unsafe_chars,
)

REL = f'rel="{LINK_REL}" target="_blank"'

# Substrings that must never appear in any sanitised output (checked case-insensitively).
FORBIDDEN = (
    "<script",
    "</script",
    "<style",
    "<img",
    "<svg",
    "<math",
    "<iframe",
    "<object",
    "<embed",
    "<form",
    "<input",
    "<template",
    "<noscript",
    "<meta",
    "<base",
    "<link",
    "<!--",
    "javascript:",
    "vbscript:",
    "data:",
    "onerror",
    "onload",
    "onclick",
    "style=",
    "src=",
    "\x00",
    "\u202e",
)


def assert_clean(out: str) -> None:
    lowered = out.lower()
    for needle in FORBIDDEN:
        assert needle not in lowered, f"{needle!r} found in {out!r}"


# (id, input, exact expected output)
EXACT_CASES = [
    ("script", "<script>alert(1)</script>", ""),
    ("script-between-text", "a<script>alert(1)</script>b", "ab"),
    ("script-uppercase", "<SCRIPT SRC=//evil.example/x.js>alert(1)</SCRIPT>ok", "ok"),
    ("script-nul-in-name", "<scr\x00ipt>alert(1)</script>ok", "ok"),
    ("img-onerror", "<img src=x onerror=alert(1)>", ""),
    ("img-between-text", "a<img src=x onerror=alert(1)>b", "a b"),
    ("a-javascript", '<a href="javascript:alert(1)">x</a>', "x"),
    ("a-javascript-mixed-case", '<a href="JaVaScRiPt:alert(1)">x</a>', "x"),
    ("a-javascript-decimal-entity", '<a href="&#106;avascript:alert(1)">x</a>', "x"),
    ("a-javascript-hex-entities", '<a href="&#x6A;avascript&#x3A;alert(1)">x</a>', "x"),
    ("a-javascript-tab", '<a href="java\tscript:alert(1)">x</a>', "x"),
    ("a-javascript-tab-entity", '<a href="java&#x09;script:alert(1)">x</a>', "x"),
    ("a-javascript-newline", '<a href="java\nscript:alert(1)">x</a>', "x"),
    ("a-javascript-leading-space", '<a href="  javascript:alert(1)">x</a>', "x"),
    ("a-javascript-control-char", '<a href="\x01javascript:alert(1)">x</a>', "x"),
    ("a-javascript-inner-markup", '<a href="javascript:alert(1)"><b>bold</b> text</a>', "bold text"),
    ("a-data-html", '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">d</a>', "d"),
    ("a-data-plain", '<a href="data:,hello">d</a>', "d"),
    ("a-vbscript", '<a href="vbscript:msgbox(1)">v</a>', "v"),
    ("a-mailto", '<a href="mailto:bob@example.com">mail</a>', "mail"),
    ("a-relative", '<a href="/users/bob">rel</a>', "rel"),
    ("a-relative-dot", '<a href="../x">rel</a>', "rel"),
    ("a-protocol-relative", '<a href="//evil.example/">pr</a>', "pr"),
    ("a-fragment", '<a href="#top">frag</a>', "frag"),
    ("a-no-href", "<a name=x>anchor</a>", "anchor"),
    ("a-https-without-slashes", '<a href="https:evil.example">h</a>', "h"),
    ("a-http-without-host", '<a href="http://">h</a>', "h"),
    ("a-unknown-scheme", '<a href="ftp://files.example/">f</a>', "f"),
    ("svg-onload", "<svg onload=alert(1)>", ""),
    ("svg-content-dropped", '<svg><a href="javascript:x"><text>t</text></a></svg>ok', "ok"),
    ("style-content-dropped", "<style>body{display:none}</style>ok", "ok"),
    ("iframe", '<iframe src="https://evil.example/">fallback</iframe>ok', "ok"),
    ("iframe-srcdoc", '<iframe srcdoc="<script>alert(1)</script>"></iframe>', ""),
    ("object", '<object data="x.swf"><param name=a value=b>fallback</object>ok', "ok"),
    ("embed", '<embed src="x.swf">ok', "ok"),
    (
        "form-input",
        '<form action="https://evil.example/"><input name=x value=y><button>Go</button></form>',
        "Go",
    ),
    ("textarea-content-dropped", "<textarea>secret</textarea>ok", "ok"),
    ("title-content-dropped", "<title>t</title>ok", "ok"),
    ("select-content-dropped", "<select><option>o</option></select>ok", "ok"),
    ("template-content-dropped", "<template><b>t</b><script>alert(1)</script></template>ok", "ok"),
    ("noscript-content-dropped", "<noscript><b>n</b></noscript>ok", "ok"),
    ("plaintext-drops-rest", "ok<plaintext><b>x</b></plaintext>more", "ok"),
    ("meta-refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">t', "t"),
    ("base-href", '<base href="https://evil.example/">t', "t"),
    ("link-stylesheet", '<link rel=stylesheet href="https://evil.example/x.css">t', "t"),
    ("broken-unclosed", "<p><b>unclosed", "<p><b>unclosed</b></p>"),
    ("broken-stray-end-tags", "</div></p>", "<p></p>"),
    ("broken-misnested", "<b><i>x</b>y</i>", "<b><i>x</i></b><i>y</i>"),
    ("broken-lt-text", "a < b > c", "a &lt; b &gt; c"),
    ("broken-unterminated-tag", 'x<a href="https://ok.example/', "x"),
    ("onclick-on-p", '<p onclick="alert(1)">x</p>', "<p>x</p>"),
    ("style-on-span", '<span style="position:fixed;top:0">x</span>', "<span>x</span>"),
    ("id-and-title-stripped", '<p id="x" title="t" data-x="y">x</p>', "<p>x</p>"),
    ("class-whitelist", '<span class="invisible evil">x</span>', '<span class="invisible">x</span>'),
    (
        "class-microformats",
        '<span class="h-card p-name u-url dt-published e-content mention hashtag ellipsis quote-inline x-y">'
        "x</span>",
        '<span class="h-card p-name u-url dt-published e-content mention hashtag ellipsis quote-inline">'
        "x</span>",
    ),
    ("class-all-rejected", '<p class="evil other">x</p>', "<p>x</p>"),
    ("class-on-b-stripped", '<b class="mention">x</b>', "<b>x</b>"),
    ("translate-no", '<span translate="NO">x</span>', '<span translate="no">x</span>'),
    ("translate-yes-dropped", '<span translate="yes">x</span>', "<span>x</span>"),
    (
        "ol-start-reversed",
        '<ol start="3" reversed><li value="7">a</li></ol>',
        '<ol start="3" reversed=""><li value="7">a</li></ol>',
    ),
    ("ol-start-not-integer", '<ol start="x"><li value="1e9">a</li></ol>', "<ol><li>a</li></ol>"),
    ("h1", "<h1>Title</h1>", "<p><strong>Title</strong></p>"),
    ("h6-with-attributes", '<h6 class="x" onclick="y">T</h6>', "<p><strong>T</strong></p>"),
    (
        "heading-block-content-flattened",
        "<h2><p>a</p><ul><li>b</li></ul></h2>",
        "<p><strong>a b </strong></p>",
    ),
    ("nul-bytes", "a\x00b\x00<b>c\x00</b>", "ab<b>c</b>"),
    ("c0-controls", "a\x01\x08\x0b\x0c\x1b[31mb\x7f\x85c", "a[31mbc"),
    ("cr-lf", "a\r\nb\rc", "a\nb\nc"),
    ("bidi-overrides", "a\u202eb\u202dc\u202ad\u2066e\u2067f\u2068g\u2069h", "abcdefgh"),
    ("bidi-override-entity", "x&#x202E;y&#8238;z", "xyz"),
    ("bidi-marks-kept", "a\u200eb\u200fc\u061cd", "a\u200eb\u200fc\u061cd"),
    ("zwj-emoji-kept", "👩\u200d💻 and #fo\u200do", "👩\u200d💻 and #fo\u200do"),
    (
        "zwj-in-hashtag-link-kept",
        '<a href="https://m.example/tags/foo" class="mention hashtag" rel="tag">#<span>fo\u200do</span></a>',
        f'<a href="https://m.example/tags/foo" class="mention hashtag" rel="{LINK_REL} tag" target="_blank">'
        "#<span>fo\u200do</span></a>",
    ),
    ("lone-surrogate", "a\ud800b", "a\ufffdb"),
    ("surrogate-pair-joined", "a\ud83d\ude00b", "a😀b"),
    ("https-link", '<a href="https://ok.example/">ok</a>', f'<a href="https://ok.example/" {REL}>ok</a>'),
    (
        "https-link-attributes-normalised",
        '<a href="https://ok.example/" onclick="x" style="x" target="_self" rel="opener TAG" title="t">z</a>',
        f'<a href="https://ok.example/" rel="{LINK_REL} tag" target="_blank">z</a>',
    ),
    (
        "https-link-spaces-trimmed",
        '<a href="  https://ok.example/ ">s</a>',
        f'<a href="https://ok.example/" {REL}>s</a>',
    ),
    (
        "https-link-query-escaped",
        '<a href="https://ok.example/?a=1&b=&quot;2&quot;">q</a>',
        f'<a href="https://ok.example/?a=1&amp;b=&quot;2&quot;" {REL}>q</a>',
    ),
    (
        "other-allowed-schemes",
        '<a href="gemini://g.example/">g</a><a href="magnet:?xt=urn:btih:x">m</a>',
        f'<a href="gemini://g.example/" {REL}>g</a><a href="magnet:?xt=urn:btih:x" {REL}>m</a>',
    ),
    (
        "nested-links-unwrapped",
        '<a href="https://a.example/">a<table><a href="https://b.example/">b</a></table></a>',
        f'<a href="https://a.example/" {REL}>ab </a>',
    ),
    ("comment", "a<!-- <script>alert(1)</script> -->b", "ab"),
    ("comment-unterminated", "a<!-- <b>x</b>", "a"),
    ("cdata", "a<![CDATA[ x < y ]]>b", "ab"),
    # Outside SVG/MathML a CDATA section is a bogus comment ending at the first ">", as in browsers.
    ("cdata-with-markup", "a<![CDATA[<script>alert(1)</script>]]>b", "aalert(1)]]&gt;b"),
    ("conditional-comment", "a<!--[if IE]><script>alert(1)</script><![endif]-->b", "ab"),
    ("math-stripped", "<math><mi>x</mi><mo>+</mo><mn>1</mn></math>ok", "ok"),
    (
        "math-tex-annotation",
        '<math><semantics><mi>x</mi><annotation encoding="application/x-tex">x^2 &lt; 1</annotation>'
        "</semantics></math>",
        "$x^2 &lt; 1$",
    ),
    (
        "math-tex-display-block",
        '<math display="block"><annotation encoding="application/x-tex">\\frac{1}{2}</annotation></math>',
        "$$\\frac{1}{2}$$",
    ),
    (
        "entities-kept-escaped",
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp;",
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp;",
    ),
    ("nbsp-decoded", "a&nbsp;b", "a\xa0b"),
    (
        "div-table-separated",
        "<div>a</div><div>b</div><table><tr><td>c</td><td>d</td></tr></table>",
        "a b c d",
    ),
    ("pre-leading-newline", "<pre>\n\nx</pre>", "<pre>\n\nx</pre>"),
    (
        "noscript-attribute-mxss",
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
        '"&gt;',
    ),
    ("svg-p-breakout-mxss", '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">', ""),
    ("math-mglyph-mxss", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", ""),
    (
        "form-math-mxss",
        "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
        "",
    ),
    ("font-face-breakout", '<svg><font face="x"></font><script>alert(1)</script></svg>ok', "ok"),
    ("xmp", "<xmp><script>alert(1)</script></xmp>ok", "ok"),
    ("frameset", "<frameset><frame src=x></frameset>ok", "ok"),
]


@pytest.mark.parametrize(
    ("source", "expected"), [c[1:] for c in EXACT_CASES], ids=[c[0] for c in EXACT_CASES]
)
def test_hostile_corpus(source: str, expected: str) -> None:
    out = sanitize_html(source)
    assert out == expected
    assert_clean(out)


# Everything in the corpus, as well as its output, is stable under a second pass.
@pytest.mark.parametrize("source", [c[1] for c in EXACT_CASES], ids=[c[0] for c in EXACT_CASES])
def test_corpus_output_is_stable(source: str) -> None:
    once = sanitize_html(source)
    assert sanitize_html(once) == once


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


# sanitize_plain -----------------------------------------------------------------------------------------

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

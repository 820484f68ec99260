"""The hostile-content corpus for :func:`coserver.text.sanitize.sanitize_html`: exact output for each
attack (scripts, dangerous URLs, mXSS, control and bidi characters...) and stability under a second pass."""

from __future__ import annotations

import pytest

from coserver.text.sanitize import (
    LINK_REL,
    sanitize_html,
)
from tests.text.sanitize_helpers import REL, assert_clean

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

"""The sanitiser's rules: allowlists, element classes, link attributes and character cleaning.

What :mod:`coserver.text.sanitize` lets through, as data (Mastodon's ``MASTODON_STRICT`` allowlists, the
elements dropped with their content, the elements that separate words, the ``rel``/``target`` put on
links) and as two small functions applied to every text and link: :func:`strip_unsafe_chars` and
:func:`safe_href`.  The reasons behind each choice are in the docstring of :mod:`coserver.text.sanitize`,
which re-exports every public name defined here.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_CLASS_NAMES",
    "ALLOWED_CLASS_PREFIXES",
    "ALLOWED_PROTOCOLS",
    "ALLOWED_TAGS",
    "BLOCK_ELEMENTS",
    "DROPPED_CONTENT_ELEMENTS",
    "HEADINGS",
    "KEPT_REL_TOKENS",
    "LINK_REL",
    "LINK_TARGET",
    "safe_href",
    "strip_unsafe_chars",
]

ALLOWED_TAGS: frozenset[str] = frozenset(
    [
        "p",
        "br",
        "span",
        "a",
        "del",
        "s",
        "pre",
        "blockquote",
        "code",
        "b",
        "strong",
        "u",
        "i",
        "em",
        "ul",
        "ol",
        "li",
        "ruby",
        "rt",
        "rp",
    ]
)
ALLOWED_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "a": ("href", "rel", "class", "translate"),
    "span": ("class", "translate"),
    "ol": ("start", "reversed"),
    "li": ("value",),
    "p": ("class",),
}
ALLOWED_PROTOCOLS: frozenset[str] = frozenset(
    ["http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini"]
)
ALLOWED_CLASS_PREFIXES: tuple[str, ...] = ("h-", "p-", "u-", "dt-", "e-")
ALLOWED_CLASS_NAMES: frozenset[str] = frozenset(
    ("mention", "hashtag", "ellipsis", "invisible", "quote-inline")
)
#: ``rel`` set on every kept link; an incoming ``tag`` token is appended (see :mod:`coserver.text.sanitize`).
LINK_REL = "nofollow noopener noreferrer"
LINK_TARGET = "_blank"
KEPT_REL_TOKENS = ("tag",)

#: Elements removed together with everything inside them (Sanitize's default ``remove_contents`` plus a
#: few more that hold no prose).  ``math`` is special-cased: its TeX annotation survives.
DROPPED_CONTENT_ELEMENTS: frozenset[str] = frozenset(
    [
        "script",
        "style",
        "template",
        "iframe",
        "object",
        "embed",
        "applet",
        "noscript",
        "noembed",
        "noframes",
        "plaintext",
        "xmp",
        "title",
        "textarea",
        "select",
        "datalist",
        "svg",
        "math",
        "head",
        "frameset",
        "frame",
    ]
)
# Removed elements that separate words: replaced by a space.
BLOCK_ELEMENTS = frozenset(
    [
        "address",
        "article",
        "aside",
        "body",
        "caption",
        "center",
        "dd",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "header",
        "hgroup",
        "hr",
        "legend",
        "main",
        "menu",
        "nav",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "img",
        "video",
        "audio",
    ]
)
HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))

_UNSAFE_CHARS_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def strip_unsafe_chars(text: str) -> str:
    """Normalise newlines and remove control and bidi-override characters (see :mod:`coserver.text.sanitize`).

    ``\\r\\n`` and ``\\r`` become ``\\n``; C0 controls except ``\\t``/``\\n``, DEL, C1 controls and
    U+202A..U+202E, U+2066..U+2069 are removed; lone surrogates become U+FFFD (valid surrogate pairs, as
    produced by some JSON decoders, are joined).
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _UNSAFE_CHARS_RE.sub("", text)
    if _SURROGATE_RE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def safe_href(value: str | None) -> str | None:
    """Return ``value`` normalised if it is an acceptable link target, else ``None``.

    Unsafe characters, tabs and newlines are removed and surrounding spaces stripped (as a browser's URL
    parser does, so ``java\\tscript:`` is seen as ``javascript:``); the scheme must be in
    :data:`ALLOWED_PROTOCOLS` (relative references are refused); ``http``/``https`` need ``//host``.
    """
    if not value:
        return None
    href = strip_unsafe_chars(value).replace("\t", "").replace("\n", "").strip(" ")
    match = _SCHEME_RE.match(href)
    if match is None or match.group(1).lower() not in ALLOWED_PROTOCOLS:
        return None
    if match.group(1).lower() in ("http", "https"):
        if not href[match.end() :].startswith("//"):
            return None
        try:
            if not urlsplit(href).hostname:
                return None
        except ValueError:
            return None
    return href

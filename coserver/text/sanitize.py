"""Sanitisation of incoming HTML (federated post content) and of short plain-text fields.

:func:`sanitize_html` mirrors Mastodon's ``MASTODON_STRICT`` configuration (see
``/work/shared/reference/federation.md`` section 6) using bleach and its vendored html5lib:

* allowed elements: ``p br span a del s pre blockquote code b strong u i em ul ol li ruby rt rp``;
* allowed attributes: ``a[href rel class translate]``, ``span[class translate]``, ``ol[start reversed]``,
  ``li[value]``, ``p[class]``; ``translate`` is kept only as ``translate="no"``; ``start``/``value`` only
  when they are integers;
* classes are filtered to ``h-* p-* u-* dt-* e-* mention hashtag ellipsis invisible quote-inline``;
* ``<a>`` is kept only when its ``href`` uses one of ``http https dat dweb ipfs ipns ssb gopher xmpp magnet
  gemini`` (``http``/``https`` must also have an authority, ``https://host``).  Any other ``<a>`` (no href,
  relative, ``javascript:``, ``data:``, ``vbscript:``, ``mailto:``...) is replaced by its text, inner
  markup included, as Mastodon does;
* ``h1``..``h6`` become ``<p><strong>...</strong></p>``; ``<math>`` becomes its ``application/x-tex``
  annotation written as ``$...$`` (``$$...$$`` for ``display="block"``) or disappears;
* every other element is removed but its text kept -- except the *content* of ``script style template
  iframe object noscript title textarea svg math select ...`` (:data:`DROPPED_CONTENT_ELEMENTS`), which is
  removed entirely.  Removed block-level elements (``div``, ``td``...) leave a space so words do not glue.

Decisions (documented here because they differ slightly from Mastodon):

* **rel/target**: every kept link gets ``rel="nofollow noopener noreferrer"`` and ``target="_blank"``
  (Mastodon uses ``nofollow noopener`` -- we add ``noreferrer`` to not leak our URLs to remote hosts).  The
  only incoming ``rel`` token kept is ``tag`` (hashtag links, as in Mastodon), appended:
  ``rel="nofollow noopener noreferrer tag"``.  Attributes are emitted in a canonical order
  (``href class rel target translate``) so that our own rendered HTML
  (:mod:`coserver.text.render`) is a fixed point of the sanitiser.
* **Characters**: NUL and the other C0 controls except ``\\t`` and ``\\n`` are removed, ``\\r``/``\\r\\n``
  become ``\\n``, DEL and the C1 controls (U+007F..U+009F) are removed, lone surrogates become U+FFFD.  The
  bidi *embedding/override/isolate* controls U+202A..U+202E and U+2066..U+2069 are **removed** (Mastodon
  keeps them).  They cannot break out of markup, but an unterminated RLO/LRO flips the rendering of
  whatever follows it in the same block (link-text spoofing, "Trojan source" style names).  The bidi
  *marks* (U+200E LRM, U+200F RLM, U+061C ALM), which cannot leak, are kept: they are enough for
  legitimate mixed-direction text.  Zero-width (non-)joiners are kept (emoji sequences, Persian).  The
  same cleaning applies to characters written as entities (``&#x202E;``).
* **Size**: input longer than ``max_length`` characters is truncated *before parsing* at a safe boundary:
  never inside a tag (``<a href="...`` is cut before its ``<``) or a character reference, never between
  the halves of a surrogate pair.  The parser then closes any element left open.  Parsing is further
  bounded: at most :data:`MAX_DEPTH` nested open elements (deeper start tags are ignored, their text
  kept), :data:`MAX_TAGS` tags in total (later tags are ignored, text kept) and :data:`MAX_ATTRIBUTES`
  attributes per tag; attributes that can never survive are dropped before tree construction.  With
  these limits, merged text tokens and a non-recursive tree walker, the work is linear in the input size
  (html5lib alone is quadratic on deep nesting, on many attributes, on "formatting element"
  reconstruction, on long runs of ``<``/``&`` and, in its etree walker, on wide trees).
* **Robustness**: :func:`sanitize_html` never raises; should anything unexpected happen inside the parser,
  the text is returned with every tag removed and everything escaped (and the event is logged).

:func:`sanitize_plain` turns a possibly-HTML short field (display name, summary line) into plain text:
tags removed (content of script/style... dropped), entities decoded, whitespace and control characters
collapsed to single spaces, trimmed, cut to ``max_length`` characters.  The result is *text*: escape it
when putting it in HTML.

Layout: this module holds the two entry points and re-exports the rest of the public names.  The
allowlists and the character rules (:func:`strip_unsafe_chars`, :func:`safe_href`) are in
:mod:`coserver.text.sanitize_policy`, the bounded parser and its limits in
:mod:`coserver.text.html5bounded`, the token filters and serialisation of :func:`sanitize_html` in
:mod:`coserver.text.sanitize_filters`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from coserver.text.html5bounded import MAX_ATTRIBUTES, MAX_DEPTH, MAX_TAGS, Token, bounded_tokens
from coserver.text.sanitize_filters import render_sanitized
from coserver.text.sanitize_policy import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_CLASS_NAMES,
    ALLOWED_CLASS_PREFIXES,
    ALLOWED_PROTOCOLS,
    ALLOWED_TAGS,
    BLOCK_ELEMENTS,
    DROPPED_CONTENT_ELEMENTS,
    HEADINGS,
    LINK_REL,
    LINK_TARGET,
    safe_href,
    strip_unsafe_chars,
)

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_CLASS_NAMES",
    "ALLOWED_CLASS_PREFIXES",
    "ALLOWED_PROTOCOLS",
    "ALLOWED_TAGS",
    "DROPPED_CONTENT_ELEMENTS",
    "LINK_REL",
    "LINK_TARGET",
    "MAX_ATTRIBUTES",
    "MAX_DEPTH",
    "MAX_TAGS",
    "safe_href",
    "sanitize_html",
    "sanitize_plain",
    "strip_unsafe_chars",
]

log = logging.getLogger(__name__)

# Elements that separate words when only the text is kept (sanitize_plain).
_SEPARATING_ELEMENTS = (
    BLOCK_ELEMENTS | HEADINGS | frozenset(["p", "br", "li", "ul", "ol", "blockquote", "pre"])
)

_TAG_CUT_WINDOW = 8192  # how far back truncation looks for an unterminated tag
_ENTITY_CUT_WINDOW = 40

# Attributes handed to the tree builder; everything else is dropped as soon as a tag is tokenized.
_PARSE_ATTRIBUTES: dict[str, frozenset[str]] = {
    **{tag: frozenset(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
    "math": frozenset(("display",)),
    "annotation": frozenset(("encoding",)),
}

_SPACE_RUN_RE = re.compile(r"\s+")
_TAG_RE = re.compile(r"<[^>]*>?")


def _truncate(text: str, max_length: int) -> str:
    """Cut ``text`` to at most ``max_length`` characters, never inside a tag or a character reference."""
    if len(text) <= max_length:
        return text
    cut = max_length
    if cut and "\ud800" <= text[cut - 1] <= "\udbff":  # high surrogate whose pair would be cut off
        cut -= 1
    head = text[:cut]
    lt = head.rfind("<", max(0, cut - _TAG_CUT_WINDOW))
    if lt != -1 and head.find(">", lt) == -1:
        head = head[:lt]
    amp = head.rfind("&", max(0, len(head) - _ENTITY_CUT_WINDOW))
    if amp != -1 and not re.search(r"[;\s<]", head[amp:]):
        head = head[:amp]
    return head


def _safe_cut(text: str, max_length: int) -> str:
    """Cut plain ``text`` to ``max_length`` characters without orphaning a combining mark or a ZWJ."""
    if len(text) <= max_length:
        return text
    cut = max_length
    floor = max(0, cut - 16)
    while cut > floor and (
        text[cut] in "\u200d\ufe0e\ufe0f" or text[cut - 1] == "\u200d" or "\u0300" <= text[cut] <= "\u036f"
    ):
        cut -= 1
    return text[:cut]


def _tokens(text: str) -> Iterator[Token]:
    return bounded_tokens(text, _PARSE_ATTRIBUTES)


def _fallback(text: str) -> str:
    """Last resort when the parser fails: every tag removed, everything escaped."""
    text = _TAG_RE.sub(" ", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").strip()


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return ""


# --------------------------------------------------------------------------------------------------------
# Public API


def sanitize_html(html: str, *, max_length: int = 500_000) -> str:
    """Reduce untrusted HTML to the Mastodon ``MASTODON_STRICT`` subset (see module docstring).

    ``max_length`` bounds the number of *input* characters parsed; the output is at most a small multiple
    of it (escaping of ``<``/``&``, ``rel``/``target`` added to links).  Never raises.
    """
    text = _as_text(html)
    if max_length <= 0 or not text:
        return ""
    text = strip_unsafe_chars(_truncate(text, max_length))
    if not text.strip():
        return ""
    try:
        return render_sanitized(_tokens(text)).strip(" \t\n")
    except Exception:
        log.warning("sanitize_html: parser failure, falling back to escaped text", exc_info=True)
        return _fallback(text)


def sanitize_plain(text: str, max_length: int) -> str:
    """Plain text from a short, possibly-HTML field: tags stripped, whitespace collapsed, trimmed, cut.

    Character references are decoded, the content of :data:`DROPPED_CONTENT_ELEMENTS` is dropped, every
    run of whitespace or control characters becomes one space.  The result is at most ``max_length``
    characters and is plain text (escape it for HTML).  Never raises.
    """
    source = _as_text(text)
    if max_length <= 0 or not source:
        return ""
    source = strip_unsafe_chars(_truncate(source, min(500_000, max_length * 8 + 4096)))
    if "<" in source or "&" in source:
        try:
            parts: list[str] = []
            drop_depth = 0
            for token in _tokens(source):
                ttype = token["type"]
                if drop_depth:
                    if ttype == "StartTag":
                        drop_depth += 1
                    elif ttype == "EndTag":
                        drop_depth -= 1
                elif ttype == "StartTag" and token["name"] in DROPPED_CONTENT_ELEMENTS:
                    drop_depth = 1
                elif ttype in ("Characters", "SpaceCharacters"):
                    parts.append(token["data"])
                elif ttype in ("StartTag", "EndTag", "EmptyTag") and token["name"] in _SEPARATING_ELEMENTS:
                    parts.append(" ")
            source = strip_unsafe_chars("".join(parts))
        except Exception:
            log.warning("sanitize_plain: parser failure, falling back to regex", exc_info=True)
            source = _TAG_RE.sub(" ", source)
    source = _SPACE_RUN_RE.sub(" ", source).strip()
    return _safe_cut(source, max_length).strip()

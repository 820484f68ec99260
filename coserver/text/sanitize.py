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
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from bleach import html5lib_shim
from bleach.sanitizer import BleachSanitizerFilter

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
#: ``rel`` set on every kept link; an incoming ``tag`` token is appended (see module docstring).
LINK_REL = "nofollow noopener noreferrer"
LINK_TARGET = "_blank"
_KEPT_REL_TOKENS = ("tag",)

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
# Elements whose content the *tokenizer* reads as raw text: their start tag is never ignored by the depth
# and tag-count limits (otherwise their content would be tokenized as markup and show up as text).
_RAW_TEXT_ELEMENTS = frozenset(
    ["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"]
)
# Removed elements that separate words: replaced by a space.
_BLOCK_ELEMENTS = frozenset(
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
_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
_HEADING_FLATTENED = frozenset(["p", "ul", "ol", "li", "blockquote", "pre"])
# Elements that separate words when only the text is kept (sanitize_plain).
_SEPARATING_ELEMENTS = (
    _BLOCK_ELEMENTS | _HEADINGS | frozenset(["p", "br", "li", "ul", "ol", "blockquote", "pre"])
)
_HTML_NAMESPACES = (None, html5lib_shim.namespaces["html"])

#: Parsing limits (see module docstring).
MAX_DEPTH = 100
MAX_TAGS = 25_000
MAX_ATTRIBUTES = 32
_TAG_CUT_WINDOW = 8192  # how far back truncation looks for an unterminated tag
_ENTITY_CUT_WINDOW = 40

# Attributes handed to the tree builder; everything else is dropped as soon as a tag is tokenized.
_PARSE_ATTRIBUTES: dict[str, frozenset[str]] = {
    **{tag: frozenset(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
    "math": frozenset(("display",)),
    "annotation": frozenset(("encoding",)),
}
_EMPTY: frozenset[str] = frozenset()
_ATTRIBUTE_ORDER = ("href", "class", "rel", "target", "translate", "start", "reversed", "value")

_TT = html5lib_shim.constants.tokenTypes
_TT_START, _TT_END, _TT_PARSE_ERROR = _TT["StartTag"], _TT["EndTag"], _TT["ParseError"]
_TT_CHARS, _TT_SPACE = _TT["Characters"], _TT["SpaceCharacters"]
_VOID_ELEMENTS = html5lib_shim.constants.voidElements

Token = dict[str, Any]

# --------------------------------------------------------------------------------------------------------
# Characters

_UNSAFE_CHARS_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_INTEGER_RE = re.compile(r"[+-]?[0-9]{1,9}")
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_SPACE_RUN_RE = re.compile(r"\s+")
_TAG_RE = re.compile(r"<[^>]*>?")


def strip_unsafe_chars(text: str) -> str:
    """Normalise newlines and remove control and bidi-override characters (see module docstring).

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


# --------------------------------------------------------------------------------------------------------
# Bounded parser


class _BoundedTokenizer(html5lib_shim.HTMLTokenizer):
    """html5lib tokenizer that keeps the tree builder's work linear (see module docstring)."""

    def _trim_attributes(self) -> None:
        data = self.currentToken["data"]
        if isinstance(data, list) and len(data) > MAX_ATTRIBUTES:
            del data[MAX_ATTRIBUTES:]

    # New attributes are only appended in these two states; trimming on entry bounds the (quadratic)
    # duplicate-attribute check html5lib runs when an attribute name ends.
    def beforeAttributeNameState(self) -> bool:
        self._trim_attributes()
        return super().beforeAttributeNameState()

    def afterAttributeNameState(self) -> bool:
        self._trim_attributes()
        return super().afterAttributeNameState()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        tags = 0
        open_elements = self.parser.tree.openElements
        text: list[str] = []  # consecutive character tokens, merged (html5lib appends text quadratically)
        text_type = _TT_SPACE
        after_tag = True
        for token in super().__iter__():
            ttype = token["type"]
            if ttype in (_TT_CHARS, _TT_SPACE):
                # The first text after a tag stays separate: html5lib drops a newline after <pre> only
                # when it comes as its own whitespace token.
                if after_tag:
                    after_tag = False
                    yield token
                else:
                    text.append(token["data"])
                    if ttype == _TT_CHARS:
                        text_type = _TT_CHARS
                continue
            if ttype == _TT_PARSE_ERROR:
                continue
            if text:
                yield {"type": text_type, "data": "".join(text)}
                text, text_type = [], _TT_SPACE
            after_tag = True
            if ttype == _TT_START:
                tags += 1
                name = token["name"]
                # A raw-text element (in HTML context: inside <svg>, <style> is an ordinary element that
                # can nest) is never ignored; it cannot nest, so it adds at most one open element.
                raw_text = name in _RAW_TEXT_ELEMENTS and (
                    not open_elements or open_elements[-1].namespace in _HTML_NAMESPACES
                )
                if not raw_text and (
                    tags > MAX_TAGS or (len(open_elements) >= MAX_DEPTH and name not in _VOID_ELEMENTS)
                ):
                    continue
                # Drop attributes that cannot survive: less memory, and identical formatting elements
                # let html5lib's "Noah's Ark" clause bound the list of active formatting elements.
                keep = _PARSE_ATTRIBUTES.get(name, _EMPTY)
                attrs = token["data"]
                if attrs and any(key not in keep for key in attrs):
                    token["data"] = html5lib_shim.attributeMap(
                        (key, value) for key, value in attrs.items() if key in keep
                    )
            elif ttype == _TT_END:
                tags += 1
                if tags > MAX_TAGS and not (
                    token["name"] in _RAW_TEXT_ELEMENTS
                    and open_elements
                    and open_elements[-1].name == token["name"]
                ):
                    continue
            yield token
        if text:
            yield {"type": text_type, "data": "".join(text)}


class _BoundedParser(html5lib_shim.HTMLParser):
    """Standard html5lib fragment parsing (``noscript`` read as raw text) with :class:`_BoundedTokenizer`.

    Parse errors are not recorded (html5lib computes a line/column for each, which is slow on hostile
    input, and nobody reads them).
    """

    def __init__(self) -> None:
        super().__init__(namespaceHTMLElements=False)

    def _parse(
        self,
        stream: Any,
        innerHTML: bool = False,
        container: str = "div",
        scripting: bool = True,
        **kwargs: Any,
    ) -> None:
        self.innerHTMLMode = innerHTML
        self.container = container
        self.scripting = True  # parse <noscript> as browsers with scripting do: its content is raw text
        self.tokenizer = _BoundedTokenizer(stream, parser=self, **kwargs)
        self.reset()
        self.mainLoop()

    def parseError(self, errorcode: str = "XXX-undefined-error", datavars: Any = None) -> None:
        return None


def _attributes(element: Any) -> dict[tuple[str | None, str], str]:
    attrs: dict[tuple[str | None, str], str] = {}
    for key, value in element.attrib.items():
        if key.startswith("{"):
            namespace, _, name = key[1:].partition("}")
            attrs[(namespace, name)] = value
        else:
            attrs[(None, key)] = value
    return attrs


def _walk(root: Any) -> Iterator[Token]:
    """html5lib-style token stream for an etree fragment, without recursion.

    (html5lib's own etree walker is quadratic in the number of siblings.)  Comments, doctypes and the
    children of void elements are skipped.
    """
    if root.text:
        yield {"type": "Characters", "data": root.text}
    stack: list[tuple[Any, Iterator[Any], Token | None]] = [(root, iter(root), None)]
    while stack:
        element, children, end = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if end is not None:
                yield end
                if element.tail:
                    yield {"type": "Characters", "data": element.tail}
            continue
        tag = child.tag
        if isinstance(tag, str) and not tag.startswith("<"):
            namespace = None
            if tag.startswith("{"):
                namespace, _, tag = tag[1:].partition("}")
            if namespace is None and tag in _VOID_ELEMENTS:
                yield {"type": "EmptyTag", "name": tag, "namespace": None, "data": _attributes(child)}
            else:
                yield {"type": "StartTag", "name": tag, "namespace": namespace, "data": _attributes(child)}
                if child.text:
                    yield {"type": "Characters", "data": child.text}
                stack.append((child, iter(child), {"type": "EndTag", "name": tag, "namespace": namespace}))
                continue
        if child.tail:
            yield {"type": "Characters", "data": child.tail}


def _tokens(text: str) -> Iterator[Token]:
    return _walk(_BoundedParser().parseFragment(text))


# --------------------------------------------------------------------------------------------------------
# Token filters


def _is_html(token: Token) -> bool:
    return token.get("namespace") in _HTML_NAMESPACES


def _tag(ttype: str, name: str) -> Token:
    return {"type": ttype, "name": name, "namespace": None, "data": {}}


_SEPARATOR: Token = {"type": "Characters", "data": " "}  # marker: space standing for a removed element


def _pre_filter(tokens: Iterable[Token]) -> Iterator[Token]:
    """Before bleach: drop dangerous subtrees, rewrite headings and math, unwrap unacceptable links."""
    drop_depth = 0  # > 0 inside a subtree removed with its content
    text_only_depth = 0  # > 0 inside an unacceptable <a>: keep only its text
    math_display_block = False
    tex: list[str] | None = None  # TeX annotation of the current <math>, once found
    tex_depth = 0  # drop_depth of the annotation being read, 0 when not reading one
    heading_depth = 0  # > 0 inside h1..h6 (written <p><strong>)
    link_depth = 0  # > 0 inside a kept <a>
    for token in tokens:
        ttype = token["type"]
        if ttype not in ("Characters", "SpaceCharacters", "StartTag", "EndTag", "EmptyTag"):
            continue  # comments, doctypes, serializer errors
        if drop_depth:
            if ttype == "StartTag":
                drop_depth += 1
                if (
                    token["name"] == "annotation"
                    and tex is None
                    and (token["data"].get((None, "encoding")) or "").strip().lower() == "application/x-tex"
                ):
                    tex, tex_depth = [], drop_depth
            elif ttype == "EndTag":
                if drop_depth == tex_depth:
                    tex_depth = 0
                drop_depth -= 1
                if drop_depth == 0 and tex:
                    fence = "$$" if math_display_block else "$"
                    yield {"type": "Characters", "data": f"{fence}{''.join(tex)}{fence}"}
            elif tex_depth and tex is not None and ttype in ("Characters", "SpaceCharacters"):
                tex.append(token["data"])
            continue

        name = token.get("name")
        if ttype == "StartTag" and name in DROPPED_CONTENT_ELEMENTS:
            drop_depth = 1
            tex, tex_depth = None, 0
            if name == "math":
                display = token["data"].get((None, "display")) or ""
                math_display_block = display.strip().lower() == "block"
            continue
        if ttype == "EmptyTag" and name in DROPPED_CONTENT_ELEMENTS:
            continue

        if text_only_depth:
            if ttype == "StartTag":
                text_only_depth += 1
            elif ttype == "EndTag":
                text_only_depth -= 1
            if ttype in ("Characters", "SpaceCharacters"):
                yield token
            continue

        if ttype in ("Characters", "SpaceCharacters") or not _is_html(token):
            yield token
        elif name in _HEADINGS:
            # <p><strong> cannot hold blocks: a heading's block content is flattened to its text.
            if ttype == "StartTag":
                heading_depth += 1
                if heading_depth == 1:
                    yield _tag("StartTag", "p")
                    yield _tag("StartTag", "strong")
                    continue
            elif ttype == "EndTag" and heading_depth:
                heading_depth -= 1
                if heading_depth == 0:
                    yield _tag("EndTag", "strong")
                    yield _tag("EndTag", "p")
                    continue
            yield _SEPARATOR
        elif heading_depth and name in _HEADING_FLATTENED:
            yield _SEPARATOR
        elif name == "a" and ttype == "StartTag":
            href = safe_href(token["data"].get((None, "href")))
            if href is None or link_depth:  # links inside links are unwrapped too
                text_only_depth = 1
                continue
            link_depth += 1
            token["data"][(None, "href")] = href
            yield token
        elif name == "a" and ttype == "EndTag":
            link_depth = max(0, link_depth - 1)
            yield token
        elif name in _BLOCK_ELEMENTS and name not in ALLOWED_TAGS:
            yield _SEPARATOR
        else:
            yield token


def _collapse_separators(tokens: Iterable[Token]) -> Iterator[Token]:
    """Drop the word separators left by removed elements where whitespace is already there."""
    after_space = True
    for token in tokens:
        if token is _SEPARATOR:
            if after_space:
                continue
            token = {"type": "Characters", "data": " "}
        if token["type"] in ("Characters", "SpaceCharacters") and token["data"]:
            after_space = token["data"][-1].isspace()
        yield token


class _Sanitizer(BleachSanitizerFilter):
    """bleach's sanitizer for a stream whose character references are already decoded."""

    def sanitize_characters(self, token: Token) -> Token:
        token["data"] = strip_unsafe_chars(token.get("data", ""))
        return token


def _filter_classes(value: str) -> str:
    kept: list[str] = []
    for cls in value.split():
        if (cls in ALLOWED_CLASS_NAMES or cls.startswith(ALLOWED_CLASS_PREFIXES)) and cls not in kept:
            kept.append(cls)
    return " ".join(kept)


def _filter_attributes(name: str, attrs: dict[tuple[str | None, str], str]) -> dict[tuple[None, str], str]:
    """Normalise the attributes bleach kept (class/translate/rel/integers) in canonical order."""
    values: dict[str, str] = {}
    for (_, attr), raw in attrs.items():
        value = strip_unsafe_chars(raw)
        if attr == "class":
            value = _filter_classes(value)
            if value:
                values["class"] = value
        elif attr == "translate":
            if value.strip().lower() == "no":
                values["translate"] = "no"
        elif attr in ("start", "value"):
            if _INTEGER_RE.fullmatch(value.strip()):
                values[attr] = str(int(value.strip()))
        elif attr == "reversed":
            values["reversed"] = ""
        elif attr == "href":
            values["href"] = value
    if name == "a":
        rel = LINK_REL
        given = (attrs.get((None, "rel")) or "").lower().split()
        for extra in _KEPT_REL_TOKENS:
            if extra in given:
                rel += " " + extra
        values["rel"] = rel
        values["target"] = LINK_TARGET
    return {(None, attr): values[attr] for attr in _ATTRIBUTE_ORDER if attr in values}


def _post_filter(tokens: Iterable[Token]) -> Iterator[Token]:
    """After bleach: class/translate/rel/target normalisation, <a> without href unwrapped, <pre> newline."""
    link_kept: list[bool] = []
    after_pre = False
    for token in tokens:
        ttype = token["type"]
        if after_pre:
            after_pre = False
            # The parser eats a newline right after <pre>: write one more so the text survives a re-parse.
            if ttype in ("Characters", "SpaceCharacters") and token["data"].startswith("\n"):
                yield {"type": "Characters", "data": "\n"}
        if ttype in ("StartTag", "EmptyTag"):
            name = token["name"]
            if name == "a" and ttype == "StartTag":
                keep = (None, "href") in token["data"]
                link_kept.append(keep)
                if not keep:
                    continue
            token["data"] = _filter_attributes(name, token.get("data") or {})
            after_pre = name == "pre"
        elif (ttype == "EndTag" and token["name"] == "a" and link_kept and not link_kept.pop()) or (
            ttype in ("Characters", "SpaceCharacters") and not token["data"]
        ):
            continue
        yield token


def _serializer() -> Any:
    return html5lib_shim.HTMLSerializer(
        quote_attr_values="always",
        quote_char='"',
        use_best_quote_char=False,
        omit_optional_tags=False,
        minimize_boolean_attributes=False,
        use_trailing_solidus=False,
        escape_lt_in_attrs=True,
        escape_rcdata=True,
        resolve_entities=False,
        strip_whitespace=False,
        sanitize=False,
        alphabetical_attributes=False,
    )


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
        stream = _Sanitizer(
            source=_collapse_separators(_pre_filter(_tokens(text))),
            allowed_tags=ALLOWED_TAGS,
            attributes={tag: list(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
            allowed_protocols=ALLOWED_PROTOCOLS,
            strip_disallowed_tags=True,
            strip_html_comments=True,
        )
        return _serializer().render(_post_filter(stream)).strip(" \t\n")
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

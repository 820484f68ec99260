"""A bounded html5lib fragment parser for untrusted HTML: the work stays linear in the input size.

html5lib alone is quadratic on deep nesting, on many attributes, on "formatting element" reconstruction, on
long runs of ``<``/``&`` and, in its etree walker, on wide trees.  :func:`bounded_tokens` parses a fragment
(bleach's vendored html5lib, ``div`` context, ``noscript`` read as raw text) with these limits:

* at most :data:`MAX_DEPTH` nested open elements (deeper start tags are ignored, their text kept),
  :data:`MAX_TAGS` tags in total (later tags are ignored, text kept) and :data:`MAX_ATTRIBUTES` attributes
  per tag.  Raw-text elements (``script``, ``style``, ``textarea``...) are never ignored, otherwise their
  content would be tokenized as markup;
* attributes outside the caller's ``keep_attributes`` allowlist are dropped as soon as a tag is tokenized
  (less memory, and identical formatting elements let html5lib bound its active formatting elements);
* consecutive text tokens are merged and parse errors are not recorded;

then walks the resulting etree without recursion (:func:`walk`), yielding html5lib-style tokens.  The
sanitising policy itself is in :mod:`coserver.text.sanitize`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from bleach import html5lib_shim

__all__ = [
    "HTML_NAMESPACES",
    "MAX_ATTRIBUTES",
    "MAX_DEPTH",
    "MAX_TAGS",
    "VOID_ELEMENTS",
    "BoundedParser",
    "BoundedTokenizer",
    "Token",
    "bounded_tokens",
    "walk",
]

#: Parsing limits (see module docstring).
MAX_DEPTH = 100
MAX_TAGS = 25_000
MAX_ATTRIBUTES = 32

#: Namespaces of HTML elements in the tree (``None``: none, as parsed with ``namespaceHTMLElements=False``).
HTML_NAMESPACES = (None, html5lib_shim.namespaces["html"])
VOID_ELEMENTS = html5lib_shim.constants.voidElements

Token = dict[str, Any]

# Elements whose content the *tokenizer* reads as raw text: their start tag is never ignored by the depth
# and tag-count limits (otherwise their content would be tokenized as markup and show up as text).
_RAW_TEXT_ELEMENTS = frozenset(
    ["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"]
)
_EMPTY: frozenset[str] = frozenset()

_TT = html5lib_shim.constants.tokenTypes
_TT_START, _TT_END, _TT_PARSE_ERROR = _TT["StartTag"], _TT["EndTag"], _TT["ParseError"]
_TT_CHARS, _TT_SPACE = _TT["Characters"], _TT["SpaceCharacters"]


class BoundedTokenizer(html5lib_shim.HTMLTokenizer):
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
        keep_attributes = self.parser.keep_attributes
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
                    not open_elements or open_elements[-1].namespace in HTML_NAMESPACES
                )
                if not raw_text and (
                    tags > MAX_TAGS or (len(open_elements) >= MAX_DEPTH and name not in VOID_ELEMENTS)
                ):
                    continue
                # Drop attributes that cannot survive: less memory, and identical formatting elements
                # let html5lib's "Noah's Ark" clause bound the list of active formatting elements.
                keep = keep_attributes.get(name, _EMPTY)
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


class BoundedParser(html5lib_shim.HTMLParser):
    """Standard html5lib fragment parsing (``noscript`` read as raw text) with :class:`BoundedTokenizer`.

    Parse errors are not recorded (html5lib computes a line/column for each, which is slow on hostile
    input, and nobody reads them).
    """

    def __init__(self, keep_attributes: Mapping[str, frozenset[str]]) -> None:
        super().__init__(namespaceHTMLElements=False)
        self.keep_attributes = keep_attributes

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
        self.tokenizer = BoundedTokenizer(stream, parser=self, **kwargs)
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


def walk(root: Any) -> Iterator[Token]:
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
            if namespace is None and tag in VOID_ELEMENTS:
                yield {"type": "EmptyTag", "name": tag, "namespace": None, "data": _attributes(child)}
            else:
                yield {"type": "StartTag", "name": tag, "namespace": namespace, "data": _attributes(child)}
                if child.text:
                    yield {"type": "Characters", "data": child.text}
                stack.append((child, iter(child), {"type": "EndTag", "name": tag, "namespace": namespace}))
                continue
        if child.tail:
            yield {"type": "Characters", "data": child.tail}


def bounded_tokens(text: str, keep_attributes: Mapping[str, frozenset[str]]) -> Iterator[Token]:
    """Parse ``text`` as an HTML fragment within the limits; return its tokens (see module docstring).

    ``keep_attributes`` maps an element name to the attributes handed to the tree builder; every other
    attribute is dropped.  The parse happens here; the returned iterator only walks the tree.
    """
    return walk(BoundedParser(keep_attributes).parseFragment(text))

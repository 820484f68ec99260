"""The token filters that turn a parsed HTML fragment into sanitised HTML (the core of ``sanitize_html``).

:func:`render_sanitized` takes the tokens of :func:`coserver.text.html5bounded.bounded_tokens` through:

1. a pre-filter: subtrees of :data:`~coserver.text.sanitize_policy.DROPPED_CONTENT_ELEMENTS` dropped
   (``<math>`` kept as its TeX annotation), headings written ``<p><strong>``, links with an unacceptable
   ``href`` (:func:`~coserver.text.sanitize_policy.safe_href`) or nested in a link unwrapped, removed
   block elements replaced by a word separator (collapsed where whitespace is already there);
2. bleach's sanitizer with the allowlists of :mod:`coserver.text.sanitize_policy` (text cleaned with
   :func:`~coserver.text.sanitize_policy.strip_unsafe_chars`);
3. a post-filter: classes, ``translate`` and integer attributes normalised, ``rel``/``target`` set on
   links, attributes in canonical order, a newline doubled after ``<pre>`` so the output re-parses alike;
4. html5lib's serializer (attribute values always double-quoted, nothing minimised).

The behaviour is documented in :mod:`coserver.text.sanitize`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from bleach import html5lib_shim
from bleach.sanitizer import BleachSanitizerFilter

from coserver.text.html5bounded import HTML_NAMESPACES, Token
from coserver.text.sanitize_policy import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_CLASS_NAMES,
    ALLOWED_CLASS_PREFIXES,
    ALLOWED_PROTOCOLS,
    ALLOWED_TAGS,
    BLOCK_ELEMENTS,
    DROPPED_CONTENT_ELEMENTS,
    HEADINGS,
    KEPT_REL_TOKENS,
    LINK_REL,
    LINK_TARGET,
    safe_href,
    strip_unsafe_chars,
)

__all__ = ["render_sanitized"]

_HEADING_FLATTENED = frozenset(["p", "ul", "ol", "li", "blockquote", "pre"])
_ATTRIBUTE_ORDER = ("href", "class", "rel", "target", "translate", "start", "reversed", "value")

_INTEGER_RE = re.compile(r"[+-]?[0-9]{1,9}")


def _is_html(token: Token) -> bool:
    return token.get("namespace") in HTML_NAMESPACES


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
        elif name in HEADINGS:
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
        elif name in BLOCK_ELEMENTS and name not in ALLOWED_TAGS:
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
        for extra in KEPT_REL_TOKENS:
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


def render_sanitized(tokens: Iterable[Token]) -> str:
    """Sanitise a parsed fragment's ``tokens`` (see module docstring) and serialise them to HTML."""
    stream = _Sanitizer(
        source=_collapse_separators(_pre_filter(tokens)),
        allowed_tags=ALLOWED_TAGS,
        attributes={tag: list(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        allowed_protocols=ALLOWED_PROTOCOLS,
        strip_disallowed_tags=True,
        strip_html_comments=True,
    )
    return _serializer().render(_post_filter(stream))

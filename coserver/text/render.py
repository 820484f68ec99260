"""Rendering of plain text typed by local users into the Mastodon-compatible HTML subset.

:func:`render_text` turns a post's source text into HTML:

* the text is cleaned like incoming HTML (:func:`coserver.text.sanitize.strip_unsafe_chars`: controls and
  bidi overrides removed, newlines normalised) and everything is escaped;
* blank lines separate paragraphs (``<p>``), single newlines become ``<br>``;
* ``http``/``https`` URLs are linked (full URL displayed; trailing punctuation and unbalanced closing
  brackets are not part of the URL);
* ``#hashtags`` become ``<a href="{hashtag_url(tag)}" class="mention hashtag" rel="... tag"
  target="_blank">#<span>Tag</span></a>``;
* ``@user`` / ``@user@domain`` mentions found in ``mentions`` become ``<span class="h-card"
  translate="no"><a href="{url}" class="u-url mention" rel="..." target="_blank">@<span>user</span></a>
  </span>``; unknown mentions stay text.

Every link carries the ``rel``/``target`` that :func:`~coserver.text.sanitize.sanitize_html` puts on kept
links (``rel="nofollow noopener noreferrer"``, ``tag`` appended for hashtags, ``target="_blank"``) and
attributes are written in the sanitiser's canonical order and escaping, so the output is a fixed point:
``sanitize_html(render_text(x).html) == render_text(x).html``.

Hashtags (close to Mastodon's ``HASHTAG_RE``): ``#`` not preceded by a word character, ``/``, ``=`` or
``)``; then word characters (Unicode letters, combining marks, decimal digits, ``_``) possibly joined by
``·``, ``・`` or ZWNJ (U+200C, Persian); the name must contain at least one letter (``#123`` is not a tag)
and neither starts nor ends with a joiner.  A ZWJ (U+200D) ends a tag.  ``RenderedText.hashtags`` holds
NFC-normalised, lower-cased names without ``#``, first occurrence order, without duplicates; the same
normalised name is passed to ``hashtag_url`` while the link text keeps the typed spelling.

Mentions (Mastodon's ``MENTION_RE``): ``@`` not preceded by a word character, ``/`` or ``=``; username
``[A-Za-z0-9_]`` with inner ``.``/``-``; optional ``@domain``.  ``RenderedText.mentions`` lists every
handle found (``"@user"`` or ``"@user@domain"``, as typed, deduplicated), resolved or not, so a caller can
render once, resolve the handles (WebFinger) and render again with ``mentions``.  ``mentions`` keys are
matched case-insensitively, with or without the leading ``@``.  A mention whose URL is not an absolute
``http(s)`` URL is left as text; ``hashtag_url`` must return absolute ``http(s)`` URLs (``ValueError``
otherwise: it is configuration, not user input).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from coserver.text.sanitize import LINK_REL, LINK_TARGET, safe_href, strip_unsafe_chars

__all__ = ["RenderedText", "render_description", "render_text"]


@dataclass(frozen=True, slots=True)
class RenderedText:
    """Result of :func:`render_text`."""

    html: str
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()


_PARAGRAPH_SPLIT_RE = re.compile(r"\n(?:[ \t]*\n)+")
_URL_RE = re.compile(r"(?<![\w/@.])https?://[^\s<>\"]+", re.IGNORECASE)
_URL_TRAILING = ".,:;!?'\"*"
_BRACKETS = {")": "(", "]": "[", "}": "{"}
_MENTION_RE = re.compile(
    r"(?<![\w/=])@(?P<user>[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?)(?:@(?P<domain>[\w.\-]*\w))?"
)
_ENTITY_START_RE = re.compile("[#@]")
_HASHTAG_JOINERS = "\u00b7\u30fb\u200c"
_HASHTAG_NOT_AFTER = "/=)"


def _escape_text(text: str) -> str:
    """Escape text content exactly as the sanitiser's serializer does."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(value: str) -> str:
    """Escape a double-quoted attribute value exactly as the sanitiser's serializer does."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def _link(href: str, body: str, *, css_class: str | None = None, tag: bool = False) -> str:
    attrs = f' href="{_escape_attr(href)}"'
    if css_class:
        attrs += f' class="{css_class}"'
    rel = f"{LINK_REL} tag" if tag else LINK_REL
    return f'<a{attrs} rel="{rel}" target="{LINK_TARGET}">{body}</a>'


def _is_word(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LM" or category in ("Nd", "Pc")


def _trim_url(url: str) -> str:
    """Drop trailing punctuation and unbalanced closing brackets from an autolinked URL."""
    balance = {close: url.count(close) - url.count(open_) for close, open_ in _BRACKETS.items()}
    end = len(url)
    while end:
        last = url[end - 1]
        if last in _URL_TRAILING:
            end -= 1
        elif last in balance and balance[last] > 0:
            balance[last] -= 1
            end -= 1
        else:
            break
    return url[:end]


def _match_hashtag(line: str, start: int) -> int:
    """End of the hashtag whose ``#`` is at ``start``, or -1."""
    if start > 0 and (_is_word(line[start - 1]) or line[start - 1] in _HASHTAG_NOT_AFTER):
        return -1
    end = start + 1
    length = len(line)
    while end < length and (line[end] in _HASHTAG_JOINERS or _is_word(line[end])):
        end += 1
    while end > start + 1 and line[end - 1] in _HASHTAG_JOINERS:
        end -= 1
    name = line[start + 1 : end]
    if not name or name[0] in _HASHTAG_JOINERS:
        return -1
    if not any(unicodedata.category(char)[0] == "L" for char in name):
        return -1
    return end


def _normalize_handle(handle: str) -> str:
    return handle.lstrip("@").lower()


class _Renderer:
    def __init__(
        self,
        *,
        link_entities: bool,
        mentions: Mapping[str, str] | None,
        hashtag_url: Callable[[str], str] | None,
    ) -> None:
        self.link_entities = link_entities
        self.hashtag_url = hashtag_url
        self.mention_urls = {_normalize_handle(key): url for key, url in (mentions or {}).items()}
        self.hashtags: dict[str, None] = {}
        self.mentions: dict[str, None] = {}

    def render(self, source: str) -> str:
        text = strip_unsafe_chars(source).strip()
        paragraphs = []
        for paragraph in _PARAGRAPH_SPLIT_RE.split(text):
            if paragraph.strip():
                lines = paragraph.strip("\n").split("\n")
                paragraphs.append("<p>" + "<br>".join(self.render_line(line) for line in lines) + "</p>")
        return "".join(paragraphs)

    def render_line(self, line: str) -> str:
        out: list[str] = []
        pos = 0
        for match in _URL_RE.finditer(line):
            url = _trim_url(match.group())
            if safe_href(url) != url:
                continue
            out.append(self.render_words(line, pos, match.start()))
            out.append(_link(url, _escape_text(url)))
            pos = match.start() + len(url)
        out.append(self.render_words(line, pos, len(line)))
        return "".join(out)

    def render_words(self, line: str, start: int, stop: int) -> str:
        """Render ``line[start:stop]`` (no URL inside); ``line`` gives the context before ``start``."""
        if not self.link_entities:
            return _escape_text(line[start:stop])
        out: list[str] = []
        pos = start
        for candidate in _ENTITY_START_RE.finditer(line, start, stop):
            index = candidate.start()
            if index < pos:
                continue
            if line[index] == "#":
                html, end = self.render_hashtag(line, index)
            else:
                html, end = self.render_mention(line, index)
            if html is None or end <= index:
                continue
            end = min(end, stop)
            out.append(_escape_text(line[pos:index]))
            out.append(html)
            pos = end
        out.append(_escape_text(line[pos:stop]))
        return "".join(out)

    def render_hashtag(self, line: str, index: int) -> tuple[str | None, int]:
        end = _match_hashtag(line, index)
        if end < 0:
            return None, -1
        typed = line[index + 1 : end]
        name = unicodedata.normalize("NFC", typed).lower()
        self.hashtags.setdefault(name, None)
        assert self.hashtag_url is not None
        url = self.hashtag_url(name)
        if safe_href(url) != url or not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"hashtag_url must return an absolute http(s) URL, got {url!r}")
        body = f"#<span>{_escape_text(typed)}</span>"
        return _link(url, body, css_class="mention hashtag", tag=True), end

    def render_mention(self, line: str, index: int) -> tuple[str | None, int]:
        match = _MENTION_RE.match(line, index)
        if match is None or (index > 0 and (_is_word(line[index - 1]) or line[index - 1] in "/=")):
            return None, -1
        handle = match.group()
        self.mentions.setdefault(handle, None)
        url = self.mention_urls.get(_normalize_handle(handle))
        if url is None or safe_href(url) != url or not url.lower().startswith(("http://", "https://")):
            return _escape_text(handle), match.end()
        user = _escape_text(match.group("user"))
        link = _link(url, f"@<span>{user}</span>", css_class="u-url mention")
        return f'<span class="h-card" translate="no">{link}</span>', match.end()


def render_text(
    source: str,
    *,
    mentions: Mapping[str, str] | None = None,
    hashtag_url: Callable[[str], str],
) -> RenderedText:
    """Render a local user's plain-text post to HTML, linking URLs, hashtags and known mentions."""
    renderer = _Renderer(link_entities=True, mentions=mentions, hashtag_url=hashtag_url)
    html = renderer.render(source)
    return RenderedText(html=html, hashtags=tuple(renderer.hashtags), mentions=tuple(renderer.mentions))


def render_description(source: str) -> str:
    """Render plain text (element descriptions) to HTML: paragraphs, line breaks and URLs only."""
    return _Renderer(link_entities=False, mentions=None, hashtag_url=None).render(source)

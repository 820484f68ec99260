"""Shared expectations for the :mod:`coserver.text.sanitize` tests: link attributes, forbidden output."""

from __future__ import annotations

from coserver.text.sanitize import (
    LINK_REL,
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

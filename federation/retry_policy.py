"""Mastodon's delivery retry policy: what an answer means, when to try again, when to give up.

- :func:`classify` turns an HTTP answer into an :class:`Outcome`: 2xx done; other 4xx (but 401/408/429)
  and 501 failed; 401/408/429/3xx/5xx retried, ``Retry-After`` honoured for 429/503 (capped at a day,
  :func:`parse_retry_after`). 5xx count as a failure of the domain.
- :func:`resolve` gives a claimed row's next state after an outcome: a retry waits ``Retry-After`` or
  ``attempts⁴ + 15 s`` plus up to 50 % jitter (:func:`retry_delay`); after :data:`MAX_ATTEMPTS` attempts
  the row fails.

Pure (no database or network); :mod:`federation.delivery` applies it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from federation.digests import parse_http_date

if TYPE_CHECKING:
    from federation.delivery_records import Claimed

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_RETRY_AFTER",
    "Outcome",
    "classify",
    "parse_retry_after",
    "resolve",
    "retry_delay",
]

MAX_ATTEMPTS = 16
MAX_RETRY_AFTER = 86400.0
_NO_RETRY_4XX_EXCEPT = frozenset({401, 408, 429})


@dataclass(slots=True)
class Outcome:
    """One attempt's result; ``state``: done, retry, failed, ignored or released (its lease ran out)."""

    state: str
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    domain_failure: bool = False


def retry_delay(attempts: int, rand: Callable[[], float] = random.random) -> float:
    """Seconds before the next try after ``attempts`` failed ones: ``attempts⁴ + 15`` plus up to 50 %."""
    base = attempts**4 + 15
    return base * (1.0 + 0.5 * rand())


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` (seconds or an HTTP date) as seconds from now, within [1 s, 1 day]; None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        when = parse_http_date(value)
        if when is None:
            return None
        seconds = when - (time.time() if now is None else now)
    return min(max(seconds, 1.0), MAX_RETRY_AFTER)


def classify(status: int, headers: Mapping[str, str]) -> Outcome:
    """Mastodon's rules (``response_error_unsalvageable?``) for an HTTP answer to a delivery."""
    if 200 <= status < 300:
        return Outcome("done", status)
    error = f"HTTP {status}"
    if status == 501 or (400 <= status < 500 and status not in _NO_RETRY_4XX_EXCEPT):
        return Outcome("failed", status, error, domain_failure=status >= 500)
    retry_after = parse_retry_after(headers.get("retry-after")) if status in (429, 503) else None
    return Outcome("retry", status, error, retry_after, domain_failure=status >= 500)


def resolve(claimed: Claimed, outcome: Outcome) -> tuple[str, float | None, str | None]:
    """The row's next (status, seconds until the next attempt or None, last_error) after ``outcome``."""
    if outcome.state != "retry":
        return outcome.state, None, outcome.error
    if claimed.attempts >= MAX_ATTEMPTS:
        return "failed", None, f"{outcome.error} (gave up after {claimed.attempts} attempts)"
    delay = outcome.retry_after if outcome.retry_after is not None else retry_delay(claimed.attempts)
    return "pending", delay, outcome.error

"""HTTP signatures for ActivityPub: draft-cavage signing and verification, inbound RFC 9421 dispatch.

Pure (no database, network or web framework), on ``cryptography``. Outbound requests are signed with
draft-cavage-12 ``rsa-sha256`` as Mastodon signs them (``sign_request``, in ``federation.signing`` with the
private-key helpers, re-exported here). Inbound requests take two steps, so that keys are fetched only for
otherwise acceptable requests:

1. ``parse_request_signature`` detects the scheme (RFC 9421 if ``Signature-Input`` is present, else a cavage
   ``Signature`` header, else ``Authorization: Signature``) and checks all that needs no key (parameters,
   algorithm, required coverage, body digest, Mastodon's time window); it returns a ``SignatureRequest``.
2. ``verify_request_signature`` checks it with the public key of its ``key_id``.

Both raise only ``SignatureError``, whose message says why (for a 401 body). RFC 9421 is in
``federation.rfc9421``; parsed keys are cached, as parsing a PEM costs more than an RSA verification.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from federation.digests import (
    body_digest,
    check_digest_header,
    content_digest,
    http_date,
    normalise_headers,
    parse_http_date,
)
from federation.signing import generate_keypair, load_private_key, sign_request

if TYPE_CHECKING:
    from federation.rfc9421 import sign_request_rfc9421

__all__ = [
    "SignatureError",
    "SignatureRequest",
    "SignedMessage",
    "body_digest",
    "content_digest",
    "generate_keypair",
    "http_date",
    "load_private_key",
    "load_public_key",
    "parse_request_signature",
    "sign_request",
    "sign_request_rfc9421",
    "verify_request_signature",
]

#: Mastodon's ``CLOCK_SKEW_MARGIN``: a signature may be created up to this far in the future, and is still
#: accepted this long after it expires.
CLOCK_SKEW = 3600.0
#: Expiry of a signature that gives none (Mastodon: created + 5 minutes).
DEFAULT_EXPIRY = 300.0
#: Mastodon's ``EXPIRATION_WINDOW_LIMIT``: an explicit expiry is capped at created + 12 hours.
MAX_EXPIRY = 12 * 3600.0

# One ``name=value`` item of a cavage Signature header; the value is a quoted string or a bare token.
_PARAM_RE = re.compile(
    r'[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([^",\s]*))[ \t]*(,|\Z)'
)
_UNESCAPE_RE = re.compile(r"\\(.)")
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")

_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


class SignatureError(Exception):
    """A request signature is missing, malformed, out of its time window or wrong; the message says why."""

    def __init__(self, message: str) -> None:
        # Messages quote request values; keep what a 401 body echoes short.
        super().__init__(message if len(message) <= 300 else message[:297] + "...")


@dataclass(frozen=True, slots=True)
class SignedMessage:
    """An inbound request as RFC 9421 verification needs it (lower-cased headers, absolute URL)."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class SignatureRequest:
    """What ``parse_request_signature`` found in an inbound request, before the key is known.

    ``algorithm`` is ``rsa-sha256``/``hs2019`` (cavage) or the RFC 9421 ``alg`` (``""`` if absent: the key
    type decides). ``covered`` lists the signed headers or components in order. ``created``/``expires`` are
    POSIX times (``expires`` after Mastodon's default and cap). ``signing_strings`` (cavage) holds the string
    with the query in ``(request-target)``, then the one without (legacy senders); ``message`` (RFC 9421)
    the request as the verifier needs it.
    """

    scheme: Literal["cavage", "rfc9421"]
    key_id: str
    algorithm: str
    covered: tuple[str, ...]
    created: float
    expires: float
    signature: bytes = field(repr=False)
    signing_strings: tuple[bytes, ...] = field(default=(), repr=False)
    message: SignedMessage | None = field(default=None, repr=False)


@functools.lru_cache(maxsize=8192)
def load_public_key(pem: str) -> PublicKeyTypes:
    """Parse an RSA or Ed25519 public key PEM (SubjectPublicKeyInfo or PKCS#1); cached.

    Raises ``ValueError`` for anything else (bad PEM, other key types).
    """
    key = serialization.load_pem_public_key(pem.strip().encode("ascii"))
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise ValueError(f"unsupported public key type {type(key).__name__} (RSA or Ed25519 expected)")
    return key


def check_time_window(created: float, expires: float | None, now: float, max_age: float | None) -> float:
    """Apply Mastodon's time window (see the constants) and ``max_age``; return the effective expiry."""
    if created > now + CLOCK_SKEW:
        raise SignatureError(
            f"signature created {created - now:.0f}s in the future (at most {CLOCK_SKEW:.0f}s accepted)"
        )
    effective = min(created + DEFAULT_EXPIRY if expires is None else expires, created + MAX_EXPIRY)
    if now > effective + CLOCK_SKEW:
        raise SignatureError(
            f"signature expired {now - effective:.0f}s ago, created {now - created:.0f}s ago (valid "
            f"{DEFAULT_EXPIRY:.0f}s unless it sets expires, plus {CLOCK_SKEW:.0f}s of clock skew)"
        )
    if max_age is not None and now - created > max_age:
        raise SignatureError(f"signature created {now - created:.0f}s ago (at most {max_age:.0f}s accepted)")
    return effective


def _parse_cavage_params(value: str) -> dict[str, str]:
    """The parameters of a cavage ``Signature`` value, names lower-cased; raises ``SignatureError``."""
    params: dict[str, str] = {}
    pos, end = 0, len(value)
    while pos < end:
        match = _PARAM_RE.match(value, pos)
        if match is None or match.end() == pos:
            raise SignatureError(f'malformed Signature header at character {pos} (expected name="value")')
        name = match.group(1).lower()
        if name in params:
            raise SignatureError(f"Signature header repeats parameter {match.group(1)!r}")
        quoted = match.group(2)
        if quoted is None:
            params[name] = match.group(3)
        else:
            params[name] = _UNESCAPE_RE.sub(r"\1", quoted) if "\\" in quoted else quoted
        pos = match.end()
    if not params:
        raise SignatureError("empty Signature header")
    return params


def _timestamp_param(params: dict[str, str], name: str) -> float:
    raw = params.get(name)
    if raw is None or not raw:
        raise SignatureError(f"pseudo-header ({name}) is signed but the {name} parameter is missing")
    if _TIMESTAMP_RE.fullmatch(raw) is None:
        raise SignatureError(f"{name} parameter is not a Unix timestamp: {raw!r}")
    return float(raw)


def _encode(text: str) -> bytes:
    # Header values arrive decoded as Latin-1 (ASGI); encoding back gives the bytes the signer signed.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _parse_cavage(
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes,
    raw: str,
    *,
    now: float,
    max_age: float | None,
    host: str | None,
) -> SignatureRequest:
    params = _parse_cavage_params(raw)
    key_id, sig_b64 = params.get("keyid"), params.get("signature")
    missing = [name for name, value in (("keyId", key_id), ("signature", sig_b64)) if not value]
    if missing or key_id is None or sig_b64 is None:
        raise SignatureError(f"Signature header lacks required parameter(s): {', '.join(missing)}")
    algorithm = params.get("algorithm", "hs2019").lower()
    if algorithm not in ("rsa-sha256", "hs2019"):
        raise SignatureError(
            f"unsupported algorithm {algorithm!r} (only rsa-sha256 and hs2019 are supported)"
        )
    signed = params.get("headers", "(created)" if algorithm == "hs2019" else "date").lower().split()
    covered = set(signed)
    if "date" not in covered and "(created)" not in covered:
        raise SignatureError("the date header or the (created) pseudo-header must be signed")
    if "(request-target)" not in covered and "digest" not in covered:
        raise SignatureError("the (request-target) pseudo-header or the digest header must be signed")
    if method in ("GET", "HEAD") and "host" not in covered:
        raise SignatureError(f"the host header must be signed on a {method} request")
    if method == "POST" and "digest" not in covered:
        raise SignatureError("the digest header must be signed on a POST request")
    if algorithm != "hs2019" and ("(created)" in covered or "(expires)" in covered):
        raise SignatureError(f"(created) and (expires) are only valid with algorithm hs2019, not {algorithm}")
    try:
        signature = base64.b64decode(sig_b64, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("signature parameter is not valid base64") from None
    if not signature:
        raise SignatureError("signature parameter is empty")

    if "(created)" in covered:
        created = _timestamp_param(params, "created")
    else:
        date = headers.get("date")
        parsed = None if date is None else parse_http_date(date)
        if parsed is None:
            raise SignatureError(f"the date header is signed but missing or unparseable: {date!r}")
        created = parsed
    expires = _timestamp_param(params, "expires") if "(expires)" in covered else None
    effective_expires = check_time_window(created, expires, now, max_age)

    if "digest" in covered:
        digest = headers.get("digest")
        if digest is None:
            raise SignatureError("the digest header is signed but missing")
        problem = check_digest_header(digest, body)
        if problem is not None:
            raise SignatureError(problem)

    path = target.partition("?")[0]
    lines: list[str] = []
    target_line = -1
    for name in signed:
        if name == "(request-target)":
            target_line = len(lines)
            lines.append(f"(request-target): {method.lower()} {target}")
        elif name in ("(created)", "(expires)"):
            lines.append(f"{name}: {params[name[1:-1]]}")
        elif name.startswith("("):
            raise SignatureError(f"unknown pseudo-header {name} in the signed headers")
        else:
            value = headers.get(name)
            if value is None and name == "host":
                value = host
            if value is None:
                raise SignatureError(f"signed header {name!r} is missing from the request")
            lines.append(f"{name}: {value}")
    strings = [_encode("\n".join(lines))]
    if target_line >= 0 and path != target:
        lines[target_line] = f"(request-target): {method.lower()} {path}"
        strings.append(_encode("\n".join(lines)))
    return SignatureRequest(
        scheme="cavage",
        key_id=key_id,
        algorithm=algorithm,
        covered=tuple(signed),
        created=created,
        expires=effective_expires,
        signature=signature,
        signing_strings=tuple(strings),
    )


def parse_request_signature(
    method: str,
    path_and_query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    max_age: float | None = None,
    host: str | None = None,
    scheme: str = "https",
) -> SignatureRequest:
    """Parse and pre-check the signature of an inbound request, before its key is known.

    ``path_and_query`` is the raw request target (a bare trailing ``?`` is dropped); ``headers`` any mapping
    or multi-dict with ``items()``, matched case-insensitively; ``body`` the raw bytes the digest must match.
    ``now`` overrides the clock; ``max_age`` (seconds) adds an age limit to Mastodon's window; ``host`` is
    used when there is no ``Host`` header (HTTP/2); ``scheme`` rebuilds the RFC 9421 ``@target-uri``.
    Raises ``SignatureError`` (only that, whatever the input).
    """
    try:
        normalised = normalise_headers(headers)
        now_ts = time.time() if now is None else float(now)
        method = method.upper()
        target = path_and_query or "/"
        if target.endswith("?"):
            target = target[:-1]
        raw_body = b"" if body is None else bytes(body)
        if "signature-input" in normalised:
            from federation import rfc9421

            return rfc9421.parse_rfc9421(
                method, target, normalised, raw_body, now=now_ts, max_age=max_age, host=host, scheme=scheme
            )
        raw = normalised.get("signature")
        if raw is None:
            authorization = normalised.get("authorization", "")
            if authorization[:10].lower() != "signature ":
                raise SignatureError(
                    "request is not signed (no Signature-Input, Signature or Authorization: Signature header)"
                )
            raw = authorization[10:]
        return _parse_cavage(
            method, target, normalised, raw_body, raw, now=now_ts, max_age=max_age, host=host
        )
    except SignatureError:
        raise
    except Exception as exc:  # hostile input must never surface as anything but a bad signature
        raise SignatureError(f"malformed signature ({type(exc).__name__}: {exc})") from exc


def verify_request_signature(sig: SignatureRequest, public_key_pem: str) -> None:
    """Raise ``SignatureError`` unless ``sig`` verifies with ``public_key_pem`` (RSA or Ed25519 PEM).

    Cavage: RSA PKCS#1 v1.5 with SHA-256 (``hs2019`` with an RSA key is the same); Ed25519 keys with
    ``hs2019``. The signing string with the query in ``(request-target)`` is tried first, then the one
    without it. RFC 9421 signatures are checked by ``federation.rfc9421``.
    """
    try:
        key = load_public_key(public_key_pem)
    except Exception as exc:
        raise SignatureError(f"unusable public key for {sig.key_id!r}: {exc}") from exc
    try:
        if sig.scheme == "rfc9421":
            from federation import rfc9421

            rfc9421.verify_rfc9421(sig, key)
            return
        if isinstance(key, ed25519.Ed25519PublicKey) and sig.algorithm != "hs2019":
            raise SignatureError(f"algorithm {sig.algorithm} needs an RSA key; {sig.key_id!r} is Ed25519")
        for candidate in sig.signing_strings:
            try:
                if isinstance(key, rsa.RSAPublicKey):
                    key.verify(sig.signature, candidate, _PKCS1, _SHA256)
                elif isinstance(key, ed25519.Ed25519PublicKey):
                    key.verify(sig.signature, candidate)
                else:  # pragma: no cover - load_public_key returns only RSA and Ed25519 keys
                    raise SignatureError(f"unsupported key type {type(key).__name__}")
                return
            except InvalidSignature:
                continue
    except SignatureError:
        raise
    except Exception as exc:
        raise SignatureError(f"signature cannot be checked ({type(exc).__name__}: {exc})") from exc
    raise SignatureError(f"signature does not verify with the public key of {sig.key_id!r}")


def __getattr__(name: str) -> Any:
    # ``sign_request_rfc9421`` lives in federation.rfc9421, which imports this module: resolve it lazily.
    if name == "sign_request_rfc9421":
        from federation.rfc9421 import sign_request_rfc9421

        return sign_request_rfc9421
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

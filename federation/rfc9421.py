"""RFC 9421 HTTP Message Signatures for ActivityPub: inbound checks and a signer for tests and fallbacks.

``federation.signatures.parse_request_signature`` hands requests carrying ``Signature-Input`` to
``parse_rfc9421``, which applies Mastodon's inbound rules without the key: exactly one signature;
``keyid`` and ``created`` required; ``@method`` and ``@target-uri`` (or ``@authority`` and ``@path``) covered;
``content-digest`` covered on POST, with a ``sha-256`` member matching the raw body; Mastodon's time window.
``verify_rfc9421`` then checks the signature with the PyPI package ``http-message-signatures``, through a tiny
request adapter (``method``, ``url``, ``headers.items()``). Algorithms: ``rsa-v1_5-sha256`` (fedify, Mastodon
4.5+), ``rsa-pss-sha512`` and ``ed25519``; without an ``alg`` parameter the key type decides (RSA ⇒
``rsa-v1_5-sha256``).

Where the library's own policy differs from Mastodon's, this module does the check itself and switches the
library's off: the time window (the library uses the wall clock and a 5 s skew), and the body digest (the
library verifies every Content-Digest member and refuses unknown algorithms; Mastodon needs only sha-256).

``sign_request_rfc9421`` signs like fedify: ``@method @target-uri @authority host date`` plus
``content-digest`` when there is a body, with ``created``, ``keyid`` and ``alg``.
"""

from __future__ import annotations

import datetime
import functools
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import http_sf
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
)
from http_message_signatures.algorithms import (
    ED25519,
    RSA_PSS_SHA512,
    RSA_V1_5_SHA256,
    HTTPSignatureAlgorithm,
)

from federation.digests import check_content_digest_header, host_header, http_date
from federation.signatures import (
    SignatureError,
    SignatureRequest,
    SignedMessage,
    check_time_window,
)

__all__ = ["parse_rfc9421", "sign_request_rfc9421", "verify_rfc9421"]

_ALGORITHMS: dict[str, type[HTTPSignatureAlgorithm]] = {
    "rsa-v1_5-sha256": RSA_V1_5_SHA256,
    "rsa-pss-sha512": RSA_PSS_SHA512,
    "ed25519": ED25519,
}
_SIGNER_HEADERS = frozenset({"host", "date", "signature", "signature-input"})
#: fedify's covered components (``content-digest`` is added when there is a body).
DEFAULT_COMPONENTS = ("@method", "@target-uri", "@authority", "host", "date")


@functools.lru_cache(maxsize=1024)
def load_signing_key(pem: str) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    """Parse an RSA or Ed25519 private key PEM (for the RFC 9421 signer); cached. Raises ``ValueError``."""
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise ValueError(f"expected an RSA or Ed25519 private key, got {type(key).__name__}")
    return key


class _Fields:
    """Read-only header view for the library: ``items()`` gives the field lines in order."""

    __slots__ = ("_items",)

    def __init__(self, items: tuple[tuple[str, str], ...]) -> None:
        self._items = items

    def items(self) -> Iterable[tuple[str, str]]:
        return self._items

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._items))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(field.lower() == name.lower() for field, _ in self._items)


class _Request:
    """The request-like object the library expects: upper-case ``method``, absolute ``url``, ``headers``."""

    __slots__ = ("headers", "method", "url")

    def __init__(self, method: str, url: str, headers: Any) -> None:
        self.method = method
        self.url = url
        self.headers = headers


class _OneKey(HTTPSignatureKeyResolver):
    """Resolves every key id to the one key we already hold (key lookup is the caller's business)."""

    def __init__(self, public: Any = None, private: Any = None) -> None:
        self._public = public
        self._private = private

    def resolve_public_key(self, key_id: str) -> Any:
        return self._public

    def resolve_private_key(self, key_id: str) -> Any:
        return self._private


class _Verifier(HTTPMessageVerifier):
    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        # Already applied by parse_rfc9421 with Mastodon's window (created <= now + 1 h, expiry + 1 h) and an
        # injectable clock; the library's check would refuse peers whose clock runs a few seconds ahead.
        return None


def _reject_duplicate(key: str, context: str) -> None:
    if context == "dictionary":
        raise SignatureError(f"duplicate signature label {key!r}")


def _sf_dictionary(value: str | None, header: str) -> dict[str, Any]:
    if value is None:
        raise SignatureError(f"{header} header missing")
    try:
        parsed = http_sf.parse(
            value.encode("latin-1"), tltype="dictionary", on_duplicate_key=_reject_duplicate
        )
    except SignatureError:
        raise
    except (ValueError, TypeError, UnicodeError) as exc:
        raise SignatureError(f"{header} is not a valid Structured Field dictionary ({exc})") from None
    if not isinstance(parsed, dict):  # pragma: no cover - tltype="dictionary" always gives a dict
        raise SignatureError(f"{header} is not a Structured Field dictionary")
    return parsed


def parse_rfc9421(
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes,
    *,
    now: float,
    max_age: float | None,
    host: str | None,
    scheme: str,
) -> SignatureRequest:
    """Pre-check an RFC 9421 signature (see the module docstring); ``headers`` are already normalised.

    Called by ``parse_request_signature``, which documents the arguments. Raises ``SignatureError``.
    """
    inputs = _sf_dictionary(headers.get("signature-input"), "Signature-Input")
    signatures = _sf_dictionary(headers.get("signature"), "Signature")
    if len(inputs) != 1 or len(signatures) != 1:
        raise SignatureError(
            f"exactly one signature is accepted; got {len(inputs)} in Signature-Input "
            f"and {len(signatures)} in Signature"
        )
    label = next(iter(inputs))
    if label not in signatures:
        raise SignatureError(f"Signature has no member for the Signature-Input label {label!r}")
    members, params = inputs[label]
    if not isinstance(members, list):
        raise SignatureError(f"Signature-Input member {label!r} must be an inner list of components")
    signature = signatures[label][0]
    if not isinstance(signature, bytes) or not signature:
        raise SignatureError(f"Signature member {label!r} must be a non-empty byte sequence (:base64:)")
    components: list[str] = []
    for item, _item_params in members:
        if not isinstance(item, str):
            raise SignatureError(f"covered component {item!r} is not a string")
        components.append(item)

    key_id = params.get("keyid")
    if not isinstance(key_id, str) or not key_id:
        raise SignatureError('Signature-Input lacks the required "keyid" parameter')
    created = params.get("created")
    if type(created) is not int:
        raise SignatureError('Signature-Input lacks the required integer "created" parameter')
    expires = params.get("expires")
    if expires is not None and type(expires) is not int:
        raise SignatureError('Signature-Input "expires" parameter must be an integer')
    alg = params.get("alg", "")
    if alg and alg not in _ALGORITHMS:
        raise SignatureError(f"unsupported alg {alg!r} (supported: {', '.join(_ALGORITHMS)})")

    covered = set(components)
    if "@method" not in covered:
        raise SignatureError("the @method component must be covered")
    if "@target-uri" not in covered and not {"@authority", "@path"} <= covered:
        raise SignatureError("the @target-uri component (or @authority and @path) must be covered")
    if method == "POST" and "content-digest" not in covered:
        raise SignatureError("the content-digest header must be covered on a POST request")
    effective_expires = check_time_window(
        float(created), None if expires is None else float(expires), now, max_age
    )

    if "content-digest" in covered:
        digest = headers.get("content-digest")
        if digest is None:
            raise SignatureError("the content-digest header is covered but missing")
        problem = check_content_digest_header(digest, body)
        if problem is not None:
            raise SignatureError(problem)

    fields = tuple(headers.items())
    authority = headers.get("host")
    if authority is None:
        if not host:
            raise SignatureError("cannot rebuild the target URI: no Host header")
        authority = host
        fields += (("host", host),)
    return SignatureRequest(
        scheme="rfc9421",
        key_id=key_id,
        algorithm=alg,
        covered=tuple(components),
        created=float(created),
        expires=effective_expires,
        signature=signature,
        message=SignedMessage(method=method, url=f"{scheme}://{authority}{target}", headers=fields),
    )


def _algorithm_for(alg: str, key: object, key_id: str) -> type[HTTPSignatureAlgorithm]:
    if alg:
        algorithm = _ALGORITHMS[alg]
        wanted = ed25519.Ed25519PublicKey if algorithm is ED25519 else rsa.RSAPublicKey
        if not isinstance(key, wanted):
            raise SignatureError(f"alg {alg} does not match the {type(key).__name__} of {key_id!r}")
        return algorithm
    if isinstance(key, rsa.RSAPublicKey):
        return RSA_V1_5_SHA256
    if isinstance(key, ed25519.Ed25519PublicKey):
        return ED25519
    raise SignatureError(f"unsupported key type {type(key).__name__} for {key_id!r}")


def verify_rfc9421(sig: SignatureRequest, key: PublicKeyTypes) -> None:
    """Raise ``SignatureError`` unless the RFC 9421 signature in ``sig`` verifies with ``key``."""
    message = sig.message
    if sig.scheme != "rfc9421" or message is None:
        raise SignatureError("not an RFC 9421 signature")
    algorithm = _algorithm_for(sig.algorithm, key, sig.key_id)
    verifier = _Verifier(signature_algorithm=algorithm, key_resolver=_OneKey(public=key))
    try:
        verifier.verify(_Request(message.method, message.url, _Fields(message.headers)), max_age=None)
    except HTTPMessageSignaturesException as exc:
        if isinstance(exc.__cause__, CryptoInvalidSignature):
            raise SignatureError(f"signature does not verify with the public key of {sig.key_id!r}") from None
        raise SignatureError(f"RFC 9421 signature cannot be checked: {exc}") from None


def sign_request_rfc9421(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key_pem: str,
    *,
    now: float | None = None,
    expires: float | None = None,
    components: Sequence[str] = DEFAULT_COMPONENTS,
    label: str = "sig1",
    include_alg: bool = True,
) -> dict[str, str]:
    """Sign a request with RFC 9421 as fedify does; return all the headers to send.

    The result holds ``Host``, a fresh ``Date``, ``Content-Digest`` when ``body`` is not ``None``, the
    caller's ``headers`` (any Host, Date, Signature or Signature-Input replaced; a Content-Digest given there
    is kept as is, and checked against ``body`` if any), ``Signature-Input`` and ``Signature``. RSA keys sign
    with ``rsa-v1_5-sha256``, Ed25519 keys with ``ed25519``. ``components`` are the covered components
    (``content-digest`` is added for a body).
    Raises ``ValueError`` (or the library's ``HTTPMessageSignaturesException``) for unusable input.
    """
    key = load_signing_key(private_key_pem)
    algorithm = RSA_V1_5_SHA256 if isinstance(key, rsa.RSAPrivateKey) else ED25519
    ts = time.time() if now is None else now
    out: dict[str, str] = {"Host": host_header(urlsplit(url)), "Date": http_date(ts)}
    out.update((name, value) for name, value in headers.items() if name.lower() not in _SIGNER_HEADERS)
    utc = datetime.UTC
    HTTPMessageSigner(signature_algorithm=algorithm, key_resolver=_OneKey(private=key)).sign(
        _Request(method.upper(), url, out),
        key_id=key_id,
        created=datetime.datetime.fromtimestamp(ts, tz=utc),
        expires=None if expires is None else datetime.datetime.fromtimestamp(expires, tz=utc),
        label=label,
        include_alg=include_alg,
        covered_component_ids=tuple(components),
        body=body,
        use_existing_digest=any(name.lower() == "content-digest" for name in out),
    )
    return out

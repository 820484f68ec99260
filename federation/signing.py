"""Outbound draft-cavage HTTP signatures, as Mastodon signs requests, and the RSA keys they use.

:func:`sign_request` signs a request with draft-cavage-12 ``rsa-sha256`` and returns every header to send
(fresh ``Date`` and ``Digest``); :func:`load_private_key` parses (and caches) the signer's PEM,
:func:`generate_keypair` makes a new key pair. Pure (no database, network or web framework), on
``cryptography``. Inbound parsing and verification are in :mod:`federation.signatures`, which re-exports
these names; RFC 9421 signing is :func:`federation.rfc9421.sign_request_rfc9421`.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from coserver.keys import generate_rsa_keypair
from federation.digests import body_digest, host_header, http_date

__all__ = ["generate_keypair", "load_private_key", "sign_request"]

# Mastodon leaves user-agent, accept-encoding and accept unsigned; so do we, and also hop-by-hop and framing
# headers, which proxies and HTTP/2 may rewrite or drop.
_HOP_BY_HOP = frozenset(("content-length", "connection", "keep-alive", "transfer-encoding", "te", "upgrade"))
_UNSIGNED_HEADERS = frozenset(("user-agent", "accept-encoding", "accept")) | _HOP_BY_HOP
# Headers the signer always sets itself, replacing any the caller passed.
_SIGNER_HEADERS = frozenset({"host", "date", "digest", "signature"})

_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


def generate_keypair() -> tuple[str, str]:
    """A new RSA-2048 key pair as ``(private PEM in PKCS#8, public PEM in SubjectPublicKeyInfo)``."""
    return generate_rsa_keypair()


@functools.lru_cache(maxsize=1024)
def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """Parse an unencrypted RSA private key PEM (PKCS#8 or PKCS#1); cached. Raises ``ValueError``."""
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"expected an RSA private key, got {type(key).__name__}")
    return key


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key_pem: str,
    *,
    now: float | None = None,
) -> dict[str, str]:
    """Sign a request with draft-cavage ``rsa-sha256``, as Mastodon does; return all the headers to send.

    The result holds ``Host`` (port-less for default ports), a fresh ``Date``, ``Digest`` when ``body`` is not
    ``None``, the caller's ``headers`` (any Host/Date/Digest/Signature among them are replaced) and
    ``Signature``. Signed: ``(request-target)`` (lower-case method, path and ``?query``), then every header
    set except User-Agent, Accept-Encoding, Accept and hop-by-hop/framing headers (Content-Length, Connection,
    …). Raises ``ValueError`` for an unusable URL, key, key id or header value.
    """
    if any(c in key_id for c in '"\\\r\n'):
        raise ValueError(f"key id cannot go in a Signature header: {key_id!r}")
    key = load_private_key(private_key_pem)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    out: dict[str, str] = {"Host": host_header(parts), "Date": http_date(now)}
    if body is not None:
        out["Digest"] = body_digest(body)
    out.update((name, value) for name, value in headers.items() if name.lower() not in _SIGNER_HEADERS)
    names = ["(request-target)"]
    lines = [f"(request-target): {method.lower()} {target}"]
    for name, value in out.items():
        lname = name.lower()
        if lname in _UNSIGNED_HEADERS:
            continue
        if lname in names:
            raise ValueError(f"header {name!r} given twice")
        text = str(value).strip()
        if "\r" in text or "\n" in text:
            raise ValueError(f"header {name!r} contains a line break")
        names.append(lname)
        lines.append(f"{lname}: {text}")
    signature = key.sign("\n".join(lines).encode("utf-8"), _PKCS1, _SHA256)
    out["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return out

"""Shared keys, fixed signed requests and request builders for the HTTP signature tests."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from federation.signatures import (
    SignatureRequest,
    body_digest,
    http_date,
    parse_request_signature,
    sign_request,
)

KEYS = Path(__file__).resolve().parent.parent / "fixtures" / "keys"


PRIVATE = (KEYS / "fixture_rsa2048_private.pem").read_text()


PUBLIC = (KEYS / "fixture_rsa2048_public.pem").read_text()


OTHER_PRIVATE = (KEYS / "other_rsa2048_private.pem").read_text()


OTHER_PUBLIC = (KEYS / "other_rsa2048_public.pem").read_text()


KEY_ID = "https://coserver.example/actors/alice#main-key"


INBOX = "https://remote.example/users/bob/inbox"


NOW = 1794999600.0  # Wed, 18 Nov 2026 11:00:00 GMT


BODY = (
    b'{"@context":"https://www.w3.org/ns/activitystreams","id":"https://coserver.example/activities/1",'
    b'"type":"Follow","actor":"https://coserver.example/actors/alice","object":"https://remote.example/users/bob"}'
)


AP_JSON = {"Content-Type": "application/activity+json"}


# Computed once with sign_request / sign_request_rfc9421 (fixture key, now=NOW); must keep verifying.
FIXED_CAVAGE = {
    "Host": "remote.example",
    "Date": "Wed, 18 Nov 2026 11:00:00 GMT",
    "Digest": "SHA-256=OUXSTNYQq8ebyJ1CRuTsBlPFbUKBd20rKNGEhBcQc+Q=",
    "Content-Type": "application/activity+json",
    "User-Agent": "coserver/0.1",
    "Signature": 'keyId="https://coserver.example/actors/alice#main-key",algorithm="rsa-sha256",'
    'headers="(request-target) host date digest content-type",signature="C9UAo8z3bvJt+b4OVyB05Y4yotywF40Aq5Aj'
    "bgmd4DdGxWSjAPjyLkVoMfxj9b3NMaoe4SKlcqLA0Yd8KiFRnCeco5OFILmxay1Fnwqkyidhjh4Cq/W1xa51PCQjpwMEkTsbEl/xWNi6x"
    "fLckVXHSa7n98lm3qTqRZvPerSz1By4I6aM0PHNnIftQwkWFkff5Bu6P1e6zaOgRLZLXkkesmtCBFA/E+pKb1U1UrhhD6u1QsRpQfBykS"
    'aq7E+aiar0x0sd7XSoC0YgjBcLAf6PfFF0RB4y+Sh6zxcB8m7hfdrmLyEPjHNk27TuPFkgbukY1rfLPOO7Brd4nXhcMOv86w=="',
}


FIXED_RFC9421 = {
    "Host": "remote.example",
    "Date": "Wed, 18 Nov 2026 11:00:00 GMT",
    "Content-Type": "application/activity+json",
    "Content-Digest": "sha-256=:OUXSTNYQq8ebyJ1CRuTsBlPFbUKBd20rKNGEhBcQc+Q=:",
    "Signature-Input": 'sig1=("@method" "@target-uri" "@authority" "host" "date" "content-digest");'
    'created=1794999600;keyid="https://coserver.example/actors/alice#main-key";alg="rsa-v1_5-sha256"',
    "Signature": "sig1=:BB17wEnisDMGMjN4v54Valx3f17cj3OKf0PU1MjzSvD6Y4u6GLUeXCLdjQHnOIzPraKGW/TAtUJkU1y2QF"
    "ctBaXTpwD148h1ticT+xlZQ7z1r2AeCM7DNNtGdYD8zBH3F8gzkv6N8olmm8ZK1V6lfp9+tJVmcMgOrrXVlXifBddvJ9j4ikMB0Wh6fgLOCyQpCfbs"
    "UvcDnPbN6Xrar5WFA5Xi+aYQD91MePiFSWzAHAuqn3+z5iZC8VjquLFrFSddpkBgVNy4JkRdTz4nutpvz8WSVMKZKBAX8c0FXOySk1D2lv"
    "qajQvSQ4i5jhIKWuEsZQAbBSr4j9rokPglACixeQ==:",
}


# draft-cavage-http-signatures-10, appendix C (test key "Test", RSA-1024).
CAVAGE_VECTOR_HEADERS = {
    "Host": "example.com",
    "Date": "Sun, 05 Jan 2014 21:31:40 GMT",
    "Content-Type": "application/json",
    "Digest": "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
    "Content-Length": "18",
}


CAVAGE_VECTOR_NOW = 1388957500.0


HELLO = b'{"hello": "world"}'


def parse(method: str, target: str, headers, body: bytes = b"", **kwargs) -> SignatureRequest:
    kwargs.setdefault("now", NOW)
    return parse_request_signature(method, target, headers, body, **kwargs)


def signed_post(body: bytes = BODY, *, now: float = NOW, url: str = INBOX, **kwargs) -> dict[str, str]:
    return sign_request("POST", url, AP_JSON, body, KEY_ID, PRIVATE, now=now, **kwargs)


def craft_cavage(
    method: str,
    target: str,
    headers: dict[str, str],
    names: list[str],
    *,
    private_pem: str = PRIVATE,
    algorithm: str | None = "rsa-sha256",
    params: dict[str, str] | None = None,
    key_id: str = KEY_ID,
) -> str:
    """A cavage Signature value built independently of the module under test."""
    params = params or {}
    lower = {k.lower(): v for k, v in headers.items()}
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
        elif name in ("(created)", "(expires)"):
            lines.append(f"{name}: {params[name[1:-1]]}")
        else:
            lines.append(f"{name}: {lower[name]}")
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    data = "\n".join(lines).encode()
    if isinstance(key, rsa.RSAPrivateKey):
        raw = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        raw = key.sign(data)
    items = [f'keyId="{key_id}"']
    if algorithm is not None:
        items.append(f'algorithm="{algorithm}"')
    items += [f"{k}={v}" for k, v in params.items()]
    items += [f'headers="{" ".join(names)}"', f'signature="{base64.b64encode(raw).decode()}"']
    return ",".join(items)


def post_headers(body: bytes = BODY, *, date: float = NOW, digest: str | None = None) -> dict[str, str]:
    return {
        "Host": "remote.example",
        "Date": http_date(date),
        "Digest": digest or body_digest(body),
        "Content-Type": "application/activity+json",
    }


POST_NAMES = ["(request-target)", "host", "date", "digest", "content-type"]


def ed25519_pems() -> tuple[str, str]:
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public

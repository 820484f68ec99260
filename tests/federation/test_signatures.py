"""HTTP signatures (``federation.signatures`` and ``federation.rfc9421``): round trips, fixed known-good
requests (ours and published test vectors), Mastodon's acceptance rules, tampering, and malformed input."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from werkzeug.datastructures import Headers

from federation.signatures import (
    SignatureError,
    SignatureRequest,
    SignedMessage,
    body_digest,
    content_digest,
    generate_keypair,
    http_date,
    load_private_key,
    load_public_key,
    parse_request_signature,
    sign_request,
    sign_request_rfc9421,
    verify_request_signature,
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


# ------------------------------------------------------------------------------------------ primitives


def test_generate_keypair_and_key_cache() -> None:
    private, public = generate_keypair()
    assert private.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8
    assert public.startswith("-----BEGIN PUBLIC KEY-----")  # SubjectPublicKeyInfo
    assert load_private_key(private).key_size == 2048
    assert load_public_key(public) is load_public_key(public)  # parsed once
    assert load_private_key(private) is load_private_key(private)
    with pytest.raises(ValueError):
        load_public_key("not a key")
    with pytest.raises(ValueError):
        load_private_key(ed25519_pems()[0])


def test_digests_and_date() -> None:
    # RFC 9530 / draft-cavage published values for {"hello": "world"}
    assert body_digest(HELLO) == "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
    assert content_digest(HELLO) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    assert http_date(CAVAGE_VECTOR_NOW) == "Sun, 05 Jan 2014 21:31:40 GMT"


def test_sign_request_headers_like_mastodon() -> None:
    headers = sign_request(
        "POST",
        "https://remote.example:443/inbox",
        {"Content-Type": "application/activity+json", "User-Agent": "x", "Accept": "*/*", "host": "evil"},
        BODY,
        KEY_ID,
        PRIVATE,
        now=NOW,
    )
    assert headers["Host"] == "remote.example" and "host" not in headers
    assert headers["Date"] == "Wed, 18 Nov 2026 11:00:00 GMT"
    assert headers["Digest"] == body_digest(BODY)
    sig = headers["Signature"]
    assert sig.startswith(f'keyId="{KEY_ID}",algorithm="rsa-sha256",')
    assert 'headers="(request-target) host date digest content-type"' in sig
    get = sign_request("GET", "http://remote.example:8080/users/bob?page=2", {}, None, KEY_ID, PRIVATE)
    assert get["Host"] == "remote.example:8080" and "Digest" not in get
    assert 'headers="(request-target) host date"' in get["Signature"]


# ------------------------------------------------------------------------------------------ round trips


def test_round_trip_cavage_post() -> None:
    headers = signed_post(now=None)  # real clock on both sides
    sig = parse_request_signature("POST", "/users/bob/inbox", headers, BODY)
    assert (sig.scheme, sig.key_id, sig.algorithm) == ("cavage", KEY_ID, "rsa-sha256")
    assert sig.covered == ("(request-target)", "host", "date", "digest", "content-type")
    verify_request_signature(sig, PUBLIC)


def test_round_trip_cavage_get_with_query() -> None:
    accept = {"Accept": "application/activity+json, application/ld+json"}
    headers = sign_request(
        "GET", "https://remote.example/users/bob?page=true", accept, None, KEY_ID, PRIVATE, now=NOW
    )
    sig = parse("GET", "/users/bob?page=true", headers)
    assert "accept" not in sig.covered and "host" in sig.covered
    verify_request_signature(sig, PUBLIC)


def test_round_trip_rfc9421_post() -> None:
    headers = sign_request_rfc9421("POST", INBOX, AP_JSON, BODY, KEY_ID, PRIVATE)
    assert headers["Content-Digest"] == content_digest(BODY)
    sig = parse_request_signature("POST", "/users/bob/inbox", headers, BODY)
    assert (sig.scheme, sig.key_id, sig.algorithm) == ("rfc9421", KEY_ID, "rsa-v1_5-sha256")
    verify_request_signature(sig, PUBLIC)


def test_round_trip_rfc9421_get_ed25519_and_no_alg() -> None:
    private, public = ed25519_pems()
    headers = sign_request_rfc9421(
        "GET", "https://remote.example/users/bob?x=1", {}, None, KEY_ID, private, now=NOW
    )
    verify_request_signature(parse("GET", "/users/bob?x=1", headers), public)
    no_alg = sign_request_rfc9421("POST", INBOX, AP_JSON, BODY, KEY_ID, PRIVATE, now=NOW, include_alg=False)
    sig = parse("POST", "/users/bob/inbox", no_alg, BODY)
    assert sig.algorithm == ""
    verify_request_signature(sig, PUBLIC)  # RSA key => rsa-v1_5-sha256
    with pytest.raises(SignatureError):
        verify_request_signature(sig, public)  # an Ed25519 key does not verify an RSA signature


# ------------------------------------------------------------------------------------------ known good


def test_fixed_cavage_request_verifies() -> None:
    sig = parse("POST", "/users/bob/inbox", FIXED_CAVAGE, BODY)
    assert sig.created == NOW
    verify_request_signature(sig, PUBLIC)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request_signature(sig, OTHER_PUBLIC)


def test_fixed_rfc9421_request_verifies() -> None:
    verify_request_signature(parse("POST", "/users/bob/inbox", FIXED_RFC9421, BODY), PUBLIC)


def test_draft_cavage_test_vector() -> None:
    public = (KEYS / "cavage_draft_test_public.pem").read_text()
    all_headers = (
        'keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date content-type digest '
        'content-length",signature="vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2bE'
        'KBIvB1q52LaEUHFv120V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE="'
    )
    headers = {**CAVAGE_VECTOR_HEADERS, "Signature": all_headers}
    sig = parse("POST", "/foo?param=value&pet=dog", headers, HELLO, now=CAVAGE_VECTOR_NOW)
    verify_request_signature(sig, public)
    # C.2 ("basic", no digest) is valid cavage but a POST that does not sign its digest: Mastodon refuses it.
    basic = (
        'keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date",signature="qdx+H7PHHDZgy4'
        "y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn7ndmw2iicw3HMbe8VfEdKFYRqzic+efkb3nndiv/x1xSHDJW"
        'eSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEmn04swr2Os0="'
    )
    with pytest.raises(SignatureError, match="digest header must be signed"):
        parse(
            "POST", "/foo?param=value&pet=dog", {**headers, "Signature": basic}, HELLO, now=CAVAGE_VECTOR_NOW
        )


def test_rfc9421_ed25519_test_vector() -> None:
    """RFC 9421 B.2.6 through our library adapter; our parser refuses it (POST without content-digest)."""
    public = (KEYS / "rfc9421_test_ed25519_public.pem").read_text()
    headers = {
        "host": "example.com",
        "date": "Tue, 20 Apr 2021 02:07:55 GMT",
        "content-type": "application/json",
        "content-length": "18",
        "signature-input": 'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
        ';created=1618884473;keyid="test-key-ed25519"',
        "signature": "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w"
        "6vuQv5lIp5WPpBKRCw==:",
    }
    with pytest.raises(SignatureError, match="content-digest header must be covered"):
        parse("POST", "/foo?param=Value&Pet=dog", headers, HELLO, now=1618884473)
    message = SignedMessage("POST", "https://example.com/foo?param=Value&Pet=dog", tuple(headers.items()))
    sig = SignatureRequest(
        "rfc9421", "test-key-ed25519", "", (), 1618884473.0, 1618884773.0, b"", message=message
    )
    verify_request_signature(sig, public)
    tampered = SignedMessage(message.method, message.url.replace("/foo", "/bar"), message.headers)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request_signature(SignatureRequest(**{**_fields(sig), "message": tampered}), public)


def _fields(sig: SignatureRequest) -> dict:
    return {name: getattr(sig, name) for name in SignatureRequest.__dataclass_fields__}


# ------------------------------------------------------------------------------------------ tampering


def test_body_changed() -> None:
    with pytest.raises(SignatureError, match="Digest mismatch"):
        parse("POST", "/users/bob/inbox", FIXED_CAVAGE, BODY + b" ")


def test_date_changed() -> None:
    headers = {**FIXED_CAVAGE, "Date": http_date(NOW + 60)}
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request_signature(parse("POST", "/users/bob/inbox", headers, BODY), PUBLIC)


def test_digest_header_changed() -> None:
    other = b'{"type":"Delete"}'
    with pytest.raises(SignatureError, match="Digest mismatch"):
        parse("POST", "/users/bob/inbox", {**FIXED_CAVAGE, "Digest": body_digest(other)}, BODY)
    # body and Digest swapped consistently: the digest matches but was not the one signed
    sig = parse("POST", "/users/bob/inbox", {**FIXED_CAVAGE, "Digest": body_digest(other)}, other)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request_signature(sig, PUBLIC)


def test_digest_missing_on_post() -> None:
    headers = {k: v for k, v in FIXED_CAVAGE.items() if k != "Digest"}
    with pytest.raises(SignatureError, match="digest header is signed but missing"):
        parse("POST", "/users/bob/inbox", headers, BODY)
    names = ["(request-target)", "host", "date", "content-type"]
    unsigned_digest = {
        **post_headers(),
        "Signature": craft_cavage("POST", "/users/bob/inbox", post_headers(), names),
    }
    with pytest.raises(SignatureError, match="digest header must be signed on a POST"):
        parse("POST", "/users/bob/inbox", unsigned_digest, BODY)


def test_get_must_sign_host() -> None:
    headers = {"Host": "remote.example", "Date": http_date(NOW)}
    signature = craft_cavage("GET", "/users/bob", headers, ["(request-target)", "date"])
    with pytest.raises(SignatureError, match="host header must be signed on a GET"):
        parse("GET", "/users/bob", {**headers, "Signature": signature})
    signature = craft_cavage("GET", "/users/bob", headers, ["host", "date"])
    with pytest.raises(SignatureError, match=r"\(request-target\) pseudo-header or the digest"):
        parse("GET", "/users/bob", {**headers, "Signature": signature})


def test_key_swapped() -> None:
    other_signed = sign_request("POST", INBOX, AP_JSON, BODY, KEY_ID, OTHER_PRIVATE, now=NOW)
    sig = parse("POST", "/users/bob/inbox", other_signed, BODY)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request_signature(sig, PUBLIC)
    verify_request_signature(sig, OTHER_PUBLIC)


@pytest.mark.parametrize(
    ("offset", "ok"),
    [(-7200, False), (-3960, False), (-3840, True), (0, True), (3540, True), (3660, False), (7200, False)],
)
def test_date_window(offset: float, ok: bool) -> None:
    """Date accepted in about [now - 65 min, now + 60 min], as Mastodon does."""
    headers = signed_post(now=NOW + offset)
    if ok:
        verify_request_signature(parse("POST", "/users/bob/inbox", headers, BODY), PUBLIC)
    else:
        with pytest.raises(SignatureError, match=r"expired|future"):
            parse("POST", "/users/bob/inbox", headers, BODY)


def test_max_age() -> None:
    headers = signed_post(now=NOW - 120)
    parse("POST", "/users/bob/inbox", headers, BODY)
    with pytest.raises(SignatureError, match="at most 60s"):
        parse("POST", "/users/bob/inbox", headers, BODY, max_age=60)


def test_hs2019_created_expires_accepted() -> None:
    headers = post_headers()
    names = ["(request-target)", "(created)", "(expires)", "host", "digest"]
    params = {"created": str(int(NOW - 3 * 3600)), "expires": str(int(NOW + 600))}
    signature = craft_cavage("POST", "/users/bob/inbox", headers, names, algorithm="hs2019", params=params)
    sig = parse("POST", "/users/bob/inbox", {**headers, "Signature": signature}, BODY)
    assert sig.created == NOW - 3 * 3600 and sig.expires == NOW + 600
    verify_request_signature(sig, PUBLIC)
    # explicit expiry capped at created + 12 h (+ 1 h of skew)
    params = {"created": str(int(NOW - 14 * 3600)), "expires": str(int(NOW + 600))}
    signature = craft_cavage("POST", "/users/bob/inbox", headers, names, algorithm="hs2019", params=params)
    with pytest.raises(SignatureError, match="expired"):
        parse("POST", "/users/bob/inbox", {**headers, "Signature": signature}, BODY)


def test_hs2019_is_the_default_algorithm_and_ed25519_keys() -> None:
    private, public = ed25519_pems()
    headers = post_headers()
    names = ["(request-target)", "(created)", "host", "digest"]
    params = {"created": str(int(NOW))}
    signature = craft_cavage(
        "POST", "/inbox", headers, names, private_pem=private, algorithm=None, params=params
    )
    sig = parse("POST", "/inbox", {**headers, "Signature": signature}, BODY)
    assert sig.algorithm == "hs2019"
    verify_request_signature(sig, public)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request_signature(sig, PUBLIC)


def test_rsa_sha256_with_created_refused() -> None:
    headers = post_headers()
    names = ["(request-target)", "(created)", "host", "digest"]
    signature = craft_cavage("POST", "/inbox", headers, names, params={"created": str(int(NOW))})
    with pytest.raises(SignatureError, match="only valid with algorithm hs2019"):
        parse("POST", "/inbox", {**headers, "Signature": signature}, BODY)


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "rsa-sha512", "ed25519", ""])
def test_unknown_algorithm_refused(algorithm: str) -> None:
    headers = post_headers()
    signature = craft_cavage("POST", "/inbox", headers, POST_NAMES, algorithm=algorithm)
    with pytest.raises(SignatureError, match="unsupported algorithm"):
        parse("POST", "/inbox", {**headers, "Signature": signature}, BODY)


@pytest.mark.parametrize(
    "digest",
    [
        "sha-256={b64}",
        "SHA-256={b64}",
        "Sha-256={b64}",
        "SHA-512=z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXy==, sha-256={b64}",
    ],
)
def test_digest_algorithm_names_case_insensitive(digest: str) -> None:
    headers = post_headers(digest=digest.format(b64=body_digest(BODY)[8:]))
    signature = craft_cavage("POST", "/inbox", headers, POST_NAMES)
    verify_request_signature(parse("POST", "/inbox", {**headers, "Signature": signature}, BODY), PUBLIC)


def test_digest_without_sha256_refused() -> None:
    digest = "SHA-512=" + base64.b64encode(hashlib.sha512(BODY).digest()).decode()
    headers = post_headers(digest=digest)
    signature = craft_cavage("POST", "/inbox", headers, POST_NAMES)
    with pytest.raises(SignatureError, match="must contain SHA-256"):
        parse("POST", "/inbox", {**headers, "Signature": signature}, BODY)


def test_request_target_query_and_legacy_fallback() -> None:
    target = "/users/bob/outbox?page=true&min_id=0"
    headers = {"Host": "remote.example", "Date": http_date(NOW)}
    names = ["(request-target)", "host", "date"]
    with_query = craft_cavage("GET", target, headers, names)
    verify_request_signature(parse("GET", target, {**headers, "Signature": with_query}), PUBLIC)
    legacy = craft_cavage("GET", "/users/bob/outbox", headers, names)  # signed without the query
    sig = parse("GET", target, {**headers, "Signature": legacy})
    assert len(sig.signing_strings) == 2
    verify_request_signature(sig, PUBLIC)
    other_query = craft_cavage("GET", "/users/bob/outbox?page=false", headers, names)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request_signature(parse("GET", target, {**headers, "Signature": other_query}), PUBLIC)


def test_headers_case_insensitive_multidict_authorization_and_host_fallback() -> None:
    signed = signed_post()
    lower = {k.lower(): v for k, v in signed.items()}
    verify_request_signature(parse("POST", "/users/bob/inbox", lower, BODY), PUBLIC)
    multidict = Headers(list(signed.items()))
    verify_request_signature(parse("POST", "/users/bob/inbox", multidict, BODY), PUBLIC)
    as_auth = {k: v for k, v in signed.items() if k != "Signature"} | {
        "Authorization": "Signature " + signed["Signature"]
    }
    verify_request_signature(parse("POST", "/users/bob/inbox", as_auth, BODY), PUBLIC)
    no_host = {k: v for k, v in signed.items() if k != "Host"}
    with pytest.raises(SignatureError, match="'host' is missing"):
        parse("POST", "/users/bob/inbox", no_host, BODY)
    verify_request_signature(parse("POST", "/users/bob/inbox", no_host, BODY, host="remote.example"), PUBLIC)


# ------------------------------------------------------------------------------------------ RFC 9421 rules


def test_rfc9421_rules() -> None:
    signed = sign_request_rfc9421("POST", INBOX, AP_JSON, BODY, KEY_ID, PRIVATE, now=NOW)
    ok = parse("POST", "/users/bob/inbox", signed, BODY)
    with pytest.raises(SignatureError, match="Content-Digest mismatch"):
        parse("POST", "/users/bob/inbox", signed, BODY + b"x")
    with pytest.raises(SignatureError, match="expired"):
        parse("POST", "/users/bob/inbox", signed, BODY, now=NOW + 7200)
    with pytest.raises(SignatureError, match="future"):
        parse("POST", "/users/bob/inbox", signed, BODY, now=NOW - 7200)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request_signature(ok, OTHER_PUBLIC)
    tampered = parse("POST", "/users/bob/inbox", {**signed, "Date": http_date(NOW + 1)}, BODY)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request_signature(tampered, PUBLIC)
    moved = parse("POST", "/users/carol/inbox", signed, BODY)  # @target-uri differs
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request_signature(moved, PUBLIC)


@pytest.mark.parametrize(
    ("components", "error"),
    [
        (("@target-uri", "date"), "@method component must be covered"),
        (("@method", "@authority", "date"), "@target-uri component"),
        (("@method", "@path", "date"), "@target-uri component"),
    ],
)
def test_rfc9421_required_components(components: tuple[str, ...], error: str) -> None:
    signed = sign_request_rfc9421("GET", INBOX, {}, None, KEY_ID, PRIVATE, now=NOW, components=components)
    with pytest.raises(SignatureError, match=error):
        parse("GET", "/users/bob/inbox", signed)


def test_rfc9421_authority_and_path_accepted_and_post_needs_content_digest() -> None:
    components = ("@method", "@authority", "@path", "date")
    signed = sign_request_rfc9421("GET", INBOX, {}, None, KEY_ID, PRIVATE, now=NOW, components=components)
    verify_request_signature(parse("GET", "/users/bob/inbox", signed), PUBLIC)
    post = sign_request_rfc9421("POST", INBOX, {}, None, KEY_ID, PRIVATE, now=NOW)  # no body => no digest
    with pytest.raises(SignatureError, match="content-digest header must be covered"):
        parse("POST", "/users/bob/inbox", post, b"")


_POST_9421 = ("@method", "@target-uri", "content-digest", "date")


def sign_rfc9421_keeping_digest(headers: dict[str, str]) -> dict[str, str]:
    """RFC 9421-sign a POST whose Content-Digest is given as is (no body: not recomputed)."""
    return sign_request_rfc9421("POST", INBOX, headers, None, KEY_ID, PRIVATE, now=NOW, components=_POST_9421)


def test_rfc9421_content_digest_variants() -> None:
    sha512 = base64.b64encode(hashlib.sha512(b"something else").digest()).decode()
    both = f"sha-512=:{sha512}:, {content_digest(BODY)}"  # a wrong sha-512 is ignored, like Mastodon
    signed = sign_rfc9421_keeping_digest({**AP_JSON, "Content-Digest": both})
    verify_request_signature(parse("POST", "/users/bob/inbox", signed, BODY), PUBLIC)
    only512 = sign_rfc9421_keeping_digest({**AP_JSON, "Content-Digest": f"sha-512=:{sha512}:"})
    with pytest.raises(SignatureError, match="must contain sha-256"):
        parse("POST", "/users/bob/inbox", only512, BODY)
    missing = {k: v for k, v in signed.items() if k != "Content-Digest"}
    with pytest.raises(SignatureError, match="content-digest header is covered but missing"):
        parse("POST", "/users/bob/inbox", missing, BODY)


@pytest.mark.parametrize(
    ("signature_input", "signature", "error"),
    [
        (
            'a=("@method");created=1;keyid="k", b=("@method");created=1;keyid="k"',
            "a=:AA==:, b=:AA==:",
            "exactly one",
        ),
        ('a=("@method" "@target-uri");keyid="k"', "a=:AA==:", '"created"'),
        ('a=("@method" "@target-uri");created=1794999600', "a=:AA==:", '"keyid"'),
        (
            'a=("@method" "@target-uri");created=1794999600;keyid="k";alg="hmac-sha256"',
            "a=:AA==:",
            "unsupported alg",
        ),
        ('a=("@method" "@target-uri");created=1794999600;keyid="k"', "b=:AA==:", "no member for"),
        ('a=("@method" "@target-uri");created=1794999600;keyid="k"', 'a="text"', "byte sequence"),
        ('a=("@method" "@target-uri");created="x";keyid="k"', "a=:AA==:", '"created"'),
        ("a=?1", "a=:AA==:", "inner list"),
        ("((((", "a=:AA==:", "Structured Field"),
    ],
)
def test_rfc9421_malformed(signature_input: str, signature: str, error: str) -> None:
    headers = {
        "Host": "remote.example",
        "Date": http_date(NOW),
        "Signature-Input": signature_input,
        "Signature": signature,
    }
    with pytest.raises(SignatureError, match=error):
        parse("GET", "/users/bob", headers)


def test_rfc9421_alg_must_match_key_type() -> None:
    private, _ = ed25519_pems()
    signed = sign_request_rfc9421("GET", INBOX, {}, None, KEY_ID, private, now=NOW)
    with pytest.raises(SignatureError, match="does not match"):
        verify_request_signature(parse("GET", "/users/bob/inbox", signed), PUBLIC)


# ------------------------------------------------------------------------------------------ malformed input

MALFORMED_SIGNATURES = [
    "garbage",
    "",
    " ",
    ",,,",
    'keyId="k"',  # no signature=
    'signature="AAAA"',  # no keyId
    'keyId="k",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="not base64!!"',
    'keyId="k",algorithm="rsa-sha256",headers="(request-target) host date digest",signature=""',
    'keyId="k",keyId="j",signature="AAAA"',
    'keyId="k,signature="AAAA"',
    # (created) signed without created=, then with a non-numeric one
    'keyId="k",algorithm="hs2019",headers="(request-target) (created) host digest",signature="AAAA"',
    'keyId="k",algorithm="hs2019",created=abc,headers="(created) (request-target) digest",signature="AAAA"',
    'keyId="k",headers="(request-target) (foo) date host digest",signature="AAAA",algorithm="rsa-sha256"',
    'keyId="k",headers="(request-target) date host digest x-missing",signature="AAAA",algorithm="rsa-sha256"',
    'keyId="k",signature="AAAA"\x00\xff\u2603',
]


@pytest.mark.parametrize("value", MALFORMED_SIGNATURES)
def test_malformed_signature_header(value: str) -> None:
    with pytest.raises(SignatureError):
        parse("POST", "/inbox", {**post_headers(), "Signature": value}, BODY)


def test_error_messages_stay_short() -> None:
    with pytest.raises(SignatureError) as info:
        parse("POST", "/users/bob/inbox", {**FIXED_CAVAGE, "Date": "x" * 5000}, BODY)
    assert str(info.value).startswith("the date header is signed but missing or unparseable: 'xxx")
    assert len(str(info.value)) <= 300


def test_unsigned_request() -> None:
    with pytest.raises(SignatureError, match="not signed"):
        parse("POST", "/inbox", post_headers(), BODY)
    with pytest.raises(SignatureError, match="not signed"):
        parse("POST", "/inbox", {**post_headers(), "Authorization": "Bearer abc"}, BODY)


GARBAGE = [
    "",
    "\x00",
    "=",
    '"',
    ":",
    "::",
    "(",
    ")",
    "a" * 5000,
    "é☃",
    "sig1=:%%%:",
    "a=(",
    "1e400",
    "\r\n x",
    ";;",
]


@pytest.mark.parametrize(
    "header", ["Signature", "Signature-Input", "Date", "Digest", "Content-Digest", "Authorization", "Host"]
)
@pytest.mark.parametrize("value", GARBAGE)
def test_fuzz_only_signature_error_escapes(header: str, value: str) -> None:
    for base in (FIXED_CAVAGE, FIXED_RFC9421):
        headers = {**base, header: value}
        try:
            sig = parse("POST", "/users/bob/inbox", headers, BODY)
            verify_request_signature(sig, PUBLIC)
        except SignatureError:
            pass


@pytest.mark.parametrize(
    "pem", ["", "garbage", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "é"]
)
def test_bad_public_key(pem: str) -> None:
    with pytest.raises(SignatureError, match="unusable public key"):
        verify_request_signature(parse("POST", "/users/bob/inbox", FIXED_CAVAGE, BODY), pem)


def test_odd_arguments_only_raise_signature_error() -> None:
    for args in [
        ("POST", "", FIXED_CAVAGE, BODY),
        ("post", "/users/bob/inbox?", FIXED_CAVAGE, None),
        ("GET", "*", {}, b""),
    ]:
        with contextlib.suppress(SignatureError):
            parse_request_signature(*args, now=NOW)  # type: ignore[arg-type]
    with pytest.raises(SignatureError):
        parse_request_signature("POST", "/users/bob/inbox", {1: 2}, BODY)  # type: ignore[dict-item]

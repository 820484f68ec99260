"""draft-cavage HTTP signatures (``federation.signatures``): keys, signing, round trips, known-good
requests and test vectors, tampering, and Mastodon's acceptance rules (date window, hs2019, algorithms)."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import Headers

from federation.signatures import (
    SignatureError,
    body_digest,
    generate_keypair,
    http_date,
    load_private_key,
    load_public_key,
    parse_request_signature,
    sign_request,
    verify_request_signature,
)
from tests.federation.signature_helpers import (
    AP_JSON,
    BODY,
    CAVAGE_VECTOR_HEADERS,
    CAVAGE_VECTOR_NOW,
    FIXED_CAVAGE,
    HELLO,
    INBOX,
    KEY_ID,
    KEYS,
    NOW,
    OTHER_PRIVATE,
    OTHER_PUBLIC,
    POST_NAMES,
    PRIVATE,
    PUBLIC,
    craft_cavage,
    ed25519_pems,
    parse,
    post_headers,
    signed_post,
)


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


def test_fixed_cavage_request_verifies() -> None:
    sig = parse("POST", "/users/bob/inbox", FIXED_CAVAGE, BODY)
    assert sig.created == NOW
    verify_request_signature(sig, PUBLIC)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request_signature(sig, OTHER_PUBLIC)


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


def test_date_changed() -> None:
    headers = {**FIXED_CAVAGE, "Date": http_date(NOW + 60)}
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request_signature(parse("POST", "/users/bob/inbox", headers, BODY), PUBLIC)


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

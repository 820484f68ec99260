"""Body digests for signed requests: ``Digest`` (draft-cavage) and ``Content-Digest`` (RFC 9530/9421)
values, mismatches, missing or unsigned digests, and algorithm names."""

from __future__ import annotations

import base64
import hashlib

import pytest

from federation.signatures import (
    SignatureError,
    body_digest,
    content_digest,
    http_date,
    sign_request_rfc9421,
    verify_request_signature,
)
from tests.federation.signature_helpers import (
    AP_JSON,
    BODY,
    CAVAGE_VECTOR_NOW,
    FIXED_CAVAGE,
    HELLO,
    INBOX,
    KEY_ID,
    NOW,
    POST_NAMES,
    PRIVATE,
    PUBLIC,
    craft_cavage,
    parse,
    post_headers,
)


def test_digests_and_date() -> None:
    # RFC 9530 / draft-cavage published values for {"hello": "world"}
    assert body_digest(HELLO) == "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
    assert content_digest(HELLO) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    assert http_date(CAVAGE_VECTOR_NOW) == "Sun, 05 Jan 2014 21:31:40 GMT"


def test_body_changed() -> None:
    with pytest.raises(SignatureError, match="Digest mismatch"):
        parse("POST", "/users/bob/inbox", FIXED_CAVAGE, BODY + b" ")


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

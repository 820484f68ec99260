"""RFC 9421 HTTP message signatures (``federation.rfc9421``): round trips, known-good requests and the
RFC test vector, required components, tampering, malformed Signature-Input and key/alg mismatch."""

from __future__ import annotations

import pytest

from federation.signatures import (
    SignatureError,
    SignatureRequest,
    SignedMessage,
    content_digest,
    http_date,
    parse_request_signature,
    sign_request_rfc9421,
    verify_request_signature,
)
from tests.federation.signature_helpers import (
    AP_JSON,
    BODY,
    FIXED_RFC9421,
    HELLO,
    INBOX,
    KEY_ID,
    KEYS,
    NOW,
    OTHER_PUBLIC,
    PRIVATE,
    PUBLIC,
    ed25519_pems,
    parse,
)


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


def test_fixed_rfc9421_request_verifies() -> None:
    verify_request_signature(parse("POST", "/users/bob/inbox", FIXED_RFC9421, BODY), PUBLIC)


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

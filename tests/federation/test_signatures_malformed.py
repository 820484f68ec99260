"""Malformed and hostile signature input: garbage Signature headers, unsigned requests, fuzzed headers,
unusable public keys and odd arguments only ever raise ``SignatureError``, with short messages."""

from __future__ import annotations

import contextlib

import pytest

from federation.signatures import (
    SignatureError,
    parse_request_signature,
    verify_request_signature,
)
from tests.federation.signature_helpers import (
    BODY,
    FIXED_CAVAGE,
    FIXED_RFC9421,
    NOW,
    PUBLIC,
    parse,
    post_headers,
)

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

"""Resolving handles over real HTTP: the coserver app and stub servers run by hypercorn on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from coserver.config import Settings
from federation.http import make_client
from tests.factories import app_db, make_element, make_person
from tests.servers import Reply, StubApp, free_port, serve_app
from webfinger.client import MAX_BODY, WebFingerError, parse_handle, resolve_handle

AS_LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


# --- parse_handle ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@alice@example.org", ("alice", "example.org")),
        ("alice@example.org", ("alice", "example.org")),
        ("acct:alice@example.org", ("alice", "example.org")),
        ("ACCT:@Alice@Example.ORG", ("Alice", "example.org")),
        ("  @alice@127.0.0.1:8080 ", ("alice", "127.0.0.1:8080")),
        ("bob.smith@[::1]:8443", ("bob.smith", "[::1]:8443")),
        ("zoé@café.example", None),  # non-ASCII user
        ("alice@café.example", ("alice", "xn--caf-dma.example")),
    ],
)
def test_parse_handle(text, expected):
    if expected is None:
        with pytest.raises(WebFingerError):
            parse_handle(text)
    else:
        assert parse_handle(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "alice",
        "@alice",
        "alice@",
        "@@example.org",
        "a@b@example.org",
        "al ice@example.org",
        "alice@exa mple.org",
        "alice@example.org/path",
        "alice@example.org?x=1",
        "alice@host:99999",
        "alice@host:",
        "alice@host:0",
        "alice@user:pw@host",
        "alice@-bad-.example",
        "https://example.org/@alice",
    ],
)
def test_parse_handle_rejects(text):
    with pytest.raises(WebFingerError):
        parse_handle(text)


async def test_resolve_rejects_bad_syntax_without_any_request(make_settings):
    async with make_client(make_settings()) as http:
        with pytest.raises(WebFingerError, match="not a handle"):
            await resolve_handle(http, make_settings(), "not-a-handle")


# --- against the real coserver app ----------------------------------------------------------------------


@pytest.fixture
async def live_node(make_settings, database_url) -> AsyncIterator[tuple]:
    """The coserver app served by hypercorn at http://127.0.0.1:PORT, with that base URL."""
    from coserver.app import create_app

    port = free_port()
    settings = make_settings(base_url=f"http://127.0.0.1:{port}", database_url=database_url)
    app = create_app(settings)
    async with serve_app(app, port) as base:
        yield app, settings, base, port


async def test_resolve_against_a_live_coserver(live_node):
    app, settings, base, port = live_node
    db = app_db(app)
    alice = await make_person(db, settings, "alice")
    await make_element(db, settings, "organization", "kaz_compost", admin=alice)
    await make_element(db, settings, "event", "fet_kaf", starts_at=datetime.now(UTC) + timedelta(days=1))
    async with make_client(settings) as http:
        assert await resolve_handle(http, settings, f"@alice@127.0.0.1:{port}") == f"{base}/actors/alice"
        assert await resolve_handle(http, settings, f"acct:Alice@127.0.0.1:{port}") == alice.ap_id
        assert await resolve_handle(http, settings, f"kaz_compost@127.0.0.1:{port}") == (
            f"{base}/actors/kaz_compost"
        )
        assert await resolve_handle(http, settings, f"@fet_kaf@127.0.0.1:{port}") == f"{base}/actors/fet_kaf"
        with pytest.raises(WebFingerError, match="no account nobody@") as info:
            await resolve_handle(http, settings, f"@nobody@127.0.0.1:{port}")
        assert info.value.status == 404


async def test_private_addresses_refused_unless_allowed(live_node):
    app, settings, _base, port = live_node
    await make_person(app_db(app), settings, "alice")
    strict = settings.with_overrides(allow_private_addresses=False)
    async with make_client(strict) as http:
        with pytest.raises(WebFingerError, match=r"refused to fetch .*non-public address \(127\.0\.0\.1\)"):
            await resolve_handle(http, strict, f"@alice@127.0.0.1:{port}")
        # the scheme is https then (never http for a public-looking host); still refused before any request
        with pytest.raises(WebFingerError, match="localhost is a local name"):
            await resolve_handle(http, strict, f"@alice@localhost:{port}")


# --- against stub servers -------------------------------------------------------------------------------


@dataclass
class Stub:
    app: StubApp
    base: str  # http://127.0.0.1:PORT
    handle: str  # alice@127.0.0.1:PORT
    settings: Settings
    http: httpx.AsyncClient


@pytest.fixture
async def stub(make_settings) -> AsyncIterator[Stub]:
    """A stub server (404 everywhere until routes are set), and a client with a 2 s timeout."""
    app = StubApp()
    async with serve_app(app) as base:
        settings = make_settings(base_url="http://127.0.0.1:8000")
        async with make_client(settings, timeout=2.0) as http:
            yield Stub(app, base, f"alice@{base.removeprefix('http://')}", settings, http)


def jrd(href: str = "https://remote.example/users/alice", link_type: str = "application/activity+json"):
    return {
        "subject": "acct:alice@remote.example",
        "links": [
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": "https://x/@a"},
            {"rel": "self", "type": link_type, "href": href},
        ],
    }


async def test_stub_request_shape_and_ld_json_self_link(stub):
    stub.app.routes["/.well-known/webfinger"] = Reply.json(jrd(link_type=AS_LD))
    assert await resolve_handle(stub.http, stub.settings, stub.handle) == "https://remote.example/users/alice"
    [request] = stub.app.requests
    assert request.method == "GET"
    assert request.headers["accept"] == "application/jrd+json, application/json"
    assert request.query == f"resource=acct%3A{stub.handle.replace('@', '%40').replace(':', '%3A')}"


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(body=b"{not json", headers={"Content-Type": "application/jrd+json"}), "not JSON"),
        (Reply.json(["a", "list"]), "not a JRD object"),
        (Reply.json({"links": jrd()["links"]}), "no subject"),
        (Reply.json({"subject": "acct:alice@remote.example"}), "no links"),
        (Reply.json({**jrd(), "links": jrd()["links"][:1]}), "no ActivityPub self link"),
        (Reply.json(jrd(link_type="text/html")), "no ActivityPub self link"),
        (Reply.json(jrd(link_type="application/ld+json")), "no ActivityPub self link"),
        (Reply.json(jrd(href="ftp://remote.example/alice")), "no ActivityPub self link"),
        (Reply(body=b"x" * (5 * 1024 * 1024)), "larger than 100 KB"),  # declared Content-Length
        (Reply(body=b" " * (5 * 1024 * 1024), chunk_size=16 * 1024), "larger than 100 KB"),  # streamed
        (Reply(status=500, body=b"oops"), "answered HTTP 500"),
        (Reply(status=410), "answered HTTP 410"),
        (Reply(status=302), "redirects without a Location"),
        (Reply.redirect("ftp://127.0.0.1/x"), "refused to fetch ftp://"),
    ],
)
async def test_stub_failures_raise_webfinger_error(stub, reply, message):
    stub.app.routes["/.well-known/webfinger"] = reply
    with pytest.raises(WebFingerError, match=message):
        await resolve_handle(stub.http, stub.settings, stub.handle)


async def test_body_just_under_the_limit_is_read(stub):
    body = json.dumps(jrd()).encode()
    stub.app.routes["/.well-known/webfinger"] = Reply(
        body=body + b" " * (MAX_BODY - len(body)), chunk_size=4096
    )
    assert await resolve_handle(stub.http, stub.settings, stub.handle) == "https://remote.example/users/alice"


async def test_status_is_kept_on_the_error(stub):
    stub.app.routes["/.well-known/webfinger"] = Reply(status=410)
    with pytest.raises(WebFingerError) as info:
        await resolve_handle(stub.http, stub.settings, stub.handle)
    assert info.value.status == 410
    assert [r.path for r in stub.app.requests] == ["/.well-known/webfinger"]  # no host-meta fallback on 410


async def test_follows_up_to_three_redirects(stub):
    stub.app.routes["/.well-known/webfinger"] = Reply.redirect("/hop1", 301)
    stub.app.routes["/hop1"] = Reply.redirect(f"{stub.base}/hop2", 307)
    stub.app.routes["/hop2"] = Reply.redirect("hop3", 308)
    stub.app.routes["/hop3"] = Reply.json(jrd())
    assert await resolve_handle(stub.http, stub.settings, stub.handle) == "https://remote.example/users/alice"
    assert [r.path for r in stub.app.requests] == ["/.well-known/webfinger", "/hop1", "/hop2", "/hop3"]

    stub.app.routes["/hop3"] = Reply.redirect("/hop4")
    stub.app.routes["/hop4"] = Reply.json(jrd())
    with pytest.raises(WebFingerError, match="more than 3 redirects"):
        await resolve_handle(stub.http, stub.settings, stub.handle)


async def test_timeouts_are_webfinger_errors(stub):
    # no headers within the client's read timeout
    stub.app.routes["/.well-known/webfinger"] = Reply(body=b"{}", delay=1.0)
    async with make_client(stub.settings, timeout=0.3) as http:
        with pytest.raises(WebFingerError, match="cannot fetch"):
            await resolve_handle(http, stub.settings, stub.handle)
        # a body trickled byte by byte, each byte in time: the whole exchange is bounded anyway
        body = json.dumps(jrd()).encode()
        stub.app.routes["/.well-known/webfinger"] = Reply(body=body, chunk_size=1, chunk_delay=0.1)
        with pytest.raises(WebFingerError, match="timed out"):
            await resolve_handle(http, stub.settings, stub.handle)


async def test_connection_refused_is_a_webfinger_error(make_settings):
    settings = make_settings()
    async with make_client(settings, timeout=2.0) as http:
        with pytest.raises(WebFingerError, match="cannot fetch"):
            await resolve_handle(http, settings, f"alice@127.0.0.1:{free_port()}")


XRD_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">
  <Link rel="lrdd" type="application/xrd+xml" template="{template}"/>
</XRD>"""


async def test_host_meta_fallback_on_404(stub):
    template = f"{stub.base}/lrdd?format=json&amp;uri={{uri}}"
    stub.app.routes["/.well-known/host-meta"] = Reply(body=XRD_TEMPLATE.format(template=template).encode())
    stub.app.routes["/lrdd"] = Reply.json(jrd())
    assert await resolve_handle(stub.http, stub.settings, stub.handle) == "https://remote.example/users/alice"
    assert [r.path for r in stub.app.requests] == [
        "/.well-known/webfinger",
        "/.well-known/host-meta",
        "/lrdd",
    ]
    assert stub.app.requests[1].headers["accept"].startswith("application/xrd+xml")
    expected_uri = f"acct%3A{stub.handle.replace('@', '%40').replace(':', '%3A')}"
    assert stub.app.requests[2].query == f"format=json&uri={expected_uri}"


@pytest.mark.parametrize(
    ("host_meta", "lrdd_reply"),
    [
        (None, None),  # no host-meta either
        (XRD_TEMPLATE.format(template="{base}/lrdd?uri={{uri}}"), None),  # lrdd 404s too
        ('<?xml version="1.0"?>\n<!DOCTYPE XRD [<!ENTITY x "y">]><XRD/>', Reply.json(jrd())),
        ("<XRD><Link rel='other' template='{base}/lrdd?uri={{uri}}'/></XRD>", Reply.json(jrd())),
        ("not xml <", Reply.json(jrd())),
    ],
)
async def test_host_meta_fallback_failures(stub, host_meta, lrdd_reply):
    if host_meta is not None:
        stub.app.routes["/.well-known/host-meta"] = Reply(body=host_meta.format(base=stub.base).encode())
    if lrdd_reply is not None:
        stub.app.routes["/lrdd"] = lrdd_reply
    with pytest.raises(WebFingerError, match="no account") as info:
        await resolve_handle(stub.http, stub.settings, stub.handle)
    assert info.value.status == 404
    assert "/.well-known/host-meta" in [r.path for r in stub.app.requests]


def test_host_meta_parser_refuses_declarations():
    from webfinger.client import parse_host_meta

    good = XRD_TEMPLATE.format(template="https://h/wf?resource={uri}").encode()
    assert parse_host_meta(good) == "https://h/wf?resource={uri}"
    for bad in (
        b'<!doctype XRD SYSTEM "http://evil/x.dtd"><XRD/>',
        b"<XRD><!ENTITY x 'y'></XRD>",
        "<XRD/>".encode("utf-16"),
        b"\xff\xfe<XRD/>",
    ):
        with pytest.raises(WebFingerError):
            parse_host_meta(bad)

"""Interop with an independent implementation: the pinned @fedify/fedify library, driven over HTTP.

The peer (tests/interop/fedify/peer.mjs) verifies every signature itself. `make test` installs its npm
packages (`npm ci`) before the suite runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from coserver.models import Actor, InboxItem, Link
from federation.following import follow_remote
from tests.factories import make_element, make_person
from tests.federation.nodes import Node, live_node, settle
from tests.servers import free_port

PEER_DIR = Path(__file__).parent / "fedify"
_names = itertools.count(1)
pytestmark = pytest.mark.interop


@contextlib.asynccontextmanager
async def fedify_peer(first_knock: str) -> AsyncIterator[str]:
    node = shutil.which("node")
    assert node, "Node.js is required for the fedify interop tests (make test installs it)"
    assert (PEER_DIR / "node_modules" / "@fedify" / "fedify").exists(), "run `npm ci` in tests/interop/fedify"
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        node,
        "peer.mjs",
        "--port",
        str(port),
        "--first-knock",
        first_knock,
        "--no-ed25519",
        cwd=PEER_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        assert line.startswith(b"PEER READY"), line
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.returncode is None:
            proc.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), timeout=10)
        if proc.returncode is None:
            proc.kill()


async def _control(client: httpx.AsyncClient, peer: str, method: str, path: str, **kwargs) -> dict:
    response = await client.request(method, f"{peer}/_control/{path}", timeout=40, **kwargs)
    body = response.json()
    assert response.status_code == 200, body
    return body


async def _settle_until(node: Node, check, rounds: int = 40) -> None:
    for _ in range(rounds):
        await node.work()
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError("condition not reached")


@pytest.mark.parametrize("first_knock", ["rfc9421", "draft-cavage-http-signatures-12"])
async def test_fedify_follows_an_organization(pg_cluster, template_db, make_settings, first_knock):
    async with (
        live_node(pg_cluster, template_db, f"fedify_{next(_names)}", make_settings) as node,
        fedify_peer(first_knock) as peer,
        httpx.AsyncClient() as client,
    ):
        await make_element(
            node.db, node.settings, "organization", "kaz", name="Kaz Compost", lat=-21.34, lon=55.48
        )
        org_url = f"{node.base}/actors/kaz"

        # fedify parses our actor (signed GET) and finds its key thanks to the security context.
        looked = await _control(client, peer, "POST", "lookup", json={"url": org_url})
        assert looked["type"] == "Organization" and looked["isActor"]
        assert looked["publicKeys"] == [f"{org_url}#main-key"]

        followed = await _control(client, peer, "POST", "follow", json={"target": org_url})

        async def stored() -> bool:
            async with node.db.session() as s:
                return await s.scalar(
                    select(InboxItem.id).where(InboxItem.dedupe_key == followed["followId"])
                )

        await _settle_until(node, stored)
        await settle(node)
        accept = await _control(
            client, peer, "GET", "wait", params={"list": "inbox", "type": "Accept", "timeout": 20}
        )
        item = accept["item"]
        assert item["actor"] == org_url and item["signature"]["httpVerified"] is True
        assert item["json"]["object"]["id"] == followed["followId"]
        state = await _control(client, peer, "GET", "state")
        assert state["following"][0]["state"] == "accepted"
        alice = (await _control(client, peer, "GET", "health"))["actor"]
        async with node.db.session() as s:
            link = await s.scalar(
                select(Link)
                .join(Actor, Actor.id == Link.subject_id)
                .where(Actor.ap_id == alice, Link.type == "follower")
            )
        assert link is not None and link.state == "accepted"
        # The signature scheme fedify used first was accepted (no fallback needed).
        specs = await _control(client, peer, "GET", "signature-specs")
        assert specs["specs"].get(node.base, first_knock) == first_knock


async def test_coserver_person_follows_fedify_actor(pg_cluster, template_db, make_settings):
    async with (
        live_node(pg_cluster, template_db, f"fedify_{next(_names)}", make_settings) as node,
        fedify_peer("rfc9421") as peer,
        httpx.AsyncClient() as client,
    ):
        paul = await make_person(node.db, node.settings, "paul")
        alice = (await _control(client, peer, "GET", "health"))["actor"]
        async with node.db.transaction() as s:
            await follow_remote(node.ctx, s, await s.get(Actor, paul.id), alice)
        await settle(node)
        follow = await _control(
            client, peer, "GET", "wait", params={"list": "inbox", "type": "Follow", "timeout": 20}
        )
        assert follow["item"]["actor"] == f"{node.base}/actors/paul"
        assert follow["item"]["signature"]["httpVerified"] is True

        async def accepted() -> bool:
            async with node.db.session() as s:
                return (await s.scalar(select(Link.state).where(Link.subject_id == paul.id))) == "accepted"

        await _settle_until(node, accepted)

        # Our GETs are signed by the instance actor.
        requests = (await _control(client, peer, "GET", "requests"))["items"]
        gets = [r for r in requests if r["method"] == "GET" and r["path"].startswith("/users/alice")]
        assert gets and all(
            r["signature"] and r["signature"]["keyId"] == f"{node.base}/actor#main-key" for r in gets
        )

        nodeinfo = await client.post(f"{peer}/_control/nodeinfo", json={"url": node.base}, timeout=30)
        assert nodeinfo.status_code == 200, nodeinfo.json()


async def test_fedify_receives_wall_posts_replies_and_likes(pg_cluster, template_db, make_settings):
    from coserver.models import Post
    from coserver.services.posting import post_on_wall

    async with (
        live_node(pg_cluster, template_db, f"fedify_{next(_names)}", make_settings) as node,
        fedify_peer("rfc9421") as peer,
        httpx.AsyncClient() as client,
    ):
        marie = await make_person(node.db, node.settings, "marie")
        await make_element(node.db, node.settings, "organization", "kaz", admin=marie)
        org_url = f"{node.base}/actors/kaz"
        await _control(client, peer, "POST", "follow", json={"target": org_url})
        alice = (await _control(client, peer, "GET", "health"))["actor"]

        async def following() -> bool:
            async with node.db.session() as s:
                return bool(
                    await s.scalar(
                        select(Link.id)
                        .join(Actor, Actor.id == Link.subject_id)
                        .where(Actor.ap_id == alice, Link.state == "accepted")
                    )
                )

        await _settle_until(node, following)
        async with node.db.transaction() as s:
            kaz = await s.scalar(select(Actor).where(Actor.username == "kaz"))
            post = await post_on_wall(
                s, node.settings, await s.get(Actor, marie.id), kaz, "Chantier #compost samedi"
            )
        await settle(node)
        create = (
            await _control(
                client, peer, "GET", "wait", params={"list": "inbox", "type": "Create", "timeout": 20}
            )
        )["item"]
        announce = (
            await _control(
                client, peer, "GET", "wait", params={"list": "inbox", "type": "Announce", "timeout": 20}
            )
        )["item"]
        assert create["actor"] == f"{node.base}/actors/marie" and create["signature"]["httpVerified"] is True
        assert announce["actor"] == org_url and announce["signature"]["httpVerified"] is True
        assert announce["object"] == post.ap_id

        reply = await _control(
            client,
            peer,
            "POST",
            "create-note",
            json={"content": "<p>J'apporte des cartons</p>", "inReplyTo": post.ap_id, "deliverTo": [org_url]},
        )
        await _control(client, peer, "POST", "like", json={"object": post.ap_id, "deliverTo": [org_url]})

        async def counted() -> bool:
            async with node.db.session() as s:
                fresh = await s.get(Post, post.id)
                return fresh.replies_count == 1 and fresh.likes_count == 1

        await _settle_until(node, counted)
        async with node.db.session() as s:
            comment = await s.scalar(select(Post).where(Post.ap_id == reply["noteId"]))
        assert comment.in_reply_to_id == post.id and comment.wall_id == kaz.id

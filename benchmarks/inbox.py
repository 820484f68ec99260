"""Inbox throughput: signed activities accepted per second (concurrency 32, keys cached) and processed per
second by one worker; plus actor-document and WebFinger GETs per second.

    .venv/bin/python -m benchmarks.inbox [--requests 6000] [--workers 1]

Everything runs on 127.0.0.1: a throwaway PostGIS cluster, `coserver serve` as a real process, a raw
keep-alive load generator with pre-signed requests (signing is not what is measured).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import time
import uuid

import orjson

from benchmarks.common import coserver_process, free_port, http_request, load, summary, throwaway_database
from coserver.config import Settings
from coserver.db import Database
from coserver.keys import generate_rsa_keypair
from federation.fetch import upsert_remote_actor
from federation.signatures import sign_request
from tests.factories import make_element


async def _setup(url: str, base: str, actors: int) -> list[tuple[str, str, str]]:
    settings = Settings(base_url=base, database_url=url, secret_key="bench-secret-0123456789")
    db = Database(url, pool_size=2)
    signers = []
    try:
        await make_element(db, settings, "organization", "kaz")
        for i in range(actors):
            private_pem, public_pem = generate_rsa_keypair()
            ap_id = f"https://remote{i % 10}.example/users/u{i}"
            async with db.transaction() as s:
                await upsert_remote_actor(
                    s,
                    {
                        "ap_id": ap_id,
                        "kind": "person",
                        "local": False,
                        "username": f"u{i}",
                        "domain": f"remote{i % 10}.example",
                        "inbox_url": f"{ap_id}/inbox",
                        "public_key_pem": public_pem,
                        "key_id": f"{ap_id}#main-key",
                    },
                )
            signers.append((ap_id, f"{ap_id}#main-key", private_pem))
    finally:
        await db.dispose()
    return signers


def _activities(signers, count: int, host: str, base: str) -> list[bytes]:
    requests = []
    for n in range(count):
        ap_id, key_id, pem = random.choice(signers)
        note_id = f"{ap_id}/statuses/{uuid.uuid4().hex}"
        tag_html = (
            f'<a href="{base}/tags/compost" class="mention hashtag" rel="tag">#<span>compost</span></a>'
        )
        activity = {
            "@context": [
                "https://www.w3.org/ns/activitystreams",
                {"Hashtag": "as:Hashtag", "sensitive": "as:sensitive"},
            ],
            "id": f"{note_id}/activity",
            "type": "Create",
            "actor": ap_id,
            "published": "2026-11-22T10:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [f"{ap_id}/followers", f"{base}/actors/kaz"],
            "object": {
                "id": note_id,
                "type": "Note",
                "attributedTo": ap_id,
                "inReplyTo": None,
                "content": f"<p>Message {n} du territoire {tag_html} — rendez-vous au jardin samedi !</p>",
                "published": "2026-11-22T10:00:00Z",
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "cc": [f"{ap_id}/followers"],
                "sensitive": False,
                "tag": [{"type": "Hashtag", "href": f"{base}/tags/compost", "name": "#compost"}],
            },
        }
        body = orjson.dumps(activity)
        headers = sign_request(
            "POST", f"{base}/inbox", {"Content-Type": "application/activity+json"}, body, key_id, pem
        )
        headers["Host"] = host
        requests.append(http_request("POST", "/inbox", headers, body))
    return requests


def _gets(path: str, accept: str, host: str, count: int) -> list[bytes]:
    return [http_request("GET", path, {"Host": host, "Accept": accept}) for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--actors", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="hypercorn worker processes")
    args = parser.parse_args()

    with throwaway_database() as (_cluster, url):
        port = free_port()
        host, base = f"127.0.0.1:{port}", f"http://127.0.0.1:{port}"
        signers = asyncio.run(_setup(url, base, args.actors))
        t0 = time.perf_counter()
        warmup = _activities(signers, max(args.actors * 5, 200), host, base)
        batch = _activities(signers, args.requests, host, base)
        sign_rate = (len(warmup) + len(batch)) / (time.perf_counter() - t0)
        env = {
            "DATABASE_URL": url,
            "COSERVER_BASE_URL": base,
            "COSERVER_BIND": host,
            "COSERVER_SECRET_KEY": "bench-secret-0123456789",
            "COSERVER_DATA_DIR": "/tmp/coserver-bench-data",
            "COSERVER_ALLOW_PRIVATE_ADDRESSES": "true",
            "COSERVER_WORKERS": str(args.workers),
            "COSERVER_LOG_LEVEL": "warning",
        }
        print(
            f"coserver inbox benchmark: {args.requests} signed Create(Note) to the shared inbox, "
            f"concurrency {args.concurrency}, {args.workers} hypercorn worker(s), {args.actors} signers"
        )
        with coserver_process(["serve"], env, port=port):
            asyncio.run(load(port, warmup, args.concurrency))  # keys fetched into the cache
            seconds, latencies, statuses = asyncio.run(load(port, batch, args.concurrency))
            print(
                f"  accepted: {args.requests / seconds:8.0f} activities/s   ({summary(latencies)}) "
                f"statuses {statuses}"
            )
            for label, path, accept in (
                ("actor GET", "/actors/kaz", "application/activity+json"),
                ("webfinger GET", f"/.well-known/webfinger?resource=acct:kaz@{host}", "application/jrd+json"),
            ):
                asyncio.run(load(port, _gets(path, accept, host, 200), args.concurrency))
                seconds, latencies, statuses = asyncio.run(
                    load(port, _gets(path, accept, host, 3000), args.concurrency)
                )
                print(
                    f"  {label:>13}: {3000 / seconds:8.0f} requests/s   ({summary(latencies)}) "
                    f"statuses {statuses}"
                )
        print(f"  (client-side signing ran at {sign_rate:.0f} signatures/s, before the timed runs)")

        total = len(warmup) + len(batch)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "coserver.cli", "worker", "--once"],
            env={**env, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=600,
        )
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            print("  worker failed:", proc.stderr[-1500:])
        else:
            print(
                f"  processed by one worker: {total / seconds:8.0f} items/s "
                f"({total} items in {seconds:.1f} s, process start included)"
            )


if __name__ == "__main__":
    main()

"""Shared benchmark plumbing: a throwaway PostGIS cluster, a coserver process, a raw keep-alive HTTP load
generator (cheap enough not to steal the server's CPU), and percentile helpers. Loopback only."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from coserver import migrate
from coserver.dbcluster import EmbeddedCluster

BENCH_SECRET = "bench-secret-0123456789"


def bench_env(url: str, port: int, **extra: str) -> dict[str, str]:
    """The environment of a benchmark's coserver (``serve``, ``demo load``...) on 127.0.0.1:``port``, one
    hypercorn worker, warning logs; ``extra`` adds or overrides variables (``COSERVER_TIMEZONE="..."``)."""
    return {
        "DATABASE_URL": url,
        "COSERVER_BASE_URL": f"http://127.0.0.1:{port}",
        "COSERVER_BIND": f"127.0.0.1:{port}",
        "COSERVER_SECRET_KEY": BENCH_SECRET,
        "COSERVER_DATA_DIR": "/tmp/coserver-bench-data",
        "COSERVER_WORKERS": "1",
        "COSERVER_LOG_LEVEL": "warning",
        **extra,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def throwaway_database(name: str = "bench") -> Iterator[tuple[EmbeddedCluster, str]]:
    root = tempfile.mkdtemp(prefix="coserver-bench-")
    os.chmod(root, 0o755)
    cluster = EmbeddedCluster(Path(root) / "pg", fast=True)
    cluster.start()
    try:
        asyncio.run(cluster.create_database(name))
        url = cluster.url(name)
        migrate.upgrade(url)
        yield cluster, url
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def coserver_process(
    args: Sequence[str], env: dict[str, str], port: int | None = None, timeout: float = 60
) -> Iterator[subprocess.Popen]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("COSERVER_", "DATABASE_URL"))}
    full_env.update(env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "coserver.cli", *args],
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if port is not None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"coserver exited: {proc.stderr.read()[-2000:]}")
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.1)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def http_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
    if length:
        await reader.readexactly(length)
    return status


async def load(
    port: int, requests: Sequence[bytes], concurrency: int
) -> tuple[float, list[float], dict[int, int]]:
    """Send ``requests`` over ``concurrency`` keep-alive connections: (seconds, latencies, statuses)."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                try:
                    raw = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                writer.write(raw)
                status = await _read_response(reader)
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies, statuses


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: Sequence[float]) -> str:
    return (
        f"p50 {percentile(values, 50) * 1000:.2f} ms, p95 {percentile(values, 95) * 1000:.2f} ms, "
        f"mean {statistics.fmean(values) * 1000:.2f} ms"
    )

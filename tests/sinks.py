"""A loopback HTTP sink for delivery tests and benchmarks: a fake remote inbox server on 127.0.0.1.

It is a raw asyncio protocol with a minimal HTTP/1.1 keep-alive parser (requests with a ``Content-Length``
body only; that is what our client sends), so it costs little CPU next to the worker it measures. It records
every request (method, path, lower-cased headers, body, the activity ``id`` found in a JSON body, the time it
arrived and the status it was answered with) and can be scripted per path::

    async with Sink() as sink:
        sink.script("/inbox", Reply(500), Reply(500), Reply(429, {"Retry-After": "1"}))  # then the default
        sink.set_default("/gone", Reply(410))
        sink.set_default("/slow", Reply(202, delay=0.02))
        sink.set_default("/hang", HANG)  # never answers; the client times out
        ...
        assert sink.verify(sink.delivered("/inbox")[0], {key_id: public_pem})

A reply with a ``delay`` holds that connection's later requests back until it is sent, as HTTP/1.1 requires.
``verify`` checks a recorded request's signature with ``federation.signatures``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from federation.signatures import SignatureRequest, parse_request_signature, verify_request_signature

_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    408: "Request Timeout",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
MAX_HEAD = 64 * 1024
MAX_BODY = 8 * 1024 * 1024


@dataclass(frozen=True)
class Reply:
    """How to answer one request: a status, extra headers, a body, after ``delay`` seconds (None: never)."""

    status: int = 202
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float | None = 0.0
    body: bytes = b""


#: Never answer (the client's timeout fires); the request is recorded with ``status`` None.
HANG = Reply(status=0, delay=None)


@dataclass
class Received:
    """One request the sink read."""

    seq: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    activity_id: str | None = None
    status: int | None = None  # what it was answered with; None if not (yet) answered

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _Conn(asyncio.Protocol):
    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False  # a delayed reply is pending: later requests wait
        self.pending: Received | None = None
        self.handle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.sink._conns.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.sink._conns.discard(self)
        if self.handle is not None:
            self.handle.cancel()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._parse()

    def _parse(self) -> None:
        while not self.busy and self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self._close(400)
                return
            head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            try:
                method, target, _version = head[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in head[1:]:
                    name, _, value = line.partition(":")
                    name = name.strip().lower()
                    value = value.strip()
                    headers[name] = f"{headers[name]}, {value}" if name in headers else value
                length = int(headers.get("content-length", "0"))
            except ValueError:
                self._close(400)
                return
            if "transfer-encoding" in headers or not 0 <= length <= MAX_BODY:
                self._close(400)
                return
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self._handle(method, target, headers, body)

    def _handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        sink = self.sink
        request = Received(len(sink.requests), method, target, headers, body, time.time())
        if sink.parse_activity_ids and body[:1] == b"{":
            with contextlib.suppress(orjson.JSONDecodeError):
                request.activity_id = orjson.loads(body).get("id")
        sink.requests.append(request)
        reply = sink._next_reply(target.partition("?")[0])
        close = headers.get("connection", "").lower() == "close"
        if reply.delay is None:
            self.busy, self.pending = True, request
        elif reply.delay > 0:
            self.busy, self.pending = True, request
            loop = asyncio.get_running_loop()
            self.handle = loop.call_later(reply.delay, self._answer, request, reply, close)
        else:
            self._answer(request, reply, close)

    def _answer(self, request: Received, reply: Reply, close: bool) -> None:
        self.handle, self.busy, self.pending = None, False, None
        if self.transport is None or self.transport.is_closing():
            return
        request.status = reply.status
        lines = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}"]
        if not {name.lower() for name in reply.headers} & {"content-length", "transfer-encoding"}:
            lines.append(
                f"Content-Length: {len(reply.body)}"
            )  # else the body is sent as framed by the script
        lines += [f"{name}: {value}" for name, value in reply.headers.items()]
        if close:
            lines.append("Connection: close")
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body)
        if close:
            self.transport.close()
        else:
            self._parse()

    def _close(self, status: int) -> None:
        if self.transport is not None:
            self.transport.write(
                f"HTTP/1.1 {status} Bad\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            self.transport.close()


class Sink:
    """The loopback server. Use ``async with Sink() as sink`` (or ``await start()`` / ``await stop()``)."""

    def __init__(self, default: Reply | None = None, *, parse_activity_ids: bool = True) -> None:
        self.default = default or Reply(202)
        self.parse_activity_ids = parse_activity_ids
        self.requests: list[Received] = []
        self._scripts: dict[str, deque[Reply]] = {}
        self._defaults: dict[str, Reply] = {}
        self._conns: set[_Conn] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> Sink:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Conn(self), "127.0.0.1", 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for conn in list(self._conns):
                if conn.transport is not None:
                    conn.transport.abort()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Sink:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- scripting -------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to ``path`` with ``replies`` in order, then with the path's default."""
        self._scripts.setdefault(path, deque()).extend(replies)

    def set_default(self, path: str, reply: Reply) -> None:
        self._defaults[path] = reply

    def _next_reply(self, path: str) -> Reply:
        queue = self._scripts.get(path)
        if queue:
            return queue.popleft()
        return self._defaults.get(path, self.default)

    def drop_idle_connections(self) -> int:
        """Close every connection not waiting for a reply (as servers do after their keep-alive timeout)."""
        idle = [c for c in self._conns if not c.busy and c.transport is not None]
        for conn in idle:
            assert conn.transport is not None
            conn.transport.close()
        return len(idle)

    # -- reading ---------------------------------------------------------------------------------------
    def received(self, path: str | None = None) -> list[Received]:
        return [r for r in self.requests if path is None or r.path == path]

    def delivered(self, path: str | None = None) -> list[Received]:
        """Requests answered with a 2xx (acknowledged deliveries)."""
        return [r for r in self.received(path) if r.ok]

    async def wait_until(self, condition: Callable[[], Any], within: float = 10.0) -> None:
        """Poll ``condition`` until it is true; ``TimeoutError`` after ``within`` seconds."""
        deadline = time.monotonic() + within
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"sink condition not met within {within}s ({len(self.requests)} requests)")
            await asyncio.sleep(0.01)

    @staticmethod
    def verify(request: Received, keys: Mapping[str, str]) -> SignatureRequest:
        """Check ``request``'s signature with the public key PEM its keyId names in ``keys``.

        Raises ``SignatureError`` (or ``KeyError`` for an unknown key id); returns the parsed signature.
        """
        sig = parse_request_signature(
            request.method, request.path, request.headers, request.body, now=request.at
        )
        verify_request_signature(sig, keys[sig.key_id])
        return sig

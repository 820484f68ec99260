"""Real HTTP servers for tests: any ASGI app (the coserver app or a stub) served by hypercorn on 127.0.0.1.

``serve_app(app, port)`` runs hypercorn as a task of the test's event loop, waits until the app's
lifespan startup (Quart's ``before_serving``) has run and the port accepts connections, yields the base URL
(``http://127.0.0.1:PORT``), and shuts down cleanly (``after_serving`` runs too). Only the loopback address
is ever bound.

To serve the coserver app at a URL it knows (``base_url``), pick the port first::

    port = free_port()
    app = create_app(make_settings(base_url=f"http://127.0.0.1:{port}", database_url=...))
    async with serve_app(app, port) as base:
        ...

:class:`StubApp` is a tiny programmable ASGI app (fixed replies per path, redirects, slow or huge bodies)
that records the requests it receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

HOST = "127.0.0.1"
log = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


async def _port_open(port: int) -> bool:
    try:
        _reader, writer = await asyncio.open_connection(HOST, port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


@contextlib.asynccontextmanager
async def serve_app(
    app: Any, port: int | None = None, *, startup_timeout: float = 20.0
) -> AsyncIterator[str]:
    """Serve ``app`` (ASGI) on ``127.0.0.1:port`` (a free port if ``None``); yields ``http://127.0.0.1:PORT``.

    With ``port=None`` a lost race for the port (another process took it) is retried on a new port.
    """
    attempts = 3 if port is None else 1
    for attempt in range(attempts):
        chosen = port if port is not None else free_port()
        config = Config()
        config.bind = [f"{HOST}:{chosen}"]
        config.accesslog = None
        config.loglevel = "WARNING"
        config.graceful_timeout = 2.0
        config.startup_timeout = startup_timeout
        stop = asyncio.Event()
        task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
        try:
            await _wait_until_serving(task, chosen, startup_timeout)
        except OSError as exc:
            await _stop(task, stop)
            if exc.errno == errno.EADDRINUSE and attempt + 1 < attempts:
                continue
            raise
        except BaseException:
            await _stop(task, stop)
            raise
        try:
            yield f"http://{HOST}:{chosen}"
        finally:
            await _stop(task, stop)
        return


async def _wait_until_serving(task: asyncio.Task, port: int, limit: float) -> None:
    """Wait for hypercorn to listen (it binds after the lifespan startup), or raise why it stopped."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        if task.done():
            task.result()  # raises the startup or bind error
            raise RuntimeError("hypercorn stopped before serving")
        if await _port_open(port):
            await asyncio.sleep(0)
            if task.done():  # someone else's server answered and our bind failed
                task.result()
            return
        if loop.time() > deadline:
            raise TimeoutError(f"the test server did not start on port {port} within {limit} s")
        await asyncio.sleep(0.02)


async def _stop(task: asyncio.Task, stop: asyncio.Event) -> None:
    stop.set()
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=15)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    except Exception:  # the error was already reported where it mattered
        log.debug("test server stopped with an error", exc_info=True)


@dataclass
class Reply:
    """What a :class:`StubApp` answers on one path."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    chunk_size: int | None = None  # stream the body in pieces, without Content-Length
    delay: float = 0.0  # seconds to wait before answering
    chunk_delay: float = 0.0  # seconds to wait between streamed pieces

    @classmethod
    def json(cls, data: Any, status: int = 200, content_type: str = "application/jrd+json") -> Reply:
        import json

        return cls(status=status, body=json.dumps(data).encode(), headers={"Content-Type": content_type})

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Reply:
        return cls(status=status, headers={"Location": location})


@dataclass
class StubRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]


class StubApp:
    """A programmable ASGI app: ``routes`` maps a path to a :class:`Reply` (or a callable returning one).

    Unknown paths answer 404. Every request is appended to ``requests``. Supports the lifespan protocol.
    """

    def __init__(self, routes: Mapping[str, Reply | Callable[[StubRequest], Reply]] | None = None) -> None:
        self.routes: dict[str, Reply | Callable[[StubRequest], Reply]] = dict(routes or {})
        self.requests: list[StubRequest] = []

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request = StubRequest(
            method=scope["method"],
            path=scope["path"],
            query=scope["query_string"].decode("latin-1"),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
        )
        self.requests.append(request)
        route = self.routes.get(request.path)
        reply = route(request) if callable(route) else route
        if reply is None:
            reply = Reply(status=404, body=b"not found", headers={"Content-Type": "text/plain"})
        if reply.delay:
            await asyncio.sleep(reply.delay)
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
        if reply.chunk_size is None:
            headers.append((b"content-length", str(len(reply.body)).encode()))
        try:
            await send({"type": "http.response.start", "status": reply.status, "headers": headers})
            if reply.chunk_size is None:
                await send({"type": "http.response.body", "body": reply.body})
                return
            for start in range(0, len(reply.body), reply.chunk_size):
                piece = reply.body[start : start + reply.chunk_size]
                if reply.chunk_delay and start:
                    await asyncio.sleep(reply.chunk_delay)
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except (OSError, RuntimeError):  # the client went away (as it should for a huge body)
            return

"""A real HTTP server on 127.0.0.1 for tests, with routes that misbehave on purpose.

Use the ``loopback`` fixture (import it into a test module) or :class:`LoopbackServer` directly:

    server.add("/cat.jpg", jpeg_bytes)                 # 200 with the bytes
    server.add("/gone.jpg", status=404)                 # an error status
    server.add("/flaky.jpg", jpeg_bytes, fail_first=1)  # 500 once, then 200
    server.add("/slow.jpg", jpeg_bytes, delay=2.0)      # headers only after 2 s
    server.add("/cut.jpg", jpeg_bytes, truncate=100)    # Content-Length full, 100 bytes sent
    server.add("/old.jpg", redirect="/cat.jpg")         # 302
    server.add("/stream.jpg", big, chunked=True)        # no Content-Length, close-delimited
    server.add("/v.bin", body, last_modified="Mon, 02 Jan 2006 15:04:05 GMT", etag=None)
    server.add("/odd.bin", body, range_offset=10)       # 206 that starts 10 bytes off
    server.add("/drip.jpg", body, trickle=0.2)         # one byte every 0.2 s
    server.add("/liar.jpg", body, content_length=10)   # says 10 bytes, sends all of body
    LoopbackServer(host="127.0.0.2", port=8123)        # another loopback address and port
    server.url("/cat.jpg"); server.hits["/cat.jpg"]

Every route honours ``Range: bytes=N-`` (206), so resumable downloads can be tested, and sends
an ``ETag`` made from its current body (as real servers do: change the body, the tag changes),
and ``Last-Modified`` when given. ``If-Range`` is honoured like RFC 9110 says: the range is sent
only when the validator matches, the whole body (200) otherwise.
"""
from __future__ import annotations

import collections
import dataclasses
import hashlib
import http.server
import threading
import time

import pytest


@dataclasses.dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/octet-stream"
    fail_first: int = 0
    delay: float = 0.0
    truncate: int | None = None
    redirect: str | None = None
    chunked: bool = False
    etag: str | None = "auto"
    last_modified: str | None = None
    ignore_if_range: bool = False
    range_offset: int = 0
    trickle: float = 0.0
    content_length: int | None = None

    def current_etag(self) -> str | None:
        if self.etag == "auto":
            return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'
        return self.etag


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        path = self.path.split("?")[0]
        with owner.lock:
            owner.hits[path] += 1
            owner.requests.append((path, dict(self.headers)))
            hit = owner.hits[path]
        route = owner.routes.get(path)
        if route is None:
            return self._reply(404, b"not found", "text/plain")
        if route.delay:
            time.sleep(route.delay)
        if hit <= route.fail_first:
            return self._reply(500, b"try again", "text/plain")
        if route.redirect:
            self.send_response(302)
            self.send_header("Location", route.redirect)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if route.status != 200:
            return self._reply(route.status, b"<html>error</html>", "text/html")
        body, status = route.body, 200
        start = self._range_start()
        validator = self.headers.get("If-Range")
        if validator is not None and not route.ignore_if_range and \
                validator not in (route.current_etag(), route.last_modified):
            start = None  # the file changed since the client's copy: send all of it
        if start is not None and start < len(body):
            start = max(0, start - route.range_offset)
            body, status = body[start:], 206
        self.send_response(status)
        self.send_header("Content-Type", route.content_type)
        if route.current_etag():
            self.send_header("ETag", route.current_etag())
        if route.last_modified:
            self.send_header("Last-Modified", route.last_modified)
        if route.content_length is not None:  # a lie: the whole body follows, then close
            self.send_header("Content-Length", str(route.content_length))
            self.send_header("Connection", "close")
            self.close_connection = True
        elif route.chunked:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(route.body) - 1}/"
                                              f"{len(route.body)}")
        self.end_headers()
        if route.truncate is not None:
            self.wfile.write(body[:route.truncate])
            self.wfile.flush()
            self.close_connection = True
            return
        if route.trickle:
            for index in range(len(body)):
                self.wfile.write(body[index:index + 1])
                self.wfile.flush()
                time.sleep(route.trickle)
            return
        self.wfile.write(body)

    def _range_start(self) -> int | None:
        value = self.headers.get("Range", "")
        if value.startswith("bytes=") and value.endswith("-"):
            try:
                return int(value[6:-1])
            except ValueError:
                return None
        return None

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 makes parallel clients wait 1 s SYN retries
    owner: "LoopbackServer"

    def handle_error(self, request, client_address) -> None:
        # Clients that time out or stop reading on purpose leave broken pipes: expected here.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class LoopbackServer:
    """A threaded HTTP server on a free port of 127.0.0.1, serving registered routes."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: collections.Counter = collections.Counter()
        self.requests: list = []
        self.lock = threading.Lock()
        self._server = _Server((host, port), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, path: str, body: bytes = b"", **options) -> str:
        """Registers a route; returns its URL."""
        self.routes[path] = Route(body=body, **options)
        return self.url(path)

    def url(self, path: str) -> str:
        host, port = self.address
        return f"http://{host}:{port}{path}"

    @property
    def address(self) -> tuple[str, int]:
        """``(ip, port)`` the server listens on."""
        return tuple(self._server.server_address[:2])

    def reset_counts(self) -> None:
        with self.lock:
            self.hits.clear()
            self.requests.clear()


@pytest.fixture()
def loopback():
    """A started :class:`LoopbackServer`, stopped after the test."""
    server = LoopbackServer().start()
    yield server
    server.stop()

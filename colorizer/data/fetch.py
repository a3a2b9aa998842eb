"""The one HTTP(S) fetcher of colorizer, and the policies it follows.

Every download (``colorizer download``, photo links given to ``colorizer colorize``, links
pasted into the web app, dataset archives) goes through :func:`fetch_bytes` or
:func:`fetch_file` under a :class:`FetchPolicy`:

- only ``http`` and ``https``, redirects included, at most ``max_redirects`` hops;
- the host is resolved once per hop, the address is checked against the policy, and the
  connection goes to that very address (the name still serves as the ``Host`` header and for
  TLS: SNI and the certificate check), so a DNS answer that changes between the check and the
  connect (DNS rebinding) cannot reach another address;
- one overall deadline per attempt (connect, headers and body together): a server that
  trickles bytes is cut when the deadline passes, not kept alive by each small read;
- the body is capped while it streams, whatever ``Content-Length`` says;
- transient failures (5xx, 429, timeouts, dropped connections) are retried with exponential
  backoff; client errors are not.

Two named policies: :data:`OWNER` for the command line, run by the photos' owner on their own
machine, which may fetch any address they name (a photo on their NAS at ``192.168.1.20``);
:data:`PUBLIC_ONLY` for the web app, whose visitors must not reach the network it runs in.

Failures are :class:`FetchError` with a short ``reason`` (``http-404``, ``timeout``,
``truncated``, ``too-large``, ``bad-scheme``, ``refused-address`` ...) for manifests.

Example:
    >>> data, attempts = fetch_bytes("https://example.com/cat.jpg", PUBLIC_ONLY)
"""
from __future__ import annotations

import dataclasses
import hashlib
import http.client
import os
import random
import re
import socket
import ssl
import threading
import time
import urllib.parse
from typing import Callable

from colorizer import __version__
from colorizer.data.addresses import internal_reason, resolve
from colorizer.fileio import read_json, write_json
from colorizer.repository import REPOSITORY

USER_AGENT = f"colorizer/{__version__} (+https://github.com/{REPOSITORY})"
CHUNK = 1 << 16
ALLOWED_SCHEMES = ("http", "https")
REDIRECTS = (301, 302, 303, 307, 308)
HASH_LENGTH = 10
"""Hex digits of the URL hash in file names made from URLs."""
REFUSED_MESSAGE = "refused: the link points inside the network; only public addresses are fetched"


class FetchError(Exception):
    """A download failed; ``reason`` is a short code, ``retryable`` says if trying again may help.

    Attributes:
        reason: ``http-<status>``, ``timeout``, ``connection``, ``dns``, ``truncated``,
            ``too-large``, ``bad-scheme``, ``refused-address``, ``too-many-redirects``,
            ``range-mismatch`` (a resume answered from the wrong byte) (or, from callers,
            ``not-image``, ``too-small``).
        retryable: True for failures that are often transient.
    """

    def __init__(self, reason: str, message: str, retryable: bool = False):
        super().__init__(message)
        self.reason = reason
        self.retryable = retryable


@dataclasses.dataclass(frozen=True)
class FetchPolicy:
    """What one kind of fetch may do.

    Attributes:
        name: Shown in docs and errors.
        public_only: Connect only to public addresses (see
            :func:`colorizer.data.addresses.internal_reason`).
        deadline: Seconds one attempt may take in all: connect, headers and body.
        max_bytes: Largest accepted body, or ``None``.
        retries: Extra attempts for transient failures.
        backoff: First retry delay in seconds; doubles with each retry.
        max_redirects: Redirect hops followed.
        allow_internal: ``(ip, port)`` pairs reachable despite ``public_only``: for tests that
            serve on 127.0.0.1. Empty in every policy the package builds.
    """

    name: str
    public_only: bool
    deadline: float = 60.0
    max_bytes: int | None = None
    retries: int = 0
    backoff: float = 0.5
    max_redirects: int = 5
    allow_internal: frozenset = frozenset()

    def but(self, **changes) -> "FetchPolicy":
        """A copy with some fields changed (``None`` values keep the field)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def allows(self, address, port: int) -> str | None:
        """Why connecting to ``address:port`` is refused, or ``None`` when it is allowed."""
        if not self.public_only or (str(address), port) in self.allow_internal:
            return None
        return internal_reason(address)


OWNER = FetchPolicy("owner", public_only=False)
"""The command line's policy: any address the user names, their own network included."""
PUBLIC_ONLY = FetchPolicy("public-only", public_only=True, deadline=30.0)
"""The web app's policy: public addresses only, checked on every hop after DNS."""


def check_url(url: str) -> str:
    """Returns ``url`` if it is an absolute http(s) URL with a host.

    Raises:
        FetchError: With reason ``bad-scheme`` otherwise (file:, ftp:, data:, relative ...).
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.hostname:
        raise FetchError("bad-scheme", f"{url}: only http:// and https:// URLs are accepted")
    return url


def safe_file_name(url: str, extension: str = "") -> str:
    """A file name for ``url`` that cannot leave its folder and never collides.

    The readable part comes from the URL's last path segment, reduced to ``[A-Za-z0-9._-]``;
    a hash of the whole URL (query included) makes it unique.

    Example:
        >>> safe_file_name("https://h/a/../../etc/passwd", ".jpg")
        'passwd-33d7c1f1f7.jpg'
    """
    last = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    stem = os.path.splitext(last)[0]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:60] or "image"
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    return f"{stem}-{digest}{extension}"


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to a given IP address, with the URL's host name in ``Host``."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a given IP address; SNI and the certificate check use the host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


class _Watchdog:
    """Closes the current connection when the attempt's deadline passes, wherever it waits
    (connect, headers, body): per-read timeouts alone let a trickling server hold on."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.connection: http.client.HTTPConnection | None = None
        self.fired = False
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        return self.end - time.monotonic()

    def _fire(self) -> None:
        self.fired = True
        connection = self.connection
        if connection is not None and connection.sock is not None:
            try:
                connection.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cancel(self) -> None:
        self._timer.cancel()


def _classify(url: str, error: BaseException, watchdog: _Watchdog) -> FetchError:
    if isinstance(error, FetchError):
        return error
    if watchdog.fired or watchdog.left() <= 0 or isinstance(error, (socket.timeout,
                                                                     TimeoutError)):
        return FetchError("timeout", f"{url}: no complete answer within "
                                     f"{watchdog.seconds:g} s", True)
    if isinstance(error, socket.gaierror):
        return FetchError("dns", f"{url}: the host name does not resolve", True)
    if isinstance(error, ssl.SSLCertVerificationError):
        return FetchError("tls", f"{url}: the server's certificate is not valid "
                                 f"({error.verify_message})")
    return FetchError("connection", f"{url}: connection failed ({error})", True)


def _connect(url: str, policy: FetchPolicy, watchdog: _Watchdog,
             headers: dict[str, str]) -> tuple[http.client.HTTPConnection,
                                                http.client.HTTPResponse]:
    """One request to ``url``: resolve, check the address, connect to it, send, read headers."""
    parts = urllib.parse.urlsplit(check_url(url))
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    addresses = resolve(parts.hostname, port)
    allowed = [a for a in addresses if policy.allows(a, port) is None]
    if not allowed:
        raise FetchError("refused-address", f"{url}: {REFUSED_MESSAGE}")
    kind = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    timeout = max(0.001, watchdog.left())
    connection = kind(parts.hostname, port, str(allowed[0]), timeout)
    watchdog.connection = connection
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    connection.request("GET", target, headers={"User-Agent": USER_AGENT, **headers})
    return connection, connection.getresponse()


def _open(url: str, policy: FetchPolicy, watchdog: _Watchdog,
          headers: dict[str, str] | None = None):
    """Follows redirects (each hop checked anew) to a final response with status < 300.

    Returns:
        ``(connection, response, final_url)``; the caller closes the connection.
    """
    headers = dict(headers or {})
    for _ in range(policy.max_redirects + 1):
        try:
            connection, response = _connect(url, policy, watchdog, headers)
        except Exception as error:
            if watchdog.connection is not None:
                watchdog.connection.close()
            raise _classify(url, error, watchdog) from None
        status = response.status
        if status in REDIRECTS and response.headers.get("Location"):
            location = urllib.parse.urljoin(url, response.headers["Location"].strip())
            connection.close()
            if urllib.parse.urlsplit(location).scheme.lower() not in ALLOWED_SCHEMES:
                raise FetchError("bad-scheme", f"{url}: refused redirect to a non-http(s) "
                                               f"address")
            url = location
            continue
        if status >= 400:
            connection.close()
            retryable = status >= 500 or status in (408, 429)
            raise FetchError(f"http-{status}", f"{url}: download failed (HTTP {status} "
                                               f"{response.reason})", retryable)
        return connection, response, url
    raise FetchError("too-many-redirects", f"{url}: more than {policy.max_redirects} redirects")


def _stream(response, url: str, max_bytes: int | None, sink: Callable[[bytes], None],
            watchdog: _Watchdog, already: int = 0) -> int:
    """Copies the body into ``sink`` chunk by chunk; returns the bytes read."""
    length = response.headers.get("Content-Length")
    expected = int(length) if length and length.isdigit() else None
    if response.chunked:
        expected = None  # a Content-Length beside chunked encoding is meaningless (RFC 9112)
    if max_bytes is not None and expected is not None and already + expected > max_bytes:
        raise FetchError("too-large", f"{url}: larger than {max_bytes} bytes "
                                      f"({already + expected} announced)")
    received = 0
    try:
        # read1: at most one read from the socket, so the cap and the deadline are checked
        # between small reads rather than after a full 64 KiB that a trickler takes ages to send.
        while chunk := response.read1(CHUNK):
            received += len(chunk)
            if max_bytes is not None and already + received > max_bytes:
                raise FetchError("too-large", f"{url}: larger than {max_bytes} bytes (cut "
                                              "while it streamed)")
            if watchdog.left() <= 0:
                raise TimeoutError
            sink(chunk)
    except FetchError:
        raise
    except Exception as error:
        raise _classify(url, error, watchdog) from None
    if watchdog.fired:
        raise _classify(url, TimeoutError(), watchdog)
    # http.client returns a short body silently when the peer closes early: check it here.
    if expected is not None and received < expected:
        raise FetchError("truncated", f"{url}: connection closed after {received} of "
                                      f"{expected} bytes", True)
    return received


def with_retries(action: Callable[[], object], *, retries: int, backoff: float):
    """Runs ``action`` until it succeeds, retrying retryable :class:`FetchError` s.

    Returns:
        ``(result, attempts)``.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return action(), attempt
        except FetchError as error:
            if not error.retryable or attempt > retries:
                error.attempts = attempt
                raise
        # Exponential backoff with jitter, so parallel workers do not retry in lockstep.
        time.sleep(backoff * (2 ** (attempt - 1)) * (0.5 + random.random()))


def fetch_bytes(url: str, policy: FetchPolicy = OWNER, *, timeout: float | None = None,
                max_bytes: int | None = None, retries: int | None = None,
                backoff: float | None = None) -> tuple[bytes, int]:
    """Downloads ``url`` into memory under ``policy``.

    Args:
        url: An http(s) URL.
        policy: :data:`OWNER` (any address) or :data:`PUBLIC_ONLY` (the web app's).
        timeout: Overrides the policy's deadline: seconds for a whole attempt.
        max_bytes: Overrides the policy's size cap.
        retries: Overrides the policy's extra attempts for transient failures.
        backoff: Overrides the policy's first retry delay in seconds.

    Returns:
        ``(body, attempts)``.

    Raises:
        FetchError: The download failed; ``error.attempts`` says how often it was tried.
    """
    policy = policy.but(deadline=timeout, max_bytes=max_bytes, retries=retries,
                        backoff=backoff)

    def attempt() -> bytes:
        parts: list[bytes] = []
        watchdog = _Watchdog(policy.deadline)
        try:
            connection, response, final = _open(url, policy, watchdog)
            try:
                _stream(response, final, policy.max_bytes, parts.append, watchdog)
            finally:
                connection.close()
        finally:
            watchdog.cancel()
        return b"".join(parts)

    return with_retries(attempt, retries=policy.retries, backoff=policy.backoff)


def fetch_file(url: str, path: str | os.PathLike, policy: FetchPolicy = OWNER, *,
               timeout: float = 3600.0, max_bytes: int | None = None, retries: int = 5,
               backoff: float = 1.0, progress: bool = True) -> str:
    """Downloads a large file to ``path``, resuming an interrupted earlier attempt.

    The body goes to ``path + ".part"``, and the server's validator of that body (its strong
    ``ETag``, else its ``Last-Modified``) to ``path + ".part.json"``. A later attempt (or run)
    asks for the rest with ``Range`` and ``If-Range``: the server sends the rest only if the
    file is still the same one, otherwise the whole new file, and the download starts over.
    It also starts over when the server's ``Content-Range`` does not begin where the partial
    file ends, and when no validator is known (a resumed body could not be checked). Only a
    complete body is renamed to ``path``, so ``path`` existing means the download finished.

    Args:
        url: An http(s) URL.
        path: The destination file.
        policy: Which addresses may be fetched (:data:`OWNER` or :data:`PUBLIC_ONLY`).
        timeout: Seconds one attempt may take in all (a resumed attempt goes on from there).
        max_bytes: Largest accepted file.
        retries: Extra attempts for transient failures (each resumes).
        backoff: First retry delay in seconds.
        progress: Show a tqdm bar.

    Returns:
        ``path``.

    Raises:
        FetchError: The download failed after all retries.
    """
    path = os.fspath(path)
    if os.path.exists(path):
        return path
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = _Partial(path, url)
    policy = policy.but(deadline=timeout, max_bytes=max_bytes, retries=retries, backoff=backoff)

    def attempt() -> None:
        watchdog = _Watchdog(policy.deadline)
        try:
            _attempt(watchdog)
        finally:
            watchdog.cancel()

    def _attempt(watchdog: _Watchdog) -> None:
        have = partial.size()
        validator = partial.validator() if have else None
        if have and validator is None:
            partial.discard()  # nothing to check a resumed body against: start over
            have = 0
        headers = {"Range": f"bytes={have}-", "If-Range": validator} if have else {}
        try:
            connection, response, final = _open(url, policy, watchdog, headers)
        except FetchError as error:
            if have and error.reason == "http-416":  # a stale partial file: start over
                partial.discard()
                error.retryable = True
            raise
        try:
            if have and not _continues_at(response, have, validator):
                # 200: the file changed (If-Range failed) or ranges are not supported; a range
                # that starts elsewhere cannot be joined either. Take this body from its start
                # when it is whole, else ask again from zero.
                partial.discard()
                if response.status != 200:
                    raise FetchError("range-mismatch", f"{url}: the server sent "
                                     f"{response.headers.get('Content-Range')!r} for a resume at "
                                     f"byte {have}; starting over", retryable=True)
                have = 0
            if not have:
                partial.remember(response.headers)
            _write_body(response, final, partial.part, have, policy.max_bytes, progress,
                        os.path.basename(path), watchdog)
        finally:
            connection.close()

    with_retries(attempt, retries=policy.retries, backoff=policy.backoff)
    os.replace(partial.part, path)
    partial.forget()
    return path


def _continues_at(response, have: int, validator: str) -> bool:
    """True when a response is the rest of the file from byte ``have``: a 206 whose
    ``Content-Range`` is ``bytes have-...``, from a file with the same validator where the
    server names one (a server that ignores ``If-Range`` is caught here)."""
    if response.status != 206:
        return False
    if validator.startswith('"'):
        sent = response.headers.get("ETag")
    else:
        sent = response.headers.get("Last-Modified")
    if sent is not None and sent != validator:
        return False
    value = response.headers.get("Content-Range", "")
    unit, _, rest = value.partition(" ")
    start = rest.partition("-")[0]
    return unit.strip().lower() == "bytes" and start.strip().isdigit() and int(start) == have


def _write_body(response, url: str, part: str, have: int, max_bytes: int | None,
                progress: bool, name: str, watchdog: _Watchdog) -> None:
    from tqdm.auto import tqdm

    length = response.headers.get("Content-Length")
    total = have + int(length) if length and length.isdigit() else None
    with open(part, "ab" if have else "wb") as out, tqdm(
            total=total, initial=have, unit="B", unit_scale=True, disable=not progress,
            desc=name) as bar:
        def sink(chunk: bytes) -> None:
            out.write(chunk)
            bar.update(len(chunk))
        _stream(response, url, max_bytes, sink, watchdog, already=have)


class _Partial:
    """The ``.part`` file of a download and the validator of the body it holds."""

    def __init__(self, path: str, url: str):
        self.part, self.info, self.url = path + ".part", path + ".part.json", url

    def size(self) -> int:
        return os.path.getsize(self.part) if os.path.exists(self.part) else 0

    def validator(self) -> str | None:
        """The strong ETag or Last-Modified the partial body was sent with, for ``If-Range``."""
        try:
            info = read_json(self.info, default={}) or {}
        except ValueError:  # a damaged record: as good as none
            return None
        if info.get("url") != self.url:
            return None
        return info.get("etag") or info.get("last_modified")

    def remember(self, headers) -> None:
        etag = headers.get("ETag") or ""
        info = {"url": self.url,
                # A weak ETag (W/"...") may not be used in If-Range (RFC 9110, 13.1.5).
                "etag": etag if etag and not etag.startswith("W/") else None,
                "last_modified": headers.get("Last-Modified")}
        write_json(self.info, info)

    def discard(self) -> None:
        for name in (self.part, self.info):
            if os.path.exists(name):
                os.remove(name)

    def forget(self) -> None:
        if os.path.exists(self.info):
            os.remove(self.info)

"""HTTP(S) GET with the safety rules every download in colorizer follows.

Only ``http`` and ``https`` are accepted (redirects included), every request has a timeout,
bodies are capped while they stream, a body shorter than its ``Content-Length`` counts as a
dropped connection, and transient failures (5xx, 429, timeouts, dropped connections) are
retried with exponential backoff while client errors (other 4xx) are not.

Failures are :class:`FetchError` with a short machine-readable ``reason`` (``http-404``,
``timeout``, ``truncated``, ``too-large`` ...) for manifests and summaries.

Example:
    >>> data = fetch_bytes("https://example.com/cat.jpg", timeout=30, max_bytes=20 << 20)
"""
from __future__ import annotations

import http.client
import os
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable

from colorizer import __version__
from colorizer.fileio import read_json, write_json
from colorizer.repository import REPOSITORY

USER_AGENT = f"colorizer/{__version__} (+https://github.com/{REPOSITORY})"
CHUNK = 1 << 16
ALLOWED_SCHEMES = ("http", "https")


class FetchError(Exception):
    """A download failed; ``reason`` is a short code, ``retryable`` says if trying again may help.

    Attributes:
        reason: ``http-<status>``, ``timeout``, ``connection``, ``truncated``, ``too-large``,
            ``bad-scheme``, ``range-mismatch`` (a resume answered from the wrong byte) (or,
            from callers, ``not-image``, ``too-small``).
        retryable: True for failures that are often transient.
    """

    def __init__(self, reason: str, message: str, retryable: bool = False):
        super().__init__(message)
        self.reason = reason
        self.retryable = retryable


def check_url(url: str) -> str:
    """Returns ``url`` if it is an absolute http(s) URL with a host.

    Raises:
        FetchError: With reason ``bad-scheme`` otherwise (file:, ftp:, data:, relative ...).
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.netloc:
        raise FetchError("bad-scheme", f"{url}: only http:// and https:// URLs are accepted")
    return url


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects only to http(s); urllib alone would also follow them to ftp."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_url(urllib.parse.urljoin(req.full_url, newurl))
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_SafeRedirects())


def _open(url: str, timeout: float, headers: dict[str, str] | None = None):
    """Opens ``url``; raises :class:`FetchError` classified by cause."""
    request = urllib.request.Request(check_url(url),
                                     headers={"User-Agent": USER_AGENT, **(headers or {})})
    try:
        return _OPENER.open(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        status = error.code
        retryable = status >= 500 or status in (408, 429)
        raise FetchError(f"http-{status}", f"{url}: HTTP {status} {error.reason}",
                         retryable) from None
    except urllib.error.URLError as error:
        raise _classify(url, error.reason) from None
    except (OSError, http.client.HTTPException) as error:
        raise _classify(url, error) from None


def _classify(url: str, error) -> FetchError:
    if isinstance(error, FetchError):
        return error
    if isinstance(error, (socket.timeout, TimeoutError)):
        return FetchError("timeout", f"{url}: timed out", True)
    if isinstance(error, (ConnectionError, http.client.HTTPException, OSError)):
        return FetchError("connection", f"{url}: connection failed ({error})", True)
    return FetchError("connection", f"{url}: {error}", True)


def _stream(response, url: str, max_bytes: int | None, sink: Callable[[bytes], None],
            already: int = 0) -> int:
    """Copies the body into ``sink`` chunk by chunk; returns the bytes read."""
    length = response.headers.get("Content-Length")
    expected = int(length) if length and length.isdigit() else None
    if max_bytes is not None and expected is not None and already + expected > max_bytes:
        raise FetchError("too-large", f"{url}: {already + expected} bytes exceeds the cap of "
                                      f"{max_bytes}")
    received = 0
    try:
        while chunk := response.read(CHUNK):
            received += len(chunk)
            if max_bytes is not None and already + received > max_bytes:
                raise FetchError("too-large", f"{url}: body exceeds the cap of {max_bytes} bytes")
            sink(chunk)
    except FetchError:
        raise
    except (OSError, http.client.HTTPException) as error:
        raise _classify(url, error) from None
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


def fetch_bytes(url: str, *, timeout: float = 30.0, max_bytes: int | None = None,
                retries: int = 3, backoff: float = 0.5) -> tuple[bytes, int]:
    """Downloads ``url`` into memory.

    Args:
        url: An http(s) URL.
        timeout: Seconds allowed for connecting and for each read.
        max_bytes: Largest accepted body; larger ones fail as ``too-large``.
        retries: Extra attempts for transient failures.
        backoff: First retry delay in seconds; doubles with each retry.

    Returns:
        ``(body, attempts)``.

    Raises:
        FetchError: The download failed; ``error.attempts`` says how often it was tried.
    """
    def attempt() -> bytes:
        parts: list[bytes] = []
        with _open(url, timeout) as response:
            _stream(response, url, max_bytes, parts.append)
        return b"".join(parts)

    return with_retries(attempt, retries=retries, backoff=backoff)


def fetch_file(url: str, path: str | os.PathLike, *, timeout: float = 60.0,
               max_bytes: int | None = None, retries: int = 5, backoff: float = 1.0,
               progress: bool = True) -> str:
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
        timeout: Seconds allowed for connecting and for each read.
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

    def attempt() -> None:
        have = partial.size()
        validator = partial.validator() if have else None
        if have and validator is None:
            partial.discard()  # nothing to check a resumed body against: start over
            have = 0
        headers = {"Range": f"bytes={have}-", "If-Range": validator} if have else {}
        try:
            response = _open(url, timeout, headers)
        except FetchError as error:
            if have and error.reason == "http-416":  # a stale partial file: start over
                partial.discard()
                error.retryable = True
            raise
        with response:
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
            _write_body(response, url, partial.part, have, max_bytes, progress,
                        os.path.basename(path))

    with_retries(attempt, retries=retries, backoff=backoff)
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
                progress: bool, name: str) -> None:
    from tqdm.auto import tqdm

    length = response.headers.get("Content-Length")
    total = have + int(length) if length and length.isdigit() else None
    with open(part, "ab" if have else "wb") as out, tqdm(
            total=total, initial=have, unit="B", unit_scale=True, disable=not progress,
            desc=name) as bar:
        def sink(chunk: bytes) -> None:
            out.write(chunk)
            bar.update(len(chunk))
        _stream(response, url, max_bytes, sink, already=have)


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

"""What to colorize: files, folders and http(s) URLs, each given a unique output name.

Folders are searched recursively and keep their structure under the output folder; URLs get a
safe name made from their last path part and a short hash of the whole URL. Output names never
collide: when two inputs would share one (``a/x.jpg`` and ``b/x.jpg`` given as files), each
gets a short hash of its own location added, the same on every run.

Example:
    >>> sources = collect_sources(["scans/", "https://example.org/old.jpg"], exclude="out/")
    >>> photo = read_source(sources[0])   # uint8/uint16 array, gray or RGB, upright
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import posixpath
import re
import urllib.error
import urllib.parse
import urllib.request

import numpy as np

from colorizer.data.images import (
    IMAGE_EXTENSIONS, ImageReadError, decode_photo, list_images, read_bytes)

URL_SCHEMES = ("http", "https")
DOWNLOAD_TIMEOUT_S = 30.0
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024
"""Largest photo accepted from a URL: a 200 MB file is far beyond any camera's JPEG."""
KEPT_EXTENSIONS = (".jpg", ".jpeg", ".png")
"""Inputs with these endings keep their name (JPEG in, JPEG out); all others become PNG."""


@dataclasses.dataclass(frozen=True)
class Source:
    """One input photo.

    Attributes:
        location: The path or URL as given or found in a folder.
        output: Output path relative to the output folder, with ``/`` separators.
        error: Why the input cannot be used at all (a missing file), else ``None``.
    """

    location: str
    output: str
    error: str | None = None

    @property
    def is_url(self) -> bool:
        return is_url(self.location)


def is_url(text: str) -> bool:
    """True for ``http://`` and ``https://`` addresses."""
    return urllib.parse.urlsplit(text).scheme.lower() in URL_SCHEMES


def output_name(name: str) -> str:
    """The output file name for an input file name: JPEG and PNG keep theirs, others get
    ``.png`` added (``scan.tif`` -> ``scan.tif.png``), so ``x.tif`` and ``x.bmp`` stay apart."""
    return name if name.lower().endswith(KEPT_EXTENSIONS) else name + ".png"


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def url_output_name(url: str) -> str:
    """A safe, unique file name for a URL: ``https://h/a/Old%20photo.jpg?x=1`` ->
    ``Old_photo-<hash>.jpg``; the hash covers the whole URL, query included."""
    last = posixpath.basename(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
    stem, extension = os.path.splitext(last)
    if extension.lower() not in IMAGE_EXTENSIONS:
        stem, extension = last, ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:60] or "photo"
    return output_name(f"{stem}-{_short_hash(url)}{extension.lower()}" if extension
                       else f"{stem}-{_short_hash(url)}")


def _with_hash(output: str, location: str) -> str:
    folder, name = posixpath.split(output)
    stem, extension = posixpath.splitext(name)
    return posixpath.join(folder, f"{stem}-{_short_hash(location)}{extension}")


def collect_sources(inputs: list[str | os.PathLike], *,
                    exclude: str | os.PathLike | None = None) -> list[Source]:
    """Expands files, folders (recursively) and URLs into :class:`Source` records.

    Args:
        inputs: Paths of files or folders, and http(s) URLs, in any mix.
        exclude: A folder whose files are never inputs (the output folder, which may lie
            inside an input folder).

    Returns:
        One source per photo, in input order. A missing path or a URL of another scheme
        gives a source with ``error`` set, so it is reported with the others.
    """
    excluded = os.path.abspath(exclude) + os.sep if exclude is not None else None
    sources: list[Source] = []
    for item in map(os.fspath, inputs):
        if is_url(item):
            sources.append(Source(item, url_output_name(item)))
        elif "://" in item and not item.startswith("gs://"):
            sources.append(Source(item, "", error="only http:// and https:// URLs are accepted"))
        elif os.path.isdir(item):
            for path in list_images(item):
                if excluded and os.path.abspath(path).startswith(excluded):
                    continue
                relative = os.path.relpath(path, item).replace(os.sep, "/")
                sources.append(Source(path, output_name(relative)))
        elif os.path.isfile(item) or item.startswith("gs://"):
            sources.append(Source(item, output_name(os.path.basename(item))))
        else:
            sources.append(Source(item, "", error="no such file or folder"))
    return _unique_outputs(sources)


def _unique_outputs(sources: list[Source]) -> list[Source]:
    """Gives every member of a group of colliding outputs a hash of its own location.

    Names are compared case-insensitively, as macOS and Windows file systems do; the same
    input listed twice is one photo, and keeps its first entry only.
    """
    seen_locations: set[str] = set()
    unique = []
    for source in sources:
        key = source.location if source.is_url else os.path.abspath(source.location)
        if key not in seen_locations:
            seen_locations.add(key)
            unique.append(source)
    counts: dict[str, int] = {}
    for source in unique:
        if not source.error:
            counts[source.output.lower()] = counts.get(source.output.lower(), 0) + 1
    return [dataclasses.replace(s, output=_with_hash(s.output, s.location))
            if not s.error and counts[s.output.lower()] > 1 else s for s in unique]


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects only to http(s), never to ``ftp:`` or ``file:``."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not is_url(newurl):
            raise urllib.error.URLError(f"refused redirect to {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_url(url: str, *, timeout: float = DOWNLOAD_TIMEOUT_S,
              max_bytes: int = MAX_DOWNLOAD_BYTES) -> bytes:
    """Downloads one photo into memory.

    Args:
        url: An http(s) address.
        timeout: Seconds to wait for the connection and for each read.
        max_bytes: Larger responses are refused before they fill memory.

    Raises:
        ImageReadError: Another scheme, an HTTP error, a network failure, or too large.
    """
    if not is_url(url):
        raise ImageReadError(f"{url}: only http:// and https:// URLs are accepted")
    from colorizer import __version__

    opener = urllib.request.build_opener(_HttpOnlyRedirects)
    request = urllib.request.Request(url, headers={"User-Agent": f"colorizer/{__version__}"})
    try:
        with opener.open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise ImageReadError(f"{url}: larger than {max_bytes} bytes ({declared})")
            data = response.read(max_bytes + 1)
    except urllib.error.HTTPError as error:
        raise ImageReadError(f"{url}: download failed (HTTP {error.code} {error.reason})") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ImageReadError(f"{url}: download failed ({reason})") from error
    if len(data) > max_bytes:
        raise ImageReadError(f"{url}: larger than {max_bytes} bytes")
    return data


def read_source(source: Source, *, timeout: float = DOWNLOAD_TIMEOUT_S,
                max_bytes: int = MAX_DOWNLOAD_BYTES) -> np.ndarray:
    """Reads and decodes one input (see :func:`colorizer.data.images.decode_photo`).

    Raises:
        ImageReadError: It cannot be fetched, read or decoded; the message names it.
    """
    if source.error:
        raise ImageReadError(f"{source.location}: {source.error}")
    if source.is_url:
        data = fetch_url(source.location, timeout=timeout, max_bytes=max_bytes)
    else:
        try:
            data = read_bytes(source.location)
        except Exception as error:  # OSError locally, tf.errors.* for gs:// paths
            raise ImageReadError(f"{source.location}: cannot read file ({error})") from error
    return decode_photo(data, name=source.location)

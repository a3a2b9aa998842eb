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
import urllib.parse

import numpy as np

from colorizer.data.fetch import (
    ALLOWED_SCHEMES, HASH_LENGTH, OWNER, FetchError, FetchPolicy, fetch_bytes, safe_file_name)
from colorizer.data.image_header import MAX_PIXELS
from colorizer.data.images import (
    IMAGE_EXTENSIONS, ImageReadError, decode_photo, is_image_name, list_files, read_bytes)
from colorizer.films.video_io import is_video_path, video_output_name

URL_SCHEMES = ALLOWED_SCHEMES
DOWNLOAD_TIMEOUT_S = 60.0
"""Seconds one photo's whole download may take (connect, headers and body together)."""
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
    ``.png`` added (``scan.tif`` -> ``scan.tif.png``), so ``x.tif`` and ``x.bmp`` stay apart.
    Films become MP4 (see :func:`colorizer.films.video_io.video_output_name`)."""
    if is_video_path(name):
        return video_output_name(name)
    return name if name.lower().endswith(KEPT_EXTENSIONS) else name + ".png"


def url_output_name(url: str) -> str:
    """A safe, unique file name for a URL: ``https://h/a/Old%20photo.jpg?x=1`` ->
    ``Old_photo-<hash>.jpg``; the hash covers the whole URL, query included (the one maker of
    :func:`colorizer.data.fetch.safe_file_name`)."""
    last = posixpath.basename(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
    extension = os.path.splitext(last)[1].lower()
    if extension not in IMAGE_EXTENSIONS and not is_video_path(last):
        extension = ""
    return output_name(safe_file_name(url, extension))


def with_location_hash(output: str, location: str) -> str:
    """``a/x.jpg`` -> ``a/x-<hash of location>.jpg``: the name an output gets when another
    input would have the same one."""
    folder, name = posixpath.split(output)
    stem, extension = posixpath.splitext(name)
    digest = hashlib.sha1(location.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    return posixpath.join(folder, f"{stem}-{digest}{extension}")


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
            # One walk for photos and films alike.
            for path in list_files(item, lambda name: is_image_name(name) or is_video_path(name)):
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
    return [dataclasses.replace(s, output=with_location_hash(s.output, s.location))
            if not s.error and counts[s.output.lower()] > 1 else s for s in unique]


def fetch_url(url: str, *, policy: FetchPolicy = OWNER, timeout: float = DOWNLOAD_TIMEOUT_S,
              max_bytes: int = MAX_DOWNLOAD_BYTES) -> bytes:
    """Downloads one photo into memory through :mod:`colorizer.data.fetch`.

    Args:
        url: An http(s) address.
        policy: :data:`~colorizer.data.fetch.OWNER` (the command line: any address) or
            :data:`~colorizer.data.fetch.PUBLIC_ONLY` (the web app).
        timeout: Seconds the whole download may take.
        max_bytes: Larger responses are cut off while they stream.

    Raises:
        ImageReadError: Another scheme, a refused address, an HTTP error, a network failure,
            a deadline passed, or too large; the message names the URL.
    """
    try:
        data, _ = fetch_bytes(url, policy, timeout=timeout, max_bytes=max_bytes, retries=0)
    except FetchError as error:
        raise ImageReadError(str(error)) from error
    return data


def read_source(source: Source, *, policy: FetchPolicy = OWNER,
                timeout: float = DOWNLOAD_TIMEOUT_S, max_bytes: int = MAX_DOWNLOAD_BYTES,
                max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """Reads and decodes one input (see :func:`colorizer.data.images.decode_photo`); a photo
    over ``max_pixels`` is refused from its header, before decoding.

    Raises:
        ImageReadError: It cannot be fetched, read or decoded; the message names it.
    """
    if source.error:
        raise ImageReadError(f"{source.location}: {source.error}")
    if source.is_url:
        data = fetch_url(source.location, policy=policy, timeout=timeout,
                         max_bytes=max_bytes)
    else:
        try:
            data = read_bytes(source.location)
        except Exception as error:  # OSError locally, tf.errors.* for gs:// paths
            raise ImageReadError(f"{source.location}: cannot read file ({error})") from error
    return decode_photo(data, name=source.location, max_pixels=max_pixels)

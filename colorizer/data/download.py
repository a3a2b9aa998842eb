"""Getting photos: parallel download of URL lists, and the dataset sources built on it.

:func:`download_urls` fetches many image URLs with a bounded pool of threads, through
:mod:`colorizer.data.fetch` under its ``OWNER`` policy. Each URL is tried with an overall
deadline and retried with backoff on transient failures; the body must decode as an image
(an HTML error page saved as ``.jpg`` is a failure) and stay under a size cap; identical images
are kept once; files appear atomically under safe names; ``manifest.jsonl`` records every URL's
outcome, so running the same call again skips what is done and retries what failed.

The sources (Oxford-IIIT Pet, Google Drive, a local folder) live in :mod:`colorizer.data.sources`
and are re-exported here, so ``colorizer.data.download`` is the one module to import.

Example:
    >>> report = download_urls(read_url_list("urls.txt"), "data/photos", workers=16)
    >>> print(report.summary())
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import io
import logging
import os
import threading
import time
from typing import Iterable

from colorizer.data.fetch import (  # noqa: F401  (safe_file_name re-exported)
    FetchError, check_url, fetch_bytes, safe_file_name)
from colorizer.data.images import ImageReadError, decode_rgb
from colorizer.data.manifest import DownloadReport, Manifest
from colorizer.data.sources import (  # noqa: F401  (re-exported: the public face of downloading)
    OXFORD_PETS_ANNOTATIONS_URL, OXFORD_PETS_IMAGES_URL, GdriveError, download_gdrive,
    download_oxford_pets, use_folder)
from colorizer.fileio import write_bytes

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 25 << 20
"""Largest accepted image (25 MiB): far above any photo worth training on."""

_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp",
               "TIFF": ".tif", "MPO": ".jpg"}


def read_url_list(path: str | os.PathLike) -> list[str]:
    """Reads a text file of URLs: one per line, ``#`` comments and blank lines ignored.

    Repeated URLs are kept once, in their first position.

    Args:
        path: The text file.

    Returns:
        The URLs in file order.

    Example:
        >>> read_url_list("urls.txt")
        ['https://example.com/cat1.jpg', 'https://example.com/cat2.jpg']
    """
    with open(path, encoding="utf-8-sig") as f:
        lines = (line.split(" #")[0].strip() for line in f)
        return list(dict.fromkeys(line for line in lines if line and not line.startswith("#")))


def _image_extension(data: bytes, url: str, min_side: int) -> str:
    """Verifies ``data`` decodes as a photo and returns the extension of its real format."""
    from PIL import Image

    try:
        rgb = decode_rgb(data, name=url)
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
    except ImageReadError as error:
        snippet = data[:60].decode("latin-1").replace("\n", " ")
        raise FetchError("not-image", f"{url}: the response is not an image "
                                      f"({len(data)} bytes starting {snippet!r})") from error
    if kind not in _EXTENSIONS:
        raise FetchError("not-image", f"{url}: a {kind} file, not a photo format")
    if min(rgb.shape[:2]) < min_side:
        # Dead links on photo hosts often answer with a tiny placeholder or tracking pixel.
        raise FetchError("too-small", f"{url}: {rgb.shape[1]}x{rgb.shape[0]} pixels, below "
                                      f"the minimum side of {min_side}")
    return _EXTENSIONS[kind]


class _Downloader:
    """One run's shared state: the manifest, known hashes, and the report."""

    def __init__(self, manifest: Manifest, report: DownloadReport, min_side: int,
                 **fetch_options):
        self.min_side = min_side
        self.manifest = manifest
        self.report = report
        self.options = fetch_options
        self.hashes = manifest.hashes()
        self.lock = threading.Lock()

    def fetch(self, url: str) -> None:
        attempts = 0
        try:
            check_url(url)
            data, attempts = fetch_bytes(url, **self.options)
            extension = _image_extension(data, url, self.min_side)
        except FetchError as error:
            attempts = getattr(error, "attempts", attempts)
            self.manifest.record(url, "failed", reason=error.reason, message=str(error),
                                 attempts=attempts)
            with self.lock:
                self.report.failures.append((url, error.reason, str(error)))
            return
        digest = hashlib.sha256(data).hexdigest()
        name = safe_file_name(url, extension)
        with self.lock:  # reserve the hash so two workers never both keep one image
            kept = self.hashes.get(digest)
            if kept is None:
                self.hashes[digest] = name
        if kept is not None:
            self.manifest.record(url, "duplicate", file=kept, sha256=digest, bytes=len(data),
                                 attempts=attempts)
            with self.lock:
                self.report.duplicates += 1
            return
        write_bytes(os.path.join(self.manifest.folder, name), data)
        self.manifest.record(url, "downloaded", file=name, sha256=digest, bytes=len(data),
                             attempts=attempts)
        with self.lock:
            self.report.downloaded += 1


def download_urls(urls: Iterable[str], out_dir: str | os.PathLike, *, workers: int = 8,
                  timeout: float = 30.0, retries: int = 3, backoff: float = 0.5,
                  max_bytes: int = DEFAULT_MAX_BYTES, min_side: int = 32,
                  progress: bool = True) -> DownloadReport:
    """Downloads image URLs in parallel into ``out_dir``, resumably.

    Args:
        urls: http(s) URLs of images (others are recorded as failed, ``bad-scheme``).
        out_dir: The folder for the images and ``manifest.jsonl``.
        workers: Parallel downloads.
        timeout: Seconds one request may take in all (connect, headers and body).
        retries: Extra attempts after a 5xx, 429, timeout or dropped connection; 4xx
            and non-images are not retried within a run.
        backoff: First retry delay in seconds; doubles with each retry.
        max_bytes: Largest accepted image.
        min_side: Smallest accepted short side in pixels; smaller images fail as
            ``too-small``.
        progress: Show a tqdm progress bar.

    Returns:
        A :class:`~colorizer.data.manifest.DownloadReport`; ``report.ok`` is False when any URL
        failed, and ``report.summary()`` reads well.

    Example:
        >>> report = download_urls(["https://example.com/cat.jpg"], "photos")
        >>> report.downloaded, report.failed
        (1, {})
    """
    from tqdm.auto import tqdm

    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    start = time.perf_counter()
    urls = list(dict.fromkeys(u.strip() for u in urls if u and u.strip()))
    manifest = Manifest(out_dir)
    report = DownloadReport(folder=manifest.folder, manifest=manifest.path)
    todo = [u for u in urls if not manifest.is_done(u)]
    report.skipped = len(urls) - len(todo)
    report.retried = sum(1 for u in todo if manifest.entries.get(u, {}).get("status") == "failed")
    downloader = _Downloader(manifest, report, min_side, timeout=timeout, retries=retries,
                             backoff=backoff, max_bytes=max_bytes)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers,
                                                 thread_name_prefix="download")
    try:
        futures = [pool.submit(downloader.fetch, url) for url in todo]
        with tqdm(total=len(todo), desc="download", unit="img", disable=not progress) as bar:
            for future in concurrent.futures.as_completed(futures):
                future.result()
                bar.update(1)
                if report.failures:
                    bar.set_postfix(failed=len(report.failures), refresh=False)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        manifest.compact()
        report.seconds = time.perf_counter() - start
    for url, reason, message in report.failures:
        log.debug("failed (%s): %s", reason, message)
    return report

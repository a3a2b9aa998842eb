"""One request of the web app, without any web code: photos and URLs in, colorized files out.

    uploads + URLs -> URLs fetched (public addresses only, size cap, deadline)
      -> pixel cap (photos and film frames), length cap (films), all from headers
      -> colorize_inputs (the same call as `colorizer colorize`: full size, L kept, tagged)
      -> small before/after previews for the page, and a zip of every result

Every problem with one input becomes a line of :attr:`Outcome.failures`; the others go on.

Example:
    >>> outcome = colorize_request(model, ["/tmp/grandma.jpg"], ["https://example.org/a.jpg"],
    ...                            "/tmp/colorizer-app/requests/1")
    >>> outcome.results[0].output, outcome.failures
    ('/tmp/colorizer-app/requests/1/out/grandma.jpg', [])
"""
from __future__ import annotations

import dataclasses
import os
import time

import cv2
import numpy as np

from colorizer.data.fetch import PUBLIC_ONLY, REFUSED_MESSAGE, FetchError, FetchPolicy, \
    fetch_bytes
from colorizer.data.image_header import MAX_PIXELS, HeaderError, image_dimensions
from colorizer.data.images import read_rgb
from colorizer.fileio import path_inside, write_bytes, write_zip
from colorizer.batches.batch import colorize_inputs
from colorizer.inference.full_resolution import DEFAULT_RENDER_SIZE
from colorizer.batches.inputs import MAX_DOWNLOAD_BYTES, is_url, url_output_name
from colorizer.inference.outputs import write_image
from colorizer.films.video_io import VideoReadError, is_video_path, probe_video, read_frames

LINK_DEADLINE_S = 30.0
"""Seconds a pasted link may take to download in all: the app runs one request at a time, so
a slow link holds every visitor up for at most this long."""
HEADER_BYTES = 1 << 20
"""Bytes read to find a photo's size: headers sit at the start (a TIFF whose first page is
described further on is measured again, whole, by the colorizer)."""
PREVIEW_SIDE = 1600
"""Longest side of the before/after previews shown in the page (downloads are full size)."""
ARCHIVE_NAME = "colorized.zip"
MAX_FILM_SECONDS = 60.0
"""Longest film the app takes, in seconds: it runs one request at a time, so a film holds
every other visitor up while it is colorized."""
MAX_FILM_PIXELS = 1920 * 1080
"""Largest film frame the app takes (Full HD), whatever the photo cap: 2 cores colorize a
1080p film at a few frames a second, so a 4K or 8K film would hold the app for many minutes."""
MAX_FILM_FPS = 60
"""Frame rate at which :data:`MAX_FILM_SECONDS` becomes a frame count: a film is stopped, and
fails, once its decoding passes ``MAX_FILM_SECONDS * MAX_FILM_FPS`` frames, whatever its
header says (a header can lie)."""


@dataclasses.dataclass
class Result:
    """One colorized photo: its full-size file and the two previews the page shows."""

    name: str
    output: str
    before: str
    after: str
    width: int
    height: int


@dataclasses.dataclass
class Outcome:
    """Everything one request produced."""

    results: list[Result]
    failures: list[tuple[str, str]]
    archive: str | None
    seconds: float

    def message(self) -> str:
        """A short Markdown report for the page: what worked, and why anything failed."""
        done = len(self.results)
        total = done + len(self.failures)
        if total == 0:
            return "Add a photo (upload, or paste a link), then press **Colorize**."
        lines = [f"Colorized {done} of {total} photo{'s' if total != 1 else ''} in "
                 f"{self.seconds:.1f} s." if done else
                 f"No photo could be colorized ({total} tried)."]
        lines += [f"- **{name}**: {reason}" for name, reason in self.failures]
        return "\n".join(lines)


def local_path(path) -> str:
    """A file path Gradio hands a handler, as a plain ``str``.

    Gradio gives uploads as its own ``str`` subclass (``NamedString``), which some libraries
    refuse (PyAV's ``av.open``: "Expected str, got gradio.utils.NamedString"); every path is
    converted here, at the app's boundary.
    """
    return str(os.fspath(path))


def split_urls(text: str | None) -> list[str]:
    """The links pasted into the page: one per line or separated by spaces or commas."""
    return [part for part in (text or "").replace(",", " ").split() if part]


def check_pixels(path: str, max_pixels: int = MAX_PIXELS) -> str | None:
    """Why a photo is refused before decoding (too many pixels), or ``None`` to go ahead.

    Only the header is read (:mod:`colorizer.data.image_header`), so a huge or hostile file
    costs nothing. Unreadable files pass here and are reported by the colorizer with its own
    message (it checks the header again, with the same cap).
    """
    try:
        with open(path, "rb") as f:
            _, width, height = image_dimensions(f.read(HEADER_BYTES))
    except (OSError, HeaderError):
        return None
    if width * height > max_pixels:
        return (f"too large: {width} x {height} pixels ({width * height / 1e6:.1f} MP); the app "
                f"takes photos up to {max_pixels / 1e6:g} MP")
    return None


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.1f}" if pixels >= 1_000_000 else f"{pixels / 1e6:.2f}"


def max_film_frames(max_film_seconds: float = MAX_FILM_SECONDS) -> int:
    """The most frames a film may decode to: :data:`MAX_FILM_SECONDS` at
    :data:`MAX_FILM_FPS`."""
    return max(1, int(max_film_seconds * MAX_FILM_FPS))


def check_film(path: str, max_pixels: int = MAX_PIXELS,
               max_film_seconds: float = MAX_FILM_SECONDS) -> str | None:
    """Why a film is refused before any work (too long, or frames with too many pixels), or
    ``None`` to go ahead.

    Only the header and the first frame are read (:func:`probe_video`). A film whose header
    gives no length passes here: its decoding is stopped at :func:`max_film_frames`. Unreadable
    films pass too, and are reported by the colorizer with its own message.
    """
    try:
        info = probe_video(path)
    except (VideoReadError, OSError):
        return None
    pixels, cap = info.width * info.height, min(max_pixels, MAX_FILM_PIXELS)
    if pixels > cap:
        return (f"too large: frames of {info.width} x {info.height} pixels "
                f"({_megapixels(pixels)} MP); the app takes film frames up to "
                f"{_megapixels(cap)} MP (1920 x 1080)" if cap == MAX_FILM_PIXELS else
                f"too large: frames of {info.width} x {info.height} pixels "
                f"({_megapixels(pixels)} MP); the app takes photos and film frames up to "
                f"{max_pixels / 1e6:g} MP")
    seconds = info.duration or (float(info.frames / info.fps) if info.frames and info.fps
                                else 0.0)
    if round(seconds, 1) > max_film_seconds:  # a 60 s film padded to 60.02 s passes
        return (f"too long: {seconds:.1f} s; the app takes films up to {max_film_seconds:g} s "
                "(it colorizes one request at a time)")
    limit = max_film_frames(max_film_seconds)
    if info.frames > limit:
        return (f"too long: {info.frames} frames; the app takes films up to {limit} frames "
                f"({max_film_seconds:g} s at {MAX_FILM_FPS} frames a second)")
    return None


def _fetch(url: str, folder: str, policy: FetchPolicy, timeout: float) -> str:
    """Downloads one URL into ``folder`` under its safe name and returns the path."""
    data, _ = fetch_bytes(url, policy, timeout=timeout, max_bytes=MAX_DOWNLOAD_BYTES, retries=0)
    path = path_inside(folder, url_output_name(url))
    write_bytes(path, data)
    return path


def _still(path: str, max_side: int, max_pixels: int) -> np.ndarray:
    """What the slider shows: the photo, or a film's first frame."""
    if is_video_path(path):
        frames = read_frames(path)
        try:
            return next(frames).rgb
        finally:
            frames.close()  # the film's file closes now, not when collected
    return read_rgb(path, max_side=max_side, max_pixels=max_pixels)


def link_failure(url: str, error: FetchError) -> str:
    """What the page says about a link that failed: the cause, never what lies inside the
    network (a refused link reads the same whatever it points to)."""
    if error.reason == "refused-address":
        return REFUSED_MESSAGE
    return str(error).removeprefix(url + ": ")


def _preview(image: np.ndarray, path: str) -> str:
    height, width = image.shape[:2]
    scale = min(1.0, PREVIEW_SIDE / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    write_image(path, image)
    return path


def colorize_request(model, files: list[str], urls: list[str], work_dir: str | os.PathLike, *,
                     render_size: int = DEFAULT_RENDER_SIZE, max_pixels: int = MAX_PIXELS,
                     timeout: float = LINK_DEADLINE_S,
                     policy: FetchPolicy = PUBLIC_ONLY,
                     max_film_seconds: float = MAX_FILM_SECONDS) -> Outcome:
    """Colorizes uploaded files and URLs the way ``colorizer colorize`` does.

    Args:
        model: A loaded colorizer (its temperature, for a classification model, already set).
        files: Local paths of uploaded photos and films.
        urls: http(s) links to photos and films.
        work_dir: An empty folder of this request: ``in/`` holds downloads, ``out/`` the
            results (with ``manifest.jsonl``), ``preview/`` the page's images.
        render_size: The model's working size (a multiple of 32).
        max_pixels: Photos, and films whose frames, have more pixels are refused with a
            message (from their header, before any decoding).
        timeout: Seconds a URL's whole download may take.
        policy: Which addresses links may reach: public ones only (see
            :mod:`colorizer.data.fetch`).
        max_film_seconds: Longer films are refused with a message, from their header; a film
            whose decoding goes past :func:`max_film_frames` is stopped and fails.

    Returns:
        The :class:`Outcome`, results in input order.
    """
    start = time.perf_counter()
    work_dir = os.fspath(work_dir)
    inbox, out_dir, preview_dir = (os.path.join(work_dir, name) for name in ("in", "out",
                                                                              "preview"))
    for folder in (inbox, out_dir, preview_dir):
        os.makedirs(folder, exist_ok=True)
    failures: list[tuple[str, str]] = []
    # (name shown in the page, local path), in the page's order: uploads, then links.
    accepted = [(os.path.basename(path), local_path(path)) for path in files]
    for url in urls:
        if not is_url(url):
            failures.append((url, "not a link: paste addresses that start with http:// or "
                                  "https://"))
            continue
        try:
            accepted.append((url, _fetch(url, inbox, policy, timeout)))
        except FetchError as error:
            failures.append((url, link_failure(url, error)))
    todo = []
    for name, path in accepted:
        refusal = (check_film(path, max_pixels, max_film_seconds) if is_video_path(path)
                   else check_pixels(path, max_pixels))
        if refusal:
            failures.append((name, refusal))
        else:
            todo.append((name, path))

    results: list[Result] = []
    if todo:
        manifest = colorize_inputs(model, [path for _, path in todo], out_dir,
                                   render_size=render_size, progress=False,
                                   max_pixels=max_pixels,
                                   max_film_frames=max_film_frames(max_film_seconds))
        names = {os.path.abspath(path): name for name, path in todo}
        for index, entry in enumerate(manifest.entries):
            name = names.get(os.path.abspath(entry.input), os.path.basename(entry.input))
            if entry.status != "ok":
                failures.append((name, entry.reason or entry.status))
                continue
            output = os.path.join(out_dir, *entry.output.split("/"))
            stem = os.path.join(preview_dir, f"{index:03d}")
            # A JPEG decodes at 1/2, 1/4 or 1/8 scale (draft mode) while both sides stay at
            # least PREVIEW_SIDE / 2: several times faster for a big photo.
            draft = PREVIEW_SIDE // 2
            results.append(Result(
                name, output,
                _preview(_still(entry.input, draft, max_pixels), stem + "-before.jpg"),
                _preview(_still(output, draft, max_pixels), stem + "-after.jpg"),
                entry.width, entry.height))
    archive = None
    if len(results) > 1:
        archive = write_zip(os.path.join(work_dir, ARCHIVE_NAME),
                            [r.output for r in results], out_dir)
    return Outcome(results, failures, archive, time.perf_counter() - start)

"""Colorize many photos and films at once: files, folders and URLs in, full-size colour out.

    inputs -> sources with unique output names                          inputs.py
      -> photos: read ahead (download, decode, full-size L, working-size L; a background
         thread), grouped by working size, batched through the model    full_resolution.py
         -> ab upscaled (steered by hints and a reference: guided.py), merged with full-size L,
            encoded, tagged, written                                     outputs.py
      -> films: one at a time, frame batches through the model          video.py
      -> manifest.jsonl: every input with its result

Nothing is lost to one bad input: a photo, a film or its hints file that fails is named on
stderr and in the manifest, and every other input is still colorized (photos and films pass
the same boundary: whatever one raises fails that input alone). Outputs are written
atomically, so a run stopped half-way and run again skips what is done and finishes the rest.

Example:
    >>> model = load_colorizer("runs/demo/model.keras")
    >>> manifest = colorize_inputs(model, ["family_album/", "https://example.org/a.jpg"], "out/")
    >>> manifest.counts()
    {'ok': 41, 'skipped': 0, 'failed': 1}
"""
from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import json
import os
import posixpath
import sys
import time
from typing import Iterator

import numpy as np

from colorizer.data.image_header import MAX_PIXELS
from colorizer.fileio import write_text
from colorizer.lease import FolderLease
from colorizer.inference.full_resolution import (
    DEFAULT_RENDER_SIZE, encode_lab, image_lightness, merge_lightness_ab, model_input,
    predict_ab_batch, working_size)
from colorizer.batches.guidance import BatchGuidance, Guidance
from colorizer.guided.guided import guided_ab_at, learned_feed
from colorizer.guided.hints import HintError, hint_pixels
from colorizer.batches.inputs import (
    DOWNLOAD_TIMEOUT_S, Source, collect_sources, fetch_url, read_source)
from colorizer.films.video_io import VideoReadError, is_video_path
from colorizer.inference.outputs import (
    colorized_tag, compare_image, compare_names, encode_image, write_image)

MANIFEST_NAME = "manifest.jsonl"
MAX_PENDING_PIXELS = 48_000_000
"""Full-size pixels held while batches fill up (~200 MB of L); reaching it runs the model."""
READ_AHEAD = 2
"""Photos decoded in the background while the model works on others."""


@dataclasses.dataclass
class Entry:
    """The result for one input: status is ``ok``, ``skipped`` or ``failed``."""

    input: str
    status: str
    output: str | None = None
    compare: str | None = None
    width: int | None = None
    height: int | None = None
    seconds: float = 0.0
    reason: str | None = None
    hints: dict | None = None
    reference: str | None = None
    reference_error: str | None = None
    frames: int | None = None
    fps: float | None = None


@dataclasses.dataclass
class Manifest:
    """Every input of a run with its result, as written to ``<out>/manifest.jsonl``."""

    path: str
    entries: list[Entry]

    def counts(self) -> dict[str, int]:
        """Number of inputs per status."""
        found = collections.Counter(e.status for e in self.entries)
        return {status: found[status] for status in ("ok", "skipped", "failed")}

    @property
    def failed(self) -> list[Entry]:
        return [e for e in self.entries if e.status == "failed"]


@dataclasses.dataclass
class _Job:
    source: Source
    lightness: np.ndarray
    small: np.ndarray
    dtype: type
    seconds: float
    guidance: Guidance | None = None
    hinted: tuple | None = None
    """The hinted pixels (rows, cols, ab), read once when the photo is loaded."""
    feed: np.ndarray | None = None
    """The hints at the working size, for a model that takes them."""
    prior_strength: float | None = None


def _image_size(path: str) -> tuple[int | None, int | None]:
    from PIL import Image

    try:
        with Image.open(path) as image:  # reads the header only
            return image.size
    except OSError:
        return None, None


def _skipped(source: Source, output: str, compare: str | None) -> Entry:
    """The entry of an input whose output an earlier run wrote."""
    frames = fps = None
    if is_video_path(output):
        from colorizer.films.video_io import probe_video

        try:
            info = probe_video(output)
            width, height, frames, fps = info.width, info.height, info.frames, float(info.fps)
        except VideoReadError:
            width = height = None
    else:
        width, height = _image_size(output)
    return Entry(source.location, "skipped", source.output, compare, width, height,
                 reason="output exists (use --overwrite to redo)", frames=frames, fps=fps)


def _load(source: Source, render_size: int, timeout: float, max_pixels: int | None,
          guide=None, model=None) -> _Job:
    start = time.perf_counter()
    guidance = guide(source) if guide else None  # a malformed hints file fails this photo early
    photo = read_source(source, timeout=timeout, max_pixels=max_pixels)
    lightness, small, dtype = photo_arrays(photo, source.output, render_size)
    del photo  # only L is needed from here on
    job = _Job(source, lightness, small, dtype, 0.0, guidance)
    if guidance is not None:
        hints = guidance.hints
        try:  # a point outside this photo fails it here, naming the hints file
            job.hinted = hint_pixels(hints, *lightness.shape[:2])
        except HintError as error:
            raise hints.blame(error) from None
        job.feed, job.prior_strength = learned_feed(model, *job.hinted, lightness.shape[:2],
                                                    job.small.shape[:2])
    job.seconds = time.perf_counter() - start
    return job


def photo_arrays(photo: np.ndarray, output: str, render_size: int
                 ) -> tuple[np.ndarray, np.ndarray, type]:
    """What a decoded photo gives the rest of the run: full-size L, the model's working-size L
    and the output's pixel type (16-bit photos give 16-bit PNGs, so their fine tonal steps
    survive; JPEG is 8-bit). One implementation for every runner of a batch.

    Raises:
        ValueError: The photo is a strip too thin for the working size.
    """
    working_size(*photo.shape[:2], render_size)  # a strip is refused before any more memory
    lightness = image_lightness(photo)
    wide = photo.dtype != np.uint8 and not output.lower().endswith((".jpg", ".jpeg"))
    return lightness, model_input(lightness, render_size), np.uint16 if wide else np.uint8


def photo_bytes(lightness: np.ndarray, ab_small: np.ndarray, dtype: type, output: str,
                tag: str | None) -> bytes:
    """The encoded output of an unguided photo, as ``colorize_inputs`` writes it."""
    rgb = merge_lightness_ab(lightness, ab_small, dtype=dtype)
    return encode_image(rgb, posixpath.splitext(output)[1], tag=tag)


def _read_ahead(sources: list[Source], render_size: int, timeout: float,
                max_pixels: int | None, guide=None, model=None
                ) -> Iterator[tuple[Source, _Job | Exception]]:
    """Loads sources in a background thread, at most :data:`READ_AHEAD` ahead, in order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        queue: collections.deque = collections.deque()
        items = iter(sources)
        for source in items:
            queue.append((source, pool.submit(_load, source, render_size, timeout,
                                              max_pixels, guide, model)))
            if len(queue) > READ_AHEAD:
                break
        while queue:
            source, future = queue.popleft()
            next_source = next(items, None)
            if next_source is not None:
                queue.append((next_source, pool.submit(_load, next_source, render_size, timeout,
                                                        max_pixels, guide, model)))
            try:
                yield source, future.result()
            except Exception as error:  # one bad input must not stop the others
                yield source, error


def _merge(job: _Job, ab_small: np.ndarray) -> np.ndarray:
    """The photo's RGB: plain, or steered by its hints and reference."""
    if job.guidance is None:
        return merge_lightness_ab(job.lightness, ab_small, dtype=job.dtype)
    ab = guided_ab_at(job.lightness, ab_small, *job.hinted, job.guidance.reference,
                      prior_strength=job.prior_strength)
    return encode_lab(job.lightness, ab, dtype=job.dtype)


def _hint_batch(batch: list[_Job]) -> np.ndarray | None:
    """The hints input of a batch for a model that takes hints (zeros for photos without);
    ``None`` when no photo of the batch has any (the model then gets its automatic zeros)."""
    if all(job.feed is None for job in batch):
        return None
    blank = np.zeros(next(job.feed for job in batch if job.feed is not None).shape, np.float32)
    return np.stack([blank if job.feed is None else job.feed for job in batch])


def _reason(source: Source, error: BaseException) -> str:
    message = str(error) or type(error).__name__
    prefix = source.location + ": "
    return message[len(prefix):] if message.startswith(prefix) else message


def _colorize_film(model, source: Source, target: str, *, render_size: int, temporal: str,
                   batch_size: int, tag: str | None, timeout: float, progress: bool,
                   guidance: Guidance | None = None, reference_error: str | None = None,
                   max_frames: int | None = None, max_pixels: int | None = None) -> Entry:
    """Colorizes one film (a file, or a URL downloaded beside the output first), with its
    hints following the motion and the reference guiding every frame, when given."""
    from colorizer.films.video import colorize_video
    from colorizer.films.video_io import MAX_FRAME_PIXELS

    path, download = source.location, None
    if source.is_url:
        download = f"{target}.download-{os.getpid()}"
        data = fetch_url(source.location, timeout=timeout)
        with open(download, "wb") as file:
            file.write(data)
        del data
        path = download
    try:
        result = colorize_video(model, path, target, render_size=render_size,
                                temporal=temporal, batch_size=batch_size, comment=tag,
                                progress=progress,
                                hints=guidance.hints if guidance else None,
                                reference=guidance.reference if guidance else None,
                                max_frames=max_frames,
                                max_pixels=min(max_pixels or MAX_FRAME_PIXELS,
                                               MAX_FRAME_PIXELS))
    finally:
        if download:
            os.remove(download)
    return Entry(source.location, "ok", source.output, None, result.width, result.height,
                 round(result.seconds, 3), frames=result.frames, fps=float(result.fps),
                 reference_error=reference_error,
                 **(guidance.describe() if guidance else {}))


def colorize_inputs(model, inputs: list[str | os.PathLike], out_dir: str | os.PathLike, *,
                    render_size: int = DEFAULT_RENDER_SIZE, compare: bool = False,
                    overwrite: bool = False, tag: bool = True, batch_size: int = 8,
                    progress: bool = True, timeout: float = DOWNLOAD_TIMEOUT_S,
                    max_pixels: int | None = MAX_PIXELS, guide: BatchGuidance | None = None,
                    temporal: str = "flow", max_film_frames: int | None = None) -> Manifest:
    """Colorizes files, folders (recursively) and http(s) URLs into ``out_dir``.

    Each output has its input's width and height (after EXIF orientation) and L; JPEG and PNG
    inputs keep their names, other formats get ``.png`` added. Folder inputs keep their
    structure. Failures are printed on stderr, one line each, and the run goes on.

    Args:
        model: A colorizer (``load_colorizer`` or ``build_colorizer``).
        inputs: Files, folders and URLs, mixed.
        out_dir: Output folder (created); ``manifest.jsonl`` is written there.
        render_size: The model's working size, a multiple of 32 (see ``infer.working_size``).
        compare: Also write a side by side, the gray input beside the result:
            ``a.compare.jpg`` for ``a.jpg``, ``a.png.compare.jpg`` for ``a.png`` (see
            :func:`~colorizer.inference.outputs.compare_names`); films get none.
        overwrite: Redo inputs whose outputs exist (otherwise they are skipped).
        tag: Store a note in each output's metadata that a model colorized it.
        batch_size: Photos of the same working size run through the model together.
        progress: Show a progress bar.
        timeout: Seconds a URL's whole download may take (any address: the command line's
            policy, :data:`colorizer.data.fetch.OWNER`).
        max_pixels: Photos with more pixels fail, refused from their header before decoding
            (``None``: no cap); so do films whose frames have more (films are held to 8K
            whatever it says).
        guide: Colour hints and a reference photo per input
            (:class:`colorizer.batches.guidance.BatchGuidance`); the manifest records
            which each output used. A bad hints file fails its photo alone; an unreadable
            reference is reported once on stderr and in every entry
            (``reference_error``), and the photos are colorized without it.
        temporal: For films: ``flow`` steadies colour along the motion, ``none`` colours
            every frame on its own (see :mod:`colorizer.films.video`).
        max_film_frames: Films with more frames fail (``None``: any length); a server that
            runs one request at a time bounds what one visitor can make it do.

    Returns:
        The :class:`Manifest`, one entry per input in input order.
    """
    from tqdm.auto import tqdm

    working_size(1, 1, render_size)  # refuses a bad render size before any work
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(f"--out must be a folder, but {out_dir} is a file")
    os.makedirs(out_dir, exist_ok=True)
    # One run per output folder: two would rewrite one manifest, each without the other's
    # photos.
    with FolderLease(out_dir, purpose="colorize"):
        sources = collect_sources(inputs, exclude=out_dir)
        note = colorized_tag() if tag else None
        entries: dict[str, Entry] = {}
        bar = tqdm(total=len(sources), desc="colorize", unit="photo", disable=not progress)

        def target(source: Source) -> str:
            return os.path.join(out_dir, *source.output.split("/"))

        reference_error = guide.reference_error if guide else None
        if reference_error:
            bar.write(f"reference not used: {reference_error}; colorizing without it",
                      file=sys.stderr)
        pictured = [s for s in sources if not s.error and not is_video_path(s.output)]
        compares = dict(zip((s.location for s in pictured),
                            compare_names([s.output for s in pictured],
                                          [s.location for s in pictured])))

        def compare_of(source: Source) -> str | None:
            return compares.get(source.location) if compare else None  # films get none

        def fail(source: Source, error: BaseException | str, seconds: float = 0.0) -> None:
            reason = error if isinstance(error, str) else _reason(source, error)
            entries[source.location] = Entry(source.location, "failed", seconds=round(seconds, 3),
                                             reason=reason)
            bar.write(f"failed: {source.location}: {reason}", file=sys.stderr)
            bar.update()

        def finish(batch: list[_Job]) -> None:
            start = time.perf_counter()
            try:
                ab = predict_ab_batch(model, np.stack([job.small for job in batch]),
                                      _hint_batch(batch))
            except Exception as error:  # e.g. out of memory: these fail, the rest go on
                for job in batch:
                    fail(job.source, error)
                return
            share = (time.perf_counter() - start) / len(batch)
            for job, ab_small in zip(batch, ab):
                begin = time.perf_counter()
                try:
                    rgb = _merge(job, ab_small)
                    write_image(target(job.source), rgb, tag=note)
                    if compare:
                        write_image(os.path.join(out_dir, compare_of(job.source)),
                                    compare_image(job.lightness, rgb), tag=note)
                except Exception as error:  # a full disk or a bad name fails this photo alone
                    fail(job.source, error)
                    continue
                height, width = rgb.shape[:2]
                seconds = job.seconds + share + time.perf_counter() - begin
                entries[job.source.location] = Entry(
                    job.source.location, "ok", job.source.output, compare_of(job.source), width,
                    height, round(seconds, 3), reference_error=reference_error,
                    **(job.guidance.describe() if job.guidance else {}))
                bar.update()

        todo, films = [], []
        for source in sources:
            if source.error:
                fail(source, source.error)
            elif not overwrite and os.path.isfile(target(source)) and not (
                    compare_of(source)
                    and not os.path.isfile(os.path.join(out_dir, compare_of(source)))):
                entries[source.location] = _skipped(source, target(source), compare_of(source))
                bar.update()
            elif is_video_path(source.output):
                films.append(source)
            else:
                todo.append(source)

        pending: dict[tuple[int, int], list[_Job]] = collections.defaultdict(list)
        try:
            for source, loaded in _read_ahead(todo, render_size, timeout, max_pixels, guide,
                                              model):
                if isinstance(loaded, Exception):
                    fail(source, loaded)
                    continue
                group = pending[loaded.small.shape[:2]]
                group.append(loaded)
                if len(group) >= batch_size:
                    finish(pending.pop(loaded.small.shape[:2]))
                elif sum(j.lightness.size for g in pending.values()
                         for j in g) > MAX_PENDING_PIXELS:
                    while pending:
                        finish(pending.popitem()[1])
            while pending:
                finish(pending.popitem()[1])
            for source in films:
                try:
                    entries[source.location] = _colorize_film(
                        model, source, target(source), render_size=render_size, temporal=temporal,
                        batch_size=batch_size, tag=note, timeout=timeout, progress=progress,
                        guidance=guide(source) if guide else None,
                        reference_error=reference_error, max_frames=max_film_frames,
                        max_pixels=max_pixels)
                except Exception as error:  # the boundary photos have: this film fails alone
                    fail(source, error)
                    continue
                bar.update()
        finally:
            bar.close()
            manifest = Manifest(os.path.join(out_dir, MANIFEST_NAME),
                                [entries[s.location] for s in sources if s.location in entries])
            write_text(manifest.path, "".join(json.dumps(dataclasses.asdict(e)) + "\n"
                                              for e in manifest.entries))
        return manifest

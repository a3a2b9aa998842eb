"""Colorize many photos at once: files, folders and URLs in, full-size colour photos out.

    inputs -> sources with unique output names                         colorizer/inputs.py
      -> read ahead (download, decode, full-size L, working-size L)     a background thread
      -> grouped by working size, batched through the model            colorizer/infer.py
      -> ab upscaled, merged with full-size L, encoded, tagged, written colorizer/outputs.py
      -> manifest.jsonl: every input with its result

Nothing is lost to one bad input: it is named on stderr and in the manifest, and every other
photo is still colorized. Outputs are written atomically, so a run stopped half-way and run
again skips what is done and finishes the rest.

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
import sys
import time
from typing import Iterator

import numpy as np

from colorizer.fileio import write_text
from colorizer.inference.full_resolution import (
    DEFAULT_RENDER_SIZE, image_lightness, merge_lightness_ab, model_input, predict_ab_batch,
    working_size)
from colorizer.inference.inputs import DOWNLOAD_TIMEOUT_S, Source, collect_sources, read_source
from colorizer.inference.outputs import colorized_tag, compare_image, write_image

MANIFEST_NAME = "manifest.jsonl"
COMPARE_SUFFIX = ".compare.jpg"
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


def _image_size(path: str) -> tuple[int | None, int | None]:
    from PIL import Image

    try:
        with Image.open(path) as image:  # reads the header only
            return image.size
    except OSError:
        return None, None


def _load(source: Source, render_size: int, timeout: float) -> _Job:
    start = time.perf_counter()
    photo = read_source(source, timeout=timeout)
    lightness = image_lightness(photo)
    # 16-bit photos give 16-bit PNGs, so their fine tonal steps survive.
    wide = photo.dtype != np.uint8 and not source.output.lower().endswith((".jpg", ".jpeg"))
    del photo  # only L is needed from here on
    return _Job(source, lightness, model_input(lightness, render_size),
                np.uint16 if wide else np.uint8, time.perf_counter() - start)


def _read_ahead(sources: list[Source], render_size: int,
                timeout: float) -> Iterator[tuple[Source, _Job | Exception]]:
    """Loads sources in a background thread, at most :data:`READ_AHEAD` ahead, in order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        queue: collections.deque = collections.deque()
        items = iter(sources)
        for source in items:
            queue.append((source, pool.submit(_load, source, render_size, timeout)))
            if len(queue) > READ_AHEAD:
                break
        while queue:
            source, future = queue.popleft()
            next_source = next(items, None)
            if next_source is not None:
                queue.append((next_source, pool.submit(_load, next_source, render_size, timeout)))
            try:
                yield source, future.result()
            except Exception as error:  # one bad input must not stop the others
                yield source, error


def _reason(source: Source, error: BaseException) -> str:
    message = str(error) or type(error).__name__
    prefix = source.location + ": "
    return message[len(prefix):] if message.startswith(prefix) else message


def colorize_inputs(model, inputs: list[str | os.PathLike], out_dir: str | os.PathLike, *,
                    render_size: int = DEFAULT_RENDER_SIZE, compare: bool = False,
                    overwrite: bool = False, tag: bool = True, batch_size: int = 8,
                    progress: bool = True, timeout: float = DOWNLOAD_TIMEOUT_S) -> Manifest:
    """Colorizes files, folders (recursively) and http(s) URLs into ``out_dir``.

    Each output has its input's width and height (after EXIF orientation) and L; JPEG and PNG
    inputs keep their names, other formats get ``.png`` added. Folder inputs keep their
    structure. Failures are printed on stderr, one line each, and the run goes on.

    Args:
        model: A colorizer (``load_colorizer`` or ``build_colorizer``).
        inputs: Files, folders and URLs, mixed.
        out_dir: Output folder (created); ``manifest.jsonl`` is written there.
        render_size: The model's working size, a multiple of 32 (see ``infer.working_size``).
        compare: Also write ``<name>.compare.jpg``: the gray input beside the result.
        overwrite: Redo inputs whose outputs exist (otherwise they are skipped).
        tag: Store a note in each output's metadata that a model colorized it.
        batch_size: Photos of the same working size run through the model together.
        progress: Show a progress bar.
        timeout: Seconds to wait on a URL.

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
    sources = collect_sources(inputs, exclude=out_dir)
    note = colorized_tag() if tag else None
    entries: dict[str, Entry] = {}
    bar = tqdm(total=len(sources), desc="colorize", unit="photo", disable=not progress)

    def target(source: Source) -> str:
        return os.path.join(out_dir, *source.output.split("/"))

    def compare_of(source: Source) -> str | None:
        return os.path.splitext(source.output)[0] + COMPARE_SUFFIX if compare else None

    def fail(source: Source, error: BaseException | str, seconds: float = 0.0) -> None:
        reason = error if isinstance(error, str) else _reason(source, error)
        entries[source.location] = Entry(source.location, "failed", seconds=round(seconds, 3),
                                         reason=reason)
        bar.write(f"failed: {source.location}: {reason}", file=sys.stderr)
        bar.update()

    def finish(batch: list[_Job]) -> None:
        start = time.perf_counter()
        try:
            ab = predict_ab_batch(model, np.stack([job.small for job in batch]))
        except Exception as error:  # e.g. out of memory: these fail, the rest go on
            for job in batch:
                fail(job.source, error)
            return
        share = (time.perf_counter() - start) / len(batch)
        for job, ab_small in zip(batch, ab):
            begin = time.perf_counter()
            try:
                rgb = merge_lightness_ab(job.lightness, ab_small, dtype=job.dtype)
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
                height, round(seconds, 3))
            bar.update()

    todo = []
    for source in sources:
        if source.error:
            fail(source, source.error)
        elif not overwrite and os.path.isfile(target(source)) and not (
                compare and not os.path.isfile(os.path.join(out_dir, compare_of(source)))):
            width, height = _image_size(target(source))
            entries[source.location] = Entry(source.location, "skipped", source.output,
                                             compare_of(source), width, height,
                                             reason="output exists (use --overwrite to redo)")
            bar.update()
        else:
            todo.append(source)

    pending: dict[tuple[int, int], list[_Job]] = collections.defaultdict(list)
    try:
        for source, loaded in _read_ahead(todo, render_size, timeout):
            if isinstance(loaded, Exception):
                fail(source, loaded)
                continue
            group = pending[loaded.small.shape[:2]]
            group.append(loaded)
            if len(group) >= batch_size:
                finish(pending.pop(loaded.small.shape[:2]))
            elif sum(j.lightness.size for g in pending.values() for j in g) > MAX_PENDING_PIXELS:
                while pending:
                    finish(pending.popitem()[1])
        while pending:
            finish(pending.popitem()[1])
    finally:
        bar.close()
        manifest = Manifest(os.path.join(out_dir, MANIFEST_NAME),
                            [entries[s.location] for s in sources if s.location in entries])
        write_text(manifest.path, "".join(json.dumps(dataclasses.asdict(e)) + "\n"
                                          for e in manifest.entries))
    return manifest

"""``colorize`` as an Apache Beam pipeline: the same outputs, names and manifest, on any runner.

    patterns -> files (each pattern listed on a worker; one that lists nothing is a failure)
      -> one entry per file, its output name unique (two shuffles: by file, by name)
      -> spread over the workers; outputs that exist are skipped (unless overwrite)
      -> read (capped), header checked, decoded; full-size L and working-size L
      -> RunInference: the model loaded once per worker, batches of photos
      -> merged with full-size L, encoded, written whole                 (on the workers)
      -> manifest.jsonl (every input once) and failures.jsonl (the failed ones)

Every step that can fail for one input sends that input to the failures, with its reason,
and the rest go on. Counters ``done``, ``skipped``, ``failed``, ``bytes_read`` and
``bytes_written`` (namespace ``colorizer``) show on the runner's page (Dataflow's job page,
Flink's and Spark's UIs) and are returned, and printed by the command line, at the end.

Example:
    >>> result = colorize_on_beam(["gs://archive/scans/**.tif"], "gs://archive/colour",
    ...                           "gs://archive/best.onnx", runner="dataflow",
    ...                           beam_args=["--project=P", "--region=europe-west4",
    ...                                      "--temp_location=gs://archive/tmp",
    ...                                      "--requirements_file=requirements-beam.txt"])
    >>> result.counts
    {'ok': 1000000, 'skipped': 0, 'failed': 12}
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import time
from collections.abc import Iterator

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import KeyedModelHandler, RunInference
from apache_beam.options.pipeline_options import PipelineOptions

from colorizer.batches.batch import MANIFEST_NAME, Entry, photo_arrays, photo_bytes
from colorizer.batches.inputs import MAX_DOWNLOAD_BYTES, is_url
from colorizer.data.image_header import MAX_PIXELS
from colorizer.data.images import decode_photo
from colorizer.films.video_io import is_video_path
from colorizer.inference.full_resolution import DEFAULT_RENDER_SIZE, working_size
from colorizer.inference.outputs import colorized_tag
from colorizer.scale_out.handler import ColorizerModelHandler, WorkingInput
from colorizer.scale_out.names import (
    has_wildcards,
    listed,
    listing_pattern,
    pattern_base,
    relative_output,
    unique_outputs,
)
from colorizer.scale_out.options import user_gave
from colorizer.scale_out.storage import exists, is_local, join, read_capped, write_whole

FAILURES_NAME = "failures.jsonl"
RUNNERS = {"direct": "DirectRunner", "dataflow": "DataflowRunner", "flink": "FlinkRunner",
           "spark": "SparkRunner"}
"""The command line's ``--runner`` choices and Beam's names for them."""
MAX_FILE_BYTES = MAX_DOWNLOAD_BYTES
"""Largest input file read (200 MB): beyond any scan the pixel cap lets through."""
NAMESPACE = "colorizer"
COUNTERS = ("done", "skipped", "failed", "bytes_read", "bytes_written")
FAILED, SKIPPED = "failed", "skipped"


@dataclasses.dataclass
class Photo:
    """What a photo carries past the network: the key of its RunInference element."""

    location: str
    output: str
    lightness: np.ndarray
    dtype: type
    seconds: float

    @property
    def pixels(self) -> int:
        return self.lightness.shape[0] * self.lightness.shape[1]


@dataclasses.dataclass
class BeamResult:
    """The end of a Beam run: its counters and where its manifest and failures are."""

    counters: dict[str, int]
    manifest: str
    failures: str
    state: str

    @property
    def counts(self) -> dict[str, int]:
        """Inputs per status, as :meth:`colorizer.batches.batch.Manifest.counts` gives them."""
        return {"ok": self.counters["done"], "skipped": self.counters["skipped"],
                "failed": self.counters["failed"]}


def _entry(location: str, status: str, **fields) -> dict:
    return dataclasses.asdict(Entry(location, status, **fields))


def _failure(location: str, reason: str, seconds: float = 0.0) -> beam.pvalue.TaggedOutput:
    Metrics.counter(NAMESPACE, "failed").inc()
    return beam.pvalue.TaggedOutput(FAILED, _entry(location, "failed", reason=reason,
                                                   seconds=round(seconds, 3)))


def _reason(location: str, error: BaseException) -> str:
    message = " ".join(str(error).split()) or type(error).__name__
    prefix = location + ": "
    return message.removeprefix(prefix)


class ListPattern(beam.DoFn):
    """``(index, pattern)`` -> ``(file key, (index, location, output))`` per input it names;
    a pattern that cannot be listed, or names nothing, is a failure of its own."""

    def __init__(self, out: str):
        self.out = out

    def process(self, indexed: tuple) -> Iterator:
        index, pattern = indexed
        if is_url(pattern):
            yield _failure(pattern, "http(s) links are fetched by `colorizer colorize` "
                                    "without --runner; a Beam run reads file patterns")
            return
        is_folder = os.path.isdir(pattern) if is_local(pattern) else pattern.endswith("/")
        glob = listing_pattern(pattern, is_folder=is_folder)
        base = pattern_base(glob)
        try:
            found = FileSystems.match([glob])[0].metadata_list
        except Exception as error:  # noqa: BLE001 - a missing bucket, an unknown scheme
            yield _failure(pattern, f"cannot list it ({_reason(pattern, error)})")
            return
        # The output folder's own files are never inputs (its prefix ends at a separator, so
        # a sibling folder that shares the name's start is not taken for it).
        out = (os.path.abspath(self.out) + os.sep if is_local(self.out)
               else self.out.rstrip("/") + "/")
        listing = is_folder or has_wildcards(pattern)
        count = 0
        for file in found:
            key = os.path.abspath(file.path) if is_local(file.path) else file.path
            if key.startswith(out) or (listing and not listed(file.path, base)):
                continue  # the outputs themselves, hidden files, other kinds of file
            count += 1
            yield key, (index, file.path, relative_output(file.path, base))
        if not count:
            yield _failure(pattern, "no such file or folder" if not listing
                           else "matches no photo")


def _first_listing(keyed):
    """One file found by several patterns is one input: the first pattern names it."""
    _, listings = keyed
    _, location, output = min(listings)
    return output.lower(), (location, output)


def _named(keyed):
    yield from unique_outputs(list(keyed[1]))


class SkipDone(beam.DoFn):
    """Passes on inputs still to do; an existing output is skipped, a film is refused."""

    def __init__(self, out: str, overwrite: bool):
        self.out, self.overwrite = out, overwrite

    def process(self, named: tuple) -> Iterator:
        location, output = named
        if is_video_path(output):
            yield _failure(location, "films are colorized one at a time by `colorizer "
                                     "colorize` without --runner (see docs/scale-out.md)")
        elif not self.overwrite and exists(join(self.out, output)):
            Metrics.counter(NAMESPACE, "skipped").inc()
            yield beam.pvalue.TaggedOutput(SKIPPED, _entry(
                location, "skipped", output=output,
                reason="output exists (use --overwrite to redo)"))
        else:
            yield named


class ReadPhoto(beam.DoFn):
    """``(location, output)`` -> ``(Photo, working-size L)``: read with a cap, the header
    checked before decoding, L made full-size and at the working size."""

    def __init__(self, render_size: int, max_pixels: int | None):
        self.render_size, self.max_pixels = render_size, max_pixels

    def process(self, named: tuple) -> Iterator:
        location, output = named
        start = time.perf_counter()
        try:
            data = read_capped(location, MAX_FILE_BYTES)
            Metrics.counter(NAMESPACE, "bytes_read").inc(len(data))
            photo = decode_photo(data, name=location, max_pixels=self.max_pixels)
            del data
            lightness, small, dtype = photo_arrays(photo, output, self.render_size)
        except Exception as error:  # noqa: BLE001 - one bad photo fails alone
            yield _failure(location, _reason(location, error), time.perf_counter() - start)
            return
        photo = Photo(location, output, lightness, dtype, time.perf_counter() - start)
        yield photo, WorkingInput(small, photo.pixels)


class WritePhoto(beam.DoFn):
    """``(Photo, result)`` -> the output written whole, and its manifest entry."""

    def __init__(self, out: str, tag: bool):
        self.out, self.tag = out, tag

    def setup(self) -> None:
        self.note = colorized_tag() if self.tag else None

    def process(self, keyed: tuple) -> Iterator:
        photo, result = keyed
        ab_small, share = result.inference
        start = time.perf_counter()
        try:
            data = photo_bytes(photo.lightness, ab_small, photo.dtype, photo.output, self.note)
            write_whole(join(self.out, photo.output), data)
        except Exception as error:  # noqa: BLE001 - a full disk, a refused write: this photo alone
            yield _failure(photo.location, _reason(photo.location, error),
                           photo.seconds + share + time.perf_counter() - start)
            return
        Metrics.counter(NAMESPACE, "done").inc()
        Metrics.counter(NAMESPACE, "bytes_written").inc(len(data))
        height, width = photo.lightness.shape[:2]
        yield _entry(photo.location, "ok", output=photo.output, width=width, height=height,
                     seconds=round(photo.seconds + share + time.perf_counter() - start, 3))


def _inference_failures(failed: tuple) -> Iterator[dict]:
    """A batch the network could not run (out of memory, a broken model): each photo fails."""
    batch, error = failed
    for photo, _ in batch:
        Metrics.counter(NAMESPACE, "failed").inc()
        yield _entry(photo.location, "failed", reason=_reason(photo.location, error))


def _write_jsonl(entries, path: str, label: str):
    return (entries
            | f"{label} as JSON" >> beam.Map(json.dumps)
            | f"Write {label}" >> beam.io.WriteToText(path, shard_name_template="",
                                                       num_shards=1))


def build_pipeline(pipeline: beam.Pipeline, patterns: list[str], out: str, model: str, *,
                   render_size: int = DEFAULT_RENDER_SIZE, overwrite: bool = False,
                   tag: bool = True, batch_size: int = 8, max_pixels: int | None = MAX_PIXELS,
                   temperature: float | None = None) -> None:
    """Adds the colorize steps to ``pipeline`` (see the module's outline); arguments as for
    :func:`colorize_on_beam`."""
    listed_files = (pipeline
                    | "Patterns" >> beam.Create(list(enumerate(patterns)))
                    | "List" >> beam.ParDo(ListPattern(out)).with_outputs(FAILED, main="files"))
    named = (listed_files.files
             | "By file" >> beam.GroupByKey()
             | "Once per file" >> beam.Map(_first_listing)
             | "By name" >> beam.GroupByKey()
             | "Unique names" >> beam.FlatMap(_named))
    todo = (named
            | "Spread" >> beam.Reshuffle()
            | "Skip done" >> beam.ParDo(SkipDone(out, overwrite)).with_outputs(
                FAILED, SKIPPED, main="todo"))
    photos = (todo.todo
              | "Read" >> beam.ParDo(ReadPhoto(render_size, max_pixels)).with_outputs(
                  FAILED, main="photos"))
    handler = KeyedModelHandler(ColorizerModelHandler(
        model, batch_size=batch_size, temperature=temperature))
    inferred, dead_letters = (photos.photos
                              | "Colorize" >> RunInference(handler).with_exception_handling())
    written = inferred | "Write" >> beam.ParDo(WritePhoto(out, tag)).with_outputs(
        FAILED, main="done")
    failures = ((listed_files[FAILED], todo[FAILED], photos[FAILED], written[FAILED],
                 dead_letters.failed_inferences
                 | "Batch failures" >> beam.FlatMap(_inference_failures))
                | "Failures" >> beam.Flatten())
    entries = ((written.done, todo[SKIPPED], failures) | "Entries" >> beam.Flatten())
    _write_jsonl(entries, join(out, MANIFEST_NAME), "manifest")
    _write_jsonl(failures, join(out, FAILURES_NAME), "failures")


def pipeline_options(runner: str, beam_args: list[str], *, quiet: bool = True
                     ) -> PipelineOptions:
    """Beam's options for ``runner`` with the user's own flags. The DirectRunner runs one
    worker process per core, and quiet workers log errors only (Beam's own warnings, one per
    batch on some platforms, would bury the run's summary), unless the flags say otherwise."""
    if runner not in RUNNERS:
        raise ValueError(f"--runner must be one of {', '.join(RUNNERS)}, got {runner!r}")
    defaults: dict = {"runner": RUNNERS[runner]}
    if runner == "direct":
        if not user_gave(beam_args, "direct_num_workers"):
            defaults["direct_num_workers"] = os.cpu_count() or 1
        if not user_gave(beam_args, "direct_running_mode"):
            defaults["direct_running_mode"] = "multi_processing"
    if quiet and not user_gave(beam_args, "default_sdk_harness_log_level"):
        defaults["default_sdk_harness_log_level"] = "ERROR"
    return PipelineOptions(beam_args, **defaults)


def colorize_on_beam(patterns: list[str], out: str, model: str, *, runner: str = "direct",
                     beam_args: list[str] | None = None, render_size: int = DEFAULT_RENDER_SIZE,
                     overwrite: bool = False, tag: bool = True, batch_size: int = 8,
                     max_pixels: int | None = MAX_PIXELS,
                     temperature: float | None = None, quiet: bool = True) -> BeamResult:
    """Colorizes the photos ``patterns`` name into ``out`` on a Beam runner, and waits.

    Outputs get the names ``colorizer colorize`` gives the same files (a folder's structure
    below its base, ``.png`` added to formats other than JPEG and PNG, a hash where two would
    collide); ``out/manifest.jsonl`` lists every input once, ``out/failures.jsonl`` the failed
    ones with their reasons. A rerun skips outputs that exist and writes only what is missing.

    Args:
        patterns: Files, folders and globs on any Beam file system (``gs://b/scans/**.tif``).
        out: Output folder or bucket prefix.
        model: A model file any runtime reads (an ``.onnx`` export needs no TensorFlow on the
            workers), on any Beam file system.
        runner: ``direct``, ``dataflow``, ``flink`` or ``spark``.
        beam_args: Beam's own flags (``--project``, ``--region``, ``--temp_location``,
            ``--direct_num_workers`` ...).
        render_size: The model's working size, as for
            :func:`colorizer.batches.batch.colorize_inputs` (and the four below).
        overwrite: Redo inputs whose outputs exist (otherwise they are skipped).
        tag: Store a note in each output's metadata that a model colorized it.
        batch_size: Most photos in one network call.
        max_pixels: Photos with more pixels fail, refused from their header.
        temperature: A ``.keras`` classification model's annealed-mean temperature.
        quiet: Beam's workers and this process log errors only (each failed photo is in the
            failures output with its reason).

    Returns:
        The run's :class:`BeamResult`.
    """
    working_size(1, 1, render_size)  # a bad render size fails before any worker starts
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    options = pipeline_options(runner, beam_args or [], quiet=quiet)
    if quiet:
        logging.getLogger("apache_beam").setLevel(logging.ERROR)
    with contextlib.ExitStack() as stack:
        if is_local(out):
            from colorizer.lease import FolderLease

            if os.path.exists(out) and not os.path.isdir(out):
                raise ValueError(f"--out must be a folder, but {out} is a file")
            os.makedirs(out, exist_ok=True)
            # One run per output folder, as for colorize: two would write one manifest.
            stack.enter_context(FolderLease(out, purpose="colorize"))
        pipeline = beam.Pipeline(options=options)
        build_pipeline(pipeline, patterns, out, model, render_size=render_size,
                       overwrite=overwrite, tag=tag, batch_size=batch_size,
                       max_pixels=max_pixels, temperature=temperature)
        result = pipeline.run()
        state = result.wait_until_finish()
    return BeamResult(read_counters(result), join(out, MANIFEST_NAME), join(out, FAILURES_NAME),
                      str(state))


def read_counters(result) -> dict[str, int]:
    """The run's counters, summed over its steps (committed where the runner reports them)."""
    totals = dict.fromkeys(COUNTERS, 0)
    query = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    for counter in query["counters"]:
        name = counter.key.metric.name
        if name in totals:
            value = counter.committed if counter.committed is not None else counter.attempted
            totals[name] += int(value or 0)
    return totals

"""Colorize a film: every frame's lightness kept, colour steadied over time, sound kept.

    clip.mp4 -> frames (decoded ahead in a thread) -> full-size L -> working-size L
      -> model, a batch of frames at a time -> ab -> steadied along the motion (temporal.py)
      -> merged with full-size L (the frame's own lightness) -> H.264 segment of ~10 s
    finished segments + the input's audio -> DIR/clip.mp4, renamed into place when complete

Memory stays bounded whatever the length: frames stream through and only a batch is held.
Work is kept segment by segment in a hidden folder beside the output (``.clip.mp4.parts``)
with the smoothing state at each segment's end, so a run stopped at any moment and started
again continues from the last finished segment and gives the same file as an uninterrupted
run. A film that cannot be read fails alone, naming the file, and leaves nothing behind.

Example:
    >>> result = colorize_video(model, "home_movie.mp4", "out/home_movie.mp4")
    >>> result.frames, result.fps
    (14400, Fraction(24, 1))
"""
from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import fractions
import hashlib
import json
import os
import queue
import shutil
import threading
import time
from typing import Iterator

import numpy as np

from colorizer.fileio import write_text
from colorizer.inference.full_resolution import (
    DEFAULT_RENDER_SIZE, encode_lab, image_lightness, merge_lightness_ab, model_input,
    predict_ab_batch, working_size)
from colorizer.films.film_hints import HintTracker, TrackedHints
from colorizer.guided.guided import PRIOR_STRENGTH, guided_ab_at
from colorizer.guided.learned import LEARNED_PRIOR_STRENGTH, hint_input
from colorizer.guided.hints import HintError, Hints, hint_pixels
from colorizer.films.temporal import DEFAULT_STRENGTH, SmootherState, TemporalSmoother
from colorizer.runtimes.network import model_fingerprint, takes_hints
from colorizer.films.video_io import (
    MAX_FRAME_PIXELS, Frame, SegmentWriter, VideoReadError, join_segments, probe_video,
    read_frames, remove_quietly)

SEGMENT_SECONDS = 10.0
"""Film time per finished segment: what a stopped run loses at most."""
PREFETCH_BATCHES = 2


def truncated(decoded: int, listed: int) -> bool:
    """Whether a film that decoded to its end without an error still stopped far short of the
    frame count its header lists. A header's count is a hint, not a promise: AVI headers
    often list one frame more than the stream holds, and an edit list can hide a few, so a
    film counts as truncated only when it is short by more than 2 frames and 0.2 %."""
    return listed > 0 and listed - decoded > max(2, listed // 500)


@dataclasses.dataclass
class VideoResult:
    """What was written for one film."""

    output: str
    width: int
    height: int
    frames: int
    fps: fractions.Fraction
    cuts: int
    resumed_from: int
    seconds: float


def _guidance_fingerprint(hints: Hints, reference: np.ndarray | None, height: int,
                          width: int) -> str | None:
    """A digest of what guides the film (hinted pixels, their frame, the reference), so a run
    resumed with other guidance starts again."""
    if not hints and reference is None:
        return None
    digest = hashlib.sha1()
    if hints:
        for array in hint_pixels(hints, height, width, surface="frame"):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update(str(hints.frame).encode())
    if reference is not None:
        digest.update(np.ascontiguousarray(reference).tobytes())
    return digest.hexdigest()[:16]


def _settings(path: str, model, render_size: int, temporal: str, strength: float,
              segment_frames: int, batch_size: int, guidance: str | None = None) -> dict:
    stat = os.stat(path)
    return {"input": os.path.abspath(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "model": model_fingerprint(model), "render_size": render_size,
            "temporal": temporal, "strength": strength, "segment_frames": segment_frames,
            "batch_size": batch_size, "guidance": guidance}


def parts_folder(target: str) -> str:
    """The hidden folder beside ``target`` holding finished segments while a film is made."""
    folder, name = os.path.split(os.path.abspath(target))
    return os.path.join(folder, f".{name}.parts")


def _segment(parts: str, number: int) -> tuple[str, str]:
    stem = os.path.join(parts, f"segment-{number:06d}")
    return stem + ".mp4", stem + ".npz"


def _finished_segments(parts: str) -> int:
    count = 0
    while all(os.path.isfile(p) for p in _segment(parts, count)):
        count += 1
    return count


def _prepare_parts(parts: str, settings: dict) -> int:
    """Keeps finished segments made with the same settings; returns how many there are."""
    settings_path = os.path.join(parts, "settings.json")
    if os.path.isdir(parts):
        try:
            with open(settings_path, encoding="utf-8") as file:
                if json.load(file) == settings:
                    return _finished_segments(parts)
        except (OSError, ValueError):
            pass
        shutil.rmtree(parts)  # another input, model or setting: start again
    os.makedirs(parts)
    write_text(settings_path, json.dumps(settings, indent=1))
    return 0


def _prefetch(frames: Iterator[Frame], render_size: int, size: int) -> Iterator:
    """Decodes frames and computes their L in a thread, ``size`` frames ahead of the model."""
    pending: queue.Queue = queue.Queue(maxsize=size)
    stop = threading.Event()
    done = object()

    def work() -> None:
        try:
            for frame in frames:
                lightness = image_lightness(frame.rgb)
                item = (frame, lightness, model_input(lightness, render_size))
                while not stop.is_set():
                    try:
                        pending.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            pending.put(done)
        except BaseException as error:  # handed to the consumer, which raises it
            pending.put(error)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while True:
            item = pending.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def colorize_frames(model, frames: Iterator[Frame], *, render_size: int = DEFAULT_RENDER_SIZE,
                    smoother: TemporalSmoother | None = None, batch_size: int = 8,
                    tracker: HintTracker | None = None, reference: np.ndarray | None = None,
                    states: dict | None = None) -> Iterator[tuple[Frame, np.ndarray]]:
    """Colorizes a stream of frames: yields each frame with its uint8 RGB result.

    The result's L is the frame's own (before any encoding); ab comes from the model at the
    working size, steadied by ``smoother`` (none: every frame on its own), and upscaled.
    Frames go through the model ``batch_size`` at a time. With a ``tracker``, each frame is
    guided by the hints where the motion has carried them, and with a ``reference`` by its
    colours (the smoother's motion is what the tracker follows); a model that takes hints
    (:func:`colorizer.runtimes.network.takes_hints`) is fed them, frame by frame, and the
    solve after it only makes the hinted pixels exact.

    The merge with full-size L runs on a thread of its own, one batch behind the network, so
    the two overlap (the result is the same as one after the other). With ``states``, the
    smoother's and the tracker's state after each batch are kept there under the index of
    the batch's last frame (copies: by the time that frame is yielded the next batch has
    moved them on).
    """
    smoother = smoother or TemporalSmoother(mode="none")
    feeds_hints = tracker is not None and takes_hints(model)
    batch: list = []
    merging: collections.deque = collections.deque()
    merger = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="merge")

    def merge(lightness, steady, found) -> np.ndarray:
        rows, cols, hint_ab = found if found is not None else ((), (), None)
        if len(rows) or reference is not None:
            if not len(rows):
                cols, hint_ab = rows, np.zeros((0, 2), np.float32)
            # A fixed prior: one chosen per frame from the hints could change between
            # frames, and colour would flicker where the hints are the same.
            guided = guided_ab_at(lightness, steady, np.asarray(rows, np.int64),
                                  np.asarray(cols, np.int64), hint_ab, reference,
                                  prior_strength=LEARNED_PRIOR_STRENGTH
                                  if feeds_hints and len(rows) else PRIOR_STRENGTH)
            return encode_lab(lightness, guided)
        return merge_lightness_ab(lightness, steady)

    def flush() -> None:
        # The motion of every frame first (L alone): it carries the hints, which a model that
        # takes hints must have before it runs.
        tracked = []
        for frame, lightness, small in batch:
            motion = smoother.advance(small)
            tracked.append(tracker.step(frame.index, motion, small.shape[:2])
                           if tracker is not None else None)
        smalls = np.stack([small for _, _, small in batch])
        feeds = None
        if feeds_hints and any(len(found[0]) for found in tracked):
            feeds = np.stack([hint_input(*found, lightness.shape[:2], small.shape[:2])
                              for (_, lightness, small), found in zip(batch, tracked)])
        ab = predict_ab_batch(model, smalls, feeds)
        for (frame, lightness, small), ab_small, found in zip(batch, ab, tracked):
            steady = smoother.blend(ab_small)
            merging.append((frame, merger.submit(merge, lightness, steady, found)))
        if states is not None:
            states[batch[-1][0].index] = _snapshot(smoother, tracker)
        batch.clear()

    def finished(keep: int) -> Iterator[tuple[Frame, np.ndarray]]:
        while len(merging) > keep:
            frame, result = merging.popleft()
            yield frame, result.result()

    try:
        for item in _prefetch(frames, render_size, batch_size * PREFETCH_BATCHES):
            batch.append(item)
            if len(batch) == batch_size:
                flush()  # this batch's network, while the last one's merges run
                yield from finished(batch_size)  # the last batch's frames
        if batch:
            flush()
        yield from finished(0)
    finally:
        merger.shutdown(wait=True, cancel_futures=True)


def _snapshot(smoother: TemporalSmoother, tracker: HintTracker | None) -> dict:
    """Copies of what continues after this frame, as a finished segment saves it."""
    arrays = dict(smoother.state.to_arrays())
    if tracker is not None and tracker.state:
        arrays.update(tracker.state.to_arrays())
    return {name: np.array(value, copy=True) for name, value in arrays.items()}


def colorize_video(model, path: str, target: str, *, render_size: int = DEFAULT_RENDER_SIZE,
                   temporal: str = "flow", strength: float = DEFAULT_STRENGTH,
                   batch_size: int = 8, segment_seconds: float = SEGMENT_SECONDS,
                   comment: str | None = None, progress: bool = True, hints=None,
                   reference: np.ndarray | None = None, max_frames: int | None = None,
                   max_pixels: int = MAX_FRAME_PIXELS) -> VideoResult:
    """Colorizes one film into ``target`` (an ``.mp4``), resuming earlier work on it.

    Args:
        model: A colorizer (``load_colorizer`` or ``build_colorizer``).
        path: The input film (MP4, MOV, MKV, AVI, WebM ...; H.264, H.265, VP9, MPEG-4,
            MJPEG ...). Phone rotation is applied: the output is upright.
        target: The output file; it appears only when complete.
        render_size: The model's working size (a multiple of 32).
        temporal: ``flow`` (colour steadied along the motion, reset at cuts) or ``none``.
        strength: How much of the previous frame's colour a well-tracked pixel keeps.
        batch_size: Frames through the model at once.
        segment_seconds: Film time per finished segment (the most a stopped run redoes).
        comment: Text for the container's ``comment`` tag (None: no tag).
        progress: Show a progress bar with frames, frames per second and time left.
        hints: Colour hints (``Hints``, or any form ``Hints.from_value`` takes) drawn on the
            frame ``hints.frame`` (the first by default), in pixels of the upright frame: they
            follow the motion from there to the end of that shot
            (:mod:`colorizer.films.film_hints`). With ``temporal="none"`` the colour is
            still each frame's own, but the hints still follow the motion.
        reference: A colour photo whose colours guide every frame.
        max_frames: A film with more frames is refused: from its header before any work,
            or when decoding goes past it (a header may say less than the film holds).
            ``None``: any length.
        max_pixels: Frames with more pixels are refused (8K by default).

    Returns:
        A :class:`VideoResult`.

    Raises:
        VideoReadError: The film cannot be read (corrupt, truncated, no video, no frames,
            frames too large or changing size) or is longer than ``max_frames``.
        HintError: A hint outside the frame, or scribbles of another size (before any work);
            the message names the hints file.

    Whatever goes wrong, nothing is left behind; only an interruption (Ctrl+C, a killed
    process, a lost runtime) keeps the finished segments, for the next run to continue.
    """
    from tqdm.auto import tqdm

    working_size(1, 1, render_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    start = time.perf_counter()
    path = str(os.fspath(path))
    info = probe_video(path, max_pixels=max_pixels)
    if max_frames is not None and info.frames > max_frames:
        raise VideoReadError(_too_long(path, max_frames, info.fps))
    hints = Hints.from_value(hints)
    try:
        # Scribbles are decoded here once, for the fingerprint and the tracker alike.
        hints = hints.with_scribbles_read(info.height, info.width, surface="frame")
        tracker = HintTracker(hints, info.height, info.width, hints.frame) if hints else None
    except HintError as error:
        raise hints.blame(error) from None
    # Hints follow the motion even when the colour is each frame's own: the smoother then
    # measures the motion and keeps none of the previous colour.
    smoother = (TemporalSmoother(0.0, "flow") if tracker and temporal == "none"
                else TemporalSmoother(strength, temporal))
    per_segment = max(1, round(float(info.fps) * segment_seconds / batch_size)) * batch_size
    parts = parts_folder(target)
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    done_segments = _prepare_parts(parts, _settings(
        path, model, render_size, temporal, strength, per_segment, batch_size,
        _guidance_fingerprint(hints, reference, info.height, info.width)))
    first = done_segments * per_segment
    if done_segments:
        with np.load(_segment(parts, done_segments - 1)[1]) as arrays:
            smoother.state = SmootherState.from_arrays(arrays)
            if tracker is not None:
                tracker.state = TrackedHints.from_arrays(arrays)
    bar = tqdm(total=info.frames or None, initial=first, desc=os.path.basename(path),
               unit="frame", disable=not progress)
    count, number, last = first, done_segments, None
    states: dict = {}
    encoder = _SegmentEncoder(parts, info, depth=2 * batch_size)
    try:
        frames = (f for f in read_frames(path, info) if f.index >= first)
        for frame, rgb in colorize_frames(model, frames, render_size=render_size,
                                          smoother=smoother, batch_size=batch_size,
                                          tracker=tracker, reference=reference,
                                          states=states):
            encoder.write(number, rgb, frame.pts)
            count, last = count + 1, frame.index
            if max_frames is not None and count > max_frames:
                raise VideoReadError(_too_long(path, max_frames, info.fps))
            bar.update()
            if count % per_segment == 0:
                encoder.finish(number, states.pop(frame.index))
                number += 1
            else:
                states.pop(frame.index, None)  # (kept only where a batch ends)
        if count % per_segment and last is not None:
            encoder.finish(number, _snapshot(smoother, tracker))
            number += 1
        encoder.close()  # every frame encoded, every segment in place
        if count == 0:
            raise VideoReadError(f"{path}: the video stream holds no frames")
        if truncated(count, info.frames):
            raise VideoReadError(f"{path}: truncated: {count} of the {info.frames} frames its "
                                 "header lists could be decoded")
        segments = [_segment(parts, n)[0] for n in range(number)]
        partial = f"{target}.partial-{os.getpid()}.mp4"
        try:
            join_segments(segments, path, partial, comment=comment)
            os.replace(partial, target)
        finally:
            remove_quietly(partial)
    except Exception:  # whatever failed, this film leaves nothing behind
        encoder.stop()
        shutil.rmtree(parts, ignore_errors=True)
        raise
    finally:
        encoder.stop()  # an interruption keeps the finished segments; nothing waits on it
        bar.close()
    shutil.rmtree(parts, ignore_errors=True)
    return VideoResult(target, info.width, info.height, count, info.fps, smoother.cuts, first,
                       time.perf_counter() - start)


def _too_long(path: str, max_frames: int, fps) -> str:
    return (f"{path}: longer than {max_frames} frames ({max_frames / float(fps):.0f} s at its "
            "rate), the most taken here")


def _finish_segment(writer: SegmentWriter, parts: str, number: int,
                    state: dict[str, np.ndarray]) -> None:
    """Closes a segment and renames it into place with the state that continues after it
    (the smoother's, and where the hints have got to: :func:`_snapshot`)."""
    writer.close()
    video, state_path = _segment(parts, number)
    partial_state = state_path + ".partial.npz"
    np.savez(partial_state, **state)
    os.replace(partial_state, state_path)
    os.replace(writer.path, video)  # last: a segment counts once both files are in place


class _SegmentEncoder:
    """Encodes frames and finishes segments on a thread of its own, in order: H.264 encoding
    (PyAV lets go of the GIL while libx264 works) overlaps the network and the merge.

    An error in the thread is raised by the next call; :meth:`stop` abandons the work
    (the open segment stays ``.partial``, which a later run discards).
    """

    def __init__(self, parts: str, info, depth: int):
        self.parts, self.info = parts, info
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.writer: SegmentWriter | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="encode", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is not None or self.stopping.is_set():
                continue  # drained, so that a producer never waits on a dead thread
            kind, number, payload, pts = item
            try:
                if kind == "frame":
                    if self.writer is None:
                        self.writer = SegmentWriter(_segment(self.parts, number)[0] + ".partial",
                                                    self.info)
                    self.writer.write(payload, pts)
                else:
                    _finish_segment(self.writer, self.parts, number, payload)
                    self.writer = None
            except BaseException as error:  # noqa: BLE001 - raised in the caller's thread
                self.error = error

    def _put(self, item) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(item)

    def write(self, number: int, rgb: np.ndarray, pts: int) -> None:
        """Queues one frame of segment ``number``."""
        self._put(("frame", number, rgb, pts))

    def finish(self, number: int, state: dict[str, np.ndarray]) -> None:
        """Queues the end of segment ``number``, with the state that continues after it."""
        self._put(("finish", number, state, None))

    def close(self) -> None:
        """Waits until everything queued is done; raises what failed."""
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        """Abandons what is queued and closes an open segment's file; safe to call twice."""
        if self.thread.is_alive():
            self.stopping.set()
            self.queue.put(None)
            self.thread.join()
        if self.writer is not None:
            self.writer.container.close()
            self.writer = None


def gray_frame(rgb: np.ndarray) -> np.ndarray:
    """A colour frame as the uint8 gray RGB of the same lightness (how an old film looks)."""
    from colorizer.color import lightness_to_gray_rgb

    gray = lightness_to_gray_rgb(image_lightness(rgb)[..., 0])
    return np.repeat(np.clip(gray * 255.0 + 0.5, 0, 255).astype(np.uint8)[..., None], 3, -1)


def compare_video(original: str, colorized: str, target: str, *, max_height: int = 360) -> str:
    """Writes a side-by-side film (input left, result right), at most ``max_height`` tall, to
    show in a notebook; returns ``target``."""
    import cv2

    info = probe_video(original)
    scale = min(1.0, max_height / info.height)
    width = max(2, int(round(info.width * scale / 2)) * 2)
    height = max(2, int(round(info.height * scale / 2)) * 2)
    side = dataclasses.replace(info, width=2 * width, height=height, rotation=0)
    partial = f"{target}.partial-{os.getpid()}.mp4"
    try:
        with SegmentWriter(partial, side) as writer:
            for before, after in zip(read_frames(original, info), read_frames(colorized)):
                pair = [cv2.resize(f.rgb, (width, height), interpolation=cv2.INTER_AREA)
                        for f in (before, after)]
                writer.write(np.hstack(pair), before.pts)
        os.replace(partial, target)
    finally:
        remove_quietly(partial)
    return target

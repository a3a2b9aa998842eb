"""Colour hints in a film: given on one frame, carried along the motion to the frames after.

A hint says "this is red" about a thing, not about a pixel: as the thing moves, its hint must
move with it. Each hinted pixel (a point, or a pixel of a scribble) is followed from frame to
frame along the optical flow the temporal smoother already computes
(:class:`colorizer.films.temporal.Motion`), and each frame is then guided by the hints
where they have arrived (:func:`colorizer.guided.guided.guided_ab_at`).

A hint is dropped where the flow loses it: when it leaves the frame, when the lightness found
where it arrived differs from where it was (it was covered or uncovered), and at a scene cut,
since the next shot shows other things. Frames before the hinted one get no hints.

Example:
    >>> tracker = HintTracker(hints, height=720, width=1280, frame=0)
    >>> rows, cols, ab = tracker.step(index, smoother.motion, small_size=(224, 384))
"""
from __future__ import annotations

import dataclasses

import numpy as np

from colorizer.guided.hints import Hints, hint_pixels
from colorizer.films.temporal import Motion

MAX_TRACKED = 4096
"""At most this many hinted pixels are followed (a long scribble is thinned evenly)."""
KEEP_MATCH = 0.3
"""A hint is kept while the flow's match where it lands is at least this (see ``Motion``)."""
INVERSION_STEPS = 4
"""Fixed-point steps that turn the smoother's backward flow into a hint's forward move."""


@dataclasses.dataclass
class TrackedHints:
    """Where the hints are: full-size positions ``xy`` ``(n, 2)`` (x, y) and colours ``ab``."""

    xy: np.ndarray
    ab: np.ndarray

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"hint_xy": self.xy, "hint_ab": self.ab}

    @classmethod
    def from_arrays(cls, arrays) -> "TrackedHints | None":
        if "hint_xy" not in arrays:
            return None
        return cls(np.asarray(arrays["hint_xy"], np.float32),
                   np.asarray(arrays["hint_ab"], np.float32))


class HintTracker:
    """Carries a film's hints from the frame they were given on along the motion.

    Args:
        hints: Points and/or scribbles, in pixels of the upright film frame.
        height: The film's frame height.
        width: Its width.
        frame: The index of the frame the hints were given on (0: the first).
        state: Where a resumed film left them (``None``: start from ``hints``).

    Raises:
        HintError: A point outside the frame, or scribbles of another size.
    """

    def __init__(self, hints: Hints, height: int, width: int, frame: int = 0,
                 state: TrackedHints | None = None):
        rows, cols, ab = hint_pixels(hints, height, width, surface="frame")
        if len(rows) > MAX_TRACKED:
            keep = np.linspace(0, len(rows) - 1, MAX_TRACKED).round().astype(np.int64)
            rows, cols, ab = rows[keep], cols[keep], ab[keep]
        self.height, self.width, self.frame = height, width, int(frame)
        self.given = TrackedHints(np.stack([cols, rows], -1).astype(np.float32),
                                  np.asarray(ab, np.float32))
        self.state = state

    def step(self, index: int, motion: Motion | None, small_size: tuple[int, int]
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The hinted pixels of frame ``index``: ``rows``, ``cols`` and ``ab``.

        Args:
            index: The frame's index in the film (frames arrive in order).
            motion: How this frame moved from the previous one (``None``: a cut or the
                film's first frame).
            small_size: ``(h, w)``, the working size the motion was measured at.
        """
        if index < self.frame:
            current = None
        elif index == self.frame:
            current = self.given
        elif self.state is None or motion is None or not len(self.state.xy):
            current = None  # a cut, or nothing left to follow
        else:
            current = self._moved(self.state, motion, small_size)
        self.state = current
        if current is None or not len(current.xy):
            return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 2), np.float32))
        cols = np.clip(np.rint(current.xy[:, 0]), 0, self.width - 1).astype(np.int64)
        rows = np.clip(np.rint(current.xy[:, 1]), 0, self.height - 1).astype(np.int64)
        # Two hints that landed on one pixel: the later one wins, as in a hints file.
        flat = (rows * self.width + cols)[::-1]
        _, first = np.unique(flat, return_index=True)
        keep = len(flat) - 1 - first
        return rows[keep], cols[keep], current.ab[keep]

    def _moved(self, previous: TrackedHints, motion: Motion, small_size: tuple[int, int]
               ) -> TrackedHints:
        """Each hint's position in the new frame, and only those the motion kept."""
        small_h, small_w = small_size
        scale = np.array([small_w / self.width, small_h / self.height], np.float32)
        was = (previous.xy + 0.5) * scale - 0.5  # pixel centres, as cv2.resize maps them
        # The flow says, for each new pixel q, where it was: q + flow(q). Solve q + flow(q) =
        # was for q by fixed-point steps from q = was.
        now = was.copy()
        for _ in range(INVERSION_STEPS):
            now = was - _sample(motion.flow, now)
        inside = ((now[:, 0] >= -0.5) & (now[:, 0] <= small_w - 0.5)
                  & (now[:, 1] >= -0.5) & (now[:, 1] <= small_h - 0.5))
        kept = inside & (_sample(motion.match[..., None], now)[:, 0] >= KEEP_MATCH)
        return TrackedHints(((now[kept] + 0.5) / scale - 0.5).astype(np.float32),
                            previous.ab[kept])


def _sample(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``image`` ``(h, w, c)`` at ``xy`` ``(n, 2)``, edges replicated."""
    height, width = image.shape[:2]
    x = np.clip(xy[:, 0], 0, width - 1)
    y = np.clip(xy[:, 1], 0, height - 1)
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
    bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)

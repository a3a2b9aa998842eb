"""Steady colour for films: the predicted ab smoothed over time along the motion.

A colorizer that sees each frame on its own answers film grain, compression noise and small
moves with small jumps of colour: flicker. Here each frame's ab (at the model's working size)
is blended with the previous frame's *smoothed* ab, warped along the optical flow so that
colour follows objects as they move:

    ab_t = w * warp(ab_{t-1}, flow_t) + (1 - w) * model(L_t)

The weight ``w`` is ``strength`` where the flow explains the new frame, and falls towards 0
where it does not (an object uncovered, a fast move: there the model's own colour takes
over). At a scene cut (the L histogram changes at once, or the flow explains little of the
frame) smoothing starts again,
so one shot's colour never leaks into the next. With a constant ``w`` the noise of a static
pixel shrinks by ``sqrt((1 - w) / (1 + w))``: under a quarter of its per-frame size at ``w = 0.9``.

Flow is OpenCV's DIS (dense inverse search) on the working-size L: a few milliseconds a frame.

Example:
    >>> smoother = TemporalSmoother()
    >>> steady = [smoother.step(l_small, ab_small) for l_small, ab_small in frames]
"""
from __future__ import annotations

import collections
import dataclasses

import cv2
import numpy as np

TEMPORAL_MODES = ("flow", "none")
"""``flow``: smoothed along the optical flow, reset at cuts; ``none``: every frame on its own."""
DEFAULT_STRENGTH = 0.9
MATCH_SCALE_L = 6.0
"""A warped pixel whose L differs from the new frame's by this much (L units) keeps about
a third of its weight: the flow did not find it."""
MISMATCH_BLUR = 1.5
"""Gaussian sigma (working-size pixels) applied before comparing warped and new L."""
CUT_HISTOGRAM_CORRELATION = 0.9
"""Consecutive frames whose L histograms correlate less than this are different shots (within
a shot they correlate above 0.99, even through pans and zooms)."""
CUT_SHARE = 0.5
"""A frame where more than half of the pixels are not explained by the flow starts a new scene."""
CUT_MISMATCH_L = 12.0


@dataclasses.dataclass(frozen=True)
class Motion:
    """The motion between two frames at the working size.

    Attributes:
        flow: ``(h, w, 2)``: for each pixel of the new frame, the offset ``(dx, dy)`` to where
            it was in the previous one.
        match: ``(h, w)`` in [0, 1]: how well that explains the new frame there (1: the same
            lightness found; near 0: uncovered, occluded, or left the frame).
    """

    flow: np.ndarray
    match: np.ndarray


@dataclasses.dataclass
class SmootherState:
    """What carries from one frame to the next (saved with each finished film segment)."""

    lightness: np.ndarray | None = None
    ab: np.ndarray | None = None

    def to_arrays(self) -> dict[str, np.ndarray]:
        if self.lightness is None:
            return {}
        return {"lightness": self.lightness, "ab": self.ab}

    @classmethod
    def from_arrays(cls, arrays) -> "SmootherState":
        if "lightness" not in arrays:
            return cls()
        return cls(np.asarray(arrays["lightness"], np.float32), np.asarray(arrays["ab"], np.float32))


def _histogram_correlation(first: np.ndarray, second: np.ndarray) -> float:
    def histogram(lightness: np.ndarray) -> np.ndarray:
        return cv2.calcHist([np.ascontiguousarray(lightness[..., 0], np.float32)], [0], None,
                            [32], [0.0, 100.001])

    return float(cv2.compareHist(histogram(first), histogram(second), cv2.HISTCMP_CORREL))


def _flow_image(lightness: np.ndarray) -> np.ndarray:
    return np.clip(lightness[..., 0] * 2.55 + 0.5, 0, 255).astype(np.uint8)


class TemporalSmoother:
    """Blends each frame's predicted ab with the previous result, warped along the motion.

    Args:
        strength: Weight of the previous frame's colour where the motion is well explained
            (0 = per-frame colour, values near 1 = very steady colour).
        mode: ``flow`` or ``none`` (see :data:`TEMPORAL_MODES`).
        state: Where to continue from (a resumed film), else a fresh start.
    """

    def __init__(self, strength: float = DEFAULT_STRENGTH, mode: str = "flow",
                 state: SmootherState | None = None):
        if mode not in TEMPORAL_MODES:
            raise ValueError(f"temporal mode must be one of {', '.join(TEMPORAL_MODES)}, "
                             f"got {mode!r}")
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"strength must be in [0, 1), got {strength}")
        self.strength = float(strength)
        self.mode = mode
        self.state = state or SmootherState()
        self.cuts = 0
        self._flow = None
        self._pending: collections.deque = collections.deque()
        """Frames advanced and not yet blended: (L, the warp maps and weight, or None)."""
        self.motion: Motion | None = None
        """How the last frame moved from the one before: ``None`` at a film's first frame, a
        cut, or in ``none`` mode (what a :class:`~colorizer.films.film_hints.HintTracker`
        follows)."""

    def _dis(self):
        if self._flow is None:
            self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return self._flow

    def step(self, lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
        """The steadied ab ``(h, w, 2)`` for one frame's working-size L ``(h, w, 1)`` and ab:
        :meth:`advance`, then :meth:`blend`."""
        self.advance(lightness)
        return self.blend(ab)

    def advance(self, lightness: np.ndarray) -> Motion | None:
        """Measures how the next frame moved from the one before (its L alone), ahead of its
        colour: a film whose model takes hints needs the motion to carry them before the
        model runs. Frames may be advanced several at a time; :meth:`blend` takes their
        colours in the same order.

        Returns:
            The motion (also :attr:`motion`), or ``None`` at the first frame, a cut, or in
            ``none`` mode.
        """
        lightness = np.asarray(lightness, np.float32)
        previous = self._pending[-1][0] if self._pending else self.state.lightness
        self.motion, plan = None, None
        if self.mode != "none" and previous is not None and previous.shape == lightness.shape:
            plan = self._weights(previous, lightness)
            if plan is None:
                self.cuts += 1
        self._pending.append((lightness, plan))
        return self.motion

    def blend(self, ab: np.ndarray) -> np.ndarray:
        """The steadied ab of the oldest frame advanced and not yet blended."""
        lightness, plan = self._pending.popleft()
        ab = np.asarray(ab, np.float32)
        result = ab
        if plan is not None:
            (map_x, map_y), w = plan
            warped_ab = cv2.remap(self.state.ab, map_x, map_y, cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
            result = w[..., None] * warped_ab + (1.0 - w[..., None]) * ab
        result = result.astype(np.float32)
        self.state = SmootherState(lightness, result)
        return result

    def _weights(self, previous_l: np.ndarray, lightness: np.ndarray
                 ) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray] | None:
        """Where each pixel of this frame was in the previous one (the maps that warp the
        previous colour onto it) and the weight of that colour; None at a cut."""
        if _histogram_correlation(previous_l, lightness) < CUT_HISTOGRAM_CORRELATION:
            return None
        height, width = lightness.shape[:2]
        # Flow from this frame back to the previous one: for each pixel, where it was.
        flow = self._dis().calc(_flow_image(lightness), _flow_image(previous_l), None)
        grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32),
                                     np.arange(height, dtype=np.float32))
        map_x, map_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
        warped_l = cv2.remap(previous_l[..., 0], map_x, map_y, cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
        # Compared after a blur: grain differs from frame to frame by nature, and must not
        # read as "the flow failed here".
        mismatch = np.abs(cv2.GaussianBlur(warped_l, (0, 0), MISMATCH_BLUR)
                          - cv2.GaussianBlur(lightness[..., 0], (0, 0), MISMATCH_BLUR))
        if float(np.mean(mismatch > CUT_MISMATCH_L)) > CUT_SHARE:
            return None
        inside = ((map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1))
        match = (np.exp(-np.square(mismatch / MATCH_SCALE_L)) * inside).astype(np.float32)
        self.motion = Motion(flow, match)
        return (map_x, map_y), (self.strength * match).astype(np.float32)

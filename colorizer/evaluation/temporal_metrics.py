"""How steady a colorized film is, by the measures video colorization papers report.

- **CDC**, colour distribution consistency (as the TCVC paper defines it, Liu et al. 2021):
  the Jensen-Shannon divergence between the per-channel colour histograms of frames ``t``
  and ``t + n``, averaged over the three channels, over ``t``, and over ``n`` = 1, 2 and 4.
  Histograms of 256 bins per RGB channel, natural logarithm (so 0 for equal histograms, at
  most ln 2). Lower is steadier; it ignores where a colour is, only how much of it there is.
- **Warp error** (Lai et al. 2018): the mean squared difference, on RGB in [0, 1], between each
  output frame and the previous output frame warped to it by the optical flow of the
  *input* (gray) frames, over the pixels that flow says are seen in both (a forward-backward
  consistency check marks the others occluded). Lower is steadier. The flow here is
  OpenCV's DIS (its "medium" preset), not the FlowNet2 of the papers: compare orders of
  magnitude with published numbers, not digits.

Both take frames as uint8 RGB arrays, so a film's decoded frames go in as they are.

Example:
    >>> frames = [np.full((32, 32, 3), 120, np.uint8)] * 5
    >>> color_distribution_consistency(frames), warp_error(frames, frames)
    (0.0, 0.0)
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

CDC_STEPS = (1, 2, 4)
"""The frame distances CDC averages over."""
HISTOGRAM_BINS = 256


def _histograms(frame: np.ndarray) -> np.ndarray:
    """``(3, 256)`` normalised histograms of a uint8 RGB frame's channels."""
    found = np.stack([np.bincount(frame[..., c].ravel(), minlength=HISTOGRAM_BINS)
                      for c in range(3)]).astype(np.float64)
    return found / found.sum(axis=1, keepdims=True)


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (natural log) of distributions along the last axis."""
    middle = (p + q) / 2

    def kl(a: np.ndarray) -> np.ndarray:
        mask = a > 0
        return np.where(mask, a * np.log(np.where(mask, a, 1) / np.where(mask, middle, 1)),
                        0.0).sum(axis=-1)

    return 0.5 * kl(p) + 0.5 * kl(q)


def color_distribution_consistency(frames: Sequence[np.ndarray],
                                   steps: Sequence[int] = CDC_STEPS) -> float:
    """CDC of a film's frames (see the module): lower is steadier.

    Args:
        frames: ``(H, W, 3)`` uint8 RGB frames of one shot, in order.
        steps: Frame distances averaged over.

    Raises:
        ValueError: Fewer frames than the largest step needs.
    """
    if len(frames) <= max(steps):
        raise ValueError(f"CDC needs more than {max(steps)} frames, got {len(frames)}")
    histograms = np.stack([_histograms(np.asarray(f, np.uint8)) for f in frames])
    per_step = [jensen_shannon(histograms[:-n], histograms[n:]).mean() for n in steps]
    return float(np.mean(per_step))


def _flow(first: np.ndarray, second: np.ndarray, dis) -> np.ndarray:
    return dis.calc(first, second, None)


def _warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` sampled at ``x + flow``: the backward warp."""
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32),
                                 np.arange(height, dtype=np.float32))
    return cv2.remap(image, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def visible_in_both(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Pixels of frame ``t`` whose flow to ``t - 1`` and back returns to them (Ruder et al.'s
    test: ``|b + f(x + b)|^2 <= 0.01 (|b|^2 + |f(x + b)|^2) + 0.5``), and that stay inside the
    frame.

    Args:
        forward: Flow from ``t - 1`` to ``t``.
        backward: Flow from ``t`` to ``t - 1``.
    """
    height, width = backward.shape[:2]
    returned = _warp(forward, backward)
    total = backward + returned
    agree = (total ** 2).sum(-1) <= 0.01 * ((backward ** 2).sum(-1) +
                                            (returned ** 2).sum(-1)) + 0.5
    grid_x, grid_y = np.meshgrid(np.arange(width), np.arange(height))
    x, y = grid_x + backward[..., 0], grid_y + backward[..., 1]
    inside = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
    return agree & inside


def warp_error(outputs: Sequence[np.ndarray], inputs: Sequence[np.ndarray]) -> float:
    """Warp error of a colorized film (see the module): lower is steadier.

    Args:
        outputs: ``(H, W, 3)`` uint8 RGB colorized frames of one shot, in order.
        inputs: The input frames they were made from (gray or RGB uint8), whose flow is used.

    Raises:
        ValueError: The two differ in length or there are fewer than two frames.
    """
    if len(outputs) != len(inputs) or len(outputs) < 2:
        raise ValueError(f"warp error needs two or more frames, as many outputs as inputs "
                         f"(got {len(outputs)} and {len(inputs)})")
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    gray = [np.ascontiguousarray(f, np.uint8) if np.ndim(f) == 2 else
            cv2.cvtColor(np.asarray(f, np.uint8), cv2.COLOR_RGB2GRAY) for f in inputs]
    errors = []
    for t in range(1, len(outputs)):
        backward = _flow(gray[t], gray[t - 1], dis)
        forward = _flow(gray[t - 1], gray[t], dis)
        mask = visible_in_both(forward, backward)
        if not mask.any():
            continue  # a cut: nothing of the last frame is seen
        current = np.asarray(outputs[t], np.float32) / 255.0
        previous = _warp(np.asarray(outputs[t - 1], np.float32) / 255.0, backward)
        errors.append(float(((current - previous) ** 2).sum(-1)[mask].mean()))
    return float(np.mean(errors)) if errors else 0.0

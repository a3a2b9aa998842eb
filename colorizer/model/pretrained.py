"""Pretrained ImageNet weights: Keras downloads them; here a failure becomes one clear line.

``keras.applications`` fetch their weights on first use (into ``~/.keras/models``). Offline or
behind a firewall that download raises a bare ``Exception("URL fetch failure ...")`` chained to
a ``urllib`` error, deep inside Keras. :func:`pretrained_weights` is the one place that turns
it, or an unreadable local weights file, into a :class:`~colorizer.errors.WeightsUnavailableError`
that says what failed and what to do; the command line prints it as one line.

Example:
    >>> with pretrained_weights("DenseNet121", "imagenet", hint="use --weights none"):
    ...     keras.applications.DenseNet121(include_top=False, weights="imagenet")
"""
from __future__ import annotations

import contextlib
import os
import socket
import urllib.error
from typing import Iterator

from colorizer.errors import WeightsUnavailableError

DENSENET_NOTOP_FILE = "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5"
"""The file Keras downloads for ``DenseNet121(include_top=False, weights="imagenet")``."""
_KERAS_DOWNLOAD_MESSAGES = ("URL fetch failure", "Incomplete or corrupted file")
"""How ``keras.utils.get_file`` words a failed or damaged download."""


def is_download_error(error: BaseException) -> bool:
    """True when ``error`` (or an error it was raised from) is a failed download."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, (urllib.error.URLError, socket.timeout, ConnectionError)):
            return True
        if any(text in str(error) for text in _KERAS_DOWNLOAD_MESSAGES):
            return True
        error = error.__cause__ or error.__context__
    return False


def _reason(error: BaseException) -> str:
    """The innermost, most specific reason of a download error, in one line."""
    while error.__cause__ or error.__context__:
        inner = error.__cause__ or error.__context__
        if not str(inner):
            break
        error = inner
    reason = getattr(error, "reason", None) or error
    return " ".join(str(reason).split())[:200]


@contextlib.contextmanager
def pretrained_weights(what: str, weights, *, hint: str) -> Iterator[None]:
    """Runs a ``keras.applications`` constructor, turning weight failures into one line.

    Args:
        what: The network, for the message (``"DenseNet121"``).
        weights: What the constructor is given: ``"imagenet"``, ``None`` or a file path.
        hint: What the user can do instead, appended to the message.

    Raises:
        WeightsUnavailableError: The ImageNet weights could not be downloaded, or the local
            weights file could not be read.
    """
    try:
        yield
    except WeightsUnavailableError:
        raise
    except Exception as error:
        if weights == "imagenet" and is_download_error(error):
            raise WeightsUnavailableError(
                f"could not download the ImageNet weights of {what} ({_reason(error)}); "
                f"offline or behind a firewall? {hint}") from error
        if weights not in (None, "imagenet") and isinstance(error, (OSError, ValueError)):
            raise WeightsUnavailableError(
                f"could not read {what} weights from {os.fspath(weights)} "
                f"({' '.join(str(error).split())[:200]}); {hint}") from error
        raise

"""ImageNet weights of Keras applications: found in the cache, downloaded, or reported missing.

Keras downloads ImageNet weights on first use into ``~/.keras/models`` (``$KERAS_HOME/models``)
and, offline or behind a firewall, fails deep inside a model constructor with a bare
``Exception("URL fetch failure ...")`` and a long traceback. This module is the one place that
deals with that, in two ways:

* ahead of any work, :func:`imagenet_weights` uses a cached file as is, or probes the download
  site and only then lets ``keras.utils.get_file`` fetch it; :func:`imagenet_weights_available`
  answers without downloading (``--classifier auto``, the demo's ``--weights auto``);
* around a constructor, :func:`pretrained_weights` turns a failed download or an unreadable
  local weights file into a :class:`~colorizer.errors.WeightsUnavailableError` that says what
  failed and what to do; the command line prints it as one line.

``COLORIZER_WEIGHTS_URL`` in the environment replaces the download site (a mirror, or a dead
address to rehearse an offline machine).

Example:
    >>> path = imagenet_weights("vgg16")          # cached, or downloaded now
    >>> keras.applications.VGG16(weights=path)
    >>> with pretrained_weights("DenseNet121", "imagenet", hint="use --weights none"):
    ...     keras.applications.DenseNet121(include_top=False, weights="imagenet")
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import urllib.error
import urllib.request
from typing import Iterator

from colorizer.errors import WeightsUnavailableError

log = logging.getLogger(__name__)

KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
"""Where Keras downloads its applications' weights from."""
URL_ENVIRONMENT = "COLORIZER_WEIGHTS_URL"
"""Environment variable that replaces :data:`KERAS_WEIGHTS_URL`."""
PROBE_TIMEOUT = 10.0
"""Seconds the download site has to answer before the weights count as unavailable."""

IMAGENET_WEIGHTS = {
    "vgg16": ("vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5",
              "64373286793e3c8b2b4e3219cbf3544b"),
    "densenet121_notop": ("densenet/densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5",
                          "30ee3e1110167f948a6b9946edeeb738"),
}
"""Weights files by name: path below the download site and MD5, as Keras has them."""


def keras_cache_dir() -> str:
    """Keras's cache folder: ``$KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras`` when the home
    folder is read-only), as Keras itself decides."""
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    home = os.path.expanduser("~")
    return os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")


def weights_url(name: str) -> str:
    """The download address of the weights file ``name`` (see :data:`IMAGENET_WEIGHTS`)."""
    base = os.environ.get(URL_ENVIRONMENT) or KERAS_WEIGHTS_URL
    return base.rstrip("/") + "/" + IMAGENET_WEIGHTS[name][0]


def cached_weights(name: str) -> str | None:
    """The path of the weights file ``name`` in Keras's cache, or ``None``."""
    path = os.path.join(keras_cache_dir(), "models", os.path.basename(IMAGENET_WEIGHTS[name][0]))
    return path if os.path.isfile(path) and os.path.getsize(path) > 0 else None


def download_problem(url: str, timeout: float = PROBE_TIMEOUT) -> str | None:
    """Asks the download site for the first byte of ``url``; ``None`` when it answers, else
    why not, in a few words."""
    if not url.startswith(("http://", "https://")):
        return f"{url} is not an http(s) address"
    request = urllib.request.Request(url, headers={"Range": "bytes=0-0"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(1)
            return None
    except urllib.error.HTTPError as error:
        return f"{url} answered HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return f"{url} cannot be reached ({reason})"


def imagenet_weights_available(name: str, timeout: float = PROBE_TIMEOUT) -> tuple[bool, str]:
    """Whether the ImageNet weights ``name`` can be had, and where from or why not.

    Returns:
        ``(True, "cached at PATH" | "downloadable from URL")`` or ``(False, reason)``.
    """
    path = cached_weights(name)
    if path:
        return True, f"cached at {path}"
    url = weights_url(name)
    problem = download_problem(url, timeout)
    if problem:
        return False, (f"not in {os.path.join(keras_cache_dir(), 'models')} and {problem}")
    return True, f"downloadable from {url}"


def imagenet_weights(name: str, timeout: float = PROBE_TIMEOUT) -> str:
    """The local path of the ImageNet weights ``name``, downloaded into Keras's cache if needed.

    Raises:
        WeightsUnavailableError: Not cached and the download site cannot be reached.
    """
    path = cached_weights(name)
    if path:
        return path
    available, reason = imagenet_weights_available(name, timeout)
    if not available:
        raise WeightsUnavailableError(f"ImageNet weights for {name} unavailable: {reason}")
    import keras

    relative, md5 = IMAGENET_WEIGHTS[name]
    log.info("downloading %s", weights_url(name))
    try:
        return keras.utils.get_file(os.path.basename(relative), weights_url(name),
                                    cache_dir=keras_cache_dir(), cache_subdir="models",
                                    file_hash=md5)
    except Exception as error:  # urllib, HTTP and hash errors alike: the download failed
        raise WeightsUnavailableError(
            f"downloading ImageNet weights for {name} failed: {error}") from error

def imagenet_weights_if_available(name: str,
                                   timeout: float = PROBE_TIMEOUT) -> tuple[str | None, str]:
    """What an ``"auto"`` setting uses: the weights when they can be had, else nothing.

    Returns:
        ``(local path, where from)`` when ``name`` is cached or downloadable (it is
        downloaded then), ``(None, why not)`` otherwise.

    Raises:
        WeightsUnavailableError: The site answered but the download itself failed.
    """
    available, reason = imagenet_weights_available(name, timeout)
    if not available:
        return None, reason
    return imagenet_weights(name, timeout), reason


DENSENET_NOTOP_FILE = os.path.basename(IMAGENET_WEIGHTS["densenet121_notop"][0])
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

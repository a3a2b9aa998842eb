"""ImageNet weights of Keras applications: found in the cache, downloaded, or reported missing.

Keras downloads ImageNet weights on first use into ``~/.keras/models`` (``$KERAS_HOME/models``)
and, offline or behind a firewall, fails deep inside a model constructor with a bare
``Exception("URL fetch failure ...")`` and a long traceback. This module is the one place that
deals with that, in two ways:

* ahead of any work, :func:`imagenet_weights` uses a cached file whose MD5 is right, or probes
  the download site and only then lets ``keras.utils.get_file`` fetch it, under a temporary
  name that is renamed into the cache once the MD5 is checked; :func:`imagenet_weights_available`
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
import hashlib
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
PARTIAL_DIR = ".partial"
"""Folder inside Keras's ``models`` cache where downloads are written before their MD5 is
checked."""
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


def file_md5(path: str | os.PathLike) -> str:
    """The MD5 of a file's contents, in hex (read in 1 MiB blocks)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_verified: dict[tuple[str, int, int], bool] = {}
"""Files whose hash was checked in this process, by (path, size, modification time)."""


def _matches(path: str, md5: str) -> bool:
    status = os.stat(path)
    key = (path, status.st_size, status.st_mtime_ns)
    if key not in _verified:
        _verified[key] = file_md5(path) == md5
    return _verified[key]


def cached_weights(name: str) -> str | None:
    """The path of the weights file ``name`` in Keras's cache when its MD5 is the expected
    one, else ``None``.

    A file that does not match (a download cut short by a kill or a lost connection, left by
    an older version or by Keras itself) does not count: it is downloaded again and replaced.
    """
    relative, md5 = IMAGENET_WEIGHTS[name]
    path = os.path.join(keras_cache_dir(), "models", os.path.basename(relative))
    if not os.path.isfile(path):
        return None
    if not _matches(path, md5):
        log.warning("%s is incomplete or damaged (its MD5 is not %s): it will be downloaded "
                    "again", path, md5)
        return None
    return path


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
    log.info("downloading %s", weights_url(name))
    try:
        return _download(name)
    except Exception as error:  # urllib, HTTP and hash errors alike: the download failed
        raise WeightsUnavailableError(
            f"downloading ImageNet weights for {name} failed: {error}") from error


def _download(name: str) -> str:
    """Downloads the weights ``name`` under a temporary name, checks their MD5 and only then
    renames them into the cache: a download cut short never sits under the real name.

    The temporary file lives in ``models/.partial/`` and carries the process id, so two
    processes never write one file, and the leftovers of killed downloads are removed.
    """
    import keras

    relative, md5 = IMAGENET_WEIGHTS[name]
    models = os.path.join(keras_cache_dir(), "models")
    partial = os.path.join(models, PARTIAL_DIR)
    os.makedirs(partial, exist_ok=True)  # Keras falls back to /tmp for a folder not yet made
    _remove_abandoned(partial)
    temporary_name = f"{os.path.basename(relative)}.{os.getpid()}"
    temporary = os.path.join(partial, temporary_name)
    try:
        # get_file checks the MD5 and removes what it wrote when the download fails.
        temporary = keras.utils.get_file(
            temporary_name, weights_url(name), cache_dir=keras_cache_dir(),
            cache_subdir=os.path.join("models", PARTIAL_DIR), file_hash=md5)
        final = os.path.join(models, os.path.basename(relative))
        os.replace(temporary, final)
        return final
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _remove_abandoned(partial: str) -> None:
    """Removes temporary downloads of processes that no longer exist (killed mid-download)."""
    if not os.path.isdir(partial) or os.name != "posix":  # Windows' os.kill ends processes
        return
    for entry in os.listdir(partial):
        pid = entry.rsplit(".", 1)[-1]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(partial, entry))
        except OSError:
            pass  # alive (another user's) or unknowable: leave it

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

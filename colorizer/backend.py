"""Which Keras backend runs the model: TensorFlow or JAX, chosen before Keras is imported.

Keras 3 reads ``KERAS_BACKEND`` once, when it is first imported; a process cannot switch later.
So the choice is made here, at the very start (the CLI's ``--backend``, notebook 02's first
cell), and everything else follows it::

    auto -> KERAS_BACKEND when set
         -> the backend of Keras when it is already imported
         -> jax on a TPU machine (Colab's TPU runtimes ship JAX, not TensorFlow)
         -> tensorflow otherwise

The model, its losses, the on-device augmentation, training with its backups and inference run
on both backends. TensorFlow is still needed on a JAX machine for ``tf.data``, the input
pipeline (decoding, caching, cropping): on a runtime without it :func:`tensorflow_missing`
says in one line what to install.

Example:
    >>> from colorizer.backend import use_backend
    >>> use_backend("auto")   # before anything imports keras
    'tensorflow'
"""
from __future__ import annotations

import importlib.util
import os
import sys

from colorizer.errors import ColorizerError

BACKENDS = ("auto", "tensorflow", "jax")
"""Values of ``--backend``."""
TENSORFLOW_FOR_JAX = "tensorflow-cpu"
"""What a JAX-only runtime installs for the input pipeline (no GPU or TPU build needed)."""


class BackendError(ColorizerError):
    """The asked-for backend cannot run in this process (the message says what to do)."""


def tpu_attached() -> bool:
    """Cheap evidence of a TPU: Colab's classic TPU address, a named TPU, or TPU VM devices."""
    return bool(os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME")
                or os.path.exists("/dev/accel0") or os.path.exists("/dev/vfio/0"))


def installed(package: str) -> bool:
    """Whether ``package`` can be imported, without importing it."""
    if package in sys.modules:
        return True
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # a broken or blocked installation
        return False


def running_backend() -> str | None:
    """The backend of the Keras already imported in this process, else ``None``."""
    keras = sys.modules.get("keras")
    return keras.backend.backend() if keras is not None and hasattr(keras, "backend") else None


def choose_backend(requested: str = "auto") -> str:
    """Resolves ``"auto"`` (see the module docstring); other names are returned checked."""
    if requested not in BACKENDS:
        raise BackendError(f"unknown backend {requested!r}; choose one of {', '.join(BACKENDS)}")
    if requested != "auto":
        return requested
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    if running_backend():
        return running_backend()
    if tpu_attached() and installed("jax"):
        return "jax"
    return "tensorflow"


def use_backend(requested: str = "auto") -> str:
    """Makes ``requested`` the Keras backend of this process; call it before importing Keras.

    Returns:
        The backend name: ``"tensorflow"`` or ``"jax"``.

    Raises:
        BackendError: Keras already runs on another backend, the backend's package is not
            installed, or the name is unknown; the message says what to do.
    """
    name = choose_backend(requested)
    if name not in ("tensorflow", "jax"):
        raise BackendError(f"KERAS_BACKEND={name} is not supported here; use tensorflow or jax")
    current = running_backend()
    if current is not None:
        if current != name:
            raise BackendError(
                f"Keras is already running on {current} in this process and cannot switch to "
                f"{name}: restart the runtime (Colab: Runtime > Restart session) and choose the "
                "backend first, or start Python with KERAS_BACKEND set")
        return name
    if not installed(name):
        raise BackendError(backend_missing(name))
    os.environ["KERAS_BACKEND"] = name
    return name


def backend_missing(name: str) -> str:
    """One line saying how to get backend ``name`` onto this machine."""
    if name == "tensorflow":
        if tpu_attached():
            return ("TensorFlow is not installed on this TPU runtime (Colab's TPU runtimes ship "
                    "JAX only): train with --backend jax (auto picks it on a TPU) and "
                    f"`pip install {TENSORFLOW_FOR_JAX}` for the input pipeline")
        return "TensorFlow is not installed: pip install tensorflow"
    return 'JAX is not installed: pip install "jax[cpu]" (CPU), "jax[cuda12]" (GPU) or ' \
           '"jax[tpu]" (TPU)'


def tensorflow_missing() -> str:
    """One line for a JAX machine without TensorFlow, which the input pipeline needs."""
    return (f"TensorFlow is not installed, and colorizer's input pipeline (tf.data) needs it "
            f"on every backend: `pip install {TENSORFLOW_FOR_JAX}` (on Colab: run the "
            "notebook's first cell, which installs it), then restart")

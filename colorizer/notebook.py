"""Helpers that let one notebook run in Colab, in Jupyter and in CI unchanged.

In Colab a notebook mounts Google Drive and keeps its data and runs there, so a disconnect loses
nothing; elsewhere it uses a local folder. With ``CI`` set in the environment the notebooks
shrink themselves (sample photos, ``weights=None``, a few steps) but run the same calls.

What goes where in Colab: Drive keeps what must survive a disconnect and is small (shards,
manifests, checkpoints, results); the runtime's local disk takes what is big and can be
fetched again (raw downloads, extracted archives, copies of the shards for training).

Example:
    >>> root = workspace("colorizer")       # Drive in Colab, ./runs/notebooks elsewhere
    >>> raw = local_scratch()                # /content/colorizer_local in Colab
"""
from __future__ import annotations

import os
import shutil
import sys
from typing import Iterable

from colorizer.fileio import write_zip

DRIVE_MOUNT = "/content/drive"
DRIVE_HOME = "/content/drive/MyDrive"


def in_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def is_ci() -> bool:
    """True when the ``CI`` environment variable is set to anything but ``""``/``0``/``false``."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def mount_drive() -> bool:
    """Mounts Google Drive in Colab (asks for permission once); returns whether it is mounted."""
    if not in_colab():
        return False
    if not os.path.isdir(DRIVE_HOME):
        from google.colab import drive  # only exists in Colab

        drive.mount(DRIVE_MOUNT)
    return os.path.isdir(DRIVE_HOME)


def workspace(name: str = "colorizer", local_root: str = "runs/notebooks") -> str:
    """The folder notebooks keep data and runs in: on Drive in Colab, local elsewhere."""
    root = os.path.join(DRIVE_HOME, name) if os.path.isdir(DRIVE_HOME) else local_root
    os.makedirs(root, exist_ok=True)
    return root


def local_scratch(name: str = "colorizer") -> str:
    """Fast local disk for copies of data (Colab's /content; a temp folder elsewhere)."""
    import tempfile

    base = "/content" if in_colab() else tempfile.gettempdir()
    path = os.path.join(base, f"{name}_local")
    os.makedirs(path, exist_ok=True)
    return path


def show_markdown(path_or_text: str) -> None:
    """Displays a Markdown file (or text) in the notebook, or prints it outside one."""
    text = path_or_text
    if os.path.isfile(path_or_text):
        with open(path_or_text, encoding="utf-8") as f:
            text = f.read()
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display

        if get_ipython() is not None:
            display(Markdown(text))
            return
    except ImportError:
        pass
    print(text)


def show_image(path: str, width: int | None = None) -> None:
    """Displays an image file in the notebook (prints its path outside one)."""
    try:
        from IPython import get_ipython
        from IPython.display import Image, display

        if get_ipython() is not None:
            display(Image(filename=path, width=width))
            return
    except ImportError:
        pass
    print(path)


def accelerators() -> dict[str, list[str]]:
    """The GPUs and TPUs this runtime has: ``{"gpu": [...], "tpu": [...]}`` (names).

    GPUs are read from ``nvidia-smi`` (no TensorFlow start-up needed); a TPU from the signs
    Colab and TPU VMs leave (``COLAB_TPU_ADDR``, ``TPU_NAME``, ``/dev/accel*``).
    """
    import glob
    import subprocess

    gpus: list[str] = []
    if shutil.which("nvidia-smi"):
        try:
            listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True,
                                     timeout=20).stdout
            gpus = [line.split(" (UUID")[0] for line in listing.splitlines()
                    if line.startswith("GPU ")]
        except (OSError, subprocess.SubprocessError):
            gpus = []
    tpus = sorted(glob.glob("/dev/accel*")) or [
        f"{name}={os.environ[name]}" for name in ("COLAB_TPU_ADDR", "TPU_NAME")
        if os.environ.get(name)]
    return {"gpu": gpus, "tpu": tpus}


def runtime_report(needs: str = "gpu") -> str:
    """What runtime the notebook expects, what this one has, and whether they match.

    Args:
        needs: ``"gpu"`` (training, evaluation, colorizing: a GPU, or a TPU on JAX, helps a
            lot) or ``"cpu"`` (downloading and preparing: a CPU runtime is enough).

    Returns:
        Three sentences, e.g. ``"Expects: a GPU runtime (T4) or a TPU runtime (JAX); a CPU
        works, slowly. Has: no GPU; no TPU; 2 CPU cores. ..."``.
    """
    expects = {"gpu": "Expects: a GPU runtime (T4) or a TPU runtime (JAX); a CPU works, slowly.",
               "cpu": "Expects: a CPU runtime (it downloads and prepares; no GPU or TPU needed)."}
    seen = accelerators()
    parts = [f"GPU: {', '.join(seen['gpu'])}" if seen["gpu"] else "no GPU",
             f"TPU: {', '.join(seen['tpu'])}" if seen["tpu"] else "no TPU"]
    text = f"{expects[needs]} Has: " + "; ".join(parts) + f"; {os.cpu_count()} CPU cores."
    if needs == "gpu" and not (seen["gpu"] or seen["tpu"]):
        text += (" This notebook runs much faster on a GPU: in Colab choose Runtime > Change "
                 "runtime type > T4 GPU (the CPU works, slowly).")
    elif needs == "cpu" and (seen["gpu"] or seen["tpu"]):
        text += " A CPU runtime is enough here; keep accelerator time for training."
    else:
        text += " This runtime suits this notebook."
    return text


def zip_files(files: Iterable[str], base: str, zip_path: str) -> str:
    """Writes ``files`` (paths under ``base``, stored relative to it) into one zip, atomically.

    Returns:
        ``zip_path``, e.g. for ``google.colab.files.download``.
    """
    return write_zip(zip_path, files, base)

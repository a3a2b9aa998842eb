"""Helpers that let one notebook run in Colab, in Jupyter and in CI unchanged.

In Colab a notebook mounts Google Drive and keeps its data and runs there, so a disconnect loses
nothing; elsewhere it uses a local folder. With ``CI`` set in the environment the notebooks
shrink themselves (sample photos, ``weights=None``, a few steps) but run the same calls.

Example:
    >>> root = workspace("colorizer")       # Drive in Colab, ./runs/notebooks elsewhere
"""
from __future__ import annotations

import os
import sys

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

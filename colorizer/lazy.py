"""Names a package re-exports from its modules, imported on first use.

A package's ``__init__`` stays cheap this way: ``import colorizer.data`` does not start
TensorFlow, and ``colorizer --help`` answers at once.

Example:
    >>> __getattr__, __dir__ = lazy_exports(__name__, {"make_dataset": "colorizer.data.pipeline"})
"""
from __future__ import annotations

import importlib
from typing import Callable, Mapping


def lazy_exports(package: str, names: Mapping[str, str]) -> tuple[Callable, Callable]:
    """Module-level ``__getattr__`` and ``__dir__`` that import ``names[name]`` on first use.

    Args:
        package: The package's ``__name__`` (for the error message).
        names: ``{exported name: module that defines it}``.
    """

    def __getattr__(name: str):
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        module = importlib.import_module(package)
        return sorted(set(vars(module)) | set(names))

    return __getattr__, __dir__

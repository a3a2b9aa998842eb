"""Griffe extension: the package's docstrings, written for ``help()`` and Sphinx habits, read
well on the site.

* ``Example:`` holding ``>>>`` lines becomes Google style's ``Examples:`` section, which the
  API pages show as Python sessions (the singular would be a quoted paragraph);
* a paragraph ending in reStructuredText's ``::`` ends in one colon (the block after it is
  already code);
* Sphinx roles such as ``:func:`colorizer.color.rgb_to_lab``` become inline code.
"""
from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":(?:func|class|data|meth|mod|attr|obj|exc|const):`~?([^`]+)`")
LITERAL = re.compile(r"(\S)::[ \t]*$", re.M)
EXAMPLE = re.compile(r"^(\s*)Example:[ \t]*$(?=\n\s*>>>)", re.M)


def tidy(text: str) -> str:
    """``text`` with its roles as inline code and ``Example:`` before ``>>>`` as ``Examples:``."""
    text = LITERAL.sub(r"\1:", ROLE.sub(r"`\1`", text))
    return EXAMPLE.sub(r"\1Examples:", text)


class TidyDocstrings(griffe.Extension):
    """Applies :func:`tidy` to every docstring as griffe loads it."""

    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = tidy(obj.docstring.value)

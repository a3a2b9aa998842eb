"""Where colorizer is published: the one place that names its GitHub repository and ref.

The notebooks' install line, their "Open in Colab" badges, the README's and the docs pages'
badges and install commands, and the download User-Agent all point at :data:`REPOSITORY` at
:data:`REF`. To publish under another name or pin another ref, change the two constants and
run::

    python -m colorizer.repository   # rewrites README.md, docs/ and notebooks/*.ipynb to match

``tests/notebooks/test_notebooks.py`` fails while any link disagrees, so they never drift.

Example:
    >>> install_spec()
    'colorizer[tensorflow] @ git+https://github.com/colorizer-dev/colorizer@main'
"""
from __future__ import annotations

import os
import re
import sys

REPOSITORY = "colorizer-dev/colorizer"
"""``owner/name`` of the repository on GitHub."""
REF = "main"
"""The branch, tag or commit that installs and badges point at (pin a tag for a release)."""

_SLUG = r"[\w.-]+/[\w.-]+"
_PATTERNS = (
    # Colab badges: .../github/OWNER/NAME/blob/REF/notebooks/...
    (re.compile(rf"(colab\.research\.google\.com/github/)({_SLUG})/blob/([\w./-]+?)(/notebooks/)"),
     lambda m: f"{m[1]}{REPOSITORY}/blob/{REF}{m[4]}"),
    # Installs: git+https://github.com/OWNER/NAME@REF
    (re.compile(rf"(git\+https://github\.com/)({_SLUG})@([\w./-]+)"),
     lambda m: f"{m[1]}{REPOSITORY}@{REF}"),
    # The notebooks' setup cell: COLORIZER_REPOSITORY = "..." and COLORIZER_REF = "..."
    (re.compile(r'(COLORIZER_REPOSITORY = \\?")([^"\\]*)(\\?")'),
     lambda m: f"{m[1]}{REPOSITORY}{m[3]}"),
    (re.compile(r'(COLORIZER_REF = \\?")([^"\\]*)(\\?")'),
     lambda m: f"{m[1]}{REF}{m[3]}"),
)


def install_spec(extras: str = "tensorflow") -> str:
    """The pip requirement that installs this repository at :data:`REF`, with ``extras``
    (``tensorflow`` brings TensorFlow; ``tpu`` its CPU build, for a JAX-only TPU runtime)."""
    return f"colorizer[{extras}] @ git+https://github.com/{REPOSITORY}@{REF}"


def colab_url(notebook: str) -> str:
    """The "Open in Colab" address of ``notebooks/<notebook>`` at :data:`REF`."""
    return (f"https://colab.research.google.com/github/{REPOSITORY}/blob/{REF}/notebooks/"
            f"{notebook}")


def linked_files(root: str) -> list[str]:
    """The files under ``root`` that link to the repository: README.md, the pages of ``docs/``
    that hold a badge or install line, and the notebooks."""
    notebooks = os.path.join(root, "notebooks")
    names = sorted(n for n in os.listdir(notebooks) if n.endswith(".ipynb"))
    return ([os.path.join(root, "README.md")] + _linked_pages(os.path.join(root, "docs"))
            + [os.path.join(notebooks, n) for n in names])


def _linked_pages(docs: str) -> list[str]:
    pages = []
    for folder, _, names in os.walk(docs):  # nothing when there is no docs/ folder
        for name in names:
            path = os.path.join(folder, name)
            if name.endswith(".md"):
                with open(path, encoding="utf-8") as f:
                    if links(f.read()):
                        pages.append(path)
    return sorted(pages)


def links(text: str) -> list[str]:
    """Every repository link in ``text`` (badge, install line or setup constant), as written."""
    return [m[0] for pattern, _ in _PATTERNS for m in pattern.finditer(text)]


def in_step(text: str) -> str:
    """``text`` with every repository link pointing at :data:`REPOSITORY` and :data:`REF`."""
    for pattern, replace in _PATTERNS:
        text = pattern.sub(replace, text)
    return text


def sync(root: str) -> list[str]:
    """Rewrites the links of README.md and the notebooks under ``root``; returns the files
    that changed."""
    changed = []
    for path in linked_files(root):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if in_step(text) != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(in_step(text))
            changed.append(path)
    return changed


if __name__ == "__main__":
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for changed_path in sync(sys.argv[1] if len(sys.argv) > 1 else here):
        print("updated", changed_path)

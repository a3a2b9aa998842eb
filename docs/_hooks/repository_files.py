"""MkDocs hook: the docs pages link to the repository's own files as they lie in a clone.

A page may point outside ``docs/`` with a relative link, as GitHub renders it:
``![the app](../assets/app.png)`` or ``[results](../benchmarks/results.json)``. At build time

* pictures outside ``docs/`` are copied into the site under ``repo/`` (one copy in git, shown
  on GitHub and on the site alike) and the page's link is pointed at that copy;
* every other file or folder becomes a link to it on GitHub, at the repository and ref that
  ``colorizer/repository.py`` names, so the site follows a rename like the README and the
  notebooks do (``python -m colorizer.repository``);
* Colab badges and install lines are brought in step with the same two constants.

A relative link to a file that does not exist is a warning, so ``mkdocs build --strict`` fails
on it. ``repository.py`` is loaded from its file: building the docs never imports TensorFlow.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import posixpath
import re

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.repository_files")

PICTURES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")
SITE_FOLDER = "repo"
"""Where pictures from outside ``docs/`` land in the site."""

# [text](target) and ![alt](target), with an optional "title"; <img src="target">.
LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)((?:\s+\"[^\"]*\")?\))")
IMG_SRC = re.compile(r'(<img\s[^>]*?src=")([^"]+)(")')
CODE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)


_repository = None
"""colorizer/repository.py, loaded by :func:`on_config`."""


def _load_repository(root: str):
    spec = importlib.util.spec_from_file_location(
        "_colorizer_repository", os.path.join(root, "colorizer", "repository.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _roots(config) -> tuple[str, str]:
    docs = os.path.abspath(config["docs_dir"])
    return docs, os.path.dirname(docs)


def _outside_target(page_path: str, target: str, docs: str, root: str) -> str | None:
    """The repository-relative path a link points at when it leaves ``docs/``, else None."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith(("#", "/")):
        return None
    path = target.split("#", 1)[0].split("?", 1)[0]
    if not path:
        return None
    full = os.path.normpath(os.path.join(os.path.dirname(page_path), path))
    if full == docs or full.startswith(docs + os.sep) or not full.startswith(root + os.sep):
        return None
    return os.path.relpath(full, root).replace(os.sep, "/")


def _links(markdown: str):
    text = CODE.sub("", markdown)
    for pattern in (LINK, IMG_SRC):
        for match in pattern.finditer(text):
            yield match[2]


def on_config(config):
    docs, root = _roots(config)
    global _repository
    repository = _repository = _load_repository(root)
    if not config.get("repo_url"):
        config["repo_url"] = f"https://github.com/{repository.REPOSITORY}"
        config["repo_name"] = repository.REPOSITORY
    return config


def on_files(files, config):
    docs, root = _roots(config)
    wanted = set()
    for page in files.documentation_pages():
        with open(page.abs_src_path, encoding="utf-8") as f:
            markdown = f.read()
        for target in _links(markdown):
            relative = _outside_target(page.abs_src_path, target, docs, root)
            if relative and relative.lower().endswith(PICTURES):
                wanted.add(relative)
    for relative in sorted(wanted):
        source = os.path.join(root, relative)
        if os.path.isfile(source):
            files.append(File.generated(config, f"{SITE_FOLDER}/{relative}",
                                        abs_src_path=source))
    return files


def on_page_markdown(markdown, page, config, files):
    docs, root = _roots(config)
    repository = _repository
    blob = f"https://github.com/{repository.REPOSITORY}/blob/{repository.REF}"
    tree = f"https://github.com/{repository.REPOSITORY}/tree/{repository.REF}"
    page_dir = posixpath.dirname(page.file.src_uri)

    def rewrite(match):
        target = match[2]
        relative = _outside_target(page.file.abs_src_path, target, docs, root)
        if relative is None:
            return match[0]
        full = os.path.join(root, relative)
        anchor = target[len(target.split("#", 1)[0]):]
        if not os.path.exists(full):
            log.warning("%s links to '%s', which is not in the repository",
                        page.file.src_uri, target)
            return match[0]
        if relative.lower().endswith(PICTURES):
            new = posixpath.relpath(f"{SITE_FOLDER}/{relative}", page_dir or ".")
        elif os.path.isdir(full):
            new = f"{tree}/{relative}"
        else:
            new = f"{blob}/{relative}{anchor}"
        return f"{match[1]}{new}{match[3]}"

    # Leave code blocks alone: split around them and rewrite the prose only.
    pieces, last = [], 0
    for block in CODE.finditer(markdown):
        pieces.append(_rewrite_prose(markdown[last:block.start()], rewrite))
        pieces.append(block[0])
        last = block.end()
    pieces.append(_rewrite_prose(markdown[last:], rewrite))
    return repository.in_step("".join(pieces))


def _rewrite_prose(text: str, rewrite) -> str:
    return IMG_SRC.sub(rewrite, LINK.sub(rewrite, text))

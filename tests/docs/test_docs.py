"""The documentation: the site builds with ``mkdocs build --strict`` and without the network,
every relative link and picture of README.md and of the docs pages resolves, and the README's
test command is the one CI runs."""
from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from colorizer import repository

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
HOOK = DOCS / "_hooks" / "repository_files.py"

# Inline links and pictures, [text](target "title"); reference definitions, [id]: target;
# HTML pictures and links.
INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
HTML = re.compile(r"<(?:img|a)\s[^>]*?(?:src|href)=\"([^\"]+)\"")
FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.S | re.M)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
EXPLICIT_ID = re.compile(r"\{[^}]*#([\w-]+)[^}]*\}")


def markdown_files() -> list[pathlib.Path]:
    pages = sorted(p for p in DOCS.rglob("*.md") if "_hooks" not in p.parts)
    return [ROOT / "README.md"] + pages


def prose(text: str) -> str:
    """``text`` without code blocks and code spans, where link syntax means nothing."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def link_targets(text: str) -> list[str]:
    text = prose(text)
    return [m[1] for pattern in (INLINE, DEFINITION, HTML) for m in pattern.finditer(text)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading (also MkDocs' for the plain headings these pages use)."""
    text = re.sub(r"`|\*\*|\*|_(?=\w)|\[([^\]]*)\]\([^)]*\)", lambda m: m[1] or "", heading)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: pathlib.Path) -> set[str]:
    text = prose(path.read_text(encoding="utf-8"))
    found = set(EXPLICIT_ID.findall(text))
    for heading in HEADING.findall(text):
        found.add(slug(EXPLICIT_ID.sub("", heading)))
    return found


def broken_links(path: pathlib.Path, root: pathlib.Path = ROOT) -> list[str]:
    """Each relative link or picture of ``path`` that names a missing file or heading."""
    problems = []
    for target in link_targets(path.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
            continue  # http(s), mailto: checked by nobody offline
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        name = f"{path.relative_to(root)}: '{target}'"
        if not resolved.exists():
            problems.append(f"{name} names a missing file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{name} names a heading that {resolved.name} does not have")
    return problems


def build(config: pathlib.Path, site: pathlib.Path) -> subprocess.CompletedProcess:
    """``mkdocs build --strict`` with every proxy pointed at a closed local port: a build that
    tried to fetch anything would fail or warn, and --strict turns warnings into failures."""
    closed = "http://127.0.0.1:9"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(ROOT), http_proxy=closed,
               https_proxy=closed, HTTP_PROXY=closed, HTTPS_PROXY=closed, no_proxy="",
               NO_PROXY="")
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
         "--site-dir", str(site)],
        cwd=config.parent, env=env, capture_output=True, text=True, timeout=120)


def test_every_relative_link_and_picture_resolves():
    problems = [p for path in markdown_files() for p in broken_links(path)]
    assert not problems, "\n".join(problems)
    # The check reads what it should: the README links pictures, docs pages and runs.
    readme = link_targets((ROOT / "README.md").read_text(encoding="utf-8"))
    assert any(t.startswith("assets/") and t.endswith(".png") for t in readme)
    assert any(t.startswith("docs/") for t in readme)
    assert any(t.startswith("benchmarks/") for t in readme)


def test_the_link_check_finds_a_broken_link_and_a_missing_heading(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) ![gone](missing.png) [bad](#nowhere)\n"
                    "`[not a link](missing.md)`\n\n```\n[nor](this.md)\n```\n")
    problems = broken_links(page, root=tmp_path)
    assert problems == ["page.md: 'missing.png' names a missing file",
                        "page.md: '#nowhere' names a heading that page.md does not have"]


def test_readme_test_command_is_the_one_ci_runs():
    """The README's command is three pytest runs; .ci/run runs each of them (in the Colab
    environments it builds, through each environment's python -m pytest)."""
    readme = " ".join(re.sub(r"\\\n\s*", " ", (ROOT / "README.md").read_text("utf-8")).split())
    command = readme[readme.index("pytest -n auto"):].split("`")[0].split(" ```")[0]
    parts = [part.strip() for part in command.split("&&")]
    assert parts[:2] == ["pytest -n auto --dist loadfile tests", "pytest notebooks"]
    assert parts[2] == "KERAS_BACKEND=jax pytest -n auto --dist loadfile -m backends tests"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    runs = [line for line in ci.splitlines() if not line.lstrip().startswith("#")]
    for part in parts:
        backend, _, pytest_args = part.rpartition("pytest ")
        lines = [line for line in runs if f"-m pytest {pytest_args}" in line]
        assert lines, part
        if backend:  # KERAS_BACKEND=jax: on the line that runs it
            assert all(backend.strip() in line for line in lines), part
    # The TPU runtime's notebooks run on JAX too.
    assert any("notebooks_in tpu" in line and "KERAS_BACKEND=jax" in line for line in runs)


@pytest.mark.timeout(180)
def test_site_builds_strict_and_offline(tmp_path):
    site = tmp_path / "site"
    result = build(ROOT / "mkdocs.yml", site)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    # Every page of the nav was written, with the pictures it shows.
    for page in ["index.html", "getting-started/index.html", "architecture/index.html",
                 "performance/index.html", "api/model/index.html"]:
        assert (site / page).is_file(), page
    assert (site / "repo" / "assets" / "app.png").is_file()
    assert (site / "repo" / "assets" / "demo_before_after.png").is_file()
    # The API reference comes from the docstrings.
    api = (site / "api" / "base" / "index.html").read_text(encoding="utf-8")
    assert "colorizer.color.rgb_to_lab" in api and "CIE Lab" in api
    # Links to the repository's files follow colorizer/repository.py.

    performance = (site / "performance" / "index.html").read_text(encoding="utf-8")
    assert (f"https://github.com/{repository.REPOSITORY}/blob/{repository.REF}/"
            "benchmarks/results.json") in performance
    # Nothing is fetched when a page is read either: no web fonts, scripts or styles from
    # elsewhere.
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        external = re.findall(r"<(?:script|link)[^>]*(?:src|href)=\"(?:https?:)?//[^\"]+", text)
        external = [e for e in external if 'rel="canonical"' not in e]
        assert not external, f"{html.relative_to(site)} loads {external}"


def small_site(root: pathlib.Path, pages: dict[str, str]) -> pathlib.Path:
    """A repository in ``root`` with ``pages`` in its docs/, built with the real mkdocs.yml's
    theme, hook and validation settings and a nav of index.md alone."""
    import yaml

    (root / "colorizer").mkdir()
    shutil.copy(ROOT / "colorizer" / "repository.py", root / "colorizer")
    (root / "assets").mkdir()
    shutil.copy(ROOT / "assets" / "app.png", root / "assets")
    (root / "docs").mkdir()
    for name, text in pages.items():
        (root / "docs" / name).write_text(text, encoding="utf-8")
    real = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.SafeLoader)
    config = {"site_name": "t", "theme": real["theme"], "hooks": [str(HOOK)],
              "validation": real["validation"], "nav": [{"Home": "index.md"}]}
    (root / "mkdocs.yml").write_text(yaml.safe_dump(config))
    return root / "mkdocs.yml"


def test_pictures_are_copied_and_files_link_to_the_repository(tmp_path):
    config = small_site(tmp_path, {"index.md": "# Home\n\n![app](../assets/app.png) "
                                               "[code](../colorizer/repository.py)\n"})
    built = build(config, tmp_path / "site")
    assert built.returncode == 0, built.stderr
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert 'src="repo/assets/app.png"' in html
    assert (tmp_path / "site" / "repo" / "assets" / "app.png").is_file()
    assert (f"https://github.com/{repository.REPOSITORY}/blob/{repository.REF}/"
            "colorizer/repository.py") in html


def test_a_page_outside_the_nav_builds_but_a_broken_link_in_it_fails(tmp_path):
    # A new page builds before it has a place in the nav (mkdocs.yml's validation says so)...
    config = small_site(tmp_path, {"index.md": "# Home\n",
                                   "new-page.md": "# New\n\n[home](index.md#home)\n"})
    built = build(config, tmp_path / "site")
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "new-page" / "index.html").is_file()
    # ...but not with a link to a missing page, heading or repository file.
    for link, message in [("missing.md", "missing.md"), ("index.md#nowhere", "nowhere"),
                          ("../benchmarks/gone.json", "links to '../benchmarks/gone.json'")]:
        (tmp_path / "docs" / "new-page.md").write_text(f"# New\n\n[x]({link})\n")
        broken = build(config, tmp_path / "site")
        assert broken.returncode != 0, link
        assert message in broken.stderr, broken.stderr

"""Builds a virtual environment that holds what a Colab runtime holds, then installs colorizer
into it exactly as the notebooks do in Colab, and fails if that install changes a package
Colab ships or makes pip print an error.

    python .ci/colab_env.py gpu .venv-gpu          # constraints/colab-gpu.txt
    python .ci/colab_env.py tpu .venv-tpu          # constraints/colab-tpu.txt
    python .ci/colab_env.py gpu-oldest .venv-old   # constraints/colab-gpu-oldest.txt
    python .ci/colab_env.py latest .venv-latest    # no constraints: the newest releases

Steps, each printed with its time:

1. A fresh environment with the runtime's Python (named in the constraints file's header).
2. Colab's own packages that the notebooks touch (``COLAB_PACKAGES`` below, those the runtime
   has), at the runtime's versions, with all they depend on: the environment Colab starts from.
3. The notebooks' install lines, taken from the notebooks themselves and run by IPython's
   ``%pip`` as in Colab (the first cell of 02, its export line, then 04's web-app line),
   with the GitHub address replaced by this checkout and, for ``tpu``, the signs of a TPU
   set.
4. Before/after: every package of step 2 must still be there at the same version, and pip's
   output must hold no ``ERROR``.
5. The test tools (setup.cfg's ``test`` extra), held to the runtime's versions.

Only the standard library is used; ``uv`` (installed in CI's own venv) makes the environments.
"""
from __future__ import annotations

import argparse
import configparser
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONSTRAINTS = {"gpu": "colab-gpu.txt", "tpu": "colab-tpu.txt",
               "gpu-oldest": "colab-gpu-oldest.txt", "latest": None}
COLAB_PACKAGES = [
    # The frameworks and what they pin (the TPU runtime has no tensorflow: skipped there).
    "tensorflow", "tensorboard", "keras", "jax", "jaxlib", "numpy", "h5py", "protobuf",
    "ml-dtypes",
    # colorizer's other needs, the web app's, the notebook kernel, and the pip that installs.
    "pip", "opencv-python", "opencv-python-headless", "pillow", "scikit-image", "matplotlib", "tqdm",
    "gdown", "gradio", "gradio-client", "ipykernel", "ipython", "jupyter-client", "nbformat",
]
"""Colab packages installed before colorizer, when the runtime has them."""
UNTRACKED = {"setuptools", "wheel"}
"""Tools the new environment brings itself; Colab's own versions of them do not matter."""
GIT_SPEC = "git+https://github.com/{COLORIZER_REPOSITORY}@{COLORIZER_REF}"
TPU_SIGNS = {"COLAB_TPU_ADDR": "10.0.0.2:8470"}
"""Environment that makes the notebooks' TPU check (and colorizer.backend) see a TPU."""


def canonical(name: str) -> str:
    """A package name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_constraints(path: str) -> tuple[str, dict[str, str]]:
    """The Python version named in a constraints file's header, and its pins by name."""
    python, pins = None, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            header = re.match(r"#\s*python:\s*(\S+)", line)
            if header:
                python = header.group(1)
            elif "==" in line and not line.startswith("#"):
                name, version = line.strip().split("==", 1)
                pins[canonical(name)] = version
    if python is None:
        raise SystemExit(f"{path}: no '# python: X.Y' line in its header")
    return python, pins


def find_python(version: str) -> str:
    """An interpreter of ``version`` (e.g. ``3.13``): pyenv's, else one on PATH."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", "python3")))
    if found:
        return found[-1]
    on_path = shutil.which(f"python{version}")
    if on_path:
        return on_path
    raise SystemExit(f"no Python {version} here: install it (pyenv install {version})")


def install_lines(notebook: str, cell_marker: str | None = None) -> str:
    """The install part of a notebook cell, to run in IPython.

    Without ``cell_marker``: the first code cell up to its first colorizer import (what runs
    before colorizer exists). With it: only the ``%pip`` lines of the first code cell holding
    ``cell_marker``, unindented. The GitHub address becomes this checkout.
    """
    with open(notebook, encoding="utf-8") as f:
        cells = [("".join(c["source"]) if isinstance(c["source"], list) else c["source"])
                 for c in json.load(f)["cells"] if c["cell_type"] == "code"]
    if cell_marker is None:
        lines = []
        for line in cells[0].splitlines():
            if re.match(r"(from|import) colorizer\b", line):
                break
            lines.append(line)
        source = "\n".join(lines)
    else:
        cell = next(c for c in cells if cell_marker in c)
        source = "\n".join(line.strip() for line in cell.splitlines()
                           if line.strip().startswith("%pip"))
    if GIT_SPEC not in source:
        raise SystemExit(f"{notebook}: no install from {GIT_SPEC} found; update {__file__}")
    return source.replace(GIT_SPEC, "file://" + ROOT)


def run_in_ipython(python: str, sources: list[str], env: dict[str, str]) -> str:
    """Runs each source as an IPython cell in ``python``, as if inside Colab; returns the
    combined output of the cells and of the pip processes they start."""
    driver = (
        "import sys, types\n"
        "sys.modules['google.colab'] = types.ModuleType('google.colab')  # IN_COLAB\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        f"for source in {sources!r}:\n"
        "    result = shell.run_cell(source)\n"
        "    if not result.success:\n"
        "        sys.exit(1)\n")
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run([python, "-c", driver], cwd=scratch, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if done.returncode:
        raise SystemExit(f"the notebooks' install lines failed:\n{done.stdout}")
    return done.stdout


def resolve(uv: str, python: str, held: list[str], requirements: list[str],
            env: dict[str, str]) -> list[str]:
    """The canonical names of every package ``requirements`` resolve to."""
    with tempfile.NamedTemporaryFile("w", suffix=".in") as listing:
        listing.write("\n".join(requirements) + "\n")
        listing.flush()
        resolved = subprocess.run([uv, "pip", "compile", "--quiet", "--no-header",
                                   "--no-annotate", "--python", python, *held, listing.name],
                                  check=True, capture_output=True, text=True, env=env).stdout
    return [canonical(line.split("==")[0].split(" @ ")[0]) for line in resolved.splitlines()
            if line.strip() and not line.startswith("#")]


def installed(python: str) -> dict[str, str]:
    """Every distribution in the environment of ``python``, by canonical name."""
    listing = subprocess.run(  # -I: this environment only, not the checkout it runs in
        [python, "-I", "-c", "import json, importlib.metadata as m; print(json.dumps("
                       "{d.metadata['Name']: d.version for d in m.distributions()}))"],
        check=True, capture_output=True, text=True).stdout
    return {canonical(name): version for name, version in json.loads(listing).items() if name}


def changed_packages(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The packages of ``before`` that ``after`` lacks or holds at another version.

    Example:
        >>> changed_packages({"h5py": "3.16.0", "keras": "3.13.2"}, {"h5py": "3.15.1",
        ...                   "keras": "3.13.2", "tensorflow-cpu": "2.20.0"})
        ['h5py 3.16.0 -> 3.15.1']
    """
    return [f"{name} {version} -> {after.get(name, 'removed')}"
            for name, version in sorted(before.items())
            if name not in UNTRACKED and after.get(name) != version]


def unpinned_floors(pins: dict[str, str]) -> list[str]:
    """setup.cfg's run-time requirements that Colab's runtime lacks, at their lowest declared
    version (``av==15.0``): the oldest environment starts with them, so those minimums are
    run too, not only the newest releases pip would pick."""
    setup = configparser.ConfigParser()
    setup.read(os.path.join(ROOT, "setup.cfg"))
    floors = []
    for line in setup["options"]["install_requires"].split():
        name, minimum = re.match(r"([\w.-]+)(?:\[[\w,]+\])?>=([\w.]+)$", line).groups()
        if canonical(name) not in pins:
            floors.append(f"{name}=={minimum}")
    return floors


def test_requirements(runtime: str) -> list[str]:
    """setup.cfg's ``test`` extra (with the extras it includes). On the TPU runtime without
    TensorFlow itself: the CPU build its notebook installed stays (the two overwrite each
    other), and without the docs' tools."""
    setup = configparser.ConfigParser()
    setup.read(os.path.join(ROOT, "setup.cfg"))
    lines = [line.strip() for line in setup["options.extras_require"]["test"].splitlines()
             if line.strip()]
    if runtime == "tpu":
        lines = [line for line in lines if not re.match(r"tensorflow\b(?!-)", line)]
        # The docs' tools need a newer Markdown than the TPU runtime pins; the docs are built
        # in the GPU environments (the TPU one runs the notebooks and the JAX tests).
        lines = [line for line in lines if not line.startswith(("mkdocs", "%(docs)s"))]
    return lines


class Steps:
    """Prints each step with the seconds it took (CI's log shows where the time goes)."""

    def __init__(self, name: str):
        self.name, self.start = name, time.monotonic()

    def __call__(self, text: str) -> None:
        print(f"[colab-env {self.name} {time.monotonic() - self.start:6.1f}s] {text}", flush=True)


def build(runtime: str, venv: str, uv: str) -> None:
    step = Steps(runtime)
    constraints = CONSTRAINTS[runtime]
    if constraints:
        constraints = os.path.join(ROOT, "constraints", constraints)
        python_version, pins = read_constraints(constraints)
    else:
        python_version, pins = "3.13", {}
    held = ["-c", constraints] if constraints else []
    uv_env = dict(os.environ, UV_PYTHON_DOWNLOADS="never")
    subprocess.run([uv, "venv", "--quiet", "--seed", "--clear", "--python",
                    find_python(python_version), venv], check=True, env=uv_env)
    python = os.path.join(venv, "bin", "python")
    step(f"environment made with Python {python_version}")

    # Colab's starting point: its own packages, at its versions: those the notebooks touch,
    # and every one of Colab's that installing colorizer would pull in (in Colab they are
    # there already, held at these versions).
    wanted = [name for name in COLAB_PACKAGES if not pins or canonical(name) in pins]
    if pins:
        extra = "tpu" if runtime == "tpu" else "tensorflow"
        wanted += [name for name in resolve(uv, python, held, [
            *wanted, f"colorizer[app,{extra}] @ file://{ROOT}"], uv_env)
            if name in pins and name not in map(canonical, wanted)]
    if runtime == "gpu-oldest":
        wanted += unpinned_floors(pins)
    subprocess.run([uv, "pip", "install", "--quiet", "--python", python, *held, *wanted],
                   check=True, env=uv_env)
    before = installed(python)
    if pins:
        other = [f"{name} {version} (Colab: {pins[name]})" for name, version in
                 sorted(before.items()) if name in pins and pins[name] != version
                 and name not in UNTRACKED]
        if other:
            raise SystemExit(f"not as on Colab {runtime}: {', '.join(other)}")
        # Colab's list can lack a dependency it does not need (a freeze of a tuned image).
        unlisted = sorted(set(before) - set(pins) - UNTRACKED)
        if unlisted:
            step(f"not in Colab's list, installed as dependencies: {', '.join(unlisted)}")
    step(f"{len(before)} packages, {'as Colab has them' if pins else 'the newest releases'} "
         f"({', '.join(wanted)} and what they need)")

    # The notebooks' own install lines, run as in Colab.
    env = dict(os.environ, PATH=os.path.dirname(python) + os.pathsep + os.environ["PATH"])
    env.pop("PYTHONPATH", None)
    env.pop("KERAS_BACKEND", None)
    if runtime == "tpu":
        env.update(TPU_SIGNS)
    notebooks = os.path.join(ROOT, "notebooks")
    output = run_in_ipython(python, [install_lines(os.path.join(notebooks, "02_train.ipynb")),
                                     install_lines(os.path.join(notebooks, "02_train.ipynb"),
                                                   "export_colorizer("),
                                     install_lines(os.path.join(notebooks, "04_colorize.ipynb"),
                                                   "from colorizer.app import launch")], env)
    print(output.rstrip())
    after = installed(python)
    added = sorted(set(after) - set(before))
    step(f"notebook install lines added {len(added)} packages: {', '.join(added)}")
    # What the install added must be what Colab lacks: the rest was there already.
    unheld = [f"{name} {after[name]}" for name in added if name in pins and name not in UNTRACKED]
    if unheld:
        raise SystemExit(f"installing colorizer added packages Colab has (so they were not "
                         f"here as in Colab: pip resolved otherwise than uv): {', '.join(unheld)}")
    errors = [line for line in output.splitlines() if "ERROR" in line]
    changed = changed_packages(before, after)
    if errors or (changed and runtime != "latest"):
        raise SystemExit("installing colorizer as the notebooks do "
                         + (f"changed Colab's packages: {', '.join(changed)}" if changed else "")
                         + ("; " if changed and errors else "")
                         + (f"made pip print: {' | '.join(errors)}" if errors else ""))
    step("no Colab package changed, no pip error")

    # The test tools, at the runtime's versions where it has them.
    subprocess.run([uv, "pip", "install", "--quiet", "--python", python, *held,
                    *test_requirements(runtime)], check=True, env=uv_env)
    if runtime != "latest":
        changed = changed_packages(before, installed(python))
        if changed:
            raise SystemExit(f"the test tools changed Colab's packages: {', '.join(changed)}")
    step("test tools installed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runtime", choices=sorted(CONSTRAINTS))
    parser.add_argument("venv", help="where to make the environment")
    parser.add_argument("--uv", default=shutil.which("uv") or "uv", help="the uv to use")
    args = parser.parse_args(argv)
    build(args.runtime, os.path.abspath(args.venv), args.uv)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The package's imports run one way, down the data flow: cli -> app -> evaluation | inference
-> training -> model -> data -> base. A backwards arrow fails here, with the line that draws it."""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "colorizer"

STAGES = {"data": 1, "model": 2, "training": 3, "evaluation": 4, "inference": 4, "app": 5,
          "cli": 6}
"""Rank of each stage; base modules (at the top of the package) rank 0. The command line may
start the web app (``colorizer app``); the app never calls the command line."""


def stage_of(module: str) -> str:
    """``colorizer.data.pipeline`` -> ``data``; a base module -> ``base``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else "base"


def rank(stage: str) -> int:
    return STAGES.get(stage, 0)


def module_name(path: pathlib.Path, root: pathlib.Path = PACKAGE) -> str:
    relative = path.relative_to(root.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def colorizer_imports(path: pathlib.Path):
    """``(line, imported module)`` for every import of the package in a file, nested ones too."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "colorizer":  # from colorizer import X: X may be a module
                for alias in node.names:
                    yield node.lineno, f"colorizer.{alias.name}"
            elif node.module.startswith("colorizer."):
                yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("colorizer."):
                    yield node.lineno, alias.name


def backward_arrows(files, root: pathlib.Path = PACKAGE) -> list[str]:
    """Every import that points up the flow, or sideways between sibling stages."""
    problems = []
    for path in files:
        importer = module_name(path, root)
        source = stage_of(importer)
        for line, imported in colorizer_imports(path):
            target = stage_of(imported)
            if target == source:
                continue
            if rank(target) > rank(source) or (rank(target) == rank(source) and source != "base"):
                problems.append(f"{path.relative_to(root.parent)}:{line}: {source} "
                                f"imports {imported} ({target})")
    return problems


def package_files():
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")


def test_every_stage_is_a_subpackage():
    for stage in ("data", "model", "training", "evaluation", "inference", "app", "cli"):
        assert (PACKAGE / stage / "__init__.py").is_file(), stage


def test_imports_run_one_way():
    files = [p for p in package_files() if p != PACKAGE / "__init__.py"]
    assert len(files) > 40
    assert backward_arrows(files) == []


def test_base_modules_import_no_stage():
    base = [p for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert {p.stem for p in base} >= {"color", "fileio", "plots", "notebook"}
    for path in base:
        assert [m for _, m in colorizer_imports(path) if stage_of(m) != "base"] == [], path


@pytest.mark.parametrize("source, target, bad", [
    ("data/x.py", "colorizer.training.distribute", True),
    ("model/x.py", "colorizer.evaluation.metrics", True),
    ("evaluation/x.py", "colorizer.inference.outputs", True),
    ("inference/x.py", "colorizer.training.train", False),
    ("cli/x.py", "colorizer.data.pipeline", False),
    ("cli/x.py", "colorizer.app.server", False),
    ("app/x.py", "colorizer.cli.commands", True),
    ("color2.py", "colorizer.data", True),
])
def test_the_check_catches_a_backward_arrow(tmp_path, source, target, bad):
    # The rule itself, on files written here: a check that found nothing anywhere would
    # also pass the test above.
    root = tmp_path / "colorizer"
    path = root / source
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"def f():\n    from {target} import something\n")
    assert bool(backward_arrows([path], root)) is bad


def test_public_api_keeps_working():
    import colorizer

    for name in ("colorize", "build_colorizer", "make_dataset", "train", "read_rgb",
                 "load_colorizer", "rgb_to_lab", "lab_to_rgb", "colorize_inputs"):
        assert callable(getattr(colorizer, name)), name
    from colorizer.data import make_dataset
    from colorizer.inference import colorize
    from colorizer.model import build_colorizer

    assert colorizer.make_dataset is make_dataset and colorizer.colorize is colorize
    assert colorizer.build_colorizer is build_colorizer

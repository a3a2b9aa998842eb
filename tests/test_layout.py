"""The package's imports run one way, down the data flow, and draw no circle:
cli -> app | scale_out -> batches -> films -> guided -> evaluation | inference | export
-> training | runtimes -> model -> data -> base. A backwards arrow, or any import circle
between modules, fails here with the lines that draw it."""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "colorizer"

STAGES = {"data": 1, "model": 2, "training": 3, "runtimes": 3, "evaluation": 4, "inference": 4,
          "export": 4, "guided": 5, "films": 6, "batches": 7, "app": 8, "scale_out": 8,
          "cli": 9}
"""Rank of each stage; base modules (at the top of the package) rank 0. Photos (inference) are
the base guided colour builds on; films use both; batches run whatever each input is (photo,
guided photo, film), so they stand above all three; the Beam pipeline (scale_out) runs the
batch stage's per-photo pieces on many machines, beside the app. The command line may start the web app
(``colorizer app``); the app never calls the command line."""


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
            if node.module == "colorizer" or node.module.startswith("colorizer."):
                for alias in node.names:  # from colorizer.x import y: y may be a module
                    yield node.lineno, f"{node.module}.{alias.name}"
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
    for stage in STAGES:
        assert (PACKAGE / stage / "__init__.py").is_file(), stage


def import_graph(files, root: pathlib.Path = PACKAGE) -> dict[str, dict[str, int]]:
    """``{importer: {imported module: line}}`` over ``files``, nested imports included; an
    import of a name from a package (``from colorizer.films import x``) counts as an import
    of the package's ``__init__``."""
    modules = {module_name(path, root): path for path in files}
    graph: dict[str, dict[str, int]] = {name: {} for name in modules}
    for name, path in modules.items():
        for line, imported in colorizer_imports(path):
            while imported not in modules and "." in imported:
                imported = imported.rsplit(".", 1)[0]  # a name inside a module
            if imported in modules and imported != name:
                graph[name].setdefault(imported, line)
    return graph


def import_circles(files, root: pathlib.Path = PACKAGE) -> list[list[str]]:
    """Every import circle among ``files``: each as the modules along it, the first repeated
    at the end (one circle per strongly connected group of modules)."""
    graph = import_graph(files, root)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(_path_round(graph, set(group), min(group)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def _path_round(graph, group: set[str], start: str) -> list[str]:
    """A circle through ``start`` inside ``group`` (breadth first, so the shortest)."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node]):
            if target == start:
                return paths[node] + [start]
            if target in group and target not in paths:
                paths[target] = paths[node] + [target]
                queue.append(target)
    return [start]


def test_no_module_imports_itself_round_a_circle():
    # The package's __init__ files only name where things are (lazily): they import nothing
    # eagerly, so they stand outside any circle; the rest must have none at all.
    circles = import_circles(package_files())
    assert circles == [], "\n".join(" -> ".join(circle) for circle in circles)


def test_the_circle_check_finds_a_circle_inside_one_stage(tmp_path):
    root = tmp_path / "colorizer"
    (root / "inference").mkdir(parents=True)
    (root / "inference" / "a.py").write_text("from colorizer.inference.b import g\n")
    (root / "inference" / "b.py").write_text("def g():\n    from colorizer.inference import a\n")
    (root / "inference" / "c.py").write_text("from colorizer.inference.b import g\n")
    files = sorted(root.rglob("*.py"))
    assert import_circles(files, root) == [["colorizer.inference.a", "colorizer.inference.b",
                                            "colorizer.inference.a"]]
    (root / "inference" / "b.py").write_text("def g():\n    pass\n")
    assert import_circles(sorted(root.rglob("*.py")), root) == []


def test_no_module_imports_another_modules_private_names():
    found = []
    for path in package_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("colorizer"):
                found += [f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {alias.name}"
                          for alias in node.names
                          if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert found == []


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
    ("inference/x.py", "colorizer.guided.guided", True),
    ("guided/x.py", "colorizer.films.video", True),
    ("films/x.py", "colorizer.guided.hints", False),
    ("films/x.py", "colorizer.batches.batch", True),
    ("batches/x.py", "colorizer.films.video", False),
    ("evaluation/x.py", "colorizer.guided.hints", True),
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
    from colorizer.batches import colorize_inputs
    from colorizer.data import make_dataset
    from colorizer.guided import colorize
    from colorizer.model import build_colorizer

    assert colorizer.make_dataset is make_dataset and colorizer.colorize is colorize
    assert colorizer.build_colorizer is build_colorizer
    assert colorizer.colorize_inputs is colorize_inputs

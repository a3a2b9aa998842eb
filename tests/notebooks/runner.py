"""Runs a notebook top to bottom in a fresh kernel of this environment, as nbval does, with
parameters injected after its ``parameters`` cell (the papermill convention), so a test can
take a form option that CI's own run of the notebook does not.

    outputs = run_notebook("notebooks/02_train.ipynb", {"HEAD": "classification"}, cwd=tmp)
"""
from __future__ import annotations

import os
import re
from queue import Empty

import nbformat
from nbval.kernel import CURRENT_ENV_KERNEL_NAME, RunningKernel

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def with_parameters(path: str, parameters: dict) -> nbformat.NotebookNode:
    """The notebook at ``path`` with a cell assigning ``parameters`` after its parameters cell."""
    notebook = nbformat.read(path, as_version=4)
    index = next(i for i, cell in enumerate(notebook.cells)
                 if "parameters" in cell.metadata.get("tags", []))
    source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    injected = nbformat.v4.new_code_cell(source)
    injected.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(index + 1, injected)
    return notebook


def run_notebook(path: str, parameters: dict | None = None, *, cwd: str,
                 cell_timeout: float = 600) -> list[str]:
    """Executes every code cell; returns each cell's text output.

    Raises:
        AssertionError: A cell raised; the message holds the cell and the kernel's traceback.
    """
    notebook = with_parameters(path, parameters or {})
    kernel = RunningKernel(CURRENT_ENV_KERNEL_NAME, cwd=os.fspath(cwd), startup_timeout=120)
    outputs = []
    try:
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            msg_id = kernel.execute_cell_input(cell.source, allow_stdin=False)
            text = []
            while True:
                try:
                    msg = kernel.get_message("iopub", timeout=cell_timeout)
                except Empty:
                    raise AssertionError(f"cell timed out:\n{cell.source}") from None
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    text.append(content["text"])
                elif kind == "error":
                    trace = _ANSI.sub("", "\n".join(content["traceback"]))
                    raise AssertionError(f"cell failed:\n{cell.source}\n{trace}")
                elif kind == "status" and content["execution_state"] == "idle":
                    break
            outputs.append("".join(text))
    finally:
        kernel.stop()
    return outputs

"""``colorizer app --model best.onnx``: the web app serves an exported file as it serves the
``.keras`` one, through its HTTP API, with the very file `colorizer colorize` writes."""
from __future__ import annotations

from colorizer.cli import main
from colorizer.data.samples import HOLDOUT_PHOTOS, available
from tests.app.conftest import launch_on_a_free_port


def test_the_app_serves_an_onnx_file_as_colorize_does(exported, tmp_path):
    from gradio_client import Client, handle_file

    photo = available(HOLDOUT_PHOTOS)[0]
    app = launch_on_a_free_port(exported["hints.onnx"], host="127.0.0.1", block=False,
                                quiet=True)
    try:
        client = Client(app.url, verbose=False, download_files=str(tmp_path / "app"))
        status, _, _, downloads = client.predict([handle_file(photo)], "", 224,
                                                 api_name="/colorize")
    finally:
        app.close()
    assert status.startswith("Colorized 1 of 1 photo in"), status
    assert main(["colorize", "--model", exported["hints.onnx"], "--out",
                 str(tmp_path / "cli"), photo]) == 0
    with open(downloads[0], "rb") as app_file, \
            open(tmp_path / "cli" / photo.rsplit("/", 1)[1], "rb") as cli_file:
        assert app_file.read() == cli_file.read()


BUILD_THE_PAGE = """
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "jax"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Refuse())
from colorizer.app.ui import build_app
from colorizer.runtimes.network import load_colorizer
for path in sys.argv[2:]:
    build_app(load_colorizer(path), sys.argv[1])
print("imported:", [m for m in ("tensorflow", "keras", "jax") if m in sys.modules])
"""


def test_the_page_is_built_for_an_export_with_no_framework_imported(exported, tmp_path):
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run([sys.executable, "-c", BUILD_THE_PAGE, str(tmp_path),
                           exported["classification.onnx"], exported["hints.tflite"]],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": root})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "imported: []"

"""Long, thin photos: the model input stays near render_size^2 pixels whatever the shape, and a
strip of 1 x 50,000,000 pixels (under the 50 MP cap, 48 KB of PNG) is refused with a clear
line, at a small cost in memory, while short strips (1 x 300) are still colorized."""
from __future__ import annotations

import subprocess
import sys

import pytest

from colorizer.fileio import save_model
from colorizer.inference.full_resolution import MAX_SIDE, working_size
from tests.app.conftest import toned_down_model
from tests.bombs import zero_png


@pytest.mark.parametrize("render_size", [32, 64, 160, 224, 384, 768])
def test_the_model_input_stays_near_render_size_squared_for_any_shape(render_size):
    for short in (1, 3, 31, 32, 33, 500, 3000):
        for aspect in (1, 1.5, 2.4, 7, 20, 48, 49, 50, 75, 300, 5000):
            long = min(MAX_SIDE, round(short * aspect))
            for height, width in ((short, long), (long, short)):
                h, w = working_size(height, width, render_size)
                assert h % 32 == 0 and w % 32 == 0 and min(h, w) >= 32
                assert h * w <= max(1.34 * render_size ** 2, 32 * 32), (height, width)
                assert (h >= w) == (height >= width) or h == w  # the long side stays long


def test_the_usual_photos_keep_their_working_size():
    assert working_size(3000, 4000) == (192, 256)
    assert working_size(224, 224) == (224, 224)
    assert working_size(1000, 20000) == (64, 992)  # a 1:20 panorama keeps its aspect


def test_a_strip_is_refused_with_what_to_do():
    with pytest.raises(ValueError, match=r"50000000 x 1 pixels: a side longer than 65535 pixels "
                                         r"\(the most a JPEG can hold\) is not colorized; crop "
                                         "it into shorter parts"):
        working_size(1, 50_000_000)
    assert working_size(1, MAX_SIDE) == (32, 1568)  # the longest accepted strip
    with pytest.raises(ValueError, match="has no area"):
        working_size(0, 10)


@pytest.mark.slow
def test_colorize_refuses_a_50_megapixel_strip_in_little_memory(tmp_path):
    """`colorizer colorize` on a 1 x 50,000,000 PNG once built a 32 x 1,583,904 model input and
    peaked at 23 GB; now it names the file, goes on with the others and exits 1."""
    strip = tmp_path / "strip.png"
    assert zero_png(strip, 50_000_000, 1) < 100_000
    good = tmp_path / "fine.png"
    zero_png(good, 40, 30)
    model = tmp_path / "model.keras"
    save_model(toned_down_model(), model)
    command = [sys.executable, "-m", "colorizer", "colorize", "--model", str(model), "--out",
               str(tmp_path / "out"), "--render-size", "64", str(strip), str(good)]
    # A parent of its own measures the command's peak memory (RUSAGE_CHILDREN of this test
    # process would also hold earlier tests' children).
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True,
                          text=True, timeout=300)
    returncode, peak_kb = map(int, done.stdout.split()[-2:])
    assert returncode == 1, done.stderr[-2000:]
    assert f"{strip}: 50000000 x 1 pixels: a side longer than 65535 pixels" in done.stderr
    assert (tmp_path / "out" / "fine.png").is_file()
    # TensorFlow and the model take most of it; the strip adds its 50 MB decode.
    assert peak_kb < 3 << 20, f"peak {peak_kb / 2**20:.1f} GB"


MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

"""Hostile inputs: what each costs (time, peak memory) and what the user is told.

Every case runs in a fresh Python process of its own, so its peak resident memory
(``ru_maxrss``) is its own; the ``baseline`` row is the same process doing nothing but its
imports (and, for films, building the small model), so a case's own cost is its peak minus
that. Cases: malformed hints files, an endless hints file, a scribbles bomb, films whose frames
change size (a 12000 x 12000 frame in a 1.7 MB AVI), a film whose header lists one frame more
than it holds, and films with sound MP4 cannot hold.

Usage:
    python benchmarks/hostile_inputs.py [--out benchmarks/hostile_inputs.json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

PRELUDE = """
import json, os, sys, time
sys.path.insert(0, {root!r})
from colorizer.guided.hints import Hints, hint_pixels, load_hints
def report(start, outcome):
    # VmHWM: this program's own peak (ru_maxrss keeps the parent's, from before the exec).
    peak = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) // 1024
    print(json.dumps({{"seconds": round(time.perf_counter() - start, 3), "outcome": outcome,
                      "peak_mb": peak}}))
"""
FILM_PRELUDE = """
import keras
from colorizer.batches.batch import colorize_inputs
inputs = keras.Input((None, None, 1))
model = keras.Model(inputs, keras.layers.Conv2D(2, 3, padding="same")(inputs))
"""
HINTS_CASE = """
start = time.perf_counter()
try:
    load_hints(sys.argv[1]); outcome = "accepted"
except Exception as error:
    outcome = f"{{type(error).__name__}}: {{error}}"
report(start, outcome[:160])
"""
SCRIBBLES_CASE = """
start = time.perf_counter()
try:
    hint_pixels(Hints(scribbles=sys.argv[1]), 120, 160); outcome = "accepted"
except Exception as error:
    outcome = f"{{type(error).__name__}}: {{error}}"
report(start, outcome[:160])
"""
FILM_CASE = """
start = time.perf_counter()
manifest = colorize_inputs(model, [sys.argv[1]], sys.argv[2], render_size=64, progress=False)
entry = manifest.entries[0]
report(start, f"{{entry.status}}: " + (entry.reason or f"{{entry.frames}} frames")[:160])
"""
BASELINE = "start = time.perf_counter()\nreport(start, 'imports only')\n"


def _run(code: str, *args: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                            text=True, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"outcome": f"crashed: {result.stderr.strip().splitlines()[-1:]}"}
    return json.loads(lines[-1])


def _hints_files(folder: str) -> dict[str, str]:
    cases = {
        "x of 5,000 digits": '{"points": [{"x": ' + "9" * 5000 + ', "y": 1, "color": "#a32"}]}',
        "colour [Infinity, 0, 0]": '{"points": [{"x": 1, "y": 1, "color": [Infinity, 0, 0]}]}',
        "100,000 nested [": "[" * 100_000,
        "y: 1e300": '{"points": [{"x": 1, "y": 1e300, "color": "#aa3322"}]}',
        "colour [1.7, 0, 0]": '{"points": [{"x": 1, "y": 1, "color": [1.7, 0, 0]}]}',
        'colour ["255", "0", "0"]': '{"points": [{"x": 1, "y": 1, "color": ["255","0","0"]}]}',
    }
    paths = {}
    for index, (name, text) in enumerate(cases.items()):
        paths[name] = os.path.join(folder, f"hints{index}.json")
        with open(paths[name], "w", encoding="utf-8") as file:
            file.write(text)
    paths["/dev/zero as the hints file"] = "/dev/zero"
    return paths


def _films(folder: str) -> dict[str, str]:
    import numpy as np

    from tests.films import clips
    from tests.batches.test_hostile_inputs import _mp3_avi, _size_changing_avi

    frames = [np.full((48, 64, 3), 60 + 8 * i, np.uint8) for i in range(12)]
    films = {}
    films["12000 x 12000 frame in a 64 x 48 MJPEG AVI"] = os.path.join(folder, "huge.avi")
    _size_changing_avi(films["12000 x 12000 frame in a 64 x 48 MJPEG AVI"],
                       [(64, 48), (64, 48), (12000, 12000), (64, 48)])
    films["6000 x 6000 third frame"] = os.path.join(folder, "grows.avi")
    _size_changing_avi(films["6000 x 6000 third frame"], [(64, 48)] * 2 + [(6000, 6000)])
    films["MPEG-4 + MP3 AVI, header 13 of 12 frames"] = os.path.join(folder, "mp3.avi")
    _mp3_avi(films["MPEG-4 + MP3 AVI, header 13 of 12 frames"], frames)
    for codec, container in (("pcm_s16le", "mov"), ("vorbis", "webm"), ("flac", "mkv")):
        name = f"{codec} sound in .{container}"
        films[name] = os.path.join(folder, f"sound-{codec}.{container}")
        clips.write_clip(films[name], frames, tone_seconds=0.5, audio_codec=codec,
                         codec="libvpx-vp9" if container == "webm" else "libx264")
    return films


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks",
                                                      "hostile_inputs.json"))
    args = parser.parse_args()
    prelude = PRELUDE.format(root=ROOT)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        rows.append(("baseline: hints imports", _run(prelude + BASELINE)))
        for name, path in _hints_files(folder).items():
            rows.append((f"hints: {name}", _run(prelude + HINTS_CASE.format(), path)))
        from tests.bombs import zero_png

        bomb = os.path.join(folder, "scribbles.png")
        size = zero_png(bomb, 12000, 12000, colour_type=6)
        rows.append((f"scribbles: 12000 x 12000 PNG ({size // 1024} KB) on a 160 x 120 photo",
                     _run(prelude + SCRIBBLES_CASE.format(), bomb)))
        film_prelude = prelude + textwrap.dedent(FILM_PRELUDE)
        rows.append(("baseline: film imports and model", _run(film_prelude + BASELINE)))
        for name, path in _films(folder).items():
            out = os.path.join(folder, "out-" + os.path.basename(path))
            label = f"film: {name} ({os.path.getsize(path) // 1024} KB)"
            rows.append((label, _run(film_prelude + FILM_CASE.format(), path, out)))
    width = max(len(name) for name, _ in rows)
    print(f"{'case':<{width}}  {'seconds':>8}  {'peak MB':>8}  what the user sees")
    for name, row in rows:
        print(f"{name:<{width}}  {row.get('seconds', '-'):>8}  {row.get('peak_mb', '-'):>8}  "
              f"{row['outcome']}")
    with open(args.out, "w", encoding="utf-8") as file:
        json.dump([{"case": name, **row} for name, row in rows], file, indent=1)
        file.write("\n")


if __name__ == "__main__":
    main()

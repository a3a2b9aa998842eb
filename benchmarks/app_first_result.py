"""Time to the first result in the web app, measured through the app as a visitor meets it.

Starts ``colorizer.app.launch`` on 127.0.0.1 with an untrained model (``weights=None``: speed
does not depend on the weights), then, through ``gradio_client`` (the HTTP API the page itself
uses), uploads a JPEG photo of each size, waits for the answer and downloads every file of it.
The time covers the upload, the queue, the colorization at full size, the previews, and the
download of the full-size result. Each size is sent twice: the first request of the app also
pays the model's first call (graph tracing); later requests do not. The machine's load
average is recorded with the figures: on a shared machine it explains much of their spread.

Usage:
    python benchmarks/app_first_result.py                    # 1 MP and 12 MP
    python benchmarks/app_first_result.py --megapixels 1 4 12 --out results.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from photos import camera_photo  # noqa: E402 (benchmarks/, beside this script)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, nargs="+", default=[1.0, 12.0])
    parser.add_argument("--rounds", type=int, default=3, help="requests per size")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__),
                                                      "app_first_result.json"))
    args = parser.parse_args()

    from gradio_client import Client, handle_file

    from colorizer.app import launch
    from colorizer.model.network import build_colorizer

    load_before = list(os.getloadavg())  # other work on the machine slows every figure
    folder = tempfile.mkdtemp(prefix="app-bench-")
    photos = {mp: camera_photo(mp, folder) for mp in args.megapixels}
    start = time.perf_counter()
    app = launch(build_colorizer(weights=None), block=False, quiet=True)
    started = time.perf_counter() - start
    client = Client(app.url, verbose=False, download_files=folder)
    rows = []
    try:
        for round_ in range(1, args.rounds + 1):
            for megapixels, photo in photos.items():
                begin = time.perf_counter()
                status, _, _, downloads = client.predict([handle_file(photo)], "", 224,
                                                         api_name="/colorize")
                seconds = time.perf_counter() - begin
                assert status.startswith("Colorized 1 of 1"), status
                server = float(re.search(r"in ([0-9.]+) s", status).group(1))
                first = not rows
                rows.append({"megapixels": megapixels, "round": round_,
                             "first_request_of_the_app": first,
                             "seconds_to_result": round(seconds, 2),
                             "seconds_in_colorizer": server,
                             "result_bytes": os.path.getsize(downloads[0])})
                print(f"{megapixels:5g} MP, round {round_}{' (first request)' if first else ''}"
                      f": {seconds:6.2f} s to the result ({server:.2f} s colorizing and making "
                      "previews)")
    finally:
        app.close()
    later = {mp: sorted(r["seconds_to_result"] for r in rows
                        if r["megapixels"] == mp and r["round"] > 1)
             for mp in photos}
    result = {"machine": f"{_cpu_name()}, {os.cpu_count()} CPUs",
              "load_average_before_and_after": [load_before, list(os.getloadavg())],
              "app_start_seconds": round(started, 2),
              "median_seconds_to_result_after_round_1": {
                  f"{mp:g} MP": round(statistics.median(times), 2)
                  for mp, times in later.items() if times},
              "rows": rows}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"app started in {started:.1f} s; written {args.out}")


if __name__ == "__main__":
    main()

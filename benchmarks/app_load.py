"""The web app under load: N clients on loopback uploading 1 MP photos for a fixed time.

Starts ``colorizer.app.launch`` on 127.0.0.1 with an untrained model (speed and memory do not
depend on the weights), then runs N ``gradio_client`` clients in threads, each uploading its
own 1 MP JPEG (the sample photo, shifted differently per client) again and again until the
time is up. Every answer is checked: one result, the photo's size, and the lightness of the
photo that client sent (the app keeps L), not another client's: nothing lost or mixed up.
Recorded: requests served, median and p95 latency, queue rejections, peak memory of this
process (app and clients together), and the size of the app's temporary folder at the end,
with the sweeper's timings given on the command line.

Usage:
    python benchmarks/app_load.py --clients 4 --seconds 60 --keep-seconds 15 \
        --out benchmarks/app_load.json
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from photos import camera_photo  # noqa: E402 (benchmarks/, beside this script)


def _lightness(path: str) -> np.ndarray:
    gray = cv2.imread(path, cv2.IMREAD_COLOR)
    return cv2.cvtColor(gray, cv2.COLOR_BGR2LAB)[::8, ::8, 0].astype(np.float32)


def _folder_bytes(folder: str) -> int:
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(folder) for name in names
               if os.path.exists(os.path.join(root, name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--keep-seconds", type=float, default=3600.0,
                        help="the app's expiry of uploads and results")
    parser.add_argument("--sweep-seconds", type=float, default=60.0)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__),
                                                      "app_load.json"))
    args = parser.parse_args()
    if not (1 <= args.clients <= 16 and 0 < args.seconds <= 600):
        parser.error("1-16 clients for at most 600 s")

    from gradio_client import Client, handle_file

    from colorizer.app import launch
    from colorizer.model.network import build_colorizer

    folder = tempfile.mkdtemp(prefix="app-load-")
    base = cv2.imread(camera_photo(1.0, folder))
    photos, expected = [], []
    for index in range(args.clients):  # a different photo per client, to catch mix-ups
        path = os.path.join(folder, f"client{index}.jpg")
        cv2.imwrite(path, np.roll(base, index * 97, axis=1), [cv2.IMWRITE_JPEG_QUALITY, 92])
        photos.append(path)
        expected.append(_lightness(path))
    app = launch(build_colorizer(weights=None), block=False, quiet=True,
                 keep_seconds=args.keep_seconds, sweep_seconds=args.sweep_seconds)
    load_before = list(os.getloadavg())
    latencies, rejections, wrong, errors = [], [], [], []
    lock = threading.Lock()
    stop_at = time.monotonic() + args.seconds

    def client_loop(index: int) -> None:
        client = Client(app.url, verbose=False,
                        download_files=os.path.join(folder, f"downloads{index}"))
        while time.monotonic() < stop_at:
            begin = time.perf_counter()
            try:
                status, _, _, downloads = client.predict(
                    [handle_file(photos[index])], "", 224, api_name="/colorize")
            except Exception as error:  # the queue full, or anything else: counted
                with lock:
                    (rejections if "queue" in str(error).lower() else errors).append(
                        str(error)[:200])
                continue
            seconds = time.perf_counter() - begin
            ok = status.startswith("Colorized 1 of 1") and len(downloads) == 1
            if ok:
                got = _lightness(downloads[0])
                # Its own photo's L within JPEG noise, and far from every other client's.
                own = float(np.abs(got - expected[index]).mean())
                others = [float(np.abs(got - e).mean()) for i, e in enumerate(expected)
                          if i != index]
                ok = own < 2.0 and all(other > own + 2.0 for other in others)
                for path in downloads:
                    os.remove(path)
            with lock:
                latencies.append(seconds)
                if not ok:
                    wrong.append(status[:200])

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    temp_at_end = _folder_bytes(app.work_dir)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    app.close()
    ordered = sorted(latencies)
    result = {
        "clients": args.clients, "seconds": args.seconds,
        "keep_seconds": args.keep_seconds, "sweep_seconds": args.sweep_seconds,
        "photo": "1 MP JPEG (1155 x 866), one per client",
        "requests_served": len(latencies),
        "wrong_or_mixed_up": len(wrong), "queue_rejections": len(rejections),
        "other_errors": len(errors), "error_samples": (wrong + errors)[:3],
        "median_latency_s": round(statistics.median(ordered), 2) if ordered else None,
        "p95_latency_s": round(ordered[int(0.95 * (len(ordered) - 1))], 2) if ordered else None,
        "peak_memory_mb_app_and_clients": round(peak_mb),
        "temp_folder_mb_at_end": round(temp_at_end / 1e6, 1),
        "load_average_before_and_after": [load_before, list(os.getloadavg())],
        "machine": f"{os.cpu_count()} CPUs, shared with other work while measured",
    }
    print(json.dumps(result, indent=2))
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()

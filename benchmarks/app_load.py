"""The web app under load: N clients on loopback sending photos and films for a fixed time.

Starts ``colorizer.app.launch`` on 127.0.0.1 in a process of its own (so its memory is its
own), with an untrained model saved to a file (speed and memory do not depend on the weights)
or the ``--model`` given. Then N ``gradio_client`` clients in threads send, again and again
until the time is up, a mix of requests: a photo of a few hundred pixels, a small film (1 s,
160 x 120, 24 frames, with sound), and both in one request. Each client sends its own photo
and film (shifted differently per client), and every answer is checked: the files expected,
the photo's size and the lightness of the photo that client sent (the app keeps L; not another
client's), the film's frame count and size. Guided requests (colour hints) are not part of the
mix: the page's hints events are not reachable through the API (``api_name=False``).

Recorded: requests served by kind, errors, median and p95 latency, queue rejections, the app
process's peak memory (its own ``getrusage``, and the peak of ``psutil`` samples when psutil is
installed), and the size and file count of the app's temporary folder at the end, before and
after the app closes.

Usage (the colorizer package must be importable: ``pip install -e .``, or ``PYTHONPATH=.``
from a clone):
    python benchmarks/app_load.py                               # 4 clients, 60 s
    python benchmarks/app_load.py --clients 4 --seconds 60 --model runs/demo/model.keras \\
        --out benchmarks/app_load.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

MARK = "APP_LOAD "
"""Prefix of the lines the app's process writes for this script on its stdout."""
FILM_SIZE = (120, 160)  # height, width
FILM_FRAMES = 24
FILM_FPS = 24
PHOTO_SIZE = (300, 400)
KINDS = ("photo", "film", "photo+film")
SHIFT = 40
"""Pixels between two clients' crops of the sample photo."""


def _say(value: dict) -> None:
    print(MARK + json.dumps(value), flush=True)


def serve(model: str, keep_seconds: float, sweep_seconds: float) -> None:
    """The app's process: starts the app, says where, closes it when told, says its peak
    memory."""
    from colorizer.app import launch

    app = launch(model, block=False, quiet=True, keep_seconds=keep_seconds,
                 sweep_seconds=sweep_seconds)
    _say({"url": app.url, "work_dir": app.work_dir})
    for line in sys.stdin:
        if line.strip() == "close":
            break
    app.close()
    _say({"closed": True,
          "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def _lightness(path: str) -> np.ndarray:
    gray = cv2.imread(path, cv2.IMREAD_COLOR)
    return cv2.cvtColor(gray, cv2.COLOR_BGR2LAB)[::4, ::4, 0].astype(np.float32)


def _folder(folder: str) -> tuple[int, int]:
    """Bytes and file count under ``folder`` (0, 0 when it is gone)."""
    size = count = 0
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                size += os.path.getsize(os.path.join(root, name))
                count += 1
            except OSError:  # deleted meanwhile
                pass
    return size, count


def _write_film(path: str, base: np.ndarray, shift: int) -> None:
    """A gray film panning over ``base``, with a second of a 440 Hz tone."""
    import av

    height, width = FILM_SIZE
    with av.open(path, "w") as out:
        video = out.add_stream("libx264", rate=FILM_FPS)
        video.height, video.width, video.pix_fmt = height, width, "yuv420p"
        audio = out.add_stream("aac", rate=44100)
        for i in range(FILM_FRAMES):
            crop = base[:height, shift + 2 * i:shift + 2 * i + width]
            gray = cv2.cvtColor(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
            for packet in video.encode(av.VideoFrame.from_ndarray(
                    np.ascontiguousarray(gray), format="rgb24")):
                out.mux(packet)
        t = np.arange(44100) / 44100
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        for start in range(0, samples.shape[1], 1024):
            chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(
                samples[:, start:start + 1024]), format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = 44100, start
            for packet in audio.encode(chunk):
                out.mux(packet)
        for stream in (audio, video):
            for packet in stream.encode(None):
                out.mux(packet)


def _film_ok(path: str) -> bool:
    from colorizer.films.video_io import probe_video

    info = probe_video(path)
    return ((info.height, info.width) == FILM_SIZE and info.frames == FILM_FRAMES
            and info.audio_codec is not None)


def _untrained_model(folder: str) -> str:
    from colorizer.fileio import save_model
    from colorizer.model.network import build_colorizer

    path = os.path.join(folder, "untrained.keras")
    save_model(build_colorizer(weights=None), path)
    return path


def _percentile(ordered: list[float], share: float) -> float | None:
    return round(ordered[int(share * (len(ordered) - 1))], 2) if ordered else None


def _figures(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {"served": len(ordered),
            "median_s": round(statistics.median(ordered), 2) if ordered else None,
            "p95_s": _percentile(ordered, 0.95)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--model", help="a .keras file (default: an untrained model)")
    parser.add_argument("--keep-seconds", type=float, default=3600.0,
                        help="the app's expiry of uploads and results")
    parser.add_argument("--sweep-seconds", type=float, default=60.0)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__),
                                                      "app_load.json"))
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.model, args.keep_seconds, args.sweep_seconds)
    if not (1 <= args.clients <= 16 and 0 < args.seconds <= 600):
        parser.error("1-16 clients for at most 600 s")

    from gradio_client import Client, handle_file

    from colorizer.data import samples
    from colorizer.data.images import read_rgb

    folder = tempfile.mkdtemp(prefix="app-load-")
    model = args.model or _untrained_model(folder)
    base = read_rgb(samples.available()[0])
    scale = max((PHOTO_SIZE[1] + SHIFT * args.clients) / base.shape[1],
                PHOTO_SIZE[0] / base.shape[0], 1.0)
    base = cv2.resize(base, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    photos, films, expected = [], [], []
    for index in range(args.clients):  # a different photo and film per client: no mix-ups
        left = SHIFT * index
        crop = np.ascontiguousarray(base[:PHOTO_SIZE[0], left:left + PHOTO_SIZE[1]])
        photo = os.path.join(folder, f"client{index}.jpg")
        cv2.imwrite(photo, crop[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
        photos.append(photo)
        expected.append(_lightness(photo))
        film = os.path.join(folder, f"client{index}.mp4")
        _write_film(film, base, SHIFT * index)
        films.append(film)

    log = open(os.path.join(folder, "app.log"), "w")
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve", "--model", model,
         "--keep-seconds", str(args.keep_seconds), "--sweep-seconds", str(args.sweep_seconds)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)

    def message() -> dict:
        for line in server.stdout:
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
        raise RuntimeError(f"the app's process ended; see {log.name}")

    where = message()
    start_seconds = time.perf_counter() - started
    peak_sampled = [0.0]
    sampling = threading.Event()

    def sample() -> None:
        try:
            import psutil
        except ImportError:
            return
        process = psutil.Process(server.pid)
        while not sampling.wait(0.25):
            try:
                peak_sampled[0] = max(peak_sampled[0], process.memory_info().rss / 2 ** 20)
            except psutil.Error:
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    load_before = list(os.getloadavg())
    latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
    rejections, wrong, errors = [], [], []
    lock = threading.Lock()
    stop_at = time.monotonic() + args.seconds

    def check(kind: str, index: int, status: str, downloads: list[str]) -> bool:
        names = [os.path.basename(p) for p in downloads]
        want = {"photo": [f"client{index}.jpg"], "film": [f"client{index}.mp4"],
                "photo+film": [f"client{index}.jpg", f"client{index}.mp4",
                               "colorized.zip"]}[kind]
        done = len(want) if kind != "photo+film" else 2
        if not status.startswith(f"Colorized {done} of {done}") or names != want:
            return False
        for path in downloads:
            if path.endswith(".jpg"):
                got = _lightness(path)
                if got.shape != expected[index].shape:
                    return False
                # Its own photo's L within JPEG noise, and far from every other client's.
                own = float(np.abs(got - expected[index]).mean())
                others = [float(np.abs(got - e).mean()) for i, e in enumerate(expected)
                          if i != index]
                if not (own < 2.0 and all(other > own + 1.0 for other in others)):
                    return False
            elif path.endswith(".mp4") and not _film_ok(path):
                return False
        return True

    def client_loop(index: int) -> None:
        client = Client(where["url"], verbose=False,
                        download_files=os.path.join(folder, f"downloads{index}"))
        turn = index
        while time.monotonic() < stop_at:
            kind = KINDS[turn % len(KINDS)]
            turn += 1
            files = {"photo": [photos[index]], "film": [films[index]],
                     "photo+film": [photos[index], films[index]]}[kind]
            begin = time.perf_counter()
            try:
                status, _, _, downloads = client.predict(
                    [handle_file(f) for f in files], "", 224, api_name="/colorize")
            except Exception as error:  # the queue full, or anything else: counted
                with lock:
                    (rejections if "queue" in str(error).lower() else errors).append(
                        f"{kind}: {str(error)[:200]}")
                continue
            seconds = time.perf_counter() - begin
            downloads = downloads or []
            try:
                ok = check(kind, index, status, downloads)
            except Exception as error:  # an unreadable download
                ok, status = False, f"{status} / {error}"
            for path in downloads:
                try:
                    os.remove(path)
                except OSError:
                    pass
            with lock:
                latencies[kind].append(seconds)
                if not ok:
                    wrong.append(f"{kind}: {status[:200]}")

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load_after = list(os.getloadavg())
    temp_before_close = _folder(where["work_dir"])
    server.stdin.write("close\n")
    server.stdin.flush()
    closed = message()
    server.wait(timeout=120)
    sampling.set()
    temp_after_close = _folder(where["work_dir"])
    log.close()

    everything = [s for kind in KINDS for s in latencies[kind]]
    result = {
        "clients": args.clients, "seconds": args.seconds,
        "model": args.model or "untrained (build_colorizer(weights=None)), saved to a file",
        "keep_seconds": args.keep_seconds, "sweep_seconds": args.sweep_seconds,
        "mix": {"photo": f"JPEG {PHOTO_SIZE[1]} x {PHOTO_SIZE[0]}, one per client",
                "film": f"MP4 {FILM_SIZE[1]} x {FILM_SIZE[0]}, {FILM_FRAMES} frames at "
                        f"{FILM_FPS} fps, 1 s of AAC sound, one per client",
                "photo+film": "both in one request",
                "guided": "not sent: the hints events are not reachable through the API"},
        "render_size": 224,
        "requests_served": len(everything),
        "all": _figures(everything),
        "by_kind": {kind: _figures(latencies[kind]) for kind in KINDS},
        "wrong_or_mixed_up": len(wrong), "queue_rejections": len(rejections),
        "other_errors": len(errors), "error_samples": (wrong + errors + rejections)[:5],
        "app_start_s": round(start_seconds, 1),
        "app_peak_rss_mb_getrusage": round(closed["peak_rss_mb"]),
        "app_peak_rss_mb_psutil_sampled": round(peak_sampled[0]) or None,
        "temp_folder_before_close": {"mb": round(temp_before_close[0] / 1e6, 1),
                                     "files": temp_before_close[1]},
        "temp_folder_after_close": {"mb": round(temp_after_close[0] / 1e6, 1),
                                    "files": temp_after_close[1],
                                    "exists": os.path.exists(where["work_dir"])},
        "load_average_before_and_after": [load_before, load_after],
        "machine": f"{os.cpu_count()} CPUs ({_cpu_name()}), shared with other work while "
                   "measured",
    }
    print(json.dumps(result, indent=2))
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()

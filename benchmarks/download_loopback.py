"""Throughput of colorizer's downloader against an HTTP server on 127.0.0.1.

Serves N small distinct JPEGs from memory and downloads them all with 1 worker and with
``--workers`` workers, in one run, then prints images/s and the speed-up. ``--latency-ms``
adds a per-request server delay to imitate a distant host (where parallelism pays most); by
default both 0 ms and 50 ms are measured.

    python benchmarks/download_loopback.py --images 200 --workers 8
"""
from __future__ import annotations

import argparse
import http.server
import io
import tempfile
import threading
import time

import numpy as np
from PIL import Image

from colorizer.data import samples
from colorizer.data.download import download_urls
from colorizer.data.images import read_rgb


def make_jpegs(count: int, size: tuple[int, int] = (128, 96)) -> list[bytes]:
    """``count`` distinct small JPEGs cut from the bundled sample photos."""
    photos = [read_rgb(p) for p in samples.available()[:6]]
    rng = np.random.default_rng(0)
    jpegs = []
    for i in range(count):
        photo = photos[i % len(photos)]
        top = rng.integers(0, photo.shape[0] - 64)
        left = rng.integers(0, photo.shape[1] - 64)
        crop = Image.fromarray(photo[top:, left:]).resize(size)
        buffer = io.BytesIO()
        crop.save(buffer, format="JPEG", quality=90)
        jpegs.append(buffer.getvalue())
    return jpegs


def serve(jpegs: list[bytes], latency: float) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            time.sleep(latency)
            body = jpegs[int(self.path.strip("/").split(".")[0])]
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        # socketserver's default listen backlog is 5: with more parallel clients than that,
        # connections overflow it and wait a 1 s SYN retransmit, which measures the server's
        # toy queue rather than the downloader. Real web servers queue hundreds.
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def measure(base: str, count: int, workers: int) -> float:
    """Images per second for one fresh download of all ``count`` images."""
    urls = [f"{base}/{i}.jpg" for i in range(count)]
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        report = download_urls(urls, folder, workers=workers, progress=False)
        seconds = time.perf_counter() - start
    assert report.downloaded == count and report.ok, report.summary()
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, nargs="*", default=[0.0, 50.0])
    args = parser.parse_args()
    jpegs = make_jpegs(args.images)
    print(f"{args.images} JPEGs of ~{sum(map(len, jpegs)) // len(jpegs) // 1000} kB each, "
          "downloaded, checked (full decode), hashed and written atomically")
    for latency in args.latency_ms:
        server, base = serve(jpegs, latency / 1000)
        measure(base, min(20, args.images), 1)  # warm-up (imports, first connections)
        one = measure(base, args.images, 1)
        many = measure(base, args.images, args.workers)
        server.shutdown()
        print(f"latency {latency:5.0f} ms: 1 worker {one:7.1f} img/s | {args.workers} workers "
              f"{many:7.1f} img/s | ratio {many / one:.2f}x")


if __name__ == "__main__":
    main()

"""Beam's DirectRunner with two worker processes against ``colorizer colorize``, same photos,
same model, same machine, in one run: photos per second, peak memory per process, a rerun, and
what the manifest and failures output held.

Two sets of photos: ``--photos`` (a folder of real photos, e.g. the cats and dogs, of which
``--count`` are used; small, at most 224 pixels on the short side) and scans made here
(``--scans`` photos of 1600 x 1200, grain over smooth tones: the size of a digitised print),
each with three bad files among them. Both commands run as a user runs them, in a subprocess;
a sampler reads every process's peak resident memory (``VmHWM``) from /proc.

    python benchmarks/scale_out.py --model best.onnx --photos ../shared/data/pets \
        --json benchmarks/scale_out.json

Needs ``colorizer[beam,onnx]``; the model is any ``colorize --model`` file (an ONNX export
measures what a Beam worker of an ONNX model does).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VCPU_HOUR_USD = 0.056
GB_HOUR_USD = 0.003557
GB_PER_VCPU = 3.75
"""Dataflow's batch list prices (us-central1) for a vCPU-hour and a GB-hour of worker memory,
and the memory per vCPU of an n1-standard machine: the cost estimate's assumptions."""
BAD_FILES = {"corrupt.jpg": b"\xff\xd8\xff\xe0 not a JPEG" * 20, "empty.png": b"",
             "notes.jpg": b"not a photo\n"}


def make_scans(folder: str, count: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for i in range(count):
        tones = cv2.resize(rng.random((12, 16, 3)).astype(np.float32) * 200 + 30, (1600, 1200),
                           interpolation=cv2.INTER_CUBIC)
        grain = rng.normal(0, 6, (1200, 1600, 1)).astype(np.float32)
        cv2.imwrite(os.path.join(folder, f"scan{i:03d}.jpg"),
                    np.clip(tones + grain, 0, 255).astype(np.uint8),
                    [cv2.IMWRITE_JPEG_QUALITY, 92])


def copy_photos(source: str, folder: str, count: int) -> None:
    os.makedirs(folder, exist_ok=True)
    names = sorted(n for n in os.listdir(source) if n.lower().endswith((".jpg", ".jpeg")))
    for name in names[:count]:
        shutil.copy(os.path.join(source, name), folder)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as file:
                    parent = int(file.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _peak_mb(pid: int) -> tuple[float, str] | None:
    try:
        with open(f"/proc/{pid}/status") as file:
            status = file.read()
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            command = file.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024, command
    return None


def run(command: list[str]) -> dict:
    """Runs ``command``; its wall time, and the peak memory of it and every process it
    started (Beam's workers by name)."""
    peaks: dict[int, tuple[float, str]] = {}
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONPATH": ROOT})
    done = threading.Event()

    def sample():
        while not done.is_set():
            for pid in _descendants(process.pid):
                found = _peak_mb(pid)
                if found:
                    peaks[pid] = max(peaks.get(pid, found), found)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    # (each worker is started through a shell, whose own few MB are not a worker's)
    workers = [mb for mb, cmd in peaks.values()
               if "sdk_worker_main" in cmd and not cmd.startswith(("/bin/sh", "sh "))]
    main = peaks.get(process.pid, (0.0, ""))[0]
    return {"seconds": round(seconds, 2), "status": process.returncode,
            "summary": stdout.strip().splitlines()[-1] if stdout.strip() else stderr[-400:],
            "peak_mb_main_process": round(main, 1),
            "peak_mb_per_worker": [round(mb, 1) for mb in sorted(workers)]}


def manifest_held(out: str) -> dict:
    counts: dict[str, int] = {}
    with open(os.path.join(out, "manifest.jsonl")) as file:
        for line in file:
            status = json.loads(line)["status"]
            counts[status] = counts.get(status, 0) + 1
    failures = os.path.join(out, "failures.jsonl")
    reasons = []
    if os.path.exists(failures):
        with open(failures) as file:
            reasons = sorted(f"{os.path.basename(e['input'])}: {e['reason']}"
                             for e in map(json.loads, file))
    return {"manifest": counts, "failures": reasons}


def identical(first: str, second: str) -> bool:
    names = sorted(n for n in os.listdir(first) if not n.endswith((".jsonl", ".json")))
    return names == sorted(n for n in os.listdir(second)
                           if not n.endswith((".jsonl", ".json"))) and all(
        open(os.path.join(first, n), "rb").read() == open(os.path.join(second, n), "rb").read()
        for n in names)


def estimate(photos_per_core_s: float) -> dict:
    """vCPU-hours and list-price dollars for a million photos at a measured rate per core
    (compute and worker memory only; storage, network and shuffle of names are extra)."""
    hours = 1e6 / photos_per_core_s / 3600
    return {"photos_per_s_per_core": round(photos_per_core_s, 2),
            "vcpu_hours": round(hours, 1),
            "usd_at_dataflow_batch_list_prices": round(
                hours * (VCPU_HOUR_USD + GB_PER_VCPU * GB_HOUR_USD), 2),
            "assumed": f"${VCPU_HOUR_USD}/vCPU-h + {GB_PER_VCPU} GB x ${GB_HOUR_USD}/GB-h"}


def measure(photos: str, model: str, workers: list[int], work: str) -> dict:
    good = len([n for n in os.listdir(photos) if n not in BAD_FILES])
    for name, data in BAD_FILES.items():
        with open(os.path.join(photos, name), "wb") as file:
            file.write(data)
    base = [sys.executable, "-m", "colorizer", "colorize", "--model", model]
    local = os.path.join(work, "colorize")
    results = {"photos": good, "bad_files": len(BAD_FILES)}
    results["colorize"] = run(base + ["--out", local, photos])
    results["colorize"]["photos_per_s"] = round(good / results["colorize"]["seconds"], 2)
    for count in workers:
        beam = os.path.join(work, f"beam-{count}")
        command = base + ["--out", beam, "--runner", "direct", photos,
                          f"--direct_num_workers={count}",
                          "--direct_running_mode=multi_processing"]
        first = run(command)
        first.update(manifest_held(beam))
        rerun = run(command)
        rerun.update(manifest_held(beam))
        first["photos_per_s"] = round(good / first["seconds"], 2)
        # A rerun lists every file and skips it: Beam's start, listing and shutdown alone.
        first["photos_per_s_after_start"] = round(good / (first["seconds"] - rerun["seconds"]),
                                                  2)
        first["vs_colorize_photos_per_s"] = round(
            first["photos_per_s"] / results["colorize"]["photos_per_s"], 2)
        first["outputs_identical_to_colorize"] = identical(local, beam)
        if count == max(workers):  # the most workers: every core busy
            results["estimate_per_million_photos"] = estimate(
                first["photos_per_s_after_start"] / count)
        results[f"beam_{count}_workers"] = first
        results[f"beam_{count}_workers_rerun"] = rerun
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a model file colorize takes")
    parser.add_argument("--photos", help="a folder of real photos (e.g. the cats and dogs)")
    parser.add_argument("--count", type=int, default=300, help="photos taken from --photos")
    parser.add_argument("--scans", type=int, default=60, help="1600 x 1200 scans made here")
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 1],
                        help="DirectRunner worker processes, one Beam run per number")
    parser.add_argument("--also-model", help="a second model file (e.g. the .keras one of "
                                             "the ONNX export) measured the same way")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    results = {"machine": f"{os.cpu_count()} CPU cores, {platform.processor() or 'x86_64'}",
               "model": os.path.basename(args.model), "workers": args.workers, "sets": {}}
    with tempfile.TemporaryDirectory() as work:
        sets = {"scans_1600x1200": lambda folder: make_scans(folder, args.scans)}
        if args.photos:
            sets["photos_short_side_224"] = lambda folder: copy_photos(args.photos, folder,
                                                                       args.count)
        for name, make in sets.items():
            folder = os.path.join(work, name, "in")
            make(folder)
            results["sets"][name] = measure(folder, args.model, args.workers,
                                            os.path.join(work, name))
            if args.also_model:  # the same runs with the other model file, 2 workers
                other = measure(folder, args.also_model, [max(args.workers)],
                                os.path.join(work, name + "-also"))
                results["sets"][name][f"with_{os.path.basename(args.also_model)}"] = other
            print(name, json.dumps(results["sets"][name], indent=1), flush=True)
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=1)
            file.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

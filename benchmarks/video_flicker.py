"""Films: flicker, accuracy, speed and memory of `colorize_video`, per-frame against steadied.

Test films are made from real colour photos the packages ship (the demo's held-out photos):
a camera pan, a slow zoom and a hard cut between two photos, each with film grain. Their gray
versions are encoded to H.264, colorized by the product's own function (`colorize_video`)
with ``--temporal none`` and ``flow``, decoded, and compared with the colour originals:

- flicker: mean |change of ab| between consecutive frames on the same scene point (the known
  camera motion compensated; the frame pair across a cut left out; ab blurred by 2 pixels
  first, and also per pixel), for the original, per-frame colour and steadied colour, and for
  the original put through the product's encoder (with and without its finer chroma): what
  encoding alone adds;
- ab RMSE against the original (steadying must not cost accuracy);
- the field's own steadiness measures (colorizer.evaluation.temporal_metrics): CDC, the colour
  histograms' Jensen-Shannon divergence between frames 1, 2 and 4 apart (TCVC), and the warp
  error against the previous output carried by the input's optical flow (Lai et al.), for
  the original, the original through the product's encoder, per-frame and steadied colour;
- frames per second at 480p and 1080p, and the share of the time in the network; with
  ``--baseline COMMIT`` the same for that commit's film path in the same run (a git worktree,
  alternating processes), and each step's own time per frame (where the time goes);
- peak memory at two film lengths (720p), to show it does not grow with length.

Usage:
    python benchmarks/video_flicker.py --model runs/demo/model.keras --baseline 53e8f72
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

GRAIN = 5.0
"""Film grain: Gaussian noise on every pixel, in 8-bit levels."""


def _photo(spec: str, height: int) -> np.ndarray:
    from colorizer.data.images import read_rgb
    from colorizer.data.samples import sample_path

    photo = read_rgb(sample_path(spec))
    scale = height / photo.shape[0]
    return cv2.resize(photo, (int(round(photo.shape[1] * scale)), height),
                      interpolation=cv2.INTER_CUBIC)


def scene(kind: str, frames: int, size: tuple[int, int], seed: int = 0):
    """Colour frames with grain, the photo-to-frame affine of each, and the cut's index."""
    height, width = size
    rng = np.random.default_rng(seed)
    first = _photo("skimage:coffee.png", int(height * 1.3))
    second = _photo("skimage:chelsea.png", int(height * 1.3))
    out, matrices, cut = [], [], None
    for t in range(frames):
        photo = first
        if kind == "pan":
            matrix = np.float32([[1, 0, -2.0 * t], [0, 1, -0.1 * height]])
        elif kind == "zoom":
            s = 1.0 + 0.25 * t / frames
            cx, cy = photo.shape[1] / 2, photo.shape[0] / 2
            matrix = np.float32([[s, 0, width / 2 - s * cx], [0, s, height / 2 - s * cy]])
        else:  # a pan over one photo, then a hard cut to a pan over another
            cut = frames // 2
            photo = first if t < cut else second
            matrix = np.float32([[1, 0, -2.0 * (t % cut)], [0, 1, -0.1 * height]])
        frame = cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT).astype(np.float32)
        frame += rng.normal(0.0, GRAIN, (height, width, 1))
        out.append(np.clip(frame + 0.5, 0, 255).astype(np.uint8))
        matrices.append(matrix)
    return out, matrices, cut


def _gray(frames):
    from colorizer.films.video import gray_frame

    return [gray_frame(frame) for frame in frames]


def _encode(path: str, frames, fps: int = 24) -> None:
    import av

    with av.open(path, "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "12"}
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


X264_DEFAULT_CHROMA = {"crf": "17", "preset": "medium"}
"""The product's encoder settings (video_io.ENCODER_OPTIONS) without its finer chroma."""


def _encode_product(clip: str, frames, path: str, options=None) -> None:
    """``frames`` encoded as ``colorize_video`` encodes its output (the clip's timing)."""
    from colorizer.films.video_io import SegmentWriter, probe_video, read_frames

    info = probe_video(clip)
    with SegmentWriter(path, info, options=options) as writer:
        for frame, rgb in zip(read_frames(clip, info), frames):
            writer.write(rgb, frame.pts)


def _decode(path: str):
    from colorizer.films.video_io import read_frames

    return [frame.rgb for frame in read_frames(path)]


def _ab(frames):
    from colorizer.color import rgb_to_lab

    return [rgb_to_lab(f.astype(np.float32) / 255.0)[..., 1:] for f in frames]


FLICKER_BLUR = 2.0
"""Gaussian sigma (pixels) on ab before the frame-to-frame comparison: what a viewer sees as
flicker is colour changing over areas; the ab of single grainy 8-bit pixels jitters even in
the colour original (reported too, as ``pixel_flicker``)."""


def flicker(abs_, matrices, cut, blur: float = FLICKER_BLUR) -> float:
    """Mean |ab_t - ab_{t-1} moved by the camera| over the pixels both frames see."""
    height, width = abs_[0].shape[:2]
    if blur:
        abs_ = [cv2.GaussianBlur(ab, (0, 0), blur) for ab in abs_]
    changes = []
    for t in range(1, len(abs_)):
        if cut is not None and t == cut:
            continue
        to_prev = np.vstack([matrices[t - 1], [0, 0, 1]])
        to_this = np.vstack([matrices[t], [0, 0, 1]])
        move = (to_this @ np.linalg.inv(to_prev))[:2]  # frame t-1 -> frame t
        warped = cv2.warpAffine(abs_[t - 1], move, (width, height), flags=cv2.INTER_LINEAR,
                                borderValue=np.nan)
        seen = np.isfinite(warped).all(-1)
        seen[:8], seen[-8:], seen[:, :8], seen[:, -8:] = False, False, False, False
        changes.append(float(np.abs(abs_[t] - warped)[seen].mean()))
    return float(np.mean(changes))


def field_measures(name: str, frames, inputs, cut) -> dict:
    """CDC and warp error (colorizer.evaluation.temporal_metrics), shot by shot (the frames
    before and after a cut apart), averaged by frames."""
    from colorizer.evaluation.temporal_metrics import (
        color_distribution_consistency, warp_error)

    shots = [(0, len(frames))] if cut is None else [(0, cut), (cut, len(frames))]
    cdc = [(color_distribution_consistency(frames[a:b]), b - a) for a, b in shots if b - a > 4]
    warp = [(warp_error(frames[a:b], inputs[a:b]), b - a) for a, b in shots if b - a > 1]

    def mean(pairs):
        return float(sum(v * n for v, n in pairs) / sum(n for _, n in pairs))

    return {f"{name}_cdc": mean(cdc), f"{name}_warp_error": mean(warp)}


def quality(model, folder: str, frames: int, size) -> dict:
    from colorizer.films.video import colorize_video

    rows = {}
    for kind in ("pan", "zoom", "cut"):
        colour, matrices, cut = scene(kind, frames, size)
        clip = os.path.join(folder, f"{kind}.mp4")
        _encode(clip, _gray(colour))
        truth_ab = _ab(colour)
        inputs = [f[..., 0] for f in _decode(clip)]  # what the film path sees
        row = {"original_flicker": flicker(truth_ab, matrices, cut),
               "original_pixel_flicker": flicker(truth_ab, matrices, cut, blur=0)}
        row.update(field_measures("original", colour, inputs, cut))
        # The colour original through the product's encoder, and through x264's default
        # chroma quantisation: the flicker that encoding alone adds.
        for name, options in (("encoded", None), ("encoded_x264_default_chroma",
                                                  X264_DEFAULT_CHROMA)):
            encoded = os.path.join(folder, f"{kind}-{name}.mp4")
            _encode_product(clip, colour, encoded, options)
            decoded = _decode(encoded)
            row[f"original_{name}_flicker"] = flicker(_ab(decoded), matrices, cut)
            if name == "encoded":
                row.update(field_measures("original_encoded", decoded, inputs, cut))
            row[f"original_{name}_kb"] = os.path.getsize(encoded) / 1024
        for mode in ("none", "flow"):
            out = os.path.join(folder, f"{kind}-{mode}.mp4")
            result = colorize_video(model, clip, out, temporal=mode, progress=False)
            decoded = _decode(out)
            ab = _ab(decoded)
            row.update(field_measures(mode, decoded, inputs, cut))
            row[f"{mode}_flicker"] = flicker(ab, matrices, cut)
            row[f"{mode}_pixel_flicker"] = flicker(ab, matrices, cut, blur=0)
            row[f"{mode}_ab_rmse"] = float(np.sqrt(np.mean(
                [np.mean(np.square(a - b)) for a, b in zip(ab, truth_ab)])))
            if mode == "flow":
                row["cuts_found"] = result.cuts
        row["flicker_ratio_flow_to_none"] = row["flow_flicker"] / row["none_flicker"]
        rows[kind] = row
        print(kind, {k: round(v, 3) for k, v in row.items()}, flush=True)
    return rows


_SPEED_CHILD = r"""
import json, sys, time
sys.path.insert(0, {tree!r})
import numpy as np
from colorizer.runtimes.network import load_colorizer
from colorizer.films.video import colorize_video

model = load_colorizer({model!r})
network = model.predict_on_batch
spent = [0.0]

def timed(batch):  # the network's own time, counted
    start = time.perf_counter()
    result = np.asarray(network(batch))
    spent[0] += time.perf_counter() - start
    return result

model.predict_on_batch = timed
rows = {{}}
for name, clip, frames in {clips!r}:
    for mode in ("none", "flow"):
        best = None
        for repeat in range({repeats}):
            spent[0] = 0.0
            start = time.perf_counter()
            colorize_video(model, clip, clip + f"-{{mode}}-{{repeat}}.mp4", temporal=mode,
                           progress=False)
            seconds = time.perf_counter() - start
            if best is None or seconds < best[0]:
                best = (seconds, spent[0])
        rows[f"{{name}}_{{mode}}"] = {{"frames_per_second": frames / best[0],
                                      "share_in_network": best[1] / best[0]}}
print(json.dumps(rows))
"""


def stages(model, clip: str) -> dict:
    """Seconds per frame of each step alone, one after the other on one thread: where the
    time goes (the film path overlaps them on its threads)."""
    from colorizer.films.temporal import TemporalSmoother
    from colorizer.films.video_io import SegmentWriter, probe_video, read_frames
    from colorizer.inference.full_resolution import (
        image_lightness, merge_lightness_ab, model_input, predict_ab_batch)

    info = probe_video(clip)
    clock = time.perf_counter()
    frames = list(read_frames(clip, info))
    times = {"decode": time.perf_counter() - clock}
    clock = time.perf_counter()
    lights = [image_lightness(f.rgb) for f in frames]
    smalls = [model_input(lightness) for lightness in lights]
    times["lightness"] = time.perf_counter() - clock
    clock = time.perf_counter()
    ab = np.concatenate([predict_ab_batch(model, np.stack(smalls[i:i + 8]))
                         for i in range(0, len(smalls), 8)])
    times["network"] = time.perf_counter() - clock
    smoother = TemporalSmoother(mode="flow")
    clock = time.perf_counter()
    steady = []
    for small, ab_small in zip(smalls, ab):
        smoother.advance(small)
        steady.append(smoother.blend(ab_small))
    times["flow"] = time.perf_counter() - clock
    clock = time.perf_counter()
    rgbs = [merge_lightness_ab(lightness, s) for lightness, s in zip(lights, steady)]
    times["merge"] = time.perf_counter() - clock
    clock = time.perf_counter()
    with SegmentWriter(clip + "-stages.mp4", info) as writer:
        for frame, rgb in zip(frames, rgbs):
            writer.write(rgb, frame.pts)
    times["encode"] = time.perf_counter() - clock
    return {name: seconds / len(frames) for name, seconds in times.items()}


def speed(model, model_path: str, folder: str, frames: int, baseline: str | None,
          repeats: int = 2) -> dict:
    """Frames per second at 480p and 1080p, of this tree and, in the same run, of the
    ``baseline`` commit's (each in a fresh process, alternately)."""
    clips = []
    for name, size in (("480p", (480, 854)), ("1080p", (1080, 1920))):
        colour, _, _ = scene("pan", frames, size)
        clip = os.path.join(folder, f"speed-{name}.mp4")
        _encode(clip, _gray(colour))
        clips.append((name, clip, frames))
    trees = {"now": ROOT}
    if baseline:
        tree = os.path.join(folder, "baseline")
        subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", tree, baseline],
                       check=True, capture_output=True)
        trees["baseline"] = tree
    rows: dict = {}
    try:
        for label, tree in trees.items():
            child = _SPEED_CHILD.format(tree=tree, model=model_path, clips=clips,
                                        repeats=repeats)
            done = subprocess.run([sys.executable, "-c", child], check=True,
                                  capture_output=True, text=True)
            rows[label] = json.loads(done.stdout.strip().splitlines()[-1])
            print(label, rows[label], flush=True)
    finally:
        if baseline:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force",
                            trees["baseline"]], capture_output=True)
    if baseline:
        rows["baseline_commit"] = baseline
        rows["ratio_now_to_baseline"] = {
            key: rows["now"][key]["frames_per_second"] /
            rows["baseline"][key]["frames_per_second"] for key in rows["now"]}
    rows["stages_seconds_per_frame"] = {name: stages(model, clip) for name, clip, _ in clips}
    return rows


_MEMORY_CHILD = """
import resource, sys
sys.path.insert(0, {root!r})
from colorizer.runtimes.network import load_colorizer
from colorizer.films.video import colorize_video
model = load_colorizer({model!r})
colorize_video(model, {clip!r}, {out!r}, progress=False)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def memory(model_path: str, folder: str, lengths=(120, 480)) -> dict:
    rows = {}
    colour, _, _ = scene("pan", 24, (720, 1280))
    gray = _gray(colour)
    for frames in lengths:
        clip = os.path.join(folder, f"memory-{frames}.mp4")
        back_and_forth = [i % 48 if i % 48 < 24 else 47 - i % 48 for i in range(frames)]
        _encode(clip, [gray[i] for i in back_and_forth])
        child = subprocess.run([sys.executable, "-c", _MEMORY_CHILD.format(
            root=ROOT, model=model_path, clip=clip, out=clip + ".out.mp4")],
            capture_output=True, text=True, check=True)
        rows[f"{frames}_frames_peak_mb"] = int(child.stdout.split()[-1]) / 1024
        print(frames, "frames: peak", rows[f"{frames}_frames_peak_mb"], "MB", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a colorizer file (.keras or an export)")
    parser.add_argument("--frames", type=int, default=48, help="frames per quality film")
    parser.add_argument("--speed-frames", type=int, default=48, help="frames per speed film")
    parser.add_argument("--baseline", help="a commit whose film path is timed beside this one")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "video_results.json"))
    args = parser.parse_args()
    from colorizer.runtimes.network import load_colorizer

    model = load_colorizer(args.model)
    with tempfile.TemporaryDirectory() as folder:
        results = {
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "model": os.path.basename(args.model),
            "grain_levels": GRAIN,
            "quality_480p": quality(model, folder, args.frames, (480, 854)),
            "speed": speed(model, args.model, folder, args.speed_frames, args.baseline),
            "memory_720p": memory(args.model, folder),
        }
    with open(args.out, "w", encoding="utf-8") as file:
        json.dump(results, file, indent=1)
    print("wrote", args.out)


if __name__ == "__main__":
    main()

"""Short test films made with PyAV: camera pans over real photos, grain, cuts, a tone."""
from __future__ import annotations

import fractions

import numpy as np

TONE_HZ = 440
SAMPLE_RATE = 44100


def pan(photo: np.ndarray, frames: int, size: tuple[int, int], step: int = 2,
        grain: float = 0.0, seed: int = 0) -> tuple[list[np.ndarray], int]:
    """Frames of a camera moving right by ``step`` pixels a frame over ``photo``, with optional
    film grain (Gaussian, in 8-bit levels); returns the frames and the step."""
    height, width = size
    rng = np.random.default_rng(seed)
    top = (photo.shape[0] - height) // 2
    out = []
    for i in range(frames):
        crop = photo[top:top + height, i * step:i * step + width].astype(np.float32)
        if grain:
            crop = crop + rng.normal(0.0, grain, crop.shape[:2])[..., None]
        out.append(np.clip(crop + 0.5, 0, 255).astype(np.uint8))
    return out, step


def gray(frames):
    """The frames as gray RGB (what an old film looks like)."""
    from colorizer.inference.video import gray_frame

    return [gray_frame(frame) for frame in frames]


def write_clip(path: str, frames: list[np.ndarray], *, fps: int = 24, codec: str = "libx264",
               pix_fmt: str = "yuv420p", tone_seconds: float = 0.0,
               pts: list[int] | None = None, container_format: str | None = None) -> None:
    """Encodes uint8 RGB frames (and optionally a 440 Hz AAC tone) into ``path``."""
    import av

    with av.open(path, "w", format=container_format) as out:
        video = out.add_stream(codec, rate=fps)
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = pix_fmt
        if pts is not None:
            video.time_base = fractions.Fraction(1, 1000)
        audio = out.add_stream("aac", rate=SAMPLE_RATE) if tone_seconds else None
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], fractions.Fraction(1, 1000)
            for packet in video.encode(frame):
                out.mux(packet)
        if audio is not None:
            t = np.arange(int(SAMPLE_RATE * tone_seconds)) / SAMPLE_RATE
            samples = (0.3 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)[None]
            for start in range(0, samples.shape[1], 1024):
                chunk = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(samples[:, start:start + 1024]), format="fltp",
                    layout="mono")
                chunk.sample_rate, chunk.pts = SAMPLE_RATE, start
                for packet in audio.encode(chunk):
                    out.mux(packet)
            for packet in audio.encode(None):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)


def audio_packets(path: str) -> list[bytes]:
    """The payload of every audio packet, in order."""
    import av

    with av.open(path) as container:
        if not container.streams.audio:
            return []
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def frame_times(path: str) -> list[float]:
    """Presentation time of every video frame, in seconds."""
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        return [float(f.pts * stream.time_base) for f in container.decode(stream)]


def high_pass_model(gain: float = 2.0):
    """A real Keras colorizer that answers fine texture (grain) with colour: ab = gain * (L -
    local mean). Its per-frame colour flickers wherever the grain does."""
    import keras

    kernel = -np.ones((5, 5, 1, 2), np.float32) / 25.0
    kernel[2, 2] += 1.0
    kernel *= gain
    inputs = keras.Input((None, None, 1))
    conv = keras.layers.Conv2D(2, 5, padding="same", use_bias=False)
    outputs = conv(inputs)
    model = keras.Model(inputs, outputs)
    conv.set_weights([kernel])
    return model

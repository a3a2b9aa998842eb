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
    from colorizer.films.video import gray_frame

    return [gray_frame(frame) for frame in frames]


def _tone_stream(out, codec: str, rate: int | None, layout: str):
    """An audio stream of the encoder ``codec`` at ``rate`` (:data:`SAMPLE_RATE`, or 48 kHz
    where the codec does not take it, as Opus). FFmpeg's own Vorbis encoder is experimental
    and stereo only, so it is allowed and given stereo."""
    import av

    rates = av.codec.Codec(codec, "w").audio_rates
    rate = rate or (SAMPLE_RATE if not rates or SAMPLE_RATE in rates else 48000)
    stream = out.add_stream(codec, rate=rate)
    stream.layout = "stereo" if codec == "vorbis" else layout
    if codec == "vorbis":
        stream.options = {"strict": "experimental"}
    return stream


def write_clip(path: str, frames: list[np.ndarray], *, fps: int = 24, codec: str = "libx264",
               pix_fmt: str = "yuv420p", tone_seconds: float = 0.0,
               pts: list[int] | None = None, container_format: str | None = None,
               audio_codec: str = "aac", audio_rate: int | None = None,
               audio_layout: str = "mono") -> None:
    """Encodes uint8 RGB frames (and optionally a 440 Hz tone) into ``path``.

    The tone is encoded with the encoder ``audio_codec`` (``aac``, ``libmp3lame``, ``libopus``,
    ``vorbis``, ``pcm_s16le``, ``ac3``, ``flac`` ...), at ``audio_rate`` (its usual one by
    default) and with ``audio_layout``'s channels, each the same tone; PyAV converts the
    generated float samples to what the encoder takes.
    """
    import av

    with av.open(path, "w", format=container_format) as out:
        video = out.add_stream(codec, rate=fps)
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = pix_fmt
        if pts is not None:
            video.time_base = fractions.Fraction(1, 1000)
        audio = (_tone_stream(out, audio_codec, audio_rate, audio_layout) if tone_seconds
                 else None)
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], fractions.Fraction(1, 1000)
            for packet in video.encode(frame):
                out.mux(packet)
        if audio is not None:
            rate, layout = audio.codec_context.sample_rate, audio.codec_context.layout
            t = np.arange(int(rate * tone_seconds)) / rate
            tone = (0.3 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)
            samples = np.repeat(tone[None], layout.nb_channels, axis=0)
            for start in range(0, samples.shape[1], 1024):
                chunk = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(samples[:, start:start + 1024]), format="fltp",
                    layout=layout)
                chunk.sample_rate, chunk.pts = rate, start
                chunk.time_base = fractions.Fraction(1, rate)
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

"""Reading and writing films with PyAV: upright RGB frames in, H.264 segments and one muxed file out.

    clip.mp4 -> demux -> decode (threads) -> upright RGB frames with their timestamps
    frames   -> H.264 segments (CRF 17, no B-frames, so segments join exactly)
    segments + the input's audio packets -> one container, written atomically

PyAV carries its own FFmpeg libraries in its wheel, so no system ffmpeg is needed. Every
frame keeps its own presentation time, so variable frame rate films keep their timing; audio
packets are copied unchanged when MP4 holds their codec (AAC, MP3, AC-3, E-AC-3, ALAC, FLAC,
Opus), and the sound is re-encoded to AAC 192 kb/s only when it does not (PCM from a camera's
MOV, Vorbis from WebM), starting where it starts and as long as it was.

Example:
    >>> info = probe_video("clip.mp4")
    >>> for frame in read_frames("clip.mp4"):
    ...     frame.rgb.shape  # (info.height, info.width, 3), uint8, upright
"""
from __future__ import annotations

import dataclasses
import fractions
import heapq
import os
from typing import Iterator

import numpy as np

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".wmv",
                    ".3gp", ".ogv")
"""Inputs with these endings are treated as films."""
KEPT_VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov")
"""Films with these endings keep their name; others get ``.mp4`` added (H.264 does not fit a
WebM, and AVI handles it badly)."""
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "ac3", "eac3", "alac", "flac", "opus"})
"""Audio codecs an MP4 file can hold, by FFmpeg's codec name (``mp3``, whose decoder is
``mp3float``): these are copied packet for packet (each tested from every container FFmpeg
writes it in: tests/films/test_video_sound.py)."""
ENCODER_OPTIONS = {"crf": "17", "preset": "medium", "x264-params": "chroma-qp-offset=-12"}
"""libx264 at CRF 17 (visually lossless for most footage) with the medium preset, and its
chroma quantised 12 steps finer than its luma: the colour is all this encoder adds to a
film, and at x264's default the compression noise of the chroma alone flickers as much as a
steadied colorization does (benchmarks/video_flicker.py measures both), for a few per cent
more bytes (the grain of L takes most of them)."""
MAX_FRAME_PIXELS = 8192 * 4320
"""Largest frame accepted (8K): checked from the stream's header before decoding."""


class VideoReadError(ValueError):
    """A film that cannot be read: corrupt, truncated, without a video stream, or empty."""


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What a film holds, as a viewer shows it (rotation applied).

    Attributes:
        width: Displayed width in pixels.
        height: Displayed height in pixels.
        frames: Frame count from the container's header (0 when it does not say).
        fps: Average frame rate.
        time_base: Unit of the video stream's timestamps, kept in the output.
        rotation: Degrees counter-clockwise applied to stored frames to show them upright.
        codec: Video codec name (``h264``, ``hevc``, ``vp9`` ...).
        audio_codec: Audio codec name, or ``None`` without sound.
        duration: Seconds, from the header (0 when unknown).
    """

    width: int
    height: int
    frames: int
    fps: fractions.Fraction
    time_base: fractions.Fraction
    rotation: int
    codec: str
    audio_codec: str | None
    duration: float


@dataclasses.dataclass
class Frame:
    """One decoded frame: upright uint8 RGB and its presentation time in ``time_base`` units."""

    index: int
    pts: int
    rgb: np.ndarray


def is_video_path(path: str) -> bool:
    """True when the file name ends like a film (see :data:`VIDEO_EXTENSIONS`)."""
    return path.lower().endswith(VIDEO_EXTENSIONS)


def video_output_name(name: str) -> str:
    """``clip.mp4`` -> ``clip.mp4``; ``clip.webm`` -> ``clip.webm.mp4`` (always an MP4)."""
    return name if name.lower().endswith(KEPT_VIDEO_EXTENSIONS) else name + ".mp4"


def _open_container(path: str):
    """A film opened for reading, with metadata that is not valid UTF-8 skipped rather than
    fatal where PyAV lets it be chosen (before 19; PyAV 19 has no ``metadata_errors``).

    The path is made a plain ``str``: ``av.open`` refuses subclasses of it, such as the one
    Gradio hands its upload handlers."""
    import av

    path = str(os.fspath(path))
    try:
        return av.open(path, metadata_errors="ignore")
    except TypeError:
        return av.open(path)


def _open(path: str):
    import av

    try:
        return _open_container(path)
    except (av.FFmpegError, OSError, UnicodeDecodeError) as error:
        raise VideoReadError(f"{path}: not a readable video ({_first_line(error)})") from error


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _too_large(path: str, width: int, height: int, max_pixels: int) -> VideoReadError:
    limit = "8K" if max_pixels == MAX_FRAME_PIXELS else f"{max_pixels / 1e6:g} MP"
    return VideoReadError(f"{path}: frames of {width} x {height} are larger than {limit}")


DECODER_MARGIN = 256
"""Pixels added to each side of a frame for the decoder's cap: decoders check the size they
allocate, which is larger than the picture (whole blocks of 16 or 64 px, and for some, such
as MPEG-4 Part 2, a border of extra pixels around it). Margin enough for all of them, while a
frame many times the film's own size is still refused."""


def _coded_pixels(width: int, height: int) -> int:
    """Pixels a decoder may allocate for a ``width`` x ``height`` frame (see
    :data:`DECODER_MARGIN`)."""
    return (max(1, width) + DECODER_MARGIN) * (max(1, height) + DECODER_MARGIN)


def _cap_decoder(stream, max_pixels: int) -> None:
    """Makes FFmpeg's decoder refuse a frame of more than ``max_pixels`` (coded) before
    allocating it: a film whose header says 64 x 48 may still hold a frame of 12000 x 12000."""
    stream.codec_context.options = {**stream.codec_context.options,
                                    "max_pixels": str(max(1, int(max_pixels)))}


def probe_video(path: str, *, max_pixels: int = MAX_FRAME_PIXELS) -> VideoInfo:
    """Reads a film's header and first frame (for its rotation): nothing more is decoded.

    Args:
        path: The film.
        max_pixels: Frames with more pixels are refused (from the header where it says, and
            by the decoder, before allocating, where it does not).

    Raises:
        VideoReadError: No video stream, a corrupt header, frames too large, or no frame.
    """
    with _open(path) as container:
        if not container.streams.video:
            raise VideoReadError(f"{path}: no video stream (audio only?)")
        stream = container.streams.video[0]
        context = stream.codec_context
        if context.width * context.height > max_pixels:
            raise _too_large(path, context.width, context.height, max_pixels)
        # Where the header gives a size, frames are held to it; where not, to the pixel cap.
        _cap_decoder(stream, _coded_pixels(context.width, context.height) if context.width
                     else max_pixels)
        rotation = 0
        try:
            for frame in container.decode(stream):
                rotation = int(round(getattr(frame, "rotation", 0) or 0)) % 360
                break
            else:
                raise VideoReadError(f"{path}: the video stream holds no frames")
        except VideoReadError:
            raise
        except Exception as error:  # av.FFmpegError and friends
            if context.width * context.height == 0:  # no size in the header: the cap's refusal?
                raise VideoReadError(f"{path}: cannot decode ({_first_line(error)}; frames "
                                     f"over {max_pixels / 1e6:g} MP are refused)") from error
            raise VideoReadError(f"{path}: cannot decode ({_first_line(error)})") from error
        width, height = context.width, context.height
        if rotation in (90, 270):
            width, height = height, width
        audio = _audio_codec(container.streams.audio[0]) if container.streams.audio else None
        fps = stream.average_rate or stream.guessed_rate or fractions.Fraction(25)
        duration = float(container.duration / 1_000_000) if container.duration else 0.0
        return VideoInfo(width, height, int(stream.frames or 0), fractions.Fraction(fps),
                         fractions.Fraction(stream.time_base), rotation, context.name, audio,
                         duration)


def _upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    turns = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k=turns)) if turns else rgb


def read_frames(path: str, info: VideoInfo | None = None) -> Iterator[Frame]:
    """Decodes every frame, upright, as uint8 RGB with its presentation timestamp.

    Timestamps are the stream's own (so variable frame rates are kept); a frame without one
    gets the next tick of the average rate. Raises :class:`VideoReadError` on a decoding error
    (a truncated file), naming the file and the frame reached, and on a frame whose size
    differs from the film's (checked before it is converted; a larger one is refused by the
    decoder before it is allocated).
    """
    info = info or probe_video(path)
    # The size frames are stored at (the header's, before rotation).
    stored = (info.height, info.width) if info.rotation in (90, 270) else (info.width,
                                                                          info.height)
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame and slice threads: decoding keeps up with the model
        _cap_decoder(stream, _coded_pixels(*stored))
        tick = fractions.Fraction(1) / (info.fps * info.time_base)
        index, last_pts = 0, None
        try:
            for frame in container.decode(stream):
                if (frame.width, frame.height) != stored:
                    raise VideoReadError(
                        f"{path}: frame {index} is {frame.width} x {frame.height}, the film's "
                        f"frames {stored[0]} x {stored[1]}: a film whose frame size changes "
                        "is not supported")
                pts = frame.pts if frame.pts is not None else int(round(index * tick))
                if last_pts is not None and pts <= last_pts:
                    pts = last_pts + 1  # an encoder needs strictly increasing timestamps
                last_pts = pts
                rgb = _upright(frame.to_ndarray(format="rgb24"), info.rotation)
                yield Frame(index, pts, rgb)
                index += 1
        except VideoReadError:
            raise
        except Exception as error:
            # EINVAL is how FFmpeg refuses a frame over the decoder's pixel cap.
            larger = (f"; frames larger than the film's {stored[0]} x {stored[1]} are refused"
                      if getattr(error, "errno", None) == 22 else "")
            raise VideoReadError(f"{path}: cannot decode frame {index} "
                                 f"({_first_line(error)}{larger})") from error
    if index == 0:
        raise VideoReadError(f"{path}: the video stream holds no frames")


class SegmentWriter:
    """Encodes frames to one H.264 MP4 segment (context manager; the file is complete on exit).

    Odd widths or heights cannot use 4:2:0 chroma, so such films are encoded 4:4:4 rather than
    cropped or padded: the output keeps the input's exact size.

    Args:
        path: The segment file to write.
        info: The input film's size, rate and time base.
        options: libx264's options; :data:`ENCODER_OPTIONS` by default.
    """

    def __init__(self, path: str, info: VideoInfo, options: dict[str, str] | None = None):
        import av

        self.path = path
        self.container = av.open(path, "w", format="mp4")
        stream = self.container.add_stream("libx264", rate=info.fps)
        stream.width, stream.height = info.width, info.height
        odd = info.width % 2 or info.height % 2
        stream.pix_fmt = "yuv444p" if odd else "yuv420p"
        stream.time_base = info.time_base
        stream.codec_context.time_base = info.time_base
        stream.codec_context.max_b_frames = 0  # dts == pts: segments concatenate exactly
        stream.options = dict(ENCODER_OPTIONS if options is None else options)
        # BT.709 matrix, limited range, said in the stream so players decode it as encoded.
        stream.codec_context.colorspace = 1
        stream.codec_context.color_primaries = 1
        stream.codec_context.color_trc = 1
        stream.codec_context.color_range = 1
        self.stream = stream
        self._format = stream.pix_fmt

    def write(self, rgb: np.ndarray, pts: int) -> None:
        """Encodes one uint8 RGB frame shown at ``pts`` (in the input's time base)."""
        import av

        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame = frame.reformat(format=self._format, dst_colorspace="itu709",
                               dst_color_range="MPEG")
        frame.pts = pts
        frame.time_base = self.stream.time_base
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()

    def __enter__(self) -> "SegmentWriter":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.container.close()


def _packets(container, stream) -> Iterator:
    for packet in container.demux(stream):
        if packet.size and packet.pts is not None:
            yield packet


AAC_BIT_RATE = 192_000
"""Bit rate of sound re-encoded to AAC: ample for stereo, the usual case."""
AAC_FALLBACK_RATE = 48_000
"""Sample rate for sound whose own rate AAC has no table for (e.g. 37.8 or 192 kHz)."""
AAC_FALLBACK_LAYOUT = "stereo"
"""Channel layout for sound with more channels than the AAC encoder takes (22.2): PyAV
downmixes it."""


def _audio_codec(stream) -> str:
    """The sound's codec as FFmpeg names it (``mp3``), not as its decoder does (``mp3float``)."""
    return stream.codec_context.codec.canonical_name


def _stamped(packets: Iterator) -> Iterator:
    """Packets that have both timestamps: audio is shown in decoding order, so a missing pts is
    its dts and the other way round; a packet with neither has no place in the output."""
    for packet in packets:
        if packet.pts is None:
            packet.pts = packet.dts
        if packet.dts is None:
            packet.dts = packet.pts
        if packet.pts is not None:
            yield packet


def _copied_audio(container, stream) -> Iterator:
    """The sound's packets as stored, each with timestamps and a duration.

    A packet without a duration (FLAC from an AVI) gets the time to the next one, and the last
    one its predecessor's: the MP4 muxer would otherwise give the last packet no time, and
    decoders drop it.
    """
    previous, duration = None, 0
    for packet in _stamped(p for p in container.demux(stream) if p.size):
        if previous is not None:
            if not previous.duration and packet.pts > previous.pts:
                previous.duration = packet.pts - previous.pts
            duration = previous.duration or duration
            yield previous
        previous = packet
    if previous is not None:
        previous.duration = previous.duration or duration
        yield previous


def _aac_takes(rate: int, layout) -> bool:
    """Whether FFmpeg's AAC encoder opens for this sample rate and channel layout."""
    import av

    trial = av.CodecContext.create("aac", "w")
    trial.sample_rate, trial.layout, trial.format, trial.bit_rate = (
        rate, layout, "fltp", AAC_BIT_RATE)
    try:
        trial.open()
    except (av.FFmpegError, ValueError):
        return False
    return True


def _aac_layout(rate: int, layout):
    """The source's channel layout if AAC takes it, else the usual order of as many channels
    (a PCM track in a Matroska file says "6 channels", not 5.1), else stereo."""
    import av

    usual = av.AudioLayout(f"{layout.nb_channels}c")
    return next((candidate for candidate in (layout, usual) if _aac_takes(rate, candidate)),
                AAC_FALLBACK_LAYOUT)


def _aac_stream(output, source):
    """An AAC stream for the source's sound: its own rate and channels where AAC takes them,
    :data:`AAC_FALLBACK_RATE` and :data:`AAC_FALLBACK_LAYOUT` where it does not."""
    context = source.codec_context
    rate = context.sample_rate
    if not _aac_takes(rate, "stereo"):
        rate = AAC_FALLBACK_RATE
    layout = _aac_layout(rate, context.layout)
    stream = output.add_stream("aac", rate=rate)
    stream.layout = layout
    stream.bit_rate = AAC_BIT_RATE
    return stream


def _encoded_audio(container, source, stream) -> Iterator:
    """The source's sound decoded and encoded with ``stream``'s encoder (AAC).

    Frames are timed by counting their samples from the first frame's time: continuous, as an
    encoder needs (WebM rounds each frame's time to a millisecond), and starting where the
    source's sound starts (a gap in the source's sound is closed up, not kept). The encoder
    resamples them to its rate, format and channels and cuts them to its own frame size
    itself, and numbers its packets from these times.
    """
    next_pts = None
    for frame in container.decode(source):
        if next_pts is None:
            start = (frame.pts * frame.time_base if frame.pts is not None and frame.time_base
                     else 0)
            next_pts = round(start * frame.sample_rate)
        frame.pts, frame.time_base = next_pts, fractions.Fraction(1, frame.sample_rate)
        next_pts += frame.samples
        yield from stream.encode(frame)
    yield from stream.encode(None)


def join_segments(segments: list[str], source: str, target: str, *,
                  comment: str | None = None) -> None:
    """Muxes encoded segments and the source's audio into ``target``.

    Video packets are copied from the segments, audio packets from the source when MP4 holds
    their codec (:data:`MP4_AUDIO_CODECS`), otherwise the sound is re-encoded to AAC at
    :data:`AAC_BIT_RATE`; both are interleaved by time, so memory stays bounded for any length.
    ``target`` is written as given: callers write a temporary name and rename it.
    """
    import av

    inputs = [av.open(path) for path in segments]
    source_container = _open_container(source)
    output = av.open(target, "w", format="mp4")
    try:
        if comment:
            output.metadata["comment"] = comment
        video_out = output.add_stream_from_template(inputs[0].streams.video[0])
        audio_in = source_container.streams.audio[0] if source_container.streams.audio else None
        audio_out = None
        if audio_in is not None:
            if _audio_codec(audio_in) in MP4_AUDIO_CODECS:
                audio_out = output.add_stream_from_template(audio_in)
                audio_packets = _copied_audio(source_container, audio_in)
            else:
                audio_out = _aac_stream(output, audio_in)
                audio_packets = _stamped(_encoded_audio(source_container, audio_in, audio_out))

        def video_packets() -> Iterator:
            for container in inputs:
                yield from _packets(container, container.streams.video[0])

        def timed(packets: Iterator, order: int) -> Iterator:
            for packet in packets:
                yield float(packet.pts * packet.time_base), order, packet

        # Interleaved by time, so the muxer never buffers one stream while waiting for the other.
        streams = [timed(video_packets(), 0)]
        if audio_in is not None:
            streams.append(timed(audio_packets, 1))
        for _, order, packet in heapq.merge(*streams, key=lambda item: item[:2]):
            packet.stream = video_out if order == 0 else audio_out
            output.mux(packet)
    finally:
        output.close()
        source_container.close()
        for container in inputs:
            container.close()


def remove_quietly(path: str) -> None:
    """Deletes a file if it is there."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass

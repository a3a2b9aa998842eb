"""A film's sound in every codec and container it comes in: copied where MP4 holds it, re-encoded
to AAC where it does not, and lasting as long as the input's either way (docs/video.md, Sound)."""
from __future__ import annotations

import glob
import os

import pytest

from colorizer.batches.batch import colorize_inputs
from colorizer.films.video import colorize_video
from tests.films import clips

SIZE = (48, 64)
FRAMES = 6
TONE_SECONDS = 1.0

ENCODERS = {"aac": "aac", "mp3": "libmp3lame", "opus": "libopus", "vorbis": "vorbis",
            "pcm": "pcm_s16le", "ac3": "ac3", "flac": "flac", "eac3": "eac3", "alac": "alac"}
"""The sound codecs tried, and the encoder each tone is made with."""
CONTAINERS = {"aac": ("mp4", "mov", "mkv", "avi"), "mp3": ("mp4", "mov", "mkv", "avi"),
              "opus": ("mp4", "mkv", "webm"), "vorbis": ("mkv", "webm", "avi"),
              "pcm": ("mp4", "mov", "mkv", "avi"), "ac3": ("mp4", "mov", "mkv", "avi"),
              "flac": ("mp4", "mkv", "avi"), "eac3": ("mp4", "mov", "mkv", "avi"),
              "alac": ("mp4", "mov", "mkv")}
"""Where FFmpeg writes each: WebM holds only Opus and Vorbis, MOV neither Opus nor FLAC, MP4 no
Vorbis, AVI neither Opus nor ALAC."""
COPIED = {"aac", "mp3", "opus", "ac3", "flac", "eac3", "alac"}
"""Codecs an MP4 holds, copied packet for packet; the others become AAC."""
CASES = [(codec, container) for codec, containers in CONTAINERS.items()
         for container in containers]


@pytest.fixture(scope="module")
def model():
    return clips.high_pass_model()  # one convolution: the cheapest real Keras colorizer


@pytest.fixture(scope="module")
def frames(photos):
    return clips.pan(max(photos, key=lambda p: p.shape[1]), FRAMES, SIZE)[0]


def _film(path, frames, audio_codec: str, **audio) -> str:
    video = "libvpx-vp9" if path.endswith(".webm") else "libx264"  # WebM holds no H.264
    clips.write_clip(path, frames, codec=video, tone_seconds=TONE_SECONDS,
                     audio_codec=audio_codec, **audio)
    return path


def _sound(path: str) -> dict:
    """What a film holds, decoded: its video frames, and its one audio stream's codec (as FFmpeg
    names it: ``mp3``, not the decoder ``mp3float``), rate, channels and seconds."""
    import av

    with av.open(path) as container:
        audio = container.streams.audio
        context = audio[0].codec_context
        samples = video_frames = 0
        for frame in container.decode(video=0, audio=0):
            if isinstance(frame, av.AudioFrame):
                samples += frame.samples
            else:
                video_frames += 1
        return {"audio_streams": len(audio), "codec": context.codec.canonical_name,
                "rate": context.sample_rate, "layout": context.layout.name,
                "seconds": samples / context.sample_rate, "frames": video_frames}


@pytest.mark.parametrize("codec,container", CASES, ids=[f"{c}-{k}" for c, k in CASES])
def test_sound_is_copied_or_re_encoded_to_aac_and_keeps_its_length(tmp_path, model, frames,
                                                                     codec, container):
    clip = _film(str(tmp_path / f"clip.{container}"), frames, ENCODERS[codec])
    before = _sound(clip)
    assert before["codec"] == codec.replace("pcm", "pcm_s16le")  # the film is what it says
    out = str(tmp_path / "out.mp4")
    colorize_video(model, clip, out, render_size=64, progress=False)
    after = _sound(out)
    assert after["frames"] == before["frames"] == FRAMES
    assert after["audio_streams"] == 1
    assert after["codec"] == (before["codec"] if codec in COPIED else "aac")
    assert after["seconds"] == pytest.approx(before["seconds"], abs=0.1)
    if codec in COPIED:
        assert clips.audio_packets(out) == clips.audio_packets(clip)


@pytest.mark.parametrize("rate,layout,expected", [
    (37800, "stereo", (48000, "stereo")),  # a rate AAC has no table for: resampled
    (44100, "5.1", (44100, "5.1")),  # Matroska says "6 channels": the usual 5.1 order is used
], ids=["37800hz-mkv", "6ch-mkv"])
def test_pcm_at_a_rate_or_in_channels_aac_refuses_is_converted(tmp_path, model, frames, rate,
                                                                layout, expected):
    clip = _film(str(tmp_path / "clip.mkv"), frames, "pcm_s16le", audio_rate=rate,
                 audio_layout=layout)
    out = str(tmp_path / "out.mp4")
    colorize_video(model, clip, out, render_size=64, progress=False)
    before, after = _sound(clip), _sound(out)
    assert (after["codec"], after["rate"], after["layout"]) == ("aac", *expected)
    assert after["seconds"] == pytest.approx(before["seconds"], abs=0.1)


def test_a_folder_with_a_camera_pcm_mov_and_a_plain_film_gives_both(tmp_path, model, frames):
    folder = tmp_path / "in"
    folder.mkdir()
    _film(str(folder / "camera.mov"), frames, "pcm_s16le")
    clips.write_clip(str(folder / "plain.mp4"), frames)  # no sound at all
    out = tmp_path / "out"
    manifest = colorize_inputs(model, [folder], out, render_size=64, progress=False)
    by_name = {os.path.basename(entry.input): entry for entry in manifest.entries}
    assert {name: entry.status for name, entry in by_name.items()} == {"camera.mov": "ok",
                                                                       "plain.mp4": "ok"}
    assert _sound(str(out / "camera.mov"))["codec"] == "aac"
    assert by_name["plain.mp4"].frames == FRAMES
    assert glob.glob(str(out / "**" / ".*.parts"), recursive=True) == []


def test_the_table_tries_every_codec_mp4_copies():
    from colorizer.films.video_io import MP4_AUDIO_CODECS

    assert COPIED == set(MP4_AUDIO_CODECS)  # docs/video.md's table stays the whole story

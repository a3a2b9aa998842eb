"""Films in the web app through its API (``gradio_client``): a film and a photo in one request
both come back, the film plays with its frames, size and sound; films over the app's length or
pixel bounds are refused with a message before any work, and the request's photos survive."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image
from skimage import data

from colorizer.films.video_io import probe_video
from tests.films import clips

FILM_SIZE = (120, 160)  # height, width
FILM_FRAMES = 24  # one second at 24 frames a second


def make_film(path, frames: int = FILM_FRAMES, tone_seconds: float = 1.0) -> str:
    """A gray film of a camera panning over a photo, with a 440 Hz tone."""
    pictures, _ = clips.pan(data.astronaut(), frames, FILM_SIZE)
    clips.write_clip(str(path), clips.gray(pictures), fps=24, tone_seconds=tone_seconds)
    return str(path)


def make_film_without_length(path, frames: int) -> str:
    """A Matroska film written as a stream (to a pipe): its header says neither its
    duration nor its frame count, so only decoding finds out how long it is."""
    import io

    import av

    class Pipe(io.RawIOBase):
        def __init__(self, file):
            self.file = file

        def writable(self):
            return True

        def write(self, data):
            return self.file.write(data)

    pictures, _ = clips.pan(data.astronaut(), frames, FILM_SIZE)
    with open(path, "wb") as file, av.open(Pipe(file), "w", format="matroska") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.height, stream.width = FILM_SIZE
        stream.pix_fmt = "yuv420p"
        for rgb in clips.gray(pictures):
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return str(path)


def check_film_plays(path: str, frames: int = FILM_FRAMES, sound: bool = True) -> None:
    """The film decodes to ``frames`` frames of :data:`FILM_SIZE`, with sound when asked,
    and in colour."""
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    with av.open(path) as container:
        assert bool(container.streams.audio) == sound
        if sound:
            assert clips.audio_packets(path)
    assert len(decoded) == frames
    assert decoded[0].shape == (*FILM_SIZE, 3)
    chroma = np.abs(decoded[0].astype(int) - decoded[0][..., :1]).max()
    assert chroma > 2, "no colour was added"


def _save(array, path) -> str:
    Image.fromarray(array).save(path)
    return str(path)


def _ask(client, files, urls="", render_size=128):
    from gradio_client import handle_file

    status, pair, _, downloads = client.predict(
        [handle_file(str(f)) for f in files], urls, render_size, api_name="/colorize")
    return status, pair, downloads or []


@pytest.fixture(scope="module")
def client(running_app, tmp_path_factory):
    from gradio_client import Client

    return Client(running_app.url, verbose=False,
                  download_files=str(tmp_path_factory.mktemp("film-downloads")))


@pytest.mark.timeout(600)
def test_a_film_and_a_photo_in_one_request_both_come_back(client, tmp_path):
    film = make_film(tmp_path / "clip.mp4")
    photo = _save(data.camera()[::4, ::4], tmp_path / "p.png")
    status, pair, downloads = _ask(client, [film, photo])
    assert status.startswith("Colorized 2 of 2"), status
    names = [os.path.basename(p) for p in downloads]
    assert names == ["clip.mp4", "p.png", "colorized.zip"], names
    check_film_plays(downloads[0])
    with Image.open(downloads[1]) as result:
        assert result.size == (128, 128)
    assert pair is not None and all(os.path.getsize(p) > 0 for p in pair)


@pytest.fixture(scope="module")
def bounded_client(bounded_app, tmp_path_factory):
    from gradio_client import Client

    return Client(bounded_app.url, verbose=False,
                  download_files=str(tmp_path_factory.mktemp("bounded-downloads")))


@pytest.mark.timeout(600)
def test_a_film_over_the_bounds_is_refused_and_the_photos_survive(bounded_client, tmp_path):
    long_film = make_film(tmp_path / "long.mp4")  # 1 s: over the half second allowed
    short_film = make_film(tmp_path / "short.mp4", frames=6, tone_seconds=0.25)
    big = np.zeros((400, 400), np.uint8)  # 160,000 pixels: over the 100,000 allowed
    big_film = tmp_path / "big.mp4"
    clips.write_clip(str(big_film), [np.stack([big] * 3, -1)] * 3)
    # No length in its header: refused while decoding, past 0.5 s at 60 frames a second.
    endless = make_film_without_length(tmp_path / "endless.mkv", 48)
    assert probe_video(endless).duration == 0 and probe_video(endless).frames == 0
    photo = _save(data.camera()[::4, ::4], tmp_path / "p.png")
    status, _, downloads = _ask(bounded_client,
                                [long_film, photo, big_film, short_film, endless])
    assert status.startswith("Colorized 2 of 5"), status
    assert "**long.mp4**: too long: 1.0 s; the app takes films up to 0.5 s" in status, status
    assert "**big.mp4**: too large: frames of 400 x 400 pixels (0.16 MP); the app takes " \
           "photos and film frames up to 0.1 MP" in status, status
    assert "**endless.mkv**: longer than 30 frames" in status, status
    names = [os.path.basename(p) for p in downloads]
    assert names == ["p.png", "short.mp4", "colorized.zip"], names
    check_film_plays(downloads[1], frames=6)

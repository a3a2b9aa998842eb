"""The web app through its API (``gradio_client``, as a script or another page would call it):
bad input gives a message and the app keeps serving; results equal `colorizer colorize`'s;
only the host asked listens; closing deletes every file."""
from __future__ import annotations

import io
import os
import time
import urllib.request
import zipfile

import numpy as np
import pytest
from PIL import Image
from skimage import data
from skimage.color import rgb2lab

from colorizer.cli import main
from tests.app.conftest import launch_on_a_free_port, toned_down_model
from tests.loopback import loopback  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def client(running_app, tmp_path_factory):
    from gradio_client import Client

    return Client(running_app.url, verbose=False,
                  download_files=str(tmp_path_factory.mktemp("client-downloads")))


def _ask(client, files=(), urls="", render_size=224):
    from gradio_client import handle_file

    status, pair, _, downloads = client.predict(
        [handle_file(str(f)) for f in files], urls, render_size, api_name="/colorize")
    return status, pair, downloads or []


def _save(array, path) -> str:
    Image.fromarray(array).save(path)
    return str(path)


def test_bad_files_get_a_message_and_the_app_keeps_serving(client, tmp_path):
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    status, pair, downloads = _ask(client, [corrupt])
    assert status.startswith("No photo could be colorized (1 tried).")
    assert "**corrupt.jpg**: not a readable image" in status
    assert "Traceback" not in status and pair is None and downloads == []

    # A 1 x 1 photo is a photo: it comes back 1 x 1, with its lightness.
    tiny = _save(np.full((1, 1), 90, np.uint8), tmp_path / "dot.png")
    status, pair, downloads = _ask(client, [tiny])
    assert status.startswith("Colorized 1 of 1 photo in"), status
    with Image.open(downloads[0]) as result:
        assert result.size == (1, 1)
        pixel = np.asarray(result.convert("RGB"))
    expected = rgb2lab(np.full((1, 1, 3), 90, np.uint8))[0, 0, 0]
    assert abs(rgb2lab(pixel)[0, 0, 0] - expected) < 0.35

    # Too many pixels: refused from the header, before any decoding (56 MP of zeros is a
    # few kB of PNG).
    huge = _save(np.zeros((7000, 8000), np.uint8), tmp_path / "huge.png")
    status, pair, downloads = _ask(client, [huge, corrupt])
    assert "**huge.png**: too large: 8000 x 7000 pixels (56.0 MP); the app takes photos up " \
           "to 50 MP" in status and "**corrupt.jpg**" in status and downloads == []

    status, _, _ = _ask(client, [tiny], render_size=200)  # in the slider's range, no multiple of 32
    assert status == "Could not colorize: render_size must be a positive multiple of 32, got 200"

    status, _, _ = _ask(client)
    assert status.startswith("Add a photo")

    # Over the upload cap (200 MB): refused before it is sent (a sparse file costs nothing).
    big = tmp_path / "big.jpg"
    with open(big, "wb") as f:
        f.truncate(201 * 1024 * 1024)
    with pytest.raises(ValueError, match="exceeds the maximum file size of 209715200 bytes"):
        _ask(client, [big])

    # Still serving: a good photo after all that.
    good = _save(data.camera()[::4, ::4], tmp_path / "camera.png")
    status, pair, downloads = _ask(client, [good])
    assert status.startswith("Colorized 1 of 1 photo") and len(downloads) == 1
    assert all(os.path.getsize(p) > 0 for p in pair)


def test_several_photos_and_links_give_each_file_and_one_zip(client, tmp_path, photo_host):
    jpeg = io.BytesIO()
    Image.fromarray(data.coffee()[::2, ::2]).save(jpeg, "JPEG", quality=90)
    photo_host.add("/cup.jpg", jpeg.getvalue())
    photo_host.add("/gone.jpg", status=404)
    urls = "\n".join([photo_host.url("/cup.jpg"), photo_host.url("/gone.jpg"),
                      "ftp://x/y.jpg"])
    first = _save(data.camera()[::4, ::4], tmp_path / "camera.png")
    second = _save(data.astronaut()[::4, ::4], tmp_path / "astronaut.png")
    status, pair, downloads = _ask(client, [first, second], urls)

    assert status.startswith("Colorized 3 of 5 photos"), status
    assert f"**{photo_host.url('/gone.jpg')}**: download failed (HTTP 404" in status
    assert "**ftp://x/y.jpg**: not a link" in status
    names = [os.path.basename(p) for p in downloads]
    assert names[-1] == "colorized.zip" and names[:2] == ["camera.png", "astronaut.png"]
    assert names[2].startswith("cup-") and names[2].endswith(".jpg")
    with zipfile.ZipFile(downloads[-1]) as archive:
        assert sorted(archive.namelist()) == sorted(names[:3])
        for path in downloads[:3]:
            with open(path, "rb") as f:
                assert archive.read(os.path.basename(path)) == f.read()
    with Image.open(downloads[2]) as cup:
        assert cup.size == (data.coffee().shape[1] // 2, data.coffee().shape[0] // 2)


def test_links_inside_the_network_are_refused_without_a_word_about_it(client, photo_host,
                                                                      loopback):
    """A visitor's link to the app's own network (another port of its loopback, a redirect
    there, a private or metadata address) is refused before any connection, and the page
    says only that: nothing of what answers there, or whether anything does."""
    loopback.add("/admin", b"secret")
    photo_host.add("/hop.jpg", redirect=loopback.url("/admin"))
    links = [loopback.url("/admin"), photo_host.url("/hop.jpg"),
             "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/x.jpg",
             f"http://localhost:{loopback.address[1]}/admin"]
    status, pair, downloads = _ask(client, urls="\n".join(links))
    assert status.startswith("No photo could be colorized (5 tried)."), status
    for link in links:
        assert f"**{link}**: refused: the link points inside the network; only public " \
               "addresses are fetched" in status
    assert loopback.hits["/admin"] == 0 and photo_host.hits["/hop.jpg"] == 1
    assert "secret" not in status and "Connection" not in status and pair is None


def test_results_are_those_of_colorizer_colorize(client, model_file, tmp_path):
    photo = _save(data.astronaut()[::2, ::2], tmp_path / "portrait.png")
    _, _, downloads = _ask(client, [photo], render_size=160)
    assert main(["colorize", "--model", model_file, "--out", str(tmp_path / "cli"),
                 "--render-size", "160", photo]) == 0
    with open(downloads[0], "rb") as app_file, open(tmp_path / "cli" / "portrait.png",
                                                     "rb") as cli_file:
        assert app_file.read() == cli_file.read()  # pixels and metadata tag alike


def test_listens_only_on_the_host_asked(running_app):
    port = int(running_app.url.rstrip("/").rsplit(":", 1)[1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            pytest.skip("reads Linux's socket tables")
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    listening.append(local.rsplit(":", 1)[0])
    assert listening == ["0100007F"]  # 127.0.0.1, and nothing on any other address


def _parameters(client) -> list[str]:
    endpoint = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    return [p["parameter_name"] for p in endpoint["/colorize"]["parameters"]]


def test_a_regression_model_has_no_temperature(client):
    assert _parameters(client) == ["files", "urls", "render_size"]


def test_one_request_at_a_time_temperature_and_cleanup_on_close(tmp_path):
    from gradio_client import Client, handle_file

    model = toned_down_model(head="classification")
    calls = []
    predict = model.predict_on_batch

    def slow_predict(batch):  # long enough that two requests would overlap if both ran
        start = time.monotonic()
        time.sleep(0.5)
        result = predict(batch)
        calls.append((start, time.monotonic()))
        return result

    model.predict_on_batch = slow_predict
    app = launch_on_a_free_port(model, block=False, quiet=True)
    try:
        client = Client(app.url, verbose=False, download_files=str(tmp_path / "downloads"))
        assert _parameters(client) == ["files", "urls", "render_size", "temperature"]
        photo = _save(data.camera()[::4, ::4], tmp_path / "camera.png")
        # Two visitors at once, at two temperatures.
        jobs = [client.submit([handle_file(photo)], "", 128, temperature, api_name="/colorize")
                for temperature in (0.05, 1.0)]
        chroma = []
        for job in jobs:
            _, _, _, downloads = job.result(timeout=120)
            lab = rgb2lab(np.asarray(Image.open(downloads[0]).convert("RGB")))
            chroma.append(np.hypot(lab[..., 1], lab[..., 2]).mean())
        assert len(calls) == 2
        (_, first_end), (second_start, _) = sorted(calls)
        assert second_start >= first_end, "the model ran for two requests at once"
        # The annealed mean at T = 1 averages over every bin: duller than near the mode.
        assert chroma[0] > chroma[1] + 0.5, chroma
        kept = [os.path.join(root, name) for root, _, names in os.walk(app.work_dir)
                for name in names]
        assert any(p.endswith("camera.png") and "requests" not in p for p in kept)  # upload
        assert any(p.endswith(os.path.join("out", "camera.png")) for p in kept)  # result
    finally:
        app.close()
    assert not os.path.exists(app.work_dir)
    with pytest.raises(OSError):
        urllib.request.urlopen(app.url, timeout=5)


def test_uploads_and_results_expire_without_another_request(model, tmp_path):
    """A long-running app keeps no photo: the sweeper deletes uploads and results on its own
    timer, with no later request to set it off."""
    from gradio_client import Client, handle_file

    app = launch_on_a_free_port(model, block=False, quiet=True, keep_seconds=1.0,
                                sweep_seconds=0.2)
    try:
        client = Client(app.url, verbose=False, download_files=str(tmp_path / "downloads"))
        photo = _save(data.camera()[::4, ::4], tmp_path / "camera.png")
        status, _, _, _ = client.predict([handle_file(photo)], "", 128, api_name="/colorize")
        assert status.startswith("Colorized 1 of 1 photo")

        def kept():
            return [name for _, _, names in os.walk(app.work_dir) for name in names]

        deadline = time.monotonic() + 20
        while kept() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert kept() == []
    finally:
        app.close()

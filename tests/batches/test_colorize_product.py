"""colorize_inputs and `colorizer colorize`: formats, sizes, folders, URLs, re-runs, metadata."""
import functools
import http.server
import io
import json
import os
import re
import threading

import cv2
import keras
import numpy as np
import pytest
from PIL import Image, ImageOps

from colorizer.cli import main
from colorizer.color import rgb_to_lab
from colorizer.data.images import ImageReadError, apply_orientation, decode_photo
from colorizer.fileio import save_model
from colorizer.batches.batch import MANIFEST_NAME, colorize_inputs
from colorizer import colorize
from colorizer.inference.full_resolution import image_lightness
from colorizer.batches.inputs import collect_sources, fetch_url, url_output_name
from colorizer.model.network import build_colorizer

RENDER = 32  # the smallest working size keeps every model call cheap


@pytest.fixture(scope="module")
def model():
    """An untrained colorizer, seeded, with its colours toned down: random weights can paint
    colours so strong that clipping them to sRGB changes L, which the L checks must not see."""
    keras.utils.set_random_seed(6)
    model = build_colorizer(weights=None)
    kernel, bias = model.get_layer("ab_conv").get_weights()
    model.get_layer("ab_conv").set_weights([kernel * 0.5, bias])
    return model


@pytest.fixture(scope="module")
def model_file(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.keras"
    save_model(model, path)
    return str(path)


def _lightness(rgb: np.ndarray) -> np.ndarray:
    top = 65535.0 if rgb.dtype == np.uint16 else 255.0
    return rgb_to_lab(rgb.astype(np.float32) / top)[..., 0]


def _read_output(path) -> np.ndarray:
    """Output pixels at full precision (OpenCV keeps 16-bit PNGs 16-bit), as RGB."""
    bgr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert bgr is not None and bgr.ndim == 3, path
    return bgr[..., ::-1]


def _assert_same_lightness(out: np.ndarray, expected_l: np.ndarray, lossy: bool = False):
    assert out.shape[:2] == expected_l.shape
    diff = np.abs(_lightness(out) - expected_l)
    if lossy:  # JPEG in, JPEG out: the re-encoding moves L a little
        assert np.median(diff) < 1.0 and np.percentile(diff, 99) < 4.0
        return
    # Colours are mapped into sRGB at constant L: only rounding RGB moves L, by at most 0.26
    # at 8 bits and 0.001 at 16 (tests/inference/test_lightness_kept.py), at every pixel.
    assert diff.max() < (0.3 if out.dtype == np.uint8 else 0.005)


def _smooth(height, width, channels=3, seed=0):
    """A photo-like smooth image (random blobs), uint8."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (4, 4, channels), dtype=np.uint8)
    big = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    return big.reshape(height, width, channels)


def _run(model, inputs, out, **kwargs):
    kwargs.setdefault("render_size", RENDER)
    return colorize_inputs(model, [str(i) for i in inputs], str(out), progress=False, **kwargs)


# --- formats ------------------------------------------------------------------------------

def _write_format(kind: str, folder) -> tuple[str, np.ndarray, bool]:
    """Writes one test file; returns (path, expected L of the upright gray photo, lossy)."""
    rgb = _smooth(45, 70)
    path = str(folder / f"photo_{kind}")
    if kind in ("jpeg", "jpeg_gray", "jpeg_cmyk", "webp"):
        image = Image.fromarray(rgb)
        image = {"jpeg_gray": image.convert("L"), "jpeg_cmyk": image.convert("CMYK")}.get(
            kind, image)
        path += ".webp" if kind == "webp" else ".jpg"
        image.save(path, quality=95)
        with Image.open(path) as reread:
            reference = np.asarray(reread.convert("RGB"))
        return path, _lightness(reference), kind != "webp"
    if kind == "png16_gray":
        gray = (np.linspace(0, 65535, 45 * 70).reshape(45, 70)).astype(np.uint16)
        Image.fromarray(gray).save(path + ".png")
        return path + ".png", _lightness(np.repeat(gray[..., None], 3, -1)), False
    if kind == "png16_rgb":
        wide = (rgb.astype(np.uint16) * 257 + np.arange(70, dtype=np.uint16)[None, :, None])
        cv2.imwrite(path + ".png", wide[..., ::-1])
        return path + ".png", _lightness(wide), False
    if kind.startswith("tiff16"):
        import tifffile

        wide = (rgb.astype(np.uint16) * 257 + np.arange(70, dtype=np.uint16)[None, :, None])
        if kind == "tiff16_gray":
            wide = wide[..., 0]
        tifffile.imwrite(path + ".tif", wide, photometric="minisblack" if wide.ndim == 2
                         else "rgb", compression="zlib")
        gray = wide if wide.ndim == 3 else np.repeat(wide[..., None], 3, -1)
        return path + ".tif", _lightness(gray), False
    if kind == "png_rgba":
        alpha = np.linspace(0, 255, 70).astype(np.uint8)[None, :].repeat(45, 0)
        Image.fromarray(np.dstack([rgb, alpha])).save(path + ".png")
        a = alpha[..., None] / 255.0
        composite = np.round(rgb * a + 255 * (1 - a)).astype(np.uint8)
        return path + ".png", _lightness(composite), False
    if kind == "gif":
        frames = [Image.fromarray(rgb).quantize(64), Image.fromarray(255 - rgb).quantize(64)]
        frames[0].save(path + ".gif", save_all=True, append_images=frames[1:])
        with Image.open(path + ".gif") as reread:  # frame 0, as the palette left it
            return path + ".gif", _lightness(np.asarray(reread.convert("RGB"))), False
    extension = {"png": ".png", "png_gray": ".png", "bmp": ".bmp", "tiff": ".tif"}[kind]
    image = Image.fromarray(rgb).convert("L") if kind == "png_gray" else Image.fromarray(rgb)
    image.save(path + extension)
    return path + extension, _lightness(np.asarray(image.convert("RGB"))), False


FORMATS = ["jpeg", "jpeg_gray", "jpeg_cmyk", "png", "png_gray", "png16_gray", "png16_rgb",
           "png_rgba", "bmp", "webp", "tiff", "tiff16_gray", "tiff16_rgb", "gif"]


@pytest.mark.parametrize("kind", FORMATS)
def test_every_format_comes_back_full_size_with_its_lightness(model, tmp_path, kind):
    path, expected_l, lossy = _write_format(kind, tmp_path)
    manifest = _run(model, [path], tmp_path / "out")
    (entry,) = manifest.entries
    assert entry.status == "ok", entry.reason
    assert (entry.width, entry.height) == (70, 45)
    name = os.path.basename(path)
    assert entry.output == (name if name.endswith((".jpg", ".png")) else name + ".png")
    out = _read_output(tmp_path / "out" / entry.output)
    assert out.dtype == (np.uint16 if kind.startswith(("png16", "tiff16")) else np.uint8)
    _assert_same_lightness(out, expected_l, lossy=lossy)
    assert np.abs(np.diff(out.astype(np.int32), axis=-1)).max() > 0  # it has colour


def test_16_bit_lightness_is_not_rounded_to_8_bits(model):
    gray = np.linspace(20000, 20255, 64 * 64).reshape(64, 64).astype(np.uint16)  # < 1 uint8 step
    photo = decode_photo(_png_bytes(gray))
    assert photo.dtype == np.uint16
    lightness = image_lightness(photo)[..., 0]
    assert np.ptp(lightness) > 0.3 and len(np.unique(lightness)) > 200


def _png_bytes(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


# --- sizes and orientation ------------------------------------------------------------------

@pytest.mark.parametrize("height, width", [(1, 1), (1, 300), (300, 1), (37, 250), (250, 37)])
def test_tiny_portrait_and_landscape_sizes(model, tmp_path, height, width):
    rgb = _smooth(height, width)
    Image.fromarray(rgb).save(tmp_path / "p.png")
    (entry,) = _run(model, [tmp_path / "p.png"], tmp_path / "out").entries
    assert entry.status == "ok" and (entry.height, entry.width) == (height, width)
    out = _read_output(tmp_path / "out" / "p.png")
    assert out.shape == (height, width, 3)
    _assert_same_lightness(out, _lightness(rgb))


def test_a_photo_over_ten_megapixels(model, tmp_path):
    height, width = 2600, 4000  # 10.4 MP
    rgb = _smooth(height, width, channels=1)[..., 0]
    cv2.imwrite(str(tmp_path / "big.png"), rgb, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    (entry,) = _run(model, [tmp_path / "big.png"], tmp_path / "out").entries
    assert entry.status == "ok" and (entry.width, entry.height) == (width, height)
    out = _read_output(tmp_path / "out" / "big.png")
    _assert_same_lightness(out[::7, ::7], _lightness(np.dstack([rgb] * 3))[::7, ::7])


@pytest.mark.parametrize("orientation, size", [(6, (40, 64)), (8, (40, 64)), (3, (64, 40))])
def test_exif_orientation_gives_the_upright_size(model, tmp_path, orientation, size):
    rgb = _smooth(40, 64)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(rgb).save(tmp_path / "cam.jpg", exif=exif.tobytes(), quality=98)
    (entry,) = _run(model, [tmp_path / "cam.jpg"], tmp_path / "out").entries
    assert (entry.width, entry.height) == size
    with Image.open(tmp_path / "cam.jpg") as image:
        upright = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    _assert_same_lightness(_read_output(tmp_path / "out" / "cam.jpg"), _lightness(upright),
                           lossy=True)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_array_orientation_matches_pillow(orientation):
    rgb = _smooth(5, 7)
    image = Image.fromarray(rgb)
    image.getexif()[0x0112] = orientation
    np.testing.assert_array_equal(apply_orientation(rgb, orientation),
                                  np.asarray(ImageOps.exif_transpose(image)))


# --- folders, failures, re-runs -----------------------------------------------------------

@pytest.fixture()
def messy_folder(tmp_path):
    folder = tmp_path / "album"
    (folder / "1990" / "summer").mkdir(parents=True)
    Image.fromarray(_smooth(30, 50, seed=1)).save(folder / "a.jpg")
    Image.fromarray(_smooth(50, 30, seed=2)).save(folder / "1990" / "b.png")
    Image.fromarray(_smooth(30, 50, seed=3)).save(folder / "1990" / "summer" / "c.bmp")
    good = (folder / "a.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (folder / "1990" / "garbage.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.txt").write_text("not a photo")
    (folder / "1990" / "index.html").write_text("<html></html>")
    return folder


def test_folder_with_bad_files_colorizes_every_good_one(model, messy_folder, tmp_path, capsys):
    out = tmp_path / "out"
    manifest = _run(model, [messy_folder], out)
    status = {os.path.relpath(e.input, messy_folder): e.status for e in manifest.entries}
    assert status == {"a.jpg": "ok", "1990/b.png": "ok", "1990/summer/c.bmp": "ok",
                      "truncated.jpg": "failed", "1990/garbage.jpg": "failed",
                      "empty.png": "failed"}
    for name in ("a.jpg", "1990/b.png", "1990/summer/c.bmp.png"):
        assert (out / name).is_file()
    err = capsys.readouterr().err
    for bad in ("truncated.jpg", "garbage.jpg", "empty.png"):
        lines = [line for line in err.splitlines() if bad in line]
        assert len(lines) == 1 and lines[0].startswith("failed: ")
    assert "empty file" in err
    lines = (out / MANIFEST_NAME).read_text().splitlines()
    assert [json.loads(line)["status"] for line in lines].count("failed") == 3
    assert not [n for _, _, files in os.walk(out) for n in files if n.startswith(".tmp")]


def test_rerun_skips_done_work_and_overwrite_redoes_it(model, messy_folder, tmp_path):
    out = tmp_path / "out"
    _run(model, [messy_folder], out)
    stamp = os.stat(out / "a.jpg").st_mtime_ns
    Image.fromarray(_smooth(20, 20)).save(messy_folder / "new.png")
    again = _run(model, [messy_folder], out)
    counts = again.counts()
    assert counts == {"ok": 1, "skipped": 3, "failed": 3}
    assert os.stat(out / "a.jpg").st_mtime_ns == stamp
    skipped = [e for e in again.entries if e.status == "skipped"]
    assert {(e.width, e.height) for e in skipped} == {(50, 30), (30, 50)}
    redone = _run(model, [messy_folder], out, overwrite=True)
    assert redone.counts()["ok"] == 4 and os.stat(out / "a.jpg").st_mtime_ns != stamp


def test_output_folder_inside_the_input_folder_is_not_an_input(model, messy_folder):
    out = messy_folder / "colorized"
    first = _run(model, [messy_folder], out)
    second = _run(model, [messy_folder], out)
    assert len(second.entries) == len(first.entries)
    assert not any("colorized" in e.input for e in second.entries)


def test_names_never_collide(model, tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        Image.fromarray(_smooth(20, 30)).save(tmp_path / folder / "x.jpg")
    Image.fromarray(_smooth(20, 30)).save(tmp_path / "a" / "x.bmp")
    Image.fromarray(_smooth(20, 30)).save(tmp_path / "a" / "x.tif")
    inputs = [tmp_path / "a" / "x.jpg", tmp_path / "b" / "x.jpg", tmp_path / "a" / "x.jpg",
              tmp_path / "a"]
    sources = collect_sources([str(i) for i in inputs])
    outputs = [s.output for s in sources]
    assert len(outputs) == len(set(outputs)) == 4  # the repeated file counts once
    assert "x.bmp.png" in outputs and "x.tif.png" in outputs
    assert collect_sources([str(i) for i in inputs]) == sources  # the same names every run
    manifest = _run(model, inputs, tmp_path / "out")
    assert manifest.counts()["ok"] == 4


def test_side_by_sides_of_photos_differing_only_by_extension_stay_apart(model, tmp_path):
    photos = tmp_path / "in"
    photos.mkdir()
    shades = {"a.jpg": 40, "a.png": 120, "a.jpeg": 200, "A.PNG.jpg": 90, "a.compare.jpg": 160}
    for name, shade in shades.items():
        Image.fromarray(np.full((24, 36, 3), shade, np.uint8)).save(photos / name)
    inputs = [photos / name for name in shades]
    entries = _run(model, inputs, tmp_path / "out", compare=True).entries
    assert [e.status for e in entries] == ["ok"] * 5
    compares = [e.compare for e in entries]
    names = [e.output.lower() for e in entries] + [c.lower() for c in compares]
    assert len(set(names)) == 10  # no side by side shares a name with another file
    assert compares[1:3] == ["a.png.compare.jpg", "a.jpeg.compare.jpg"]
    # a.jpg's own "a.compare.jpg" is an input's output; "A.PNG.compare.jpg" is a.png's side by
    # side on a case-insensitive disk: both get a hash instead.
    assert re.fullmatch(r"a-[0-9a-f]{8}\.compare\.jpg", compares[0])
    assert re.fullmatch(r"A\.PNG-[0-9a-f]{8}\.compare\.jpg", compares[3])
    for entry, shade in zip(entries, shades.values()):
        # Each side by side shows its own photo: the gray left half is that photo's shade.
        with Image.open(tmp_path / "out" / entry.compare) as image:
            left = np.asarray(image.convert("L"))[:, :10]
        assert abs(float(left.mean()) - shade) < 4, entry
    again = _run(model, inputs, tmp_path / "out", compare=True).entries
    assert [e.status for e in again] == ["skipped"] * 5  # the same names on every run
    assert [e.compare for e in again] == compares


def test_metadata_tag_and_side_by_side(model, tmp_path):
    Image.fromarray(_smooth(40, 60)).save(tmp_path / "a.png")
    Image.fromarray(_smooth(40, 60)).save(tmp_path / "b.jpg")
    (a, b) = _run(model, [tmp_path / "a.png", tmp_path / "b.jpg"], tmp_path / "out",
                  compare=True).entries
    with Image.open(tmp_path / "out" / "a.png") as image:
        assert "colorized" in image.info["Description"].lower()
    with Image.open(tmp_path / "out" / "b.jpg") as image:
        assert "colorized" in image.getexif()[0x010E].lower()
    with Image.open(tmp_path / "out" / a.compare) as image:
        assert image.size[1] == 40 and image.size[0] > 120
    assert b.compare == "b.compare.jpg"
    _run(model, [tmp_path / "a.png"], tmp_path / "plain", tag=False)
    with Image.open(tmp_path / "plain" / "a.png") as image:
        assert "Description" not in image.info


def test_batching_gives_the_same_colours_as_one_by_one(model, tmp_path):
    photos = [_smooth(48, 64, seed=s) for s in range(5)]
    for i, photo in enumerate(photos):
        Image.fromarray(photo).save(tmp_path / f"p{i}.png")
    _run(model, [tmp_path], tmp_path / "out", batch_size=4)
    for i, photo in enumerate(photos):
        alone = colorize(model, photo, render_size=RENDER)
        batched = _read_output(tmp_path / "out" / f"p{i}.png")
        assert np.abs(alone.astype(int) - batched).max() <= 1


# --- URLs ---------------------------------------------------------------------------------

@pytest.fixture()
def http_root(tmp_path):
    root = tmp_path / "site"
    (root / "img").mkdir(parents=True)
    Image.fromarray(_smooth(30, 40)).save(root / "img" / "Old photo.jpg")
    (root / "img" / "page.jpg").write_text("<html>a web page, not a photo</html>")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/escape.jpg":  # a redirect away from http must not be followed
                self.send_response(302)
                self.send_header("Location", "file:///etc/passwd")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_urls_mixed_with_files(model, http_root, tmp_path, capsys):
    Image.fromarray(_smooth(20, 20)).save(tmp_path / "local.png")
    good, missing = f"{http_root}/img/Old%20photo.jpg?s=1", f"{http_root}/img/none.jpg"
    inputs = [good, missing, f"{http_root}/img/page.jpg", f"{http_root}/escape.jpg",
              "ftp://127.0.0.1/x.jpg", tmp_path / "local.png"]
    manifest = _run(model, inputs, tmp_path / "out")
    by_input = {e.input: e for e in manifest.entries}
    assert by_input[good].status == "ok" and (by_input[good].width, by_input[good].height) == (40, 30)
    assert by_input[good].output == url_output_name(good)
    assert by_input[good].output.startswith("Old_photo-") and by_input[good].output.endswith(".jpg")
    assert (tmp_path / "out" / by_input[good].output).is_file()
    assert "404" in by_input[missing].reason
    assert "not a readable image" in by_input[f"{http_root}/img/page.jpg"].reason
    assert "redirect" in by_input[f"{http_root}/escape.jpg"].reason.lower()
    assert "only http" in by_input["ftp://127.0.0.1/x.jpg"].reason
    assert by_input[str(tmp_path / "local.png")].status == "ok"
    assert manifest.counts() == {"ok": 2, "skipped": 0, "failed": 4}
    assert missing in capsys.readouterr().err


def test_download_size_cap(http_root):
    url = f"{http_root}/img/Old%20photo.jpg"
    assert len(fetch_url(url)) > 500
    with pytest.raises(ImageReadError, match="larger than 100 bytes"):
        fetch_url(url, max_bytes=100)


# --- command line -------------------------------------------------------------------------

def test_cli_exit_status_and_one_line_errors(model_file, tmp_path, capsys):
    Image.fromarray(_smooth(30, 40)).save(tmp_path / "ok.png")
    (tmp_path / "bad.png").write_bytes(b"nope")
    out = str(tmp_path / "out")
    args = ["colorize", "--model", model_file, "--out", out, "--render-size", "32"]
    assert main(args + [str(tmp_path / "ok.png")]) == 0
    assert main(args + [str(tmp_path / "ok.png"), str(tmp_path / "bad.png")]) == 1
    captured = capsys.readouterr()
    assert "skipped 1" in captured.out and "bad.png" in captured.err

    (tmp_path / "wrong.keras").write_bytes(b"not a model")
    for model, words in ((str(tmp_path / "wrong.keras"), "named like a keras model but does not"),
                         (str(tmp_path / "absent.keras"), "model file not found")):
        assert main(["colorize", "--model", model, "--out", out, str(tmp_path)]) == 1
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(args[:-1] + ["100", str(tmp_path / "ok.png")]) == 1
    assert "multiple of 32" in capsys.readouterr().err

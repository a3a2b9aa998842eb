"""``colorizer colorize --hints --reference``: hints files and folders, bad input, the manifest."""
import json

import numpy as np
import pytest
from PIL import Image

from colorizer.cli import main
from colorizer.color import rgb_to_lab
from colorizer.data.images import read_rgb
from colorizer.inference.full_resolution import encode_lab, image_lightness

pytestmark = pytest.mark.backends  # the model runs: again on JAX in CI


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    from colorizer.fileio import save_model
    from colorizer.model.network import build_colorizer

    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    save_model(build_colorizer(weights=None, decoder_filters=(8, 8, 8)), path)
    return str(path)


def gray_photo(path, height=48, width=64, seed=0):
    rng = np.random.default_rng(seed)
    photo = np.where(np.arange(width) < width // 2, 70, 180)[None, :] + rng.integers(
        -4, 5, (height, width))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(photo.astype(np.uint8)).save(path)
    return path


def hint_rgb_at(photo_path, x, y, colour):
    """The exact 8-bit RGB the hint must give at (x, y): its ab at the photo's own L."""
    lightness = image_lightness(np.asarray(Image.open(photo_path)))
    ab = np.asarray(rgb_to_lab(np.array(colour, np.float32) / 255.0))[1:]
    return encode_lab(lightness[y:y + 1, x:x + 1], ab.reshape(1, 1, 2).astype(np.float32))[0, 0]


def read_manifest(out):
    return {e["input"].replace("\\", "/").split("/photos/")[-1]: e
            for e in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}


def test_hints_folder_points_and_scribbles(tmp_path, model_file, capsys):
    photos, hints, out = tmp_path / "photos", tmp_path / "hints", tmp_path / "out"
    gray_photo(photos / "sub" / "a.png")
    gray_photo(photos / "b.png", seed=1)
    gray_photo(photos / "c.png", seed=2)
    (hints / "sub").mkdir(parents=True)
    (hints / "sub" / "a.json").write_text(json.dumps(
        {"points": [{"x": 5, "y": 7, "color": "#aa3322"}, {"x": 50, "y": 40, "color": "#2a7f3a"}]}))
    scribble = np.zeros((48, 64, 4), np.uint8)
    scribble[10, 3:20] = (40, 60, 200, 255)
    Image.fromarray(scribble, "RGBA").save(hints / "c.scribbles.png")
    (hints / "c.json").write_text(json.dumps({"scribbles": "c.scribbles.png"}))
    status = main(["colorize", "--model", model_file, "--out", str(out), "--render-size", "64",
                   "--hints", str(hints), str(photos)])
    assert status == 0, capsys.readouterr().err
    a = read_rgb(out / "sub" / "a.png")
    np.testing.assert_array_equal(a[7, 5], hint_rgb_at(photos / "sub" / "a.png", 5, 7,
                                                      (0xaa, 0x33, 0x22)))
    np.testing.assert_array_equal(a[40, 50], hint_rgb_at(photos / "sub" / "a.png", 50, 40,
                                                        (0x2a, 0x7f, 0x3a)))
    c = read_rgb(out / "c.png")
    for x in (3, 11, 19):
        np.testing.assert_array_equal(c[10, x], hint_rgb_at(photos / "c.png", x, 10, (40, 60, 200)))
    manifest = read_manifest(out)
    assert manifest["sub/a.png"]["hints"]["points"] == 2
    assert manifest["sub/a.png"]["hints"]["file"].endswith("a.json")
    assert manifest["c.png"]["hints"]["scribbles"].endswith("c.scribbles.png")
    assert manifest["b.png"]["hints"] is None  # no file: plain colorize


def test_one_hints_file_and_a_reference_for_every_photo(tmp_path, model_file, capsys):
    photos, out = tmp_path / "photos", tmp_path / "out"
    gray_photo(photos / "a.png")
    gray_photo(photos / "b.png", seed=3)
    (tmp_path / "h.json").write_text('{"points": [{"x": 1, "y": 1, "color": "#ffcc00"}]}')
    reference = np.zeros((30, 40, 3), np.uint8)
    reference[:, :20], reference[:, 20:] = (40, 60, 140), (230, 200, 60)
    Image.fromarray(reference).save(tmp_path / "ref.jpg")
    status = main(["colorize", "--model", model_file, "--out", str(out), "--render-size", "64",
                   "--hints", str(tmp_path / "h.json"), "--reference", str(tmp_path / "ref.jpg"),
                   str(photos)])
    assert status == 0, capsys.readouterr().err
    for name in ("a.png", "b.png"):
        entry = read_manifest(out)[name]
        assert entry["status"] == "ok" and entry["reference"].endswith("ref.jpg")
        assert entry["hints"]["points"] == 1
        np.testing.assert_array_equal(read_rgb(out / name)[1, 1],
                                      hint_rgb_at(photos / name, 1, 1, (0xff, 0xcc, 0x00)))


def test_each_bad_hints_file_fails_its_photo_alone(tmp_path, model_file, capsys):
    photos, hints, out = tmp_path / "photos", tmp_path / "hints", tmp_path / "out"
    hints.mkdir()
    cases = {
        "json": ("{not json", "malformed JSON"),
        "colour": ('{"points": [{"x": 1, "y": 1, "color": "crimson"}]}', "unknown colour"),
        "outside": ('{"points": [{"x": 64, "y": 1, "color": "#112233"}]}',
                    "lies outside the 64x48 photo"),
        "size": ('{"scribbles": "small.png"}', "is 10x10, the photo 64x48"),
        "escape": ('{"scribbles": "../secret.png"}', "outside the hints file's folder"),
    }
    Image.fromarray(np.zeros((10, 10, 4), np.uint8), "RGBA").save(hints / "small.png")
    Image.fromarray(np.zeros((48, 64, 4), np.uint8), "RGBA").save(tmp_path / "secret.png")
    for name, (content, _) in cases.items():
        gray_photo(photos / f"{name}.png")
        (hints / f"{name}.json").write_text(content)
    gray_photo(photos / "good.png")
    status = main(["colorize", "--model", model_file, "--out", str(out), "--render-size", "64",
                   "--hints", str(hints), str(photos)])
    err = capsys.readouterr().err
    assert status == 1
    failed = [line for line in err.splitlines() if line.startswith("failed:")]
    assert len(failed) == len(cases), err
    for name, (_, message) in cases.items():
        [line] = [line for line in failed if f"{name}.png:" in line]
        assert f"{name}.json" in line and message in line, line
    assert (out / "good.png").is_file()
    assert read_manifest(out)["good.png"]["status"] == "ok"


def test_an_unreadable_reference_is_one_line_naming_it(tmp_path, model_file, capsys):
    gray_photo(tmp_path / "a.png")
    (tmp_path / "ref.jpg").write_bytes(b"not an image")
    status = main(["colorize", "--model", model_file, "--out", str(tmp_path / "out"),
                   "--reference", str(tmp_path / "ref.jpg"), str(tmp_path / "a.png")])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert status == 1
    assert lines[-1].startswith("colorizer colorize: error: ") and "ref.jpg" in lines[-1]
    assert "not a readable image" in lines[-1] and "without it" in lines[-1]
    # Said at once too, and nothing else is lost: the photo is colorized, without it.
    assert any(line.startswith("reference not used: ") and "ref.jpg" in line for line in lines)
    [entry] = read_manifest(tmp_path / "out").values()
    assert entry["status"] == "ok" and entry["reference"] is None
    assert "not a readable image" in entry["reference_error"]
    assert (tmp_path / "out" / "a.png").is_file()

"""Colour hints and reference photos steer the model's colour (colorizer.guided.guided)."""
import json

import numpy as np
import pytest
from PIL import Image

from colorizer.color import rgb_to_lab
from colorizer import colorize
from colorizer.inference.full_resolution import encode_lab, image_lightness
from colorizer.guided.guided import colorize_guided
from colorizer.guided.hints import HintError, Hints, hint_pixels, load_hints, parse_colour
from colorizer.model.network import build_colorizer

pytestmark = pytest.mark.backends  # runs again on JAX in CI (see tests/backends.py)


@pytest.fixture(scope="module")
def model():
    import keras

    # Seeded: unseeded, its colours depended on which test files this worker ran before.
    keras.utils.set_random_seed(3)
    return build_colorizer(weights=None, decoder_filters=(8, 8, 8))


def lab_of(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(rgb_to_lab(rgb.astype(np.float32) / 255.0))


def two_regions(height=96, width=128) -> np.ndarray:
    """A dark left half and a bright right half, with a little texture: a strong edge."""
    rng = np.random.default_rng(0)
    image = np.where(np.arange(width) < width // 2, 60, 190).astype(np.int32)
    image = np.broadcast_to(image, (height, width)) + rng.integers(-3, 4, (height, width))
    return image.astype(np.uint8)


def test_every_hint_pixel_has_the_hint_colour_at_the_photo_lightness(model):
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    # Saturated blue on any pixel is outside sRGB at most lightnesses: it must be gamut-mapped.
    points = [(0, 0, "#0000ff"), (89, 69, "#aa3322"), (45, 30, "#2a7f3a"), (12, 60, "#ffee00")]
    out = colorize_guided(model, photo, hints=points, render_size=64)
    lightness = image_lightness(photo)
    _, _, hint_ab = hint_pixels(Hints.from_value(points), 70, 90)
    for (x, y, _), ab in zip(sorted(points, key=lambda p: p[1] * 90 + p[0]), hint_ab):
        expected = encode_lab(lightness[y:y + 1, x:x + 1], ab.reshape(1, 1, 2))
        np.testing.assert_array_equal(out[y, x], expected[0, 0])
    assert np.abs(lab_of(out)[..., 0] - lightness[..., 0]).max() < 0.3  # L kept everywhere


def test_colour_spreads_in_its_region_and_stops_at_a_strong_edge(model):
    photo = two_regions()
    automatic = colorize(model, photo, render_size=64)
    guided = colorize_guided(model, photo, hints=[(10, 10, "#cc2222")], render_size=64)
    hint_ab = lab_of(np.array([[[0xcc, 0x22, 0x22]]], np.uint8))[0, 0, 1:]
    far_left = lab_of(guided)[80, 50, 1:]  # 70 pixels from the hint, same region
    auto_left = lab_of(automatic)[80, 50, 1:]
    assert np.linalg.norm(far_left - hint_ab) < 0.5 * np.linalg.norm(auto_left - hint_ab)
    # Across the edge (beyond the 4 columns the upsampling's window spans) the model's colour
    # stays.
    right = np.s_[:, 68:]
    assert np.abs(guided[right].astype(int) - automatic[right]).max() <= 1


def test_without_hints_or_reference_the_output_is_colorize_byte_for_byte(model):
    photo = np.random.default_rng(2).integers(0, 256, (50, 70), dtype=np.uint8)
    today = colorize(model, photo, render_size=64)
    for hints in (None, [], Hints(), {"points": []}):
        np.testing.assert_array_equal(colorize_guided(model, photo, hints=hints, render_size=64),
                                      today)
    np.testing.assert_array_equal(colorize(model, photo, render_size=64, hints=None), today)
    # The front door without guidance is the photo stage's plain path, nothing more.
    from colorizer.inference.full_resolution import colorize_photo

    np.testing.assert_array_equal(colorize_photo(model, photo, render_size=64), today)


def test_colorize_takes_hints_directly(model):
    photo = two_regions(64, 64)
    out = colorize(model, photo, render_size=64, hints=[(5, 5, "#2255dd")])
    np.testing.assert_array_equal(
        out, colorize_guided(model, photo, hints=[(5, 5, "#2255dd")], render_size=64))


def test_scribble_pixels_are_hints(model):
    photo = two_regions(64, 80)
    scribbles = np.zeros((64, 80, 4), np.uint8)
    scribbles[20:23, 5:30] = (30, 160, 40, 255)  # an opaque green stroke
    scribbles[40, 5:30] = (200, 0, 0, 100)  # a faint rim: not a hint
    out = colorize_guided(model, photo, hints=Hints(scribbles=scribbles), render_size=64)
    stroke_ab = lab_of(np.array([[[30, 160, 40]]], np.uint8))[0, 0, 1:]
    lightness = image_lightness(photo)
    expected = encode_lab(lightness[20:23, 5:30], np.broadcast_to(stroke_ab, (3, 25, 2)).copy())
    np.testing.assert_array_equal(out[20:23, 5:30], expected)


def test_reference_colours_a_scene_by_lightness_and_texture(model):
    rng = np.random.default_rng(3)
    # The gray photo: a smooth dark sky above a bright, textured field.
    photo = np.zeros((80, 100), np.float32)
    photo[:40] = 0.25
    photo[40:] = 0.7 + rng.normal(0, 0.08, (40, 100))
    photo = (np.clip(photo, 0, 1) * 255).astype(np.uint8)
    # The reference: another layout, another size; a smooth dark blue and a textured yellow.
    reference = np.zeros((150, 120, 3), np.float32)
    reference[:, :60] = (0.15, 0.2, 0.45)
    grain = rng.normal(0, 0.08, (150, 60, 1))
    reference[:, 60:] = np.clip(np.array([0.85, 0.75, 0.2]) + grain, 0, 1)
    reference = (reference * 255).astype(np.uint8)
    out = lab_of(colorize_guided(model, photo, reference=reference, render_size=64))
    sky, field = out[5:35, 5:95, 1:].mean(axis=(0, 1)), out[45:75, 5:95, 1:].mean(axis=(0, 1))
    assert sky[1] < -10, sky  # blue: negative b
    assert field[1] > 20, field  # yellow: positive b


def test_hints_json_with_scribbles(tmp_path, model):
    photo = two_regions(40, 50)
    scribble = np.zeros((40, 50, 4), np.uint8)
    scribble[30, 10:20] = (20, 20, 200, 255)
    Image.fromarray(scribble, "RGBA").save(tmp_path / "s.png")
    (tmp_path / "h.json").write_text(json.dumps(
        {"points": [{"x": 3, "y": 4, "color": "#AA3322"}], "scribbles": "s.png"}))
    hints = load_hints(tmp_path / "h.json")
    rows, cols, _ = hint_pixels(hints, 40, 50)
    assert len(rows) == 11 and (4, 3) in set(zip(rows.tolist(), cols.tolist()))
    out = colorize_guided(model, photo, hints=str(tmp_path / "h.json"), render_size=64)
    assert out.shape == (40, 50, 3)


@pytest.mark.parametrize("content, message", [
    ("{not json", "malformed JSON"),
    ('{"points": [{"x": 1, "y": 2, "color": "red"}]}', "unknown colour 'red'"),
    ('{"points": [{"x": 1, "y": 2}]}', "lacks color"),
    ('{"points": [], "colours": []}', "unknown key 'colours'"),
    ('{"scribbles": "../outside.png"}', "outside the hints file's folder"),
    ('{"scribbles": "/etc/passwd"}', "outside the hints file's folder"),
])
def test_bad_hints_files_name_the_file_and_the_fault(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(HintError) as error:
        load_hints(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_a_scribbles_link_out_of_the_folder_is_refused(tmp_path):
    (tmp_path / "hints").mkdir()
    (tmp_path / "secret.png").write_bytes(b"x")
    (tmp_path / "hints" / "s.png").symlink_to(tmp_path / "secret.png")
    (tmp_path / "hints" / "h.json").write_text('{"scribbles": "s.png"}')
    with pytest.raises(HintError, match="outside the hints file's folder"):
        load_hints(tmp_path / "hints" / "h.json")


def test_points_outside_and_scribbles_of_another_size_are_refused(tmp_path):
    with pytest.raises(HintError, match=r"point \(50, 3\) lies outside the 50x40 photo"):
        hint_pixels(Hints.from_value([(50, 3, "#000000")]), 40, 50)
    with pytest.raises(HintError, match="x must be a whole number from 0"):
        hint_pixels(Hints.from_value([(-1, 3, "#000000")]), 40, 50)
    Image.fromarray(np.zeros((10, 12, 4), np.uint8), "RGBA").save(tmp_path / "s.png")
    with pytest.raises(HintError, match="is 12x10, the photo 50x40"):
        hint_pixels(Hints(scribbles=str(tmp_path / "s.png")), 40, 50)


def test_colour_strings():
    assert parse_colour("#aa3322") == (0xaa, 0x33, 0x22)
    assert parse_colour((1, 2, 3)) == (1, 2, 3)
    # What browsers' colour pickers send (Gradio 5's: rgba), and CSS's short hex.
    assert parse_colour("rgba(204, 51, 34, 1)") == (204, 51, 34)
    assert parse_colour("rgb(204.4,51,34)") == (204, 51, 34)
    assert parse_colour("#abc") == (0xaa, 0xbb, 0xcc)
    assert parse_colour([255.0, 0, 0]) == (255, 0, 0)
    for bad in ("aa3322", "#gg0000", "#abcd", "rgb(300, 0, 0)", "rgb(nan, 0, 0)",
                "rgba(1, 2)", (1, 2), (0, 0, 256), [1.7, 0, 0], ["255", "0", "0"],
                [True, 0, 0], [float("inf"), 0, 0], "#" + "a" * 10_000):
        with pytest.raises(HintError, match="unknown colour") as error:
            parse_colour(bad)
        assert len(str(error.value)) < 200  # a hostile value is not echoed whole


def test_points_typed_in_a_form_field():
    from colorizer.guided.hints import Point, parse_points_text

    assert parse_points_text("120,45,#aa3322; 3, 4, #000000\n") == [
        Point(120, 45, (0xaa, 0x33, 0x22)), Point(3, 4, (0, 0, 0))]
    assert parse_points_text("  ") == []
    with pytest.raises(HintError, match="is not x,y,#rrggbb"):
        parse_points_text("120,45")
    with pytest.raises(HintError, match="unknown colour"):
        parse_points_text("1,2,blue")


def test_a_hints_file_over_the_size_cap_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from colorizer.guided import hints

    path = tmp_path / "huge.json"
    path.write_text(json.dumps({"points": [{"x": 0, "y": 0, "color": "#aa3322"}] * 50}))
    monkeypatch.setattr(hints, "MAX_HINTS_BYTES", 100)
    with pytest.raises(HintError, match="huge.json: a hints file of over"):
        load_hints(path)

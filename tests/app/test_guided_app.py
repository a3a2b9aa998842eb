"""The web page's colour hints without a browser: strokes from the editor, the preview."""
import cv2
import numpy as np

from colorizer.app.guided import preview, rgba_png, scribbles_from_editor
from colorizer.inference.full_resolution import encode_lab, image_lightness
from colorizer.guided.hints import Hints, Point, hint_pixels


def test_editor_strokes_become_scribbles_of_the_photo_size():
    layer = np.zeros((50, 60, 4), np.uint8)
    layer[10, 5:15] = (40, 160, 60, 255)
    scribbles = scribbles_from_editor({"background": None, "layers": [layer]}, 100, 120)
    assert scribbles.shape == (100, 120, 4)
    assert (scribbles[20, 10:30] == (40, 160, 60, 255)).all()  # nearest: colours stay exact
    assert scribbles_from_editor({"layers": [np.zeros((50, 60, 4), np.uint8)]}, 100, 120) is None
    assert scribbles_from_editor(None, 100, 120) is None


def test_preview_keeps_the_hints_at_the_shrunk_size(model):
    photo = np.tile(np.linspace(0, 255, 1024, dtype=np.uint8), (700, 1))
    scribbles = np.zeros((700, 1024, 4), np.uint8)
    scribbles[300:310, 100:400] = (200, 40, 40, 255)
    small = preview(model, photo, [(1000, 20, [20, 90, 200])], None, scribbles)
    assert small.shape == (350, 512, 3)
    # The point lands at (500, 10) of the preview, with its colour.
    _, _, ab = hint_pixels(Hints.from_value([(500, 10, (20, 90, 200))]), 350, 512)
    small_l = image_lightness(cv2.resize(photo, (512, 350), interpolation=cv2.INTER_AREA))
    expected = encode_lab(small_l[10:11, 500:501], ab.reshape(1, 1, 2))[0, 0]
    np.testing.assert_array_equal(small[10, 500], expected)


def test_scribbles_png_keeps_alpha(tmp_path):
    from PIL import Image

    rgba = np.zeros((8, 9, 4), np.uint8)
    rgba[2, 3] = (1, 2, 3, 255)
    (tmp_path / "s.png").write_bytes(rgba_png(rgba))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "s.png")), rgba)


def test_saved_hints_load_back_with_their_scribbles(tmp_path):
    """What "Colorize full size" saves (hints.json naming scribbles.png) loads back, points
    and scribbles, though each upload lands in a folder of its own."""
    import json

    import pytest

    from colorizer.app.guided import hints_from_uploads
    from colorizer.guided.hints import HintError

    strokes = np.zeros((40, 60, 4), np.uint8)
    strokes[5:9, 10:30] = (200, 40, 30, 255)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    document = tmp_path / "a" / "hints.json"
    document.write_text(json.dumps({"points": [{"x": 3, "y": 4, "color": "#102030"}],
                                    "scribbles": "scribbles.png"}))
    picture = tmp_path / "b" / "scribbles.png"
    picture.write_bytes(rgba_png(strokes))
    points, scribbles = hints_from_uploads([str(document), str(picture)], (40, 60))
    assert points == [Point(3, 4, (16, 32, 48))]
    np.testing.assert_array_equal(scribbles, strokes)
    # What the editor then holds gives the same scribbles back.
    editor = {"background": None, "layers": [scribbles], "composite": None}
    np.testing.assert_array_equal(scribbles_from_editor(editor, 40, 60), strokes)
    with pytest.raises(HintError, match="upload that PNG"):
        hints_from_uploads([str(document)], (40, 60))
    with pytest.raises(HintError, match="same size"):
        hints_from_uploads([str(document), str(picture)], (80, 60))
    with pytest.raises(HintError, match="photo first"):
        hints_from_uploads([str(document), str(picture)], None)
    with pytest.raises(HintError, match="one hints JSON"):
        hints_from_uploads([str(picture)], (40, 60))
    # Points alone need no photo size.
    document.write_text(json.dumps({"points": [{"x": 1, "y": 2, "color": "#ffffff"}]}))
    assert hints_from_uploads([str(document)], None) == ([Point(1, 2, (255, 255, 255))], None)


def _handler(blocks, name: str):
    """The function behind one event of the page, as Gradio calls it."""
    [fn] = {f.fn for f in blocks.fns.values() if getattr(f.fn, "__name__", "") == name}
    return fn


def _click(x: int, y: int):
    import gradio as gr

    return gr.SelectData(None, {"index": [x, y], "value": None, "selected": True})


def test_a_point_takes_every_colour_a_picker_sends_and_a_bad_one_is_a_message(model,
                                                                            tmp_path):
    """Gradio 6's picker sends #rrggbb or rgb(...), Gradio 5's rgba(...); #rgb is CSS too. A
    colour that is none of these is a message in the page, never an error raised into Gradio
    (a bare "Error" box)."""
    import json

    from PIL import Image

    from colorizer.app.ui import build_app

    Image.fromarray(np.full((40, 60), 120, np.uint8)).save(tmp_path / "photo.png")
    photo = str(tmp_path / "photo.png")
    drop = _handler(build_app(model, tmp_path / "app"), "drop")
    points = []
    for colour, x in (("#cc3322", 1), ("rgba(204, 51, 34, 1)", 2), ("rgb(42, 111, 192)", 3),
                      ("#abc", 4)):
        points, image, text, status = drop(photo, colour, points, None, None, _click(x, 5))
        assert status == f"{x} colour point(s).", status
        assert image.shape == (40, 60, 3)
    assert points[-1] == Point(4, 5, (0xaa, 0xbb, 0xcc))
    assert json.loads(text) == {"points": [
        {"x": 1, "y": 5, "color": "#cc3322"}, {"x": 2, "y": 5, "color": "#cc3322"},
        {"x": 3, "y": 5, "color": "#2a6fc0"}, {"x": 4, "y": 5, "color": "#aabbcc"}]}
    kept, image, text, status = drop(photo, "red-ish", points, None, None, _click(9, 9))
    assert kept == points and status.startswith("Could not add the point: unknown colour")
    assert len(json.loads(text)["points"]) == 4


def test_the_hints_section_keeps_to_the_apps_pixel_cap(model, tmp_path):
    """A photo or reference over ``max_pixels`` gets a message, naming the file only."""
    from PIL import Image

    from colorizer.app.ui import build_app

    Image.fromarray(np.full((200, 300), 120, np.uint8)).save(tmp_path / "big.png")
    Image.fromarray(np.full((40, 60), 120, np.uint8)).save(tmp_path / "small.png")
    big, small = str(tmp_path / "big.png"), str(tmp_path / "small.png")
    blocks = build_app(model, tmp_path / "app", max_pixels=50_000)
    new_photo, full_size = _handler(blocks, "new_photo"), _handler(blocks, "full_size")

    points, image, _, status, editor = new_photo(big)
    assert status == "**big.png**: too large: 300 x 200 pixels (0.1 MP); the app takes photos " \
                     "up to 0.05 MP" and image is None and editor is None
    download, saved, status = full_size(big, [], None, None)
    assert download is None and status.startswith("Could not colorize: big.png: ")
    assert str(tmp_path) not in status and "over the cap of 0.05 MP" in status
    download, saved, status = full_size(small, [], big, None)  # the reference too
    assert download is None and status.startswith("Could not colorize: big.png: ")
    download, saved, status = full_size(small, [], small, None)
    assert status == "Full size 60x40, ready to download."

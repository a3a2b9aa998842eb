"""The web page's colour hints: click the photo to drop colour points, add a reference photo,
see a preview after each edit, download the full-size result, save and load the hints.

The preview and the download come from the same call,
:func:`colorizer.guided.guided.colorize_guided`: the preview on the photo shrunk to
:data:`PREVIEW_SIDE` (the points scaled with it), the download on the full-size photo.

Example:
    >>> with gr.Blocks() as blocks:
    ...     hints_section(model, "/tmp/colorizer-app/requests")
"""
from __future__ import annotations

import json
import logging
import os
import uuid

import cv2
import gradio as gr
import numpy as np

from colorizer.app.jobs import check_pixels, local_path
from colorizer.data.image_header import MAX_PIXELS
from colorizer.data.images import read_rgb
from colorizer.fileio import write_bytes, write_text
from colorizer.guided.guided import colorize_guided
from colorizer.guided.hints import (HintError, Hints, Point, hints_from_dict, hints_to_dict,
                                       parse_colour, read_hints_json, read_scribbles)
from colorizer.inference.outputs import colorized_tag, write_image

logger = logging.getLogger(__name__)

PREVIEW_SIDE = 512
"""Longest side of the preview recomputed after each edit (a fraction of a second)."""
DEFAULT_COLOUR = "#cc3322"
HINTS_NAME = "hints.json"
SCRIBBLES_NAME = "scribbles.png"
BRUSH_COLOURS = ["#cc3322", "#e0a030", "#f2e060", "#3a8f3a", "#2a6fc0", "#7a4fb0", "#8a5a3a",
                 "#f0c8a8"]


def _hints(points: list, scribbles: np.ndarray | None = None) -> Hints:
    """Hints of points in any form :meth:`Point.from_value` takes, and the scribbles."""
    return Hints(tuple(Point.from_value(p) for p in points), scribbles)


def _path(value) -> str | None:
    """A path from Gradio (its ``str`` subclass) as a plain ``str``; ``None`` when empty."""
    return local_path(value) if value else None


def _reason(error: BaseException, *paths: str | None) -> str:
    """An error for the page: the uploads named by their file names, not where the app keeps
    them."""
    text = str(error) or type(error).__name__
    for path in paths:
        if path:
            text = text.replace(path, os.path.basename(path))
    return text


def scribbles_from_editor(value, height: int, width: int) -> np.ndarray | None:
    """The strokes drawn in the editor as an RGBA array of the photo's size, or ``None``.

    The editor's layers hold the strokes on transparency; they are merged (later over earlier)
    and brought to the photo's size with nearest-neighbour sampling, so colours stay exact.
    """
    layers = [np.asarray(layer) for layer in (value or {}).get("layers") or []
              if layer is not None]
    layers = [layer for layer in layers if layer.ndim == 3 and layer.shape[-1] == 4]
    if not layers:
        return None
    merged = layers[0].astype(np.uint8).copy()
    for layer in layers[1:]:
        if layer.shape == merged.shape:
            opaque = layer[..., 3] > 0
            merged[opaque] = layer[opaque]
    if not (merged[..., 3] > 0).any():
        return None
    if merged.shape[:2] != (height, width):
        merged = cv2.resize(merged, (width, height), interpolation=cv2.INTER_NEAREST)
    return merged


def hints_from_uploads(paths: list[str], photo_size: tuple[int, int] | None
                       ) -> tuple[list[Point], np.ndarray | None]:
    """The points and scribbles of saved hints uploaded together: the JSON, and the PNG it
    names when it has scribbles (each upload lands in a folder of its own, so the PNG is found
    by its file name among the uploads, never by a path).

    Args:
        paths: The uploaded files.
        photo_size: ``(height, width)`` of the photo the scribbles must fit, or ``None`` when
            no photo is loaded yet (scribbles then cannot be placed).

    Returns:
        The :class:`Point` list and the RGBA scribbles (``None`` when the hints have none).

    Raises:
        HintError: No JSON among the uploads, a bad one, scribbles missing from the uploads or
            of another size than the photo.
    """
    documents = [path for path in paths if path.lower().endswith(".json")]
    if len(documents) != 1:
        raise HintError(f"upload one hints JSON file (and its scribbles PNG), not "
                        f"{len(documents)}")
    value = read_hints_json(documents[0])
    name = value.get("scribbles") if isinstance(value, dict) else None
    uploads = {os.path.basename(path): path for path in paths}
    folder = os.path.dirname(documents[0])
    if isinstance(name, str) and name:
        if os.path.basename(name) not in uploads:
            raise HintError(f"the hints name scribbles {name!r}: upload that PNG together "
                            "with the JSON")
        folder = os.path.dirname(uploads[os.path.basename(name)])
        value = {**value, "scribbles": os.path.basename(name)}
    loaded = hints_from_dict(value, folder=folder)
    points = list(loaded.points)
    if loaded.scribbles is None:
        return points, None
    if photo_size is None:
        raise HintError("add the photo first: the scribbles are drawn on it")
    return points, read_scribbles(loaded.scribbles, *photo_size)


def _points_text(points: list) -> str:
    """The hints JSON shown in the page (the same form as a saved hints file)."""
    return json.dumps(hints_to_dict(_hints(points)))


def rgba_png(rgba: np.ndarray) -> bytes:
    """PNG bytes of an RGBA array (alpha kept, so it loads back as scribbles)."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    if not ok:
        raise ValueError("could not encode the scribbles as PNG")
    return encoded.tobytes()


def preview(model, photo: np.ndarray, points: list, reference,
            scribbles: np.ndarray | None = None) -> np.ndarray:
    """Guided colour of the photo shrunk to :data:`PREVIEW_SIDE`, the hints scaled alike."""
    height, width = photo.shape[:2]
    scale = min(1.0, PREVIEW_SIDE / max(height, width))
    small = photo
    if scale < 1.0:
        small = cv2.resize(photo, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    scaled = [Point(min(w - 1, int(p.x * scale)), min(h - 1, int(p.y * scale)), p.rgb)
              for p in map(Point.from_value, points)]
    if scribbles is not None and scribbles.shape[:2] != (h, w):
        scribbles = cv2.resize(scribbles, (w, h), interpolation=cv2.INTER_NEAREST)
    return colorize_guided(model, small, hints=_hints(scaled, scribbles), reference=reference)


def hints_section(model, requests_root: str, *, max_pixels: int = MAX_PIXELS) -> None:
    """Adds the colour-hints section to the ``gr.Blocks`` being built.

    Args:
        model: The loaded colorizer.
        requests_root: Where each full-size result gets a folder of its own.
        max_pixels: The app's cap: a photo or reference with more pixels gets a message.
    """

    def folder() -> str:
        path = os.path.join(requests_root, uuid.uuid4().hex)
        os.makedirs(path, exist_ok=True)
        return path

    def read(path: str):
        return read_rgb(path, max_pixels=max_pixels)

    def reference_of(path):
        return read(path) if path else None

    def scribbles_of(photo, drawn):
        return scribbles_from_editor(drawn, *photo.shape[:2])

    def too_large(path: str | None) -> str | None:
        """The page's message for a photo over the app's pixel cap (from its header)."""
        refusal = check_pixels(path, max_pixels) if path else None
        return f"**{os.path.basename(path)}**: {refusal}" if refusal else None

    def refresh(photo_path, points, reference_path, drawn=None):
        """(preview, points text, status) after an edit."""
        photo_path, reference_path = _path(photo_path), _path(reference_path)
        if not photo_path:
            return None, _points_text(points), "Add a photo, then click it to drop colours."
        refusal = too_large(photo_path) or too_large(reference_path)
        if refusal:
            return None, _points_text(points), refusal
        try:
            photo = read(photo_path)
            image = preview(model, photo, points, reference_of(reference_path),
                            scribbles_of(photo, drawn))
        except Exception as error:  # a message in the page, never a bare "Error"
            logger.exception("hints preview failed")
            return (None, _points_text(points), "Could not colour the preview: "
                    f"{_reason(error, photo_path, reference_path)}")
        return image, _points_text(points), f"{len(points)} colour point(s)."

    def drop(photo_path, colour, points, reference_path, drawn, event: gr.SelectData):
        points = list(points)
        try:
            x, y = (int(v) for v in event.index[:2])
            rgb = parse_colour(colour)
        except (HintError, TypeError, ValueError) as error:  # never a bare "Error"
            return (points, gr.update(), _points_text(points),
                    f"Could not add the point: {error}")
        points.append(Point(x, y, rgb))
        return (points, *refresh(photo_path, points, reference_path, drawn))

    def remove_last(photo_path, points, reference_path, drawn):
        points = list(points)[:-1]
        return (points, *refresh(photo_path, points, reference_path, drawn))

    def clear(photo_path, reference_path, drawn):
        return ([], *refresh(photo_path, [], reference_path, drawn))

    def new_photo(photo_path):
        """A new photo: no points, and the scribble editor shows it to draw on; a photo over
        the app's pixel cap gets a message (read from its header) and no editor."""
        photo_path = _path(photo_path)
        refusal = too_large(photo_path)
        if refusal:
            return [], None, _points_text([]), refusal, None
        editor = {"background": photo_path, "layers": [], "composite": photo_path}
        return ([], *refresh(photo_path, [], None), editor if photo_path else None)

    def full_size(photo_path, points, reference_path, drawn):
        """The full-size download and the hints as JSON (with the scribbles), or a message."""
        photo_path, reference_path = _path(photo_path), _path(reference_path)
        if not photo_path:
            return None, None, "Add a photo first."
        try:
            photo = read(photo_path)
            scribbles = scribbles_of(photo, drawn)
            rgb = colorize_guided(model, photo, hints=_hints(points, scribbles),
                                  reference=reference_of(reference_path))
            out = folder()
            stem = os.path.splitext(os.path.basename(photo_path))[0]
            target = os.path.join(out, f"{stem}.guided.png")
            write_image(target, rgb, tag=colorized_tag())
            saved = [os.path.join(out, HINTS_NAME)]
            if scribbles is not None:
                saved.append(os.path.join(out, SCRIBBLES_NAME))
                write_bytes(saved[1], rgba_png(scribbles))
            value = hints_to_dict(_hints(points),
                                  SCRIBBLES_NAME if scribbles is not None else None)
            write_text(saved[0], json.dumps(value))
        except Exception as error:
            logger.exception("full-size hints colorize failed")
            return None, None, f"Could not colorize: {_reason(error, photo_path, reference_path)}"
        return target, saved, f"Full size {rgb.shape[1]}x{rgb.shape[0]}, ready to download."

    def load(files, photo_path, reference_path, points, drawn):
        files = [files] if isinstance(files, str) else list(files or [])
        files = [local_path(f) for f in files]
        photo_path = _path(photo_path)
        try:
            photo = read(photo_path) if photo_path else None
            points, scribbles = hints_from_uploads(
                files, None if photo is None else photo.shape[:2])
        except (OSError, ValueError) as error:
            names = ", ".join(os.path.basename(f) for f in files)
            return (points, *refresh(photo_path, points, reference_path, drawn)[:2],
                    f"Could not load {names}: {_reason(error, photo_path, *files)}", gr.update())
        if scribbles is None:
            return (points, *refresh(photo_path, points, reference_path, drawn), gr.update())
        editor = {"background": photo_path, "layers": [scribbles], "composite": None}
        return (points, *refresh(photo_path, points, reference_path, editor), editor)

    gr.Markdown("## Colour hints\nClick the photo to drop a point of the chosen colour; it "
                "spreads to parts of similar lightness and stops at edges. A reference photo "
                "of a similar scene lends its colours too.")
    points = gr.State([])
    with gr.Row():
        with gr.Column(scale=2):
            photo = gr.Image(label="Photo (click to drop a colour point)", type="filepath",
                             sources=["upload"], elem_id="hints-photo")
            colour = gr.ColorPicker(value=DEFAULT_COLOUR, label="Colour of the next point",
                                    elem_id="hints-colour")
            with gr.Row():
                undo = gr.Button("Remove last point", elem_id="hints-undo")
                wipe = gr.Button("Remove all points", elem_id="hints-clear")
            drawn = gr.ImageEditor(label="Scribbles: draw colours with the brush", type="numpy",
                                   image_mode="RGBA", sources=[], transforms=[], layers=False,
                                   format="png", brush=gr.Brush(colors=BRUSH_COLOURS,
                                                                color_mode="defaults"),
                                   elem_id="hints-scribbles")
            reference = gr.Image(label="Reference photo (optional)", type="filepath",
                                 sources=["upload"], elem_id="hints-reference")
            load_button = gr.UploadButton("Load hints (the JSON, and its scribbles PNG)",
                                          file_types=[".json", ".png"], file_count="multiple",
                                          elem_id="hints-load")
        with gr.Column(scale=3):
            status = gr.Markdown(elem_id="hints-status")
            preview_image = gr.Image(label=f"Preview (at most {PREVIEW_SIDE} px)",
                                     interactive=False, elem_id="hints-preview")
            text = gr.Textbox(label="Hints (JSON)", interactive=False, elem_id="hints-points")
            full = gr.Button("Colorize full size", variant="primary", elem_id="hints-full")
            download = gr.File(label="Full-size result", interactive=False,
                               elem_id="hints-download")
            saved = gr.File(label="Hints (JSON, and the scribbles as PNG)", interactive=False,
                            file_count="multiple", elem_id="hints-saved")
    shown = [preview_image, text, status]
    photo.select(drop, [photo, colour, points, reference, drawn], [points, *shown],
                 api_name=False)
    photo.upload(new_photo, photo, [points, *shown, drawn], api_name=False)
    photo.clear(new_photo, photo, [points, *shown, drawn], api_name=False)
    reference.change(refresh, [photo, points, reference, drawn], shown, api_name=False)
    drawn.change(refresh, [photo, points, reference, drawn], shown, api_name=False)
    undo.click(remove_last, [photo, points, reference, drawn], [points, *shown], api_name=False)
    wipe.click(clear, [photo, reference, drawn], [points, *shown], api_name=False)
    full.click(full_size, [photo, points, reference, drawn], [download, saved, status],
               api_name=False, concurrency_limit=1)
    load_button.upload(load, [load_button, photo, reference, points, drawn],
                       [points, *shown, drawn], api_name=False)

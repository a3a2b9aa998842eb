"""The web page: upload or paste links, colorize, compare before and after, download.

Built with Gradio (imported here only, so the rest of the package never needs it). The
handler turns every problem into a message on the page; nothing raises into Gradio, which
would show a bare "Error" box.

Example:
    >>> blocks = build_app(load_colorizer("best.keras"), "/tmp/colorizer-app")
"""
from __future__ import annotations

import contextlib
import logging
import os
import uuid

import gradio as gr

from colorizer.app.guided import hints_section
from colorizer.app.jobs import (
    LINK_DEADLINE_S, MAX_FILM_SECONDS, MAX_PIXELS, PREVIEW_SIDE, colorize_request, local_path,
    split_urls)
from colorizer.app.sweeper import KEEP_SECONDS, REQUESTS_FOLDER, Sweeper
from colorizer.data.fetch import PUBLIC_ONLY, FetchPolicy
from colorizer.data.images import IMAGE_EXTENSIONS
from colorizer.films.video_io import VIDEO_EXTENSIONS
from colorizer.inference.full_resolution import DEFAULT_RENDER_SIZE
from colorizer.runtimes.network import head_of, is_exported, set_temperature, temperature_of

logger = logging.getLogger(__name__)

RENDER_RANGE = (128, 768)

INTRO = """# colorizer
Turn black-and-white photos into colour ones. Add photos (JPEG, PNG, TIFF, BMP, WebP, GIF) or
films (MP4, MOV, MKV, AVI, WebM: these take a while; the page says when they are done) or
paste links to them, then press **Colorize**. Each result keeps the photo's full size and its
own lightness: the network only chooses the colours. Drag the slider to compare before and after;
the files to download are full size."""


def build_app(model, work_dir: str | os.PathLike, *, max_pixels: int = MAX_PIXELS,
              timeout: float = LINK_DEADLINE_S, policy: FetchPolicy = PUBLIC_ONLY,
              sweeper: Sweeper | None = None,
              max_film_seconds: float = MAX_FILM_SECONDS) -> gr.Blocks:
    """The Gradio app around one loaded colorizer.

    Args:
        model: A loaded colorizer, Keras or exported; a Keras classification model gets a
            temperature slider (an exported one's temperature is fixed in its file).
        work_dir: Folder for the results of requests (``work_dir/requests/<id>/``).
        max_pixels: Photos, and films whose frames, have more pixels are refused with a
            message (the colour-hints section too).
        timeout: Seconds a pasted link's whole download may take.
        policy: Which addresses pasted links may reach (public ones only by default).
        sweeper: The app folder's :class:`~colorizer.app.sweeper.Sweeper`: a request's files
            are held from it while the request runs.
        max_film_seconds: Longer films are refused with a message.

    Returns:
        The ``gr.Blocks``; call ``.queue()`` and ``.launch()`` on it (see
        :func:`colorizer.app.launch`, which does both).
    """
    # An exported file's temperature is part of its graph: no slider that could not act.
    classification = head_of(model) == "classification" and not is_exported(model)
    requests_root = os.path.join(os.fspath(work_dir), REQUESTS_FOLDER)
    os.makedirs(requests_root, exist_ok=True)

    def colorize(files, urls, render_size, temperature=None):
        """Handler of the Colorize button; returns (status, slider, chooser, downloads, state)."""
        nothing = (None, gr.update(choices=[], value=None, visible=False), None, {})
        try:
            if temperature is not None:  # only a classification model has the slider
                set_temperature(model, float(temperature))
            folder = os.path.join(requests_root, uuid.uuid4().hex)
            files = [local_path(f) for f in files or []]
            hold = sweeper.holding(files + [folder]) if sweeper else contextlib.nullcontext()
            with hold:
                outcome = colorize_request(model, files, split_urls(urls), folder,
                                           render_size=int(render_size),
                                           max_pixels=max_pixels, timeout=timeout,
                                           policy=policy, max_film_seconds=max_film_seconds)
        except Exception as error:  # anything unforeseen: say it in the page, keep serving
            logger.exception("colorize request failed")
            return (f"Could not colorize: {error}", *nothing)
        if not outcome.results:
            return (outcome.message(), *nothing)
        labels = [f"{i + 1}. {r.name}" for i, r in enumerate(outcome.results)]
        pairs = {label: (r.before, r.after) for label, r in zip(labels, outcome.results)}
        downloads = [r.output for r in outcome.results]
        if outcome.archive:
            downloads.append(outcome.archive)
        return (outcome.message(), pairs[labels[0]],
                gr.update(choices=labels, value=labels[0], visible=len(labels) > 1),
                downloads, pairs)

    def show(label, pairs):
        return (pairs or {}).get(label)

    with gr.Blocks(title="colorizer", analytics_enabled=False) as blocks:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=2):
                files = gr.File(label="Photos or films", file_count="multiple",
                                elem_id="photos",
                                file_types=sorted(IMAGE_EXTENSIONS) + list(VIDEO_EXTENSIONS))
                urls = gr.Textbox(label="...or links to photos (one per line)", lines=2,
                                  placeholder="https://example.org/old_photo.jpg",
                                  elem_id="urls")
                render = gr.Slider(*RENDER_RANGE, value=DEFAULT_RENDER_SIZE, step=32,
                                   label="Render size",
                                   info="How many pixels the network looks at (about N x N): "
                                        "larger sees smaller things, smaller gives steadier "
                                        "colour. The result is always full size.")
                inputs = [files, urls, render]
                if classification:
                    inputs.append(gr.Slider(
                        0.05, 1.0, value=round(temperature_of(model), 2), step=0.01,
                        label="Temperature", elem_id="temperature",
                        info="Lower: bolder, more saturated colours; 1: the cautious average."))
                button = gr.Button("Colorize", variant="primary", elem_id="colorize")
                gr.Markdown(f"Photos up to {max_pixels / 1e6:g} megapixels; films up to "
                            f"{max_film_seconds:g} seconds, their frames up to the same size. "
                            "One request is colorized at a time. Uploads and results "
                            "stay on the machine running this app only: they are deleted "
                            f"{KEEP_SECONDS / 60:g} minutes after their request, and all of "
                            "them when it stops.")
            with gr.Column(scale=3):
                status = gr.Markdown(elem_id="status")
                slider = gr.ImageSlider(label=f"Before / after (preview, at most {PREVIEW_SIDE} "
                                              "px)", type="filepath", interactive=False,
                                        elem_id="compare")
                chooser = gr.Dropdown(label="Photo", choices=[], visible=False,
                                      elem_id="chooser")
                downloads = gr.File(label="Download (full size; several photos also as one zip)",
                                    file_count="multiple", interactive=False,
                                    elem_id="downloads")
        pairs = gr.State({})
        button.click(colorize, inputs, [status, slider, chooser, downloads, pairs],
                     api_name="colorize", concurrency_limit=1)
        chooser.change(show, [chooser, pairs], slider, api_name=False)
        hints_section(model, requests_root, max_pixels=max_pixels)
    return blocks

"""``colorizer app``: the web app, for colorizing photos from a browser."""
from __future__ import annotations

import argparse

EXPORTED_MODEL_RUNS_WITHOUT_KERAS = True
"""An exported ``--model`` (ONNX, LiteRT) runs with no Keras, TensorFlow or JAX."""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "app", help="a web page to upload photos, compare before/after and download them",
        description="Starts a web app (Gradio) around a model: upload photos or paste links, "
                    "compare before and after, download the full-size results one by one or "
                    "as a zip. It colorizes exactly as `colorizer colorize` does, one request "
                    "at a time. Uploads and results live in a temporary folder, deleted when "
                    "the app stops (Ctrl+C). Needs the app extra: pip install "
                    "\"colorizer[app]\".",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", required=True,
                        help="a .keras model file, or a file `colorizer export` wrote (.onnx, "
                             ".tflite, a SavedModel folder)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on; the default serves this machine only, "
                             "0.0.0.0 serves the whole network")
    parser.add_argument("--port", type=int, default=7860, help="port to listen on")
    parser.add_argument("--share", action="store_true",
                        help="also open a temporary public link through Gradio's relay "
                             "(anyone with the link can use the app)")
    parser.add_argument("--max-megapixels", type=float, default=50.0,
                        help="photos with more pixels are refused with a message")
    parser.set_defaults(run=run)


def run(args) -> int:
    from colorizer.app.server import import_gradio, launch

    if not args.max_megapixels > 0:
        raise ValueError(f"--max-megapixels must be positive, got {args.max_megapixels}")
    import_gradio()  # a missing extra fails before the model loads
    launch(args.model, host=args.host, port=args.port, share=args.share, block=True,
           max_pixels=int(args.max_megapixels * 1e6))
    return 0

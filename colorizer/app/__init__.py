"""Stage 5b, the web app: colorize photos from a browser, for people who do not write code.

``launch`` starts it (``colorizer app`` on the command line, or one call in a notebook, where
it shows inline); ``ui`` is the page, built with Gradio (the ``app`` extra:
``pip install "colorizer[app]"``); ``jobs`` is one request without any web code, and runs the
same ``colorize_inputs`` as ``colorizer colorize``.

Example:
    >>> from colorizer.app import launch
    >>> launch(model="runs/pets/best.keras")        # http://127.0.0.1:7860
"""
from colorizer.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "launch": "colorizer.app.server",
    "build_app": "colorizer.app.ui",
    "colorize_request": "colorizer.app.jobs",
})

"""Stage 4b, inference: any photo in, the colorized photo out at its full resolution.

``full_resolution`` colorizes one image array (its lightness kept, ab from the model);
``guided`` steers that colour with hints (``hints``, spread by ``propagation``) and a reference
photo (``reference``);
``batch`` runs files, folders and URLs (read by ``inputs``) and writes photos, comparisons
and a manifest (through ``outputs``).

Example:
    >>> from colorizer.inference import colorize
    >>> rgb = colorize(model, photo)
"""
from colorizer.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "colorize": "colorizer.inference.full_resolution",
    "colorize_inputs": "colorizer.inference.batch",
    "colorize_guided": "colorizer.inference.guided",
    "Hints": "colorizer.inference.hints",
    "load_hints": "colorizer.inference.hints",
})

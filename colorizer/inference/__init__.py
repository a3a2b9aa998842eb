"""Stage 4b, photos: one photo array in, the colorized photo out at its full resolution.

    photo (H, W) -> L at full resolution -> working-size L -> model -> ab
      -> upscaled, merged with the full-size L -> uint8/uint16 RGB      full_resolution
    RGB -> a file (atomic; tagged as colorized; a side-by-side)          outputs

This is the base the later stages build on: guided colour (:mod:`colorizer.guided`) steers
the ab this stage predicts, films (:mod:`colorizer.films`) run their frames through it, and
batches (:mod:`colorizer.batches`) read files, folders and links into it. It imports none of
them. The front door for one photo, guided or not, is :func:`colorizer.colorize`
(:mod:`colorizer.guided.guided`); :func:`colorize_photo` here is the plain path it takes.

Example:
    >>> from colorizer.inference import colorize_photo
    >>> rgb = colorize_photo(model, photo)
"""
from colorizer.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "colorize_photo": "colorizer.inference.full_resolution",
    "working_size": "colorizer.inference.full_resolution",
    "write_image": "colorizer.inference.outputs",
})

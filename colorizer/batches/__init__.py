"""Stage 7, batches: files, folders and links in, colorized files and a manifest out.

    inputs -> sources with unique output names (links fetched)          inputs
      -> which hints and reference each input gets                      guidance
      -> photos, guided photos and films, each through its stage,
         each failing alone; outputs written atomically; a manifest      batch

It is what ``colorizer colorize``, the web app and notebook 04 call. Whatever an input is
(photo, guided photo, film), batches treat it alike, so they stand above the photo, guided and
film stages. A distributed runner of the same semantics (Apache Beam) would stand beside this
stage, calling the same per-input pieces.

Example:
    >>> from colorizer.batches import colorize_inputs
    >>> manifest = colorize_inputs(model, ["family_album/", "clip.mp4"], "out/")
"""
from colorizer.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "colorize_inputs": "colorizer.batches.batch",
    "BatchGuidance": "colorizer.batches.guidance",
})

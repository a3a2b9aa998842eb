"""Stage 5, guided colour: a photo and what a person says about its colour in, the photo out.

    hints (points, scribbles; Python values or a JSON file)               hints
    reference photo -> its colours carried to the photo's parts           reference
    the model's ab (colorizer.inference) + hints + reference
      -> how far to trust the model's colour, chosen from the hints       prior_choice
      -> the correction spread by lightness edges on a coarse grid        propagation
      -> upsampled, every hinted pixel exactly its hint -> RGB            guided

In: a photo array, a model, hints and/or a reference photo. Out: uint8 RGB of the photo's own
size and lightness. It builds on the photo stage and is used by films and batches.
:func:`colorize` is the one front door for a photo: without hints or a reference it is the
plain photo path, byte for byte.

Example:
    >>> from colorizer.guided import colorize
    >>> rgb = colorize(model, photo, hints=[(120, 45, "#aa3322")])
"""
from colorizer.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "colorize": "colorizer.guided.guided",
    "colorize_guided": "colorizer.guided.guided",
    "Hints": "colorizer.guided.hints",
    "HintError": "colorizer.guided.hints",
    "load_hints": "colorizer.guided.hints",
})

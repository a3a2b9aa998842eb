"""Stage 2, model: L in, ab out.

``network`` builds the colorizer (DenseNet121 cut at ``pool2_pool``, then the decoder) and
loads saved ones; ``hints`` the optional second input, colour hints, and the branch that joins
them to the decoder; ``layers`` holds its registered layers; ``classification`` the second head
(logits over the ab bins of :mod:`colorizer.gamut`, its loss and annealed-mean decoding);
``config`` its settings. Imports only :mod:`colorizer.data` and the base modules.

Example:
    >>> from colorizer.model import build_colorizer
    >>> model = build_colorizer(weights=None)
"""
from colorizer.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "build_colorizer": "colorizer.model.network",
    "load_colorizer": "colorizer.model.network",
    "set_temperature": "colorizer.model.network",
    "count_macs": "colorizer.model.network",
    "takes_hints": "colorizer.model.network",
    "model_inputs": "colorizer.model.network",
    "encode_hints": "colorizer.model.hints",
    "ModelConfig": "colorizer.model.config",
})

"""Settings of the network."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The network.

    Attributes:
        weights: ``"imagenet"``, ``None`` or a weights file (see ``build_colorizer``).
        decoder_filters: Filters of the three decoder blocks.
        head: ``"regression"`` (the paper) or ``"classification"`` (colour as
            classification over the quantised ab gamut, see ``colorizer.model.classification``).
        temperature: Annealed-mean temperature of the classification head.
    """

    weights: str | None = "imagenet"
    decoder_filters: tuple[int, int, int] = (128, 64, 32)
    head: str = "regression"
    temperature: float = 0.38

"""What an exported colorizer carries beside its network, so that the file alone is enough.

An exported file holds a JSON object under the key :data:`METADATA_KEY`: in an ONNX file's
``metadata_props``, a LiteRT file's metadata buffers, a SavedModel folder's
``colorizer.json``. It says what the Keras model it came from was (its head, whether it takes
hints, its colour gain or temperature, both baked into the network), the working size rule
``colorize`` applies around it, and how closely the file reproduced the Keras model when it
was written.

Example:
    >>> info = ExportInfo(format="onnx", head="regression", takes_hints=False)
    >>> ExportInfo.from_json(info.to_json(), "best.onnx") == info
    True
"""
from __future__ import annotations

import dataclasses
import json

METADATA_KEY = "colorizer"
"""The key (ONNX metadata, LiteRT metadata name) under which the JSON is kept."""
SAVED_MODEL_METADATA = "colorizer.json"
"""The file, inside a SavedModel folder, that holds the JSON."""
FORMAT_VERSION = 1
"""Bumped when a runtime would read the JSON wrongly; a newer file is refused clearly."""
FORMATS = ("onnx", "litert", "saved_model")
LIGHTNESS_INPUT = "L"
"""The name of a colorizer's first input (L, ``(N, H, W, 1)``)."""


class NotAColorizerError(ValueError):
    """A file that is a model of some kind, but not one ``colorizer export`` wrote."""


@dataclasses.dataclass(frozen=True)
class ExportInfo:
    """What a runtime needs to reproduce ``colorize`` with an exported file.

    Attributes:
        format: ``"onnx"``, ``"litert"`` or ``"saved_model"``.
        head: ``"regression"`` or ``"classification"``.
        takes_hints: Whether the network reads colour hints beside L.
        inputs: The network's input names, in order (L, then hints).
        side_multiple: The working size's sides are multiples of this.
        render_size: The working size the model is meant for (``colorize``'s default).
        colour_gain: A regression model's ab scale (1: as trained), baked into the network.
        temperature: A classification model's annealed-mean temperature, baked in.
        precision: ``"float32"``, ``"float16"`` for a LiteRT file with halved weights, or
            ``"int8"`` for an ONNX file quantized to 8 bits.
        max_ab_difference: The largest ab difference from the Keras model on the check
            photo at export (``None``: not checked).
        ab_rmse_difference: The RMSE of that difference (``None``: not checked).
        calibration_photos: How many photos set an int8 file's activation ranges.
        source: The Keras file it was exported from (its name).
        versions: colorizer's and Keras' versions, and the backend, at export.
        format_version: See :data:`FORMAT_VERSION`.
    """

    format: str
    head: str
    takes_hints: bool
    inputs: tuple[str, ...] = (LIGHTNESS_INPUT,)
    side_multiple: int = 32
    render_size: int = 224
    colour_gain: float | None = None
    temperature: float | None = None
    precision: str = "float32"
    max_ab_difference: float | None = None
    ab_rmse_difference: float | None = None
    calibration_photos: int | None = None
    source: str | None = None
    versions: dict = dataclasses.field(default_factory=dict, compare=False)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes | None, path: str) -> "ExportInfo":
        """Reads and checks the JSON of an exported file.

        Raises:
            NotAColorizerError: No JSON (a model ``colorizer export`` did not write), or JSON
                that is not this object's; the message names ``path`` and what to do.
        """
        if text is None:
            raise NotAColorizerError(
                f"{path} holds a model, but not one `colorizer export` wrote (it carries no "
                f"{METADATA_KEY!r} metadata): export a colorizer with `colorizer export "
                "--model FILE.keras --format onnx|litert|saved_model`")
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict):
                raise TypeError("not an object")
            version = int(raw.get("format_version", 0))
            if version > FORMAT_VERSION:
                raise NotAColorizerError(
                    f"{path} was exported by a newer colorizer (format {version}; this one "
                    f"reads {FORMAT_VERSION}): upgrade colorizer")
            fields = {field.name for field in dataclasses.fields(cls)}
            info = cls(**{key: value for key, value in raw.items() if key in fields})
            info = dataclasses.replace(info, inputs=tuple(info.inputs))
        except NotAColorizerError:
            raise
        except (TypeError, ValueError) as error:
            raise NotAColorizerError(f"{path}: its {METADATA_KEY!r} metadata is damaged "
                                     f"({error}); export the model again") from error
        if info.format not in FORMATS or info.head not in ("regression", "classification") \
                or info.inputs[:1] != (LIGHTNESS_INPUT,) \
                or len(info.inputs) != 1 + bool(info.takes_hints):
            raise NotAColorizerError(f"{path}: its {METADATA_KEY!r} metadata does not describe "
                                     "a colorizer; export the model again")
        return info

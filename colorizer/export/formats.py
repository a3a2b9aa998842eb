"""Each format's writer, and the metadata each keeps (ONNX props, LiteRT buffers, a JSON file).

Keras' own exporters write the networks (``model.export``: ONNX through tf2onnx, a
SavedModel); LiteRT comes from that SavedModel through TensorFlow's converter, which every
supported Keras version has (Keras' own ``"litert"`` format arrived in 3.13). The input sizes
stay free in all three, as in the Keras model.
"""
from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np

from colorizer.runtimes.metadata import METADATA_KEY, SAVED_MODEL_METADATA

EXPORT_EXTRA = 'pip install "colorizer[export]"'


def write_onnx(model, path: str) -> None:
    """The network as ONNX (opset chosen by tf2onnx), its input sizes free, its scalar
    constants shaped for ONNX Runtime's fast broadcasting
    (:func:`colorizer.export.onnx_graph.broadcast_scalars_at_rank`)."""
    for package in ("tf2onnx", "onnx"):
        try:
            __import__(package)
        except ModuleNotFoundError as error:
            raise ModuleNotFoundError(f"exporting ONNX needs {package}: {EXPORT_EXTRA}",
                                      name=package) from error
    import logging

    logging.getLogger("tf2onnx").setLevel(logging.WARNING)  # its graph rewrites, step by step
    model.export(path, format="onnx", verbose=False)
    import onnx

    from colorizer.export.onnx_graph import broadcast_scalars_at_rank

    proto = onnx.load(path)
    broadcast_scalars_at_rank(proto)
    onnx.save(proto, path)


def set_onnx_metadata(path: str, text: str) -> None:
    import onnx

    proto = onnx.load(path)
    kept = [prop for prop in proto.metadata_props if prop.key != METADATA_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    proto.metadata_props.add(key=METADATA_KEY, value=text)
    onnx.save(proto, path)


def write_saved_model(model, path: str) -> None:
    """A SavedModel folder serving ``serving_default`` (L, [hints]) -> ab."""
    model.export(path, format="tf_saved_model", verbose=False)


def set_saved_model_metadata(path: str, text: str) -> None:
    with open(os.path.join(path, SAVED_MODEL_METADATA), "w", encoding="utf-8") as f:
        f.write(text)


def write_litert(model, path: str, precision: str = "float32") -> None:
    """A ``.tflite`` file, through a SavedModel and TensorFlow's converter.

    Args:
        precision: ``"float32"``, or ``"float16"``: weights stored in half precision (half
            the file), computed in float32.
    """
    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix="colorizer-litert-") as folder:
        saved = os.path.join(folder, "saved_model")
        write_saved_model(model, saved)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if precision == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        content = converter.convert()
    with open(path, "wb") as f:
        f.write(content)


def set_litert_metadata(path: str, text: str) -> None:
    """Keeps ``text`` in the file's metadata buffers (the schema's own place for it)."""
    import flatbuffers

    from colorizer.runtimes.litert_runtime import schema

    s = schema()
    with open(path, "rb") as f:
        model = s.ModelT.InitFromPackedBuf(bytearray(f.read()), 0)
    data = np.frombuffer(text.encode("utf-8"), np.uint8)
    model.metadata = model.metadata or []
    existing = [m for m in model.metadata if _name(m.name) == METADATA_KEY]
    if existing:
        model.buffers[existing[0].buffer].data = data
    else:
        buffer = s.BufferT()
        buffer.data = data
        model.buffers.append(buffer)
        entry = s.MetadataT()
        entry.name, entry.buffer = METADATA_KEY, len(model.buffers) - 1
        model.metadata.append(entry)
    builder = flatbuffers.Builder(os.path.getsize(path) + len(data) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    with open(path, "wb") as f:
        f.write(builder.Output())


def _name(name) -> str:
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)


WRITERS = {"onnx": (write_onnx, set_onnx_metadata),
           "litert": (write_litert, set_litert_metadata),
           "saved_model": (write_saved_model, set_saved_model_metadata)}
"""``format: (write the network, keep the metadata JSON)``."""


def remove(path: str) -> None:
    """Removes a file or a folder, if there."""
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.exists(path):
        os.remove(path)

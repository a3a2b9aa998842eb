"""The ONNX rewrite that shapes scalar constants for ONNX Runtime's fast broadcasting: same
outputs, bit for bit; every scalar an image meets gets the image's rank; shape arithmetic and
unknown ranks are left alone; the exported colorizers carry no rank-0 scalar beside an image."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from colorizer.export.onnx_graph import broadcast_scalars_at_rank, known_ranks  # noqa: E402


def _graph_with_scalars() -> onnx.ModelProto:
    """image * 1.5 + 0.25, the 1.5 also scaling a rank-1 vector, max(., 0.5) with ``(1,)``."""
    scalar = numpy_helper.from_array(np.array(1.5, np.float32), "scale")
    offset = numpy_helper.from_array(np.array(0.25, np.float32), "offset")
    floor = numpy_helper.from_array(np.array([0.5], np.float32), "floor")
    vector = numpy_helper.from_array(np.arange(3, dtype=np.float32), "vector")
    nodes = [helper.make_node("Mul", ["image", "scale"], ["scaled"]),
             helper.make_node("Add", ["scaled", "offset"], ["shifted"]),
             helper.make_node("Max", ["shifted", "floor"], ["out"]),
             helper.make_node("Mul", ["vector", "scale"], ["scaled_vector"])]
    graph = helper.make_graph(
        nodes, "scalars",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", "h", "w", 1])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["n", "h", "w", 1]),
         helper.make_tensor_value_info("scaled_vector", TensorProto.FLOAT, [3])],
        [scalar, offset, floor, vector])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def _run(model, image):
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    return session.run(None, {"image": image})


def test_scalars_take_the_images_rank_and_outputs_stay_bit_for_bit():
    model = _graph_with_scalars()
    image = np.random.default_rng(0).normal(size=(2, 5, 7, 1)).astype(np.float32)
    before = _run(model, image)

    assert broadcast_scalars_at_rank(model) == 3
    onnx.checker.check_model(model)
    shapes = {tensor.name: tuple(tensor.dims) for tensor in model.graph.initializer}
    # The image's three scalars are rank 4 now; the vector's multiplier kept its own copy at
    # rank 0 (the rewrite never lifts the rank of shape arithmetic).
    assert shapes["scale__rank4"] == (1, 1, 1, 1)
    assert shapes["offset__rank4"] == (1, 1, 1, 1)
    assert shapes["floor__rank4"] == (1, 1, 1, 1)
    assert shapes["scale"] == ()
    assert "offset" not in shapes and "floor" not in shapes  # unused, removed
    after = _run(model, image)
    for old, new in zip(before, after):
        assert old.shape == new.shape
        np.testing.assert_array_equal(old, new)


def test_a_scalar_beside_a_tensor_of_unknown_rank_is_left_alone():
    model = _graph_with_scalars()
    # An input without a shape: inference cannot tell its rank, so nothing it meets changes.
    del model.graph.input[0].type.tensor_type.shape.dim[:]
    model.graph.input[0].type.tensor_type.ClearField("shape")
    assert "image" not in known_ranks(model)
    assert broadcast_scalars_at_rank(model) == 0


def test_exported_colorizers_meet_images_with_no_rank_0_scalar(exported):
    for name in ("regression.onnx", "hints.onnx", "classification.onnx"):
        model = onnx.load(exported[name])
        ranks = known_ranks(model)
        initializers = {tensor.name: tensor for tensor in model.graph.initializer}
        for node in model.graph.node:
            if node.op_type not in ("Mul", "Add", "Sub", "Max", "Min", "Pow"):
                continue
            image_like = any(ranks.get(i, 0) >= 4 for i in node.input if i not in initializers)
            scalars = [i for i in node.input if i in initializers
                       and int(np.prod(initializers[i].dims)) == 1]
            if image_like:
                assert all(len(initializers[i].dims) == 4 for i in scalars), (name, node.name)

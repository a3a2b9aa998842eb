"""Rewrites of an exported ONNX graph that change no result, only how fast ONNX Runtime runs it.

tf2onnx writes a Python float in the model (``(L + 16) / 116``, a clip's bounds, the head's
scale) as a scalar initializer of rank 0. ONNX Runtime's CPU kernels take a slow path when they
broadcast such a scalar over an image: measured with ONNX Runtime 1.32 on 2 cores, ``x * c`` on
a batch of 8 L planes of 224 x 224 took 2.9 ms with ``c`` of shape ``()`` or ``(1,)`` and 0.04 ms
with ``c`` of shape ``(1, 1, 1, 1)``. The gray-to-RGB step before the encoder is a chain of such
operations, and it took a fifth of the whole network's time. Giving each scalar the rank of the
tensor it meets keeps every value and every output shape (broadcasting a ``(1, 1, 1, 1)``
constant over a rank-4 tensor is the same arithmetic) and takes the fast path.

Example:
    >>> import onnx
    >>> proto = onnx.load("best.onnx")                        # doctest: +SKIP
    >>> broadcast_scalars_at_rank(proto)                       # doctest: +SKIP
    17
"""
from __future__ import annotations

ELEMENTWISE = frozenset({"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "Greater", "Less",
                         "Equal", "GreaterOrEqual", "LessOrEqual", "Where", "And", "Or"})
"""Operators that broadcast their inputs (numpy-style), whose scalar inputs are rewritten."""
MIN_RANK = 2
"""Scalars meeting tensors of lower rank (shape arithmetic, not images) are left alone."""


def known_ranks(proto) -> dict[str, int]:
    """The rank of every tensor whose rank ONNX's shape inference can tell."""
    from onnx import shape_inference

    inferred = shape_inference.infer_shapes(proto)
    ranks = {}
    graph = inferred.graph
    for value in [*graph.value_info, *graph.input, *graph.output]:
        tensor_type = value.type.tensor_type
        if tensor_type.HasField("shape"):
            ranks[value.name] = len(tensor_type.shape.dim)
    for tensor in graph.initializer:
        ranks[tensor.name] = len(tensor.dims)
    return ranks


def broadcast_scalars_at_rank(proto) -> int:
    """Reshapes, in place, each one-element initializer that an elementwise node broadcasts
    over tensors of rank 2 or more to that rank (``()`` -> ``(1, 1, 1, 1)`` beside an image).

    A scalar shared by nodes of different ranks gets one copy per rank; one no node uses any
    more is removed.

    Args:
        proto: An ``onnx.ModelProto``.

    Returns:
        The number of node inputs rewritten.
    """
    from onnx import numpy_helper

    graph = proto.graph
    ranks = known_ranks(proto)
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    scalars = {name: tensor for name, tensor in initializers.items()
               if _size(tensor) == 1 and len(tensor.dims) < MIN_RANK}
    copies: dict[tuple[str, int], str] = {}
    rewritten = 0
    for node in graph.node:
        if node.op_type not in ELEMENTWISE:
            continue
        for position, name in enumerate(node.input):
            if name not in scalars:
                continue
            others = [ranks.get(other) for i, other in enumerate(node.input) if i != position]
            if not others or None in others or max(others) < MIN_RANK:
                continue  # an unknown rank could be lower than the new one: left as it is
            rank = max(others)
            if rank <= len(scalars[name].dims):
                continue
            if (name, rank) not in copies:
                value = numpy_helper.to_array(scalars[name]).reshape((1,) * rank)
                copy = numpy_helper.from_array(value, f"{name}__rank{rank}")
                graph.initializer.append(copy)
                copies[name, rank] = copy.name
            node.input[position] = copies[name, rank]
            rewritten += 1
    used = {name for node in graph.node for name in node.input}
    used.update(output.name for output in graph.output)
    unused = [tensor for tensor in graph.initializer
              if tensor.name in scalars and tensor.name not in used]
    for tensor in unused:
        graph.initializer.remove(tensor)
    return rewritten


def _size(tensor) -> int:
    size = 1
    for dim in tensor.dims:
        size *= dim
    return size

"""The exported models the runtime tests use: a Beam run's workers need only ONNX Runtime."""
from tests.runtimes.conftest import exported  # noqa: F401 - the shared fixture

"""Where training runs: the devices, mixed precision and XLA, chosen per machine and backend.

On TensorFlow, a ``tf.distribute`` strategy::

    auto -> TF_CONFIG names several workers  -> MultiWorkerMirroredStrategy
         -> a TPU is attached (Colab, TPU VM) -> TPUStrategy
         -> one or more GPUs                 -> MirroredStrategy
         -> otherwise                        -> the default strategy (one device)

On JAX, ``keras.distribution``'s data parallelism (:class:`JaxDataParallel`) over every device
of the default JAX platform: the TPU cores, else the GPUs, else one CPU; ``multi-worker``
first joins the other hosts (``keras.distribution.initialize``), so the devices of every host
take part. Both kinds answer the few questions training asks (replicas, scope, device kind),
so the rest of the package does not care which it got.

Mixed precision computes in 16 bits where the hardware has fast 16-bit units (``mixed_float16``
on GPUs, ``mixed_bfloat16`` on TPUs) while variables and the model's output stay float32; XLA
compiles each training step into fused kernels. Both pay off on accelerators and cost time on
CPUs, so ``"auto"`` turns them on only there.

Example:
    >>> strategy = get_strategy("auto")
    >>> mixed_precision_policy(strategy)   # on a CPU-only machine
    'float32'
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
from typing import Iterator

import keras

from colorizer.backend import tpu_attached
from colorizer.errors import ColorizerError

log = logging.getLogger(__name__)


class TPUUnavailableError(ColorizerError, RuntimeError):
    """A TPU was asked for and could not be initialised (the message says why)."""

STRATEGIES = ("auto", "default", "mirrored", "tpu", "multi-worker")
"""Names accepted by :func:`get_strategy` (and ``colorizer train --strategy``)."""
SWITCHES = ("auto", "on", "off")
"""Values of the mixed-precision and XLA switches."""


def tf_config() -> dict:
    """The parsed ``TF_CONFIG`` environment variable (``{}`` when unset)."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON: {error}") from None


def num_workers() -> int:
    """Machines taking part in training according to ``TF_CONFIG`` (chief and workers); 1 if
    unset. Reading it needs no TensorFlow runtime, so it is safe before any strategy exists."""
    cluster = tf_config().get("cluster", {})
    return max(1, len(cluster.get("chief", [])) + len(cluster.get("worker", [])))


def _on_jax() -> bool:
    return keras.backend.backend() == "jax"


class JaxDataParallel:
    """Data parallelism over JAX devices with ``keras.distribution``, for training on JAX.

    Each step's global batch is split across ``devices`` and the gradients averaged, as a
    mirrored strategy does on TensorFlow. :func:`get_strategy` makes its distribution Keras'
    global one (none on one device), which ``fit`` then follows.

    Args:
        devices: JAX devices as ``keras.distribution.list_devices`` names them (``"tpu:0"``).
        kind: ``"tpu"``, ``"gpu"`` or ``"cpu"``.
    """

    def __init__(self, devices: list[str], kind: str):
        self.devices = list(devices)
        self.kind = kind
        self.distribution = None
        if len(self.devices) > 1:
            self.distribution = keras.distribution.DataParallel(devices=self.devices)

    @property
    def num_replicas_in_sync(self) -> int:
        """Devices each batch is split over."""
        return len(self.devices)

    def scope(self):
        """Where models are built: Keras' distribution scope (a no-op on one device)."""
        return self.distribution.scope() if self.distribution else contextlib.nullcontext()

    def __repr__(self) -> str:
        return f"JaxDataParallel({self.kind} x {len(self.devices)})"


def _jax_devices(kind: str | None = None) -> tuple[list[str], str]:
    """Names and kind of the devices of JAX's default platform (or of platform ``kind``)."""
    import jax

    devices = jax.devices(kind) if kind else jax.devices()
    platform = devices[0].platform.lower()
    return [f"{platform}:{d.id}" for d in devices], platform


def _jax_strategy(name: str) -> JaxDataParallel:
    strategy = JaxDataParallel(*_jax_devices_for(name))
    keras.distribution.set_distribution(strategy.distribution)  # one device: none at all
    return strategy


def _jax_devices_for(name: str) -> tuple[list[str], str]:
    """The devices strategy ``name`` trains on with JAX, and their kind."""
    if name == "multi-worker":
        keras.distribution.initialize()  # joins the hosts JAX's environment names
    if name == "tpu":
        try:
            return _jax_devices("tpu")
        except RuntimeError as error:
            raise TPUUnavailableError(
                f"JAX found no TPU: {_one_line(error)}. On Colab choose a TPU runtime "
                "(Runtime > Change runtime type), or train on what this machine has with "
                "--strategy auto") from error
    try:
        devices, kind = _jax_devices()
    except RuntimeError as error:  # an accelerator JAX cannot open: train on the CPU
        log.warning("JAX could not open its accelerator (%s); training on the CPU",
                    _one_line(error))
        devices, kind = _jax_devices("cpu")
    return (devices[:1] if name == "default" else devices), kind


def _tpu_strategy():
    import tensorflow as tf

    try:  # TPU VMs (current Colab TPUs): the TPU is local to this machine.
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu="local")
        tf.config.experimental_connect_to_cluster(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError):
        # Older TPU nodes are reached over the network (COLAB_TPU_ADDR / TPU_NAME).
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def _auto_tpu_strategy():
    """The TPU strategy, or ``None`` with a one-line warning when the TPU that seems attached
    cannot be initialised (``"auto"`` then trains on what else the machine has)."""
    try:
        return _tpu_strategy()
    except Exception as error:  # noqa: BLE001 - resolvers raise many types
        log.warning("a TPU seems attached but could not be initialised (%s); training "
                    "without it", _one_line(error))
        return None


def _mirrored_strategy():
    import tensorflow as tf

    # All GPUs; on a machine without any, every logical CPU device (one unless the process
    # split its CPU into several, as the tests do).
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([d.name for d in devices])


def get_strategy(name: str = "auto"):
    """Creates the strategy called ``name`` for the running Keras backend.

    Call it at the start of the program: a multi-worker strategy must exist before TensorFlow
    runs anything else.

    Args:
        name: ``"auto"`` (see the module docstring), ``"default"`` (one device),
            ``"mirrored"`` (every GPU of this machine), ``"tpu"`` or ``"multi-worker"``
            (every machine named in ``TF_CONFIG``; on JAX, the hosts JAX's environment names).

    Returns:
        A ``tf.distribute`` strategy on TensorFlow, a :class:`JaxDataParallel` on JAX; build
        and compile models inside ``strategy.scope()``.

    Raises:
        ValueError: An unknown name, or ``"multi-worker"`` without ``TF_CONFIG``.
        TPUUnavailableError: ``"tpu"`` and no TPU could be initialised; the message holds the
            reason. (``"auto"`` then falls back to GPUs or the CPU with a one-line warning.)

    Example:
        >>> strategy = get_strategy("mirrored")
        >>> strategy.num_replicas_in_sync >= 1
        True
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    if _on_jax():
        strategy = _jax_strategy(name)
        log.info("JAX data parallelism over %d %s device(s)", strategy.num_replicas_in_sync,
                 strategy.kind)
        return strategy
    import tensorflow as tf

    strategy = None
    if name == "auto":
        if num_workers() > 1:
            name = "multi-worker"
        elif tpu_attached() and (strategy := _auto_tpu_strategy()) is not None:
            name = "tpu"
        else:
            name = "mirrored" if tf.config.list_physical_devices("GPU") else "default"
    if name == "multi-worker":
        if not tf_config().get("cluster"):
            raise ValueError("the multi-worker strategy reads its machines from TF_CONFIG, "
                             'e.g. {"cluster": {"worker": ["host1:port", "host2:port"]}, '
                             '"task": {"type": "worker", "index": 0}}; set it on every machine')
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    elif name == "tpu":
        if strategy is None:
            try:
                strategy = _tpu_strategy()
            except Exception as error:  # noqa: BLE001 - resolvers raise many types
                raise TPUUnavailableError(
                    f"could not initialise a TPU: {_one_line(error)}. On Colab choose a TPU "
                    "runtime (Runtime > Change runtime type); elsewhere check TPU_NAME, or "
                    "train on what this machine has with --strategy auto") from error
    elif name == "mirrored":
        strategy = _mirrored_strategy()
    else:
        strategy = tf.distribute.get_strategy()
    log.info("strategy %s with %d replicas", type(strategy).__name__,
             strategy.num_replicas_in_sync)
    return strategy


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def default_strategy():
    """The one-device strategy of the running backend (TensorFlow's current strategy)."""
    if _on_jax():
        devices, kind = _jax_devices()
        return JaxDataParallel(devices[:1], kind)
    import tensorflow as tf

    return tf.distribute.get_strategy()


def needs_static_batches(strategy) -> bool:
    """Whether validation batches must all have the training batch's size: on TPUs (XLA
    compiles one shape), and on JAX across several devices (a batch must split evenly)."""
    if isinstance(strategy, JaxDataParallel):
        return strategy.kind == "tpu" or strategy.num_replicas_in_sync > 1
    return device_kind(strategy) == "tpu"


def is_multi_worker(strategy) -> bool:
    """Whether ``strategy`` is TensorFlow's multi-worker strategy."""
    if isinstance(strategy, JaxDataParallel):
        return False
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def static_batches(val_data, train_data):
    """Validation batches of one fixed shape, as TPUs need: the training batch size, the last
    short batch dropped. A dataset whose batches are already static is returned unchanged."""
    import tensorflow as tf

    def batch_of(dataset):
        return tf.nest.flatten(dataset.element_spec)[0].shape[0]

    if batch_of(val_data) is not None:
        return val_data
    batch = batch_of(train_data)
    if batch is None:
        raise ValueError("TPU training needs batches of a fixed size: make the training "
                         "dataset with drop_remainder=True")
    return val_data.rebatch(int(batch), drop_remainder=True)


def device_kind(strategy=None) -> str:
    """``"tpu"``, ``"gpu"`` or ``"cpu"``: what ``strategy``'s replicas compute on."""
    strategy = strategy or default_strategy()
    if isinstance(strategy, JaxDataParallel):
        return strategy.kind
    import tensorflow as tf

    if isinstance(strategy, tf.distribute.TPUStrategy):
        return "tpu"
    try:
        devices = " ".join(strategy.extended.worker_devices).upper()
    except (AttributeError, RuntimeError, NotImplementedError):
        devices = ""
    if "GPU" in devices:
        return "gpu"
    if "CPU" in devices:
        return "cpu"
    # The default strategy places ops itself: on the GPU whenever there is one.
    return "gpu" if tf.config.list_logical_devices("GPU") else "cpu"


def worker_index(strategy=None) -> tuple[bool, int]:
    """``(is_chief, index)`` of this process among the workers (``(True, 0)`` on one machine).

    The chief is the task of type ``chief``, or worker 0 when no chief is named; on JAX, the
    process of index 0.
    """
    if isinstance(strategy, JaxDataParallel):
        import jax

        return jax.process_index() == 0, jax.process_index()
    resolver = getattr(strategy, "cluster_resolver", None) if strategy is not None else None
    task_type = getattr(resolver, "task_type", None)
    task_id = getattr(resolver, "task_id", None)
    if task_type is None:
        task = tf_config().get("task", {})
        task_type, task_id = task.get("type"), task.get("index", 0)
    if task_type in (None, "chief"):
        return True, 0
    has_chief = bool(tf_config().get("cluster", {}).get("chief"))
    index = int(task_id or 0) + (1 if has_chief else 0)
    return (task_type == "worker" and index == 0), index


def mixed_precision_policy(strategy=None) -> str:
    """The dtype policy that is fastest on ``strategy``'s devices.

    Returns:
        ``"mixed_bfloat16"`` on TPUs, ``"mixed_float16"`` on GPUs, ``"float32"`` on CPUs.
    """
    return {"tpu": "mixed_bfloat16", "gpu": "mixed_float16"}.get(device_kind(strategy),
                                                                 "float32")


def resolve_mixed_precision(mode: str, strategy=None) -> str:
    """Turns ``"auto" | "on" | "off"`` into a dtype policy name for ``strategy``'s devices.

    ``"on"`` on a CPU gives ``mixed_bfloat16``, which recent CPUs run natively.
    """
    _check_switch("mixed precision", mode)
    if mode == "off":
        return "float32"
    policy = mixed_precision_policy(strategy)
    if mode == "on" and policy == "float32":
        return "mixed_bfloat16"
    return policy


def resolve_xla(mode: str | bool, strategy=None) -> bool:
    """Turns ``"auto" | "on" | "off"`` (or a bool) into Keras' ``jit_compile``.

    ``"auto"`` compiles on GPUs and TPUs, where fused kernels save memory traffic; on CPUs
    XLA's convolutions are slower than oneDNN's, so it stays off there with TensorFlow. JAX
    always compiles (``"off"`` runs its steps op by op, for debugging only).
    """
    if isinstance(mode, bool):
        return mode
    _check_switch("XLA", mode)
    if mode == "auto":
        return _on_jax() or device_kind(strategy) in ("gpu", "tpu")
    return mode == "on"


def _check_switch(what: str, mode: str) -> None:
    if mode not in SWITCHES:
        raise ValueError(f"{what} must be one of {', '.join(SWITCHES)}, got {mode!r}")


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[str]:
    """Sets Keras' global dtype policy to ``name`` inside the block, then restores it.

    Layers keep the policy they were built with, so a model built inside the block computes
    in that precision afterwards too, while other models of the process are unaffected.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield name
    finally:
        keras.config.set_dtype_policy(previous)


def global_batch_size(per_replica: int, strategy=None) -> int:
    """The global batch for ``per_replica`` images on each of ``strategy``'s replicas."""
    strategy = strategy or default_strategy()
    return int(per_replica) * strategy.num_replicas_in_sync


def scaled_learning_rate(learning_rate: float, replicas: int, rule: str = "linear") -> float:
    """The learning rate for ``replicas`` replicas, given the rate tuned for one.

    With ``R`` replicas each step sees ``R`` times the batch; its gradient is an average over
    ``R`` times the images, less noisy, so the step can be larger. ``"linear"`` multiplies the
    rate by ``R`` (the usual rule for large-batch SGD and a good start with Adam), ``"sqrt"`` by
    ``sqrt(R)`` (gentler, for very large batches), ``"none"`` keeps it.

    Example:
        >>> scaled_learning_rate(1e-3, 8)
        0.008
    """
    if rule not in ("linear", "sqrt", "none"):
        raise ValueError(f"learning-rate scaling must be linear, sqrt or none, got {rule!r}")
    factor = {"linear": replicas, "sqrt": replicas ** 0.5, "none": 1}[rule]
    return float(learning_rate) * factor


def describe(strategy, policy: str | None = None, xla: bool | None = None) -> str:
    """One line for people: backend, strategy, devices, precision and XLA.

    Example:
        >>> describe(get_strategy("auto"))
        'backend tensorflow | strategy _DefaultDistributionStrategy | 1 cpu device | ...'
    """
    policy = policy or mixed_precision_policy(strategy)
    xla = resolve_xla("auto", strategy) if xla is None else xla
    replicas = strategy.num_replicas_in_sync
    if isinstance(strategy, JaxDataParallel):
        names = ", ".join(strategy.devices[:8]) + (" ..." if replicas > 8 else "")
        where = f"{replicas} {strategy.kind} device{'s' * (replicas > 1)} ({names})"
        name = "keras.distribution.DataParallel" if strategy.distribution else "one device"
    else:
        where = f"{replicas} {device_kind(strategy)} replica{'s' * (replicas > 1)}"
        name = type(strategy).__name__
    return (f"backend {keras.backend.backend()} | strategy {name} | {where} | precision "
            f"{policy} | XLA {'on' if xla else 'off'}")


def prepare_multi_worker_fit(model: keras.Model, data, strategy) -> None:
    """Works around two gaps of Keras 3's ``fit`` under ``MultiWorkerMirroredStrategy``.

    1. ``fit`` builds a model by reducing its first batch with ``strategy.reduce``, which this
       strategy refuses for an ``(x, y)`` pair: the model, optimizer and metrics are built here
       from the dataset's element spec instead, leaving that step nothing to do.
    2. Each step's metrics are averaged across workers along axis 0, which fails for scalar
       metrics: scalars are averaged as scalars instead.

    Call it after ``compile`` and before ``fit``.
    """
    import tensorflow as tf

    with strategy.scope():
        model._symbolic_build(data_batch=data.element_spec)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None

    from keras.src.backend.tensorflow import trainer as tf_trainer

    original = tf_trainer.reduce_per_replica
    if getattr(original, "scalar_safe", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean") or not isinstance(
                strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return original(values, strategy, reduction)

        def mean(value):
            local = strategy.experimental_local_results(value)[0]
            return strategy.reduce("MEAN", value, axis=0 if local.shape.rank else None)

        return tf.nest.map_structure(mean, values)

    reduce_per_replica.scalar_safe = True
    tf_trainer.reduce_per_replica = reduce_per_replica

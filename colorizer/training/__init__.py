"""Stage 3, training: a model and batches in, a resumable run folder out.

``train`` runs the phases (frozen encoder, then all) with ``callbacks`` (logs, best model,
time limit, live plots) and ``backup`` (crash-safe resume); ``augmentation`` rotates, flips
and adds noise inside the training step, where ``hint_simulation`` also draws colour hints
from the true colour for a model that takes them; ``distribute`` picks the devices
(``tf.distribute`` or ``keras.distribution`` on JAX), precision and batch scaling; ``config``
holds the settings and presets. All of it runs on TensorFlow and on JAX.

Example:
    >>> from colorizer.training import train
    >>> result = train(train_ds, "runs/first", val_data=val_ds)
"""
from colorizer.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "train": "colorizer.training.train",
    "TrainConfig": "colorizer.training.config",
    "get_preset": "colorizer.training.config",
    "get_strategy": "colorizer.training.distribute",
    "LabAugmentation": "colorizer.training.augmentation",
    "HintSimulation": "colorizer.training.hint_simulation",
})

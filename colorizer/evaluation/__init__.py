"""Stage 4a, evaluation: a model and held-out photos in, metrics beside gray and truth out.

``dataset`` reads photos with their names and labels; ``metrics`` (with ``auc``,
``colorfulness``, ``summaries``) scores each image; ``semantic`` asks a classifier (VGG16)
what it sees; ``evaluate`` runs it all and writes ``report`` tables and ``figures``.

Example:
    >>> from colorizer.evaluation import evaluate
    >>> summary = evaluate("runs/first/model.keras", "data/pets/shards", "runs/first/eval")
"""
from colorizer.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "evaluate": "colorizer.evaluation.evaluate",
    "make_eval_dataset": "colorizer.evaluation.dataset",
    "image_metrics": "colorizer.evaluation.metrics",
})

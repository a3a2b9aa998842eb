"""Stage 1, data: photos in, (L, ab) batches out.

``download`` (with ``fetch``, ``sources``, ``archives``, ``manifest``) gets photos from URLs,
Oxford-IIIT Pet or Google Drive; ``prepare`` checks, splits (``splits``) and writes them to
TFRecord shards (``records``) with the dataset's colour distribution (``ab_distribution``);
``pipeline`` reads folders or shards as ``tf.data`` batches, augmented by ``augment`` as
``config`` says; ``images`` decodes any photo; ``samples`` are photos shipped with installed
packages. Nothing here imports a later stage.

Example:
    >>> from colorizer.data import make_dataset
    >>> ds = make_dataset("photos/", batch_size=16, training=True)
"""
from colorizer.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "make_dataset": "colorizer.data.pipeline",
    "DecodeStats": "colorizer.data.pipeline",
    "prepare_dataset": "colorizer.data.prepare",
    "download_urls": "colorizer.data.download",
    "AugmentConfig": "colorizer.data.config",
    "DataConfig": "colorizer.data.config",
    "read_rgb": "colorizer.data.images",
    "list_images": "colorizer.data.images",
})

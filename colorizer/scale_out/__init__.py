"""Stage 8, scale-out: ``colorize``'s batch semantics on Apache Beam, for a bucket of a million
scans on many machines (Dataflow, Flink, Spark; the DirectRunner on one).

    patterns -> inputs with the names colorize gives                  names
      -> photos read, colorized (RunInference), written whole          pipeline, handler
         on any Beam file system                                       storage
      -> manifest.jsonl, failures.jsonl, counters

It calls the batch stage's own per-photo pieces (decoding, L, the merge, the encoding), so a
photo comes out byte for byte as ``colorizer colorize`` writes it; it stands beside the web
app, above batches. Needs the ``[beam]`` extra (``apache-beam``), and on the workers only what
the model needs (``[onnx]`` for an ONNX export).

Example:
    >>> from colorizer.scale_out import colorize_on_beam
    >>> colorize_on_beam(["scans/"], "colour/", "best.onnx", runner="direct").counts
    {'ok': 412, 'skipped': 0, 'failed': 3}
"""
from colorizer.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "colorize_on_beam": "colorizer.scale_out.pipeline",
    "build_pipeline": "colorizer.scale_out.pipeline",
    "ColorizerModelHandler": "colorizer.scale_out.handler",
})

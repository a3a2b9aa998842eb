"""``colorizer export``: a trained model written for ONNX Runtime, LiteRT or TF Serving."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="write a model for ONNX Runtime, LiteRT or TF Serving (no TensorFlow "
                       "needed to colorize with it)",
        description="Writes a .keras colorizer as ONNX (ONNX Runtime: `pip install "
                    "\"colorizer[onnx]\"`, no TensorFlow, JAX or Keras), LiteRT (.tflite: "
                    "phones and `pip install \"colorizer[litert]\"`) or a TensorFlow SavedModel "
                    "folder (TF Serving). The file carries what colorize needs (head, hints "
                    "input, colour gain or temperature, working size), so `colorizer colorize "
                    "--model FILE` and `colorizer app --model FILE` take it as they take the "
                    ".keras file. Before the file is put in place it is loaded by its runtime "
                    "and must colour a test photo within 1.0 ab of the Keras model (int8: 3.0 "
                    "ab RMSE). Exporting needs TensorFlow, and for ONNX `pip install \"colorizer[export]\"`.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", required=True, help="the .keras model file to export")
    parser.add_argument("--format", required=True, choices=("onnx", "litert", "saved_model"),
                        help="onnx: ONNX Runtime on any machine; litert: a .tflite file; "
                             "saved_model: a folder for TF Serving")
    parser.add_argument("--out", help="file (folder for saved_model) to write; default: beside "
                                      "the model, best.keras -> best.onnx, best.tflite, "
                                      "best_saved_model")
    parser.add_argument("--temperature", type=float,
                        help="a classification model's temperature, fixed in the file "
                             "(default: the one saved with it)")
    parser.add_argument("--precision", choices=("float32", "float16", "int8"),
                        default="float32",
                        help="float16 (litert only) halves the file (weights in half "
                             "precision, computed in float32); int8 (onnx only) quantizes "
                             "weights and activations to 8 bits: faster on CPUs, a third of "
                             "the size, colour a little off the float model's (needs "
                             "--calibration)")
    parser.add_argument("--calibration", nargs="+", metavar="PHOTOS",
                        help="for int8: photo files or folders like those the model will "
                             "colour (a few dozen are enough; at most 64 are used)")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="write the file without loading it with its runtime and comparing "
                             "its colour with the Keras model's (when that runtime is not "
                             "installed here)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from colorizer.export.exporter import export_colorizer

    result = export_colorizer(args.model, args.format, args.out, temperature=args.temperature,
                              precision=args.precision, calibration=args.calibration,
                              check=args.check)
    info = result.info
    setting = (f"temperature {info.temperature:.2f}" if info.head == "classification"
               else f"colour gain {info.colour_gain:g}")
    checked = ("not checked" if info.max_ab_difference is None else f"its colour is within "
               f"{info.max_ab_difference:g} ab of the Keras model's on the test photo")
    if info.precision == "int8" and info.ab_rmse_difference is not None:
        checked = (f"int8, calibrated on {info.calibration_photos} photos; on them its colour "
                   f"is {info.ab_rmse_difference:g} ab (RMSE) from the Keras model's, "
                   f"{info.max_ab_difference:g} at most")
    print(f"wrote {result.path}: {info.head} head, {setting}, "
          f"{'takes hints' if info.takes_hints else 'no hints input'}; {checked}")
    return 0

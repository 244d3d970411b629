"""``spikegan export``: SavedModel / ONNX / TFLite export of a training run."""

from __future__ import annotations

import argparse

from spikegan_tf.cli._args import Number

HELP = "export a trained generator (SavedModel for TF Serving, ONNX for rigs, TFLite)"

DESCRIPTION = """\
Export the generator of a training run to <out>/<name>/<version>/ (TF Serving's
layout): a SavedModel with signatures serving_default (z, u -> probs, spikes) and
sample (num_samples, seed -> probs, spikes), model.onnx for ONNX Runtime (see
spikegan_tf.export.runtime.Sampler) and optionally model.tflite, plus export.json
with the metadata and the parity measured against the Keras generator. The version
is written to a temporary directory and renamed into place only when every format
reloads and matches the Keras model.

--precision float16,int8 adds lighter ONNX variants (model-float16.onnx,
model-int8.onnx) for rigs. They cannot match bit for bit, so each is checked
statistically: both models sample the same draws, and the error of each of the six
headline statistics against the float32 model must stay within 0.5x the noise floor
of the training data (read from the file the run was trained on, or --data).
"""

EPILOG = """\
examples:
  spikegan export --run runs/retina --out models
  spikegan export --run runs/retina --format onnx --out models --name retina --version 3
  spikegan export --run runs/retina --format savedmodel,onnx,tflite --out models \\
      --version 1 --overwrite
  spikegan export --run runs/uniform --out models --bin-width 0.02   # data had no bin width
  spikegan export --run runs/retina --format onnx --out models --precision float16,int8
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` subcommand."""
    p = subparsers.add_parser("export", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, metavar="RUN",
                   help="training run directory (config.json + generator.keras)")
    p.add_argument("--format", default="savedmodel,onnx", metavar="FORMATS",
                   help="comma-separated: savedmodel, onnx, tflite (default: savedmodel,onnx)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="model base directory; the export goes to DIR/NAME/VERSION/")
    p.add_argument("--name", default=None,
                   help="model name (TF Serving's --model_name; default: the run's name)")
    p.add_argument("--version", type=Number("--version", minimum=1), default=None, metavar="V",
                   help="integer version (default: one more than the highest existing)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing version directory")
    p.add_argument("--bin-width", type=Number("--bin-width", float, 0, open_min=True),
                   default=None, metavar="SECONDS",
                   help="seconds per bin, recorded in the export when the run's training data "
                        "had none (windows or simulated files); must match the run's otherwise")
    p.add_argument("--parity-windows", type=Number("--parity-windows", minimum=1), default=256, metavar="N",
                   help="windows compared with the Keras generator (default: 256)")
    p.add_argument("--precision", default=None, metavar="P[,P]",
                   help="also write lighter ONNX variants: float16, int8 (comma-separated), "
                        "each checked by statistical parity with the float32 model")
    p.add_argument("--data", default=None, metavar="FILE",
                   help="with --precision: the training data whose noise floor the check uses "
                        "(default: the file recorded in the run's config.json)")
    p.add_argument("--key", default=None, help="with --data: key of the spikes in FILE")
    p.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    """Run the export and print what was written and the parity measured."""
    from spikegan_tf.errors import ConfigError
    from spikegan_tf.export.bundle import export_run, parse_formats
    from spikegan_tf.export.precision import parse_precisions

    try:  # fail on a typo before importing TensorFlow
        formats = parse_formats(args.format)
        precisions = parse_precisions(args.precision)
        if (args.data or args.key) and not precisions:
            raise ConfigError("`--data` and `--key` give the floor data of `--precision`; "
                              "add --precision float16 or int8.")
        result = export_run(args.run, args.out, formats, name=args.name, version=args.version,
                            overwrite=args.overwrite, parity_windows=args.parity_windows,
                            bin_width=args.bin_width, precision=precisions,
                            floor_data=args.data, floor_key=args.key)
    except ConfigError as exc:  # name the flags, not the Python arguments
        text = str(exc)
        for arg, flag in (("`bin_width`", "`--bin-width`"), ("`precision`", "`--precision`"),
                          ("`formats`", "`--format`")):
            text = text.replace(arg, flag)
        raise ConfigError(text) from None
    print("\n".join(result.lines()))
    return 0

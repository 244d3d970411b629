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
"""

EPILOG = """\
examples:
  spikegan export --run runs/retina --out models
  spikegan export --run runs/retina --format onnx --out models --name retina --version 3
  spikegan export --run runs/retina --format savedmodel,onnx,tflite --out models \\
      --version 1 --overwrite
  spikegan export --run runs/uniform --out models --bin-width 0.02   # data had no bin width
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
    p.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    """Run the export and print what was written and the parity measured."""
    from spikegan_tf.export.bundle import export_run, parse_formats

    formats = parse_formats(args.format)  # fail on a typo before importing TensorFlow
    from spikegan_tf.errors import ConfigError

    try:
        result = export_run(args.run, args.out, formats, name=args.name, version=args.version,
                            overwrite=args.overwrite, parity_windows=args.parity_windows,
                            bin_width=args.bin_width)
    except ConfigError as exc:  # name the flags, not the Python arguments
        raise ConfigError(str(exc).replace("`bin_width`", "`--bin-width`")) from None
    print("\n".join(result.lines()))
    return 0

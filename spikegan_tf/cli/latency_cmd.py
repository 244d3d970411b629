"""``spikegan latency``: the latency of an exported ONNX model, as a rig would see it.

Example::

    spikegan latency models/retina/1/model.onnx --threads 1 --seconds 30

Runs a paced loop (one window per ``--period-ms`` tick) for ``--seconds``, first
computing each window on demand, then taking it from the prefetching stream,
and prints p50/p99/p99.9/max of the time to get the next window against 1 ms
and 10 ms loop budgets, the stream's underruns, the CPU the process uses while
the stream is paused, and the machine. Needs only numpy and onnxruntime (no
TensorFlow), so it runs on the rig itself.
"""

from __future__ import annotations

import argparse
from typing import Any

from spikegan_tf.cli._args import Number


def register(subparsers: Any) -> None:
    """Add the ``latency`` subcommand."""
    p = subparsers.add_parser(
        "latency",
        help="measure an exported ONNX model's window latency on demand and from the stream",
        description=__doc__.split("\n\n", 1)[0].split(": ", 1)[1],
        epilog="example:\n  spikegan latency models/retina/1/model.onnx --threads 1 --seconds 30"
               " --json latency.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="model.onnx written by `spikegan export` (or its directory)")
    p.add_argument("--threads", type=Number("--threads", minimum=1), default=1,
                   help="ONNX Runtime threads (default 1)")
    p.add_argument("--seconds", type=Number("--seconds", float, 0, open_min=True), default=30.0,
                   help="duration of each mode's loop (default 30)")
    p.add_argument("--period-ms", type=Number("--period-ms", float, 0, open_min=True),
                   default=1.0, help="loop period in ms (default 1: a 1 kHz rig)")
    p.add_argument("--prefetch", type=Number("--prefetch", minimum=1), default=1024,
                   help="windows the stream keeps ready (default 1024)")
    p.add_argument("--seed", type=Number("--seed", minimum=0), default=0,
                   help="session seed (default 0)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the report as JSON")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Measure and print; write JSON when asked."""
    import json
    from pathlib import Path

    from spikegan_tf._atomic import atomic_path
    from spikegan_tf.errors import ConfigError
    from spikegan_tf.export.latency import measure_latency

    if args.json and not Path(args.json).resolve().parent.is_dir():  # before a long measurement
        raise ConfigError(f"The directory of `--json` does not exist: '{Path(args.json).parent}'.")
    report = measure_latency(args.model, seconds=args.seconds, threads=args.threads,
                             period_ms=args.period_ms, prefetch=args.prefetch, seed=args.seed)
    print("\n".join(report.lines()))
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0

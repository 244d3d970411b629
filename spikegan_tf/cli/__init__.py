"""The ``spikegan`` command-line interface.

Each subcommand lives in its own module of this package and exposes
``register(subparsers)``; the module imports anything heavy only inside its
handler, and TensorFlow is imported only where a network runs (training,
sampling a run, importance maps, export), so ``spikegan --help`` and argument
errors are instant and ``info``, ``simulate``, ``baseline``, ``sample
--baseline``, ``sample --model``, ``latency`` and ``evaluate`` of files never load TensorFlow. Numeric flags are
checked while the command line is parsed (:mod:`spikegan_tf.cli._args`).
TensorFlow's C++ start-up lines are silenced by ``import spikegan_tf``
(:mod:`spikegan_tf._tf_quiet`; ``SPIKEGAN_TF_LOGS=1`` keeps them).

Bad input never shows a Python traceback: every :class:`SpikeGANError` (and
every ``OSError``: missing or unwritable files, a full disk) is printed as one line ``spikegan <cmd>: error: ...``
and the exit status is 2. Ctrl-C exits with status 130.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from spikegan_tf._version import __version__
from spikegan_tf.cli._args import ArgumentValueError, Parser

# subcommand modules in the order they appear in `spikegan --help`
_COMMANDS = (
    "simulate",
    "info",
    "split",
    "train",
    "sample",
    "evaluate",
    "baseline",
    "importance",
    "export",
    "latency",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every available subcommand registered."""
    parser = Parser(
        prog="spikegan",
        description="Spike-GAN: learn and generate realistic spike trains of neural populations.",
    )
    parser.add_argument("--version", action="version", version=f"spikegan_tf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _COMMANDS:
        modname = f"spikegan_tf.cli.{name}_cmd"
        if importlib.util.find_spec(modname) is None:  # not built yet
            continue
        importlib.import_module(modname).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 success, 2 bad input, 130 interrupted)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except ArgumentValueError as exc:  # a numeric flag out of range: before any heavy import
        command = next((a for a in argv if a in _COMMANDS), None)
        print(f"spikegan{' ' + command if command else ''}: error: {exc}", file=sys.stderr)
        return 2
    from spikegan_tf.errors import SpikeGANError

    prog = f"spikegan {args.command}"
    try:
        status = args.func(args)
    except SpikeGANError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `spikegan info FILE | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:  # missing files, read-only directories, a full disk...
        what = exc.strerror or str(exc)
        name = f": '{exc.filename}'" if exc.filename else ""
        print(f"{prog}: error: {what}{name}", file=sys.stderr)
        return 2
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

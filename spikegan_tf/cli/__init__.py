"""The ``spikegan`` command-line interface.

Each subcommand lives in its own module of this package and exposes
``register(subparsers)``; the module imports TensorFlow (and anything heavy)
only inside its handler, so ``spikegan --help`` is instant.

Bad input never shows a Python traceback: every :class:`SpikeGANError` (and
missing/unreadable files) is printed as one line ``spikegan <cmd>: error: ...``
and the exit status is 2. Ctrl-C exits with status 130.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from spikegan_tf._version import __version__

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
    "demo",
)


# commands whose handlers import TensorFlow
_TF_COMMANDS = frozenset({"train", "sample", "evaluate", "importance", "export", "demo"})


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up chatter (oneDNN, CUDA probing) silenced.

    TensorFlow prints those lines to file descriptor 2 before ``TF_CPP_MIN_LOG_LEVEL``
    takes effect; a CLI user needs none of them. Python errors raised by the import
    still reach stderr (the descriptor is restored first). ``SPIKEGAN_TF_LOGS=1``
    keeps the chatter.
    """
    if os.environ.get("SPIKEGAN_TF_LOGS") == "1" or "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_logical_devices()  # probe the devices now, quietly
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(
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
    args = parser.parse_args(argv)
    from spikegan_tf.errors import SpikeGANError

    prog = f"spikegan {args.command}"
    if args.command in _TF_COMMANDS:
        _import_tensorflow_quietly()
    try:
        status = args.func(args)
    except SpikeGANError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        what = exc.strerror or str(exc)
        name = f": '{exc.filename}'" if exc.filename else ""
        print(f"{prog}: error: {what}{name}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `spikegan info FILE | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

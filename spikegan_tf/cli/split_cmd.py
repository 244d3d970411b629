"""``spikegan split``: write leak-free train/validation/test files of a recording.

Examples::

    spikegan split --data recording.mat --key data --bins 32 --out split
    #   split/train.npy, split/validation.npy, split/test.npy: the first 80%, 10% and 10% of
    #   the recording in time, with 32-bin gaps so that no window straddles two parts
    spikegan split --data uniform.npz --fractions 0.8,0.2 --seed 0 --out split
    #   windows: a seeded random split by sample, split/train.npy and split/test.npy

A raster ``(time_bins, neurons)`` is split in time (``split_raster``) with a
gap of ``--gap`` bins (default ``--bins``) between consecutive parts; windows
``(samples, neurons, bins)`` are split by sample (``split_windows``). The parts
are ``.npy`` files of the same layout, ready for ``spikegan train --data`` and
``spikegan evaluate --real/--noise-floor/--train``; ``split.json`` records how
they were made.
"""

from __future__ import annotations

import argparse
from typing import Any

from spikegan_tf.cli._args import Number, flag_error

_NAMES = {2: ("train", "test"), 3: ("train", "validation", "test")}


def register(subparsers: Any) -> None:
    """Add the ``split`` subcommand."""
    p = subparsers.add_parser(
        "split",
        help="write train/validation/test files of a recording, with gaps (no leaks)",
        description=(
            "Split a spike file into train/validation/test .npy files: a raster in time, in "
            "order, with a gap of --gap bins (default --bins) between parts so that no window "
            "of one part overlaps another; windows by sample (seeded). Use the parts as "
            "`spikegan train --data DIR/train.npy` and `spikegan evaluate --real DIR/train.npy "
            "--noise-floor DIR/test.npy --train DIR/train.npy`."
        ),
    )
    p.add_argument("--data", required=True, metavar="FILE",
                   help="spike file (.npy/.npz/.mat/.csv/.nwb)")
    p.add_argument("--key", default=None, help="array name inside .npz/.mat files")
    p.add_argument("--bin-width", type=Number("--bin-width", float, 0, open_min=True), default=None,
                   help="seconds per bin (to bin spike times from .csv/.nwb)")
    p.add_argument("--neurons-first", action="store_true",
                   help="the file stores the raster as (neurons, time_bins)")
    p.add_argument("--bins", type=Number("--bins", minimum=1), default=None, metavar="T",
                   help="window length: the gap between parts of a raster, and each part "
                        "must hold a window (required for a raster unless --gap is given)")
    p.add_argument("--gap", type=Number("--gap", minimum=0), default=None, metavar="G",
                   help="bins dropped between consecutive parts of a raster (default --bins)")
    p.add_argument("--fractions", default="0.8,0.1,0.1", metavar="A,B[,C]",
                   help="shares of train,validation,test (default 0.8,0.1,0.1) or train,test")
    p.add_argument("--seed", type=Number("--seed", minimum=0), default=0,
                   help="seed of the random split of windows (default 0)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.set_defaults(func=handle)


def _fractions(text: str) -> tuple[float, ...]:
    from spikegan_tf.errors import ConfigError

    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ConfigError(f"`--fractions` must be 2 or 3 comma-separated numbers, e.g. "
                          f"0.8,0.1,0.1. Received '{text}'.") from None
    if len(values) not in _NAMES:
        raise ConfigError(f"`--fractions` must give 2 (train,test) or 3 (train,validation,test) "
                          f"shares. Received {len(values)}: '{text}'.")
    return values


def handle(args: argparse.Namespace) -> int:
    """Run the subcommand; return the exit status."""
    import json
    from pathlib import Path

    import numpy as np

    from spikegan_tf._atomic import atomic_path
    from spikegan_tf.data import load_spikes, split_raster, split_windows
    from spikegan_tf.errors import ConfigError
    from spikegan_tf.validation import check_positive_int, check_seed

    fractions = _fractions(args.fractions)
    seed = check_seed(args.seed, "--seed")
    bins = None if args.bins is None else check_positive_int(args.bins, "--bins")
    gap = None if args.gap is None else check_positive_int(args.gap, "--gap", minimum=0)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"`--out` must be a directory. Received the file '{out}'.")
    rec = load_spikes(args.data, key=args.key, bin_width=args.bin_width,
                      neurons_first=args.neurons_first)
    try:
        if rec.is_raster:
            if bins is None and gap is None:
                raise ConfigError(
                    f"`--bins` is required: '{args.data}' holds a raster {rec.spikes.shape}; "
                    "the parts are separated by a gap of one window (or give --gap).")
            parts = split_raster(rec.spikes, fractions, gap=gap if gap is not None else bins,
                                 n_bins=bins)
        else:
            if gap is not None:
                raise ConfigError(f"`--gap` applies to a raster; '{args.data}' holds windows "
                                  f"{rec.spikes.shape} (split by sample).")
            parts = split_windows(rec.spikes, fractions, seed=seed)
    except ConfigError as exc:
        raise flag_error(exc, {"fractions": "--fractions"}) from None
    names = _NAMES[len(fractions)]
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, part in zip(names, parts, strict=True):
        path = out / f"{name}.npy"
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(part), allow_pickle=False)
        files[name] = {"file": path.name, "shape": list(part.shape)}
    used_gap = (gap if gap is not None else bins) if rec.is_raster else None
    meta = {"source": str(Path(args.data).resolve()), "key": rec.key, "kind": rec.kind,
            "bin_width": rec.bin_width, "fractions": list(fractions), "gap": used_gap,
            "seed": None if rec.is_raster else seed, "parts": files}
    with atomic_path(out / "split.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=2) + "\n")
    shown = ", ".join(f"{name}.npy {tuple(part.shape)}" for name, part in
                      zip(names, parts, strict=True))
    how = (f"in time, {used_gap}-bin gaps" if rec.is_raster else f"by sample, seed {seed}")
    print(f"wrote {shown} to {out} (split {how}; split.json says how)")
    bins_flag = f" --bins {bins}" if bins else ""
    print(f"  train with: spikegan train --data {out / 'train.npy'}{bins_flag} --out RUN")
    print(f"  evaluate with: spikegan evaluate --real {out / 'train.npy'}{bins_flag} "
          f"--noise-floor {out / 'test.npy'} --train {out / 'train.npy'} --generated FILE "
          "--out EVAL")
    return 0

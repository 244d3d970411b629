"""``spikegan importance``: importance maps of spike windows under a trained critic.

Example::

    spikegan importance --run runs/packets --data packets.npz --key spikes --n 1000 \\
        --out maps.npz --plot maps.png

The output ``.npz`` holds ``maps`` (float32 ``(n, neurons, bins)``), the
``spikes`` they explain (uint8, same shape), ``window_index`` (which windows of
the data file they are) and ``settings`` (a JSON string).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from spikegan_tf._atomic import atomic_path
from spikegan_tf.cli._args import Number

_METHODS = ("shuffle", "gradient", "saliency")  # spikegan_tf.importance.METHODS


def register(subparsers: Any) -> None:
    """Add the ``importance`` subcommand."""
    p = subparsers.add_parser(
        "importance",
        help="importance maps: which spikes make windows look real to a trained critic",
        description=(
            "Compute importance maps of spike windows with a trained critic (Spike-GAN, "
            "section 4): for every neuron and sliding time window, shuffle the neuron's "
            "spikes inside the window and measure the mean absolute change of the critic's "
            "output. Writes maps (n, neurons, bins) beside the windows they explain. "
            "Cost: each window needs up to 1 + neurons x sliding windows x --shuffles critic "
            "evaluations (1 + 16 x 13 x 5 = 1041 for 16 neurons, 32 bins and the defaults; "
            "unchanged shuffles are skipped), so all the windows of a file (the default --n) "
            "can take many minutes on a CPU: a progress line shows the ETA; use --n for "
            "fewer windows, or --method gradient (one gradient per window)."
        ),
    )
    p.add_argument("--run", required=True, help="run directory of `spikegan train` (critic.keras)")
    p.add_argument("--data", required=True,
                   help="spike file (.npy/.npz/.mat/.csv/.nwb): windows (n, neurons, bins) or a "
                        "raster (time, neurons), cut into consecutive windows of the run's bins")
    p.add_argument("--key", default=None, help="array name inside .npz/.mat files (default: 'spikes' or the only array)")
    p.add_argument("--bin-width", type=Number("--bin-width", float, 0, open_min=True), default=None,
                   help="seconds per bin, to bin spike times (.csv/.nwb)")
    p.add_argument("--n", type=Number("--n", minimum=1), default=None,
                   help="explain the first N windows of the data (default: all; see the "
                        "cost above)")
    p.add_argument("--seed", type=Number("--seed", minimum=0), default=0,
                   help="seed of the shuffles (default 0)")
    p.add_argument("--method", choices=_METHODS, default="shuffle",
                   help="shuffle: the paper's method (default); gradient: |d critic/dx| * x; "
                        "saliency: |d critic/dx|")
    p.add_argument("--window", type=Number("--window", minimum=1), default=8, help="sliding window width in bins (8)")
    p.add_argument("--step", type=Number("--step", minimum=1), default=2, help="sliding window step in bins (2)")
    p.add_argument("--shuffles", type=Number("--shuffles", minimum=1), default=5, help="shuffles per neuron and window (5)")
    p.add_argument("--chunk-size", type=Number("--chunk-size", minimum=1), default=8192, help="windows per critic call (8192)")
    p.add_argument("--percentile", type=Number("--percentile", float, 0, 100), default=95.0,
                   help="threshold percentile of the packet panel of --plot (95)")
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument("--plot", default=None, help="also save a figure (.png/.pdf/.svg)")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the subcommand; return the exit status."""
    import numpy as np

    from spikegan_tf.errors import ConfigError
    from spikegan_tf.gan.rundir import RunDir
    from spikegan_tf.importance import (
        ImportanceConfig,
        evaluations_per_window,
        importance_maps,
        plot_importance,
    )

    settings = ImportanceConfig(method=args.method, window=args.window, step=args.step,
                                n_shuffles=args.shuffles, chunk_size=args.chunk_size)
    seed = args.seed  # numeric flags are checked by their Number types
    out = Path(args.out)
    if out.suffix != ".npz":
        raise ConfigError(f"`--out` must be a .npz file. Received '{out}'.")
    run = RunDir(args.run)
    model_cfg = run.model_config()
    if model_cfg.conditional:
        raise ConfigError(f"`--run` '{args.run}' is a conditional run (labels or covariates): "
                          "importance maps need a critic of windows alone, and conditional "
                          "critics are not supported.")
    critic = run.load_critic()
    windows = load_windows(args.data, args.key, model_cfg.n_neurons, model_cfg.n_bins,
                           bin_width=args.bin_width)
    index = np.arange(windows.shape[0])
    if args.n is not None:
        n = args.n
        if n > windows.shape[0]:
            raise ConfigError(
                f"`--n` asks for {n} windows but '{args.data}' holds {windows.shape[0]} "
                f"windows of {model_cfg.n_bins} bins."
            )
        windows, index = windows[:n], index[:n]
    if args.method == "shuffle":
        per_window = evaluations_per_window(model_cfg.n_neurons, model_cfg.n_bins, args.window,
                                            args.step, args.shuffles)
        print(f"importance: {windows.shape[0]} windows x up to {per_window} critic "
              "evaluations each", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    maps = importance_maps(critic, windows, seed=seed, verbose=1, **settings.to_dict())
    elapsed = time.perf_counter() - t0
    meta = {**settings.to_dict(), "seed": seed, "run": str(args.run), "data": str(args.data),
            "key": args.key, "seconds": round(elapsed, 3)}
    _save_npz(out, maps=maps, spikes=windows, window_index=index,
              settings=np.array(json.dumps(meta, sort_keys=True)))
    print(f"wrote importance maps {maps.shape} ({args.method}, {elapsed:.1f} s) to {out}")
    if args.plot:
        plot_importance(maps, windows, args.plot, percentile=args.percentile,
                        title=f"importance ({args.method}) of {Path(args.data).name}")
        print(f"wrote figure to {args.plot}")
    return 0


def load_windows(path: str, key: str | None, n_neurons: int, n_bins: int,
                 bin_width: float | None = None) -> Any:
    """Load windows ``(n, n_neurons, n_bins)`` from a file of windows or a raster.

    A raster ``(time, neurons)`` is cut into consecutive non-overlapping windows
    of ``n_bins`` (the critic's window); the trailing remainder is dropped.
    """
    import numpy as np

    from spikegan_tf.data import load_spikes, window_view
    from spikegan_tf.errors import SpikeDataError
    from spikegan_tf.validation import where

    rec = load_spikes(path, key=key, bin_width=bin_width)
    spikes, loc = rec.spikes, where(path)
    if rec.kind == "raster":
        if spikes.shape[1] != n_neurons:
            raise SpikeDataError(
                f"The raster must have the critic's {n_neurons} neurons (columns of a "
                f"(time, neurons) raster). Received shape {spikes.shape} "
                f"({spikes.shape[1]} neurons){loc}."
            )
        if spikes.shape[0] < n_bins:
            raise SpikeDataError(
                f"The raster must span at least one window of {n_bins} bins. Received "
                f"{spikes.shape[0]} time bins{loc}."
            )
        return np.array(window_view(spikes, n_bins, stride=n_bins), dtype=np.uint8)
    if spikes.shape[1:] != (n_neurons, n_bins):
        raise SpikeDataError(
            f"The windows must match the critic: (n, {n_neurons} neurons, {n_bins} bins). "
            f"Received shape {spikes.shape} ({spikes.shape[1]} neurons, "
            f"{spikes.shape[2]} bins){loc}."
        )
    return spikes


def _save_npz(path: Path, **arrays: Any) -> None:
    """Write an .npz atomically (temporary file + rename)."""
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # a handle: no ".npz" appended
        np.savez(fh, **arrays)

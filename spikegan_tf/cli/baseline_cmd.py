"""``spikegan baseline fit``: fit a baseline model to spike data and save it (``.npz``).

Examples::

    spikegan baseline fit dg --data retina.mat --key data --bins 32 --seed 0 --out dg.npz
    spikegan baseline fit kpairwise --data retina.mat --bins 32 --seed 0 --out kp.npz
    spikegan baseline fit independent --data sim.npz --out ind.npz --per-bin
    spikegan sample --baseline dg.npz --n 10000 --seed 1 --out dg_samples.npy

``--val-fraction F`` leaves out the same held-out part as ``spikegan train
--val-fraction F`` (the end of a raster, after an ``--bins`` gap; a seeded random
share of windows), so a baseline and a GAN can be fitted to the same data.
The fit report (repair of the latent matrix, convergence, moment errors) is
printed and stored in the model file.
"""

from __future__ import annotations

import argparse
from typing import Any

from spikegan_tf.cli._args import Number, flag_error

# option -> (attribute, model kinds it applies to, constructor keyword)
_MODEL_OPTIONS = {
    "--per-bin": ("per_bin", ("independent",), "per_bin"),
    "--spatial-only": ("spatial_only", ("dg",), "spatial_only"),
    "--max-lag": ("max_lag", ("dg",), "max_lag"),
    "--eigenvalue-floor": ("eigenvalue_floor", ("dg",), "eigenvalue_floor"),
    "--repair": ("repair", ("dg",), "repair"),
    "--states": ("states", ("dg",), "n_states"),
    "--state-window": ("state_window", ("dg",), "state_window"),
    "--method": ("method", ("kpairwise",), "method"),
    "--l2": ("l2", ("kpairwise",), "l2"),
    "--iterations": ("iterations", ("kpairwise",), "n_iterations"),
    "--chains": ("chains", ("kpairwise",), "n_chains"),
    "--learning-rate": ("learning_rate", ("kpairwise",), "learning_rate"),
}


def register(subparsers: Any) -> None:
    """Add the ``baseline`` subcommand (with its ``fit`` action)."""
    p = subparsers.add_parser(
        "baseline",
        help="fit a baseline model (independent, dichotomized Gaussian, k-pairwise)",
        description=(
            "Fit a baseline model of population spike trains and save it as .npz "
            "(draw windows from it with `spikegan sample --baseline MODEL.npz`)."
        ),
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    f = actions.add_parser(
        "fit",
        help="fit a baseline to a spike file and save it",
        description=(
            "Fit a baseline to a raster (time_bins, neurons) cut into --bins windows, or to "
            "windows (n, neurons, bins), and save it as .npz. independent: Bernoulli "
            "neurons; dg: dichotomized Gaussian (rates, correlations, lagged correlations); "
            "kpairwise: maximum-entropy model with fields, couplings and a spike-count "
            "potential, independent across bins."
        ),
    )
    f.add_argument("model", choices=("independent", "dg", "kpairwise"), help="model to fit")
    d = f.add_argument_group("data")
    d.add_argument("--data", required=True, metavar="FILE",
                   help="spike file (.npy/.npz/.mat/.csv/.nwb)")
    d.add_argument("--key", default=None, help="array name inside .npz/.mat files")
    d.add_argument("--bins", type=Number("--bins", minimum=1), default=None, metavar="T",
                   help="time bins per window (required for a raster)")
    d.add_argument("--stride", type=Number("--stride", minimum=1), default=1, metavar="S",
                   help="bins between window starts in a raster (default 1)")
    d.add_argument("--bin-width", type=Number("--bin-width", float, 0, open_min=True), default=None,
                   help="seconds per bin (to bin spike times from .csv/.nwb)")
    d.add_argument("--neurons-first", action="store_true",
                   help="the file stores the raster as (neurons, time_bins)")
    d.add_argument("--val-fraction",
                   type=Number("--val-fraction", float, 0, 1, open_max=True), default=0.0,
                   help="leave out the part `spikegan train --val-fraction` holds out "
                        "(default 0: fit on everything)")
    o = f.add_argument_group("output")
    o.add_argument("--seed", type=Number("--seed", minimum=0), default=0, help="random seed (default 0)")
    o.add_argument("--out", required=True, metavar="MODEL.npz", help="model file to write")
    i = f.add_argument_group("independent")
    i.add_argument("--per-bin", action="store_true", default=None,
                   help="one probability per neuron and bin position")
    g = f.add_argument_group("dg")
    g.add_argument("--spatial-only", action="store_true", default=None,
                   help="single-bin correlations only (bins independent)")
    g.add_argument("--max-lag", type=Number("--max-lag", minimum=0), default=None,
                   help="largest lag fitted (default 2; later lags: maximum-entropy continuation)")
    g.add_argument("--eigenvalue-floor",
                   type=Number("--eigenvalue-floor", float, 0, 1, open_min=True, open_max=True), default=None,
                   help="smallest eigenvalue of the repaired latent matrix (default 1e-4)")
    g.add_argument("--repair", choices=("higham", "clip"), default=None,
                   help="nearest correlation matrix method (default higham)")
    g.add_argument("--states", type=Number("--states", minimum=1), default=None, metavar="M",
                   help="latent population states (default 2: quiet/active; 1 = classic "
                        "stationary DG)")
    g.add_argument("--state-window", type=Number("--state-window", minimum=1), default=None, metavar="BINS",
                   help="bins over which the population count is smoothed to label the "
                        "states (default 16)")
    k = f.add_argument_group("kpairwise")
    k.add_argument("--method", choices=("auto", "exact", "mc"), default=None,
                   help="exact enumeration (N <= 16) or Monte-Carlo gradients (default auto)")
    k.add_argument("--l2", type=Number("--l2", float, 0), default=None, help="L2 penalty (default 1e-5)")
    k.add_argument("--iterations", type=Number("--iterations", minimum=1), default=None,
                   help="gradient steps of the Monte-Carlo fit (default 3000)")
    k.add_argument("--chains", type=Number("--chains", minimum=2), default=None,
                   help="persistent Gibbs chains (default 4096)")
    k.add_argument("--learning-rate",
                   type=Number("--learning-rate", float, 0, open_min=True), default=None,
                   help="initial step size of the Monte-Carlo fit (default 0.5)")
    f.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Run ``spikegan baseline fit``; return the exit status."""
    import time
    from pathlib import Path

    from spikegan_tf.errors import ConfigError
    seed = args.seed  # numeric flags are checked by their Number types
    out = Path(args.out)
    if out.suffix != ".npz":
        raise ConfigError(f"`--out` must be a .npz file. Received '{out}'.")
    if str(out.parent) and not out.parent.is_dir():
        raise ConfigError(f"The directory of `--out` does not exist: '{out.parent}'.")
    stride, bins, frac = args.stride, args.bins, args.val_fraction
    options = {}
    for flag, (attr, kinds, kwarg) in _MODEL_OPTIONS.items():
        value = getattr(args, attr)
        if value is None:
            continue
        if args.model not in kinds:
            raise ConfigError(
                f"`{flag}` applies to the {'/'.join(kinds)} model, not to '{args.model}'."
            )
        options[kwarg] = value

    from spikegan_tf.baselines import MODELS
    from spikegan_tf.data import load_spikes, split_raster, split_windows

    try:
        # kpairwise fits take minutes: show their progress and ETA, as training does
        progress = {"verbose": 1} if args.model == "kpairwise" else {}
        model = MODELS[args.model](**options, **progress)  # validates the options
    except ConfigError as exc:
        raise flag_error(exc, {kwarg: flag for flag, (_, _, kwarg) in _MODEL_OPTIONS.items()}
                         ) from None
    rec = load_spikes(args.data, key=args.key, neurons_first=args.neurons_first,
                      bin_width=args.bin_width)
    spikes = rec.spikes
    if rec.kind == "raster":
        if bins is None:
            raise ConfigError(
                f"`--bins` is required: '{args.data}' holds a raster {spikes.shape} "
                "(time_bins, neurons) to cut into windows."
            )
        if frac > 0:
            spikes = split_raster(spikes, (1.0 - frac, frac), gap=bins, n_bins=bins)[0]
    elif args.stride != 1:
        raise ConfigError(
            f"`--stride` applies to a raster; '{args.data}' holds windows {spikes.shape}."
        )
    elif frac > 0:
        spikes = split_windows(spikes, (1.0 - frac, frac), seed=seed)[0]
    start = time.perf_counter()
    model.fit(spikes, n_bins=bins, stride=stride if rec.kind == "raster" else 1, seed=seed)
    model.save(out)
    print(model.fit_report_.summary())
    print(f"wrote {args.model} model ({model.n_neurons_} neurons x {model.n_bins_} bins) "
          f"to {out} in {time.perf_counter() - start:.1f} s")
    return 0

"""``spikegan sample``: draw binary windows from a trained run (or a baseline) to ``.npy``.

Examples::

    spikegan sample --run runs/retina --n 100000 --seed 0 --out samples.npy
    spikegan sample --run runs/retina --n 1000000 --seed 1 --out big.npy --chunk-size 16384
    spikegan sample --baseline dg.npz --n 10000 --seed 0 --out dg_samples.npy

Windows ``(n, neurons, bins)`` uint8 are Bernoulli draws from the generator's
firing probabilities under the package's sampling protocol (the same seed gives
the same windows in every runtime); ``--threshold P`` gives ``p > P`` instead.
They are written chunk by chunk into a memory-mapped ``.npy``, so a million
windows of 50 x 32 need a few hundred MB of memory, not the 1.6 GB of the file.
"""

from __future__ import annotations

import argparse
from typing import Any

from spikegan_tf._atomic import atomic_path
from spikegan_tf.cli._args import Number


def register(subparsers: Any) -> None:
    """Add the ``sample`` subcommand."""
    p = subparsers.add_parser(
        "sample",
        help="draw spike windows from a trained run (or a baseline model) into a .npy file",
        description=(
            "Draw N binary windows (N, neurons, bins) from the generator of a run directory "
            "(Bernoulli draws from its firing probabilities, seeded) or from a fitted baseline "
            "model, and write them to a .npy file chunk by chunk."
        ),
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", help="run directory of `spikegan train` (generator.keras)")
    src.add_argument("--baseline", help="fitted baseline model (.npz of `spikegan baseline`)")
    p.add_argument("--n", type=Number("--n", minimum=1), required=True, help="number of windows")
    p.add_argument("--seed", type=Number("--seed", minimum=0), default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, help="output .npy file")
    p.add_argument("--threshold", type=Number("--threshold", float, 0, 1), default=None,
                   help="deterministic spikes p > THRESHOLD instead of Bernoulli draws")
    p.add_argument("--calibrate", action="store_true",
                   help="with --run: first shift each neuron's output bias so that it fires at "
                        "its rate in the run's training data (as SpikeGAN.calibrate_rates)")
    p.add_argument("--chunk-size", type=Number("--chunk-size", minimum=1), default=8192,
                   help="windows generated per generator call (default 8192)")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the subcommand; return the exit status."""
    import time
    from pathlib import Path

    import numpy as np

    from spikegan_tf.errors import ConfigError
    n, seed, chunk = args.n, args.seed, args.chunk_size  # checked by their Number types
    out = Path(args.out)
    if out.suffix != ".npy":
        raise ConfigError(f"`--out` must be a .npy file. Received '{out}'.")
    if out.parent and not out.parent.exists():
        raise ConfigError(f"The directory of `--out` does not exist: '{out.parent}'.")
    start = time.perf_counter()
    if args.run is None and args.threshold is not None:
        raise ConfigError("`--threshold` applies to a generator (--run), not to "
                          "--baseline models.")
    if args.run is None and args.calibrate:
        raise ConfigError("`--calibrate` applies to a generator (--run), not to "
                          "--baseline models.")
    with atomic_path(out) as tmp:
        if args.run is not None:
            what = _sample_run(args.run, n, seed, chunk, args.threshold, tmp, args.calibrate)
        else:
            what = _sample_baseline(args.baseline, n, seed, tmp)
    x = np.load(out, mmap_mode="r")
    print(f"wrote {n} windows of {x.shape[1]} neurons x {x.shape[2]} bins from {what} "
          f"(seed {seed}) to {out} in {time.perf_counter() - start:.1f} s")
    return 0


def _sample_run(run: str, n: int, seed: int | None, chunk: int, threshold: float | None,
                tmp: Any, calibrate: bool = False) -> str:
    import numpy as np

    from spikegan_tf import rundir
    from spikegan_tf.errors import ConfigError
    from spikegan_tf.sampling import sample

    rates = None
    if calibrate:  # checked before the generator loads: a refusal costs no TensorFlow
        config = rundir.read_config(run)
        rates = config.get("data", {}).get("neuron_rates")
        if rates is None:
            raise ConfigError(f"Run '{run}' has no per-neuron training rates in its config.json "
                              "(written before they were stored): calibrate in Python with "
                              "SpikeGAN.calibrate_rates(training_spikes).")
    generator = rundir.load_generator(run)
    if rates is not None:
        from spikegan_tf.config import ModelConfig
        from spikegan_tf.models import calibrate_output_bias

        calibrate_output_bias(generator, ModelConfig.from_dict(config["model"]), rates, seed=0)
    _, n_neurons, n_bins = tuple(generator.outputs[0].shape)
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8,
                                    shape=(n, int(n_neurons), int(n_bins)))
    try:
        sample(generator, n, seed, chunk_size=chunk, threshold=threshold, out=out)
        out.flush()
    finally:
        del out
    return f"the generator of {run}" + (" (rates calibrated)" if calibrate else "")


def _sample_baseline(path: str, n: int, seed: int | None, tmp: Any) -> str:
    import numpy as np

    from spikegan_tf import baselines
    from spikegan_tf.validation import check_windows

    model = baselines.load(path)
    windows = check_windows(model.sample(n, seed=seed), "baseline samples")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=windows.shape)
    try:
        out[:] = windows
        out.flush()
    finally:
        del out
    return f"the baseline model {path}"

"""Issue 14: how much slow rate variance a temporal generator's raster has, against the retina's.

For one ``retina_curve.py`` temporal run (``--curve``), publishes its generator
as a temporal run does (rates and the spike-history filter of ``--lags`` lags, 10 by
default, ``calibrated_copy(..., history_lags=L)``), draws one raster ``--factor`` times
as long as the held-out split (sample seed 1) and measures, against the
training split and with the held-out split beside it:

* the variance of each neuron's rate over blocks of 32, 256 and 2,048 bins,
  summed over neurons, as a ratio to the training split's: slow fluctuations a
  32-bin window cannot show;
* the pooled autocorrelogram (coincidences per spike at lag ``l``, summed over
  neurons, over all spikes) minus its value for independent bins, at lags up to
  200: the retina's has a bump at 25-35 bins and is negative from about 50 to
  200 bins, where the generator (a receptive field of ``receptive_field`` bins)
  can only be 0 beyond its reach.

Writes ``OUT`` (JSON with the machine record) and prints a table::

    python benchmarks/raster_slow_variance.py --curve benchmarks/results/temporal_history/train_seed0 \\
        --out benchmarks/results/temporal_history/slow_variance_seed0.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _machine import machine_record, write_result  # noqa: E402
from retina_curve import RAW, _default_data, load_run  # noqa: E402

BLOCKS = (32, 256, 2048)
LAGS = (1, 2, 3, 5, 10, 15, 20, 25, 30, 35, 40, 50, 60, 64, 80, 100, 120, 150, 200)


def block_variance(x: np.ndarray, block: int) -> float:
    """Sum over neurons of the variance of their rates over consecutive ``block``-bin blocks."""
    n = len(x) // block
    return float(x[: n * block].reshape(n, block, -1).mean(axis=1, dtype=np.float64).var(0).sum())


def acg_excess(x: np.ndarray, lags=LAGS) -> list[float]:
    """Pooled coincidences per spike at each lag minus their value for independent bins."""
    xf = x.astype(np.float32)
    r = xf.mean(0, dtype=np.float64)
    base = float((r ** 2).sum() / r.sum())
    return [float((xf[lag:] * xf[:-lag]).mean(0, dtype=np.float64).sum() / r.sum() - base)
            for lag in lags]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--curve", type=Path, required=True, help="retina_curve.py output directory")
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--factor", type=int, default=5, help="raster length / held-out length")
    p.add_argument("--lags", type=int, default=10, help="spike-history lags of the filter "
                   "(beyond 10: smooth bumps fitted on the training raster, history_basis)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if args.data is None:
        p.error(f"give --data PATH/{RAW} or set SPIKEGAN_RETINA_DIR")

    import keras

    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.gan.calibration import calibrated_copy
    from spikegan_tf.gan.raster import sample_raster

    config, train, test = load_run(args.curve, args.data)
    data = prepare_data(train, config.n_bins, val_fraction=0.0)
    t0 = time.process_time()
    generator = calibrated_copy(
        keras.models.load_model(args.curve / "generator.keras", safe_mode=True, compile=False),
        config, data, seed=0, history_lags=args.lags)
    fit_s = time.process_time() - t0
    fake = sample_raster(generator, config, args.factor * len(test), 1, chunk=1024)
    rasters = {"train": train, "test": test, "generated": fake}
    var = {k: {b: block_variance(x, b) for b in BLOCKS} for k, x in rasters.items()}
    result = {
        "benchmark": "raster_slow_variance", "machine": machine_record(),
        "curve": str(args.curve), "receptive_field": config.receptive_field,
        "history_lags": args.lags,
        "train_bins": len(train), "test_bins": len(test), "generated_bins": len(fake),
        "fit_cpu_s": round(fit_s, 1),
        "rate_ratio": {k: float(x.mean() / train.mean()) for k, x in rasters.items()},
        "block_variance_over_train": {k: {str(b): v[b] / var["train"][b] for b in BLOCKS}
                                      for k, v in var.items()},
        "lags": list(LAGS),
        "acg_excess": {k: acg_excess(x) for k, x in rasters.items()},
    }
    print(f"receptive field {config.receptive_field} bins; generated raster {len(fake)} bins")
    print(f"{'':>10}" + "".join(f"{'var ' + str(b):>10}" for b in BLOCKS) + f"{'rate':>8}")
    for k in rasters:
        print(f"{k:>10}" + "".join(f"{result['block_variance_over_train'][k][str(b)]:10.2f}"
                                   for b in BLOCKS) + f"{result['rate_ratio'][k]:8.3f}")
    print("pooled ACG minus independent, by lag:")
    print(f"{'lag':>10}" + "".join(f"{lag:>7}" for lag in LAGS))
    for k in rasters:
        print(f"{k:>10}" + "".join(f"{v:7.3f}" for v in result["acg_excess"][k]))
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

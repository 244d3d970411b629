"""Issue 14: what a temporal generator's raster misses are made of, entry by entry.

``raster_retina.py`` gives one ratio to the floor per statistic; this script
shows where the error of the two that miss most on the long-range recipe sits:
the population spike-count distribution P(K) by K, and the within-window ISI
distribution by interval. For each ``retina_curve.py`` run (``--curve``, repeat
it) its published generator (``generator.keras``: rates and spike-history
filter) draws one raster as long as the held-out split per sample seed, and
the script records P(K) for K = 0..15 and the ISI distribution for intervals
1..31 beside the training and held-out splits, the ratios to the floor of
both, and the mean and variance of K.

``--gains`` also draws, for sample seed 1, rasters with a shared per-bin
logit drive ``a * z_t`` (``z_t`` standard normal, one per bin, the same for all
neurons; each logit scaled by ``sqrt(1 + pi a**2 / 8)`` so that rates stay
about the same): a test of whether P(K)'s miss is a lack of shared gain (too
few silent bins) that a population-wide input would mend.

Writes ``OUT`` (JSON with the machine record) and prints a table::

    python benchmarks/raster_misses.py --curve benchmarks/results/critic_head_long/head64_seed1 \\
        --curve benchmarks/results/critic_head_long/nohead_seed0 --gains 0.3,0.5,0.7 \\
        --out benchmarks/results/critic_head_long/raster_misses.json
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _machine import machine_record, write_result  # noqa: E402
from retina_curve import RAW, _default_data, load_config, load_run  # noqa: E402

MAX_K = 15
STATS = ("spike_count_distribution", "isi_distribution")


def count_distribution(x: np.ndarray) -> np.ndarray:
    """P(K) of a raster ``(T, N)`` for K = 0..N."""
    return np.bincount(x.sum(1, dtype=np.int64), minlength=x.shape[1] + 1) / len(x)


def _measure(fake: np.ndarray, ref, floor, train: np.ndarray) -> dict:
    """P(K), ISIs and their ratios to the floor for one raster."""
    from spikegan_tf.evaluation.compare import compare

    res = compare(ref, {"raster": fake}, floor, n_bins=32, statistics=STATS)
    k = fake.sum(1, dtype=np.int64)
    return {"ratio": {s: res.ratio("raster", s) for s in STATS},
            "rate_ratio": float(fake.mean() / train.mean()),
            "mean_k": float(k.mean()), "var_k": float(k.var()),
            "p_k": count_distribution(fake)[:MAX_K + 1].tolist(),
            "isi": res.statistics["raster"].isi_distribution[1:].tolist()}


def _gain_predict(raster_model, a: float, seed: int):
    """The raster model's probabilities with a shared per-bin logit drive ``a * z_t``."""
    rng = np.random.default_rng(seed)
    scale = np.sqrt(1 + np.pi * a * a / 8)

    def predict(z):
        p = np.clip(np.asarray(raster_model(z), np.float64), 1e-7, 1 - 1e-7)
        logit = (np.log(p) - np.log1p(-p)) * scale + a * rng.standard_normal(p.shape[:2] + (1,))
        return (1 / (1 + np.exp(-logit))).astype(np.float32)

    return predict


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--curve", type=Path, action="append", required=True,
                   help="retina_curve.py output directory (repeat for several runs)")
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--seeds", default="1,2,3", help="sample seeds")
    p.add_argument("--gains", default="", help="shared logit drives to try (sample seed 1)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if args.data is None:
        p.error(f"give --data PATH/{RAW} or set SPIKEGAN_RETINA_DIR")

    import keras
    import tensorflow as tf

    from spikegan_tf.evaluation.compare import as_statistics
    from spikegan_tf.gan.history import history_coupling, history_filter
    from spikegan_tf.gan.networks import build_raster_generator
    from spikegan_tf.gan.raster import sample_raster
    from spikegan_tf.gan.sampling import fill, iter_raster_chunks

    _, train, test = load_run(args.curve[0], args.data)  # every run: the same split
    ref = as_statistics(train, n_bins=32, label="train")
    floor = as_statistics(test, like=ref, n_bins=32, label="test")
    result = {"benchmark": "raster_misses", "machine": machine_record(), "runs": {},
              "train": {"p_k": count_distribution(train)[:MAX_K + 1].tolist(),
                        "isi": ref.isi_distribution[1:].tolist()},
              "test": {"p_k": count_distribution(test)[:MAX_K + 1].tolist(),
                       "isi": floor.isi_distribution[1:].tolist()}}
    for curve in args.curve:
        config = load_config(curve)
        generator = keras.models.load_model(curve / "generator.keras", safe_mode=True,
                                            compile=False)

        rows = []
        for seed in (int(s) for s in args.seeds.split(",")):
            fake = sample_raster(generator, config, len(test), seed, chunk=1024)
            rows.append({"seed": seed, **_measure(fake, ref, floor, train)})
        gains = []
        if args.gains:
            model = tf.function(partial(build_raster_generator(generator, config),
                                        training=False))
            for a in (float(g) for g in args.gains.split(",")):
                pieces = iter_raster_chunks(
                    _gain_predict(model, a, seed=123), len(test), 1,
                    latent_channels=config.latent_channels, n_neurons=config.n_neurons,
                    receptive_field=config.receptive_field, chunk=1024,
                    history=history_filter(generator), coupling=history_coupling(generator))
                fake = fill(np.empty((len(test), config.n_neurons), np.uint8), pieces)
                gains.append({"gain": a, "seed": 1, **_measure(fake, ref, floor, train)})
        result["runs"][curve.name] = {"curve": str(curve), "rows": rows, "gains": gains}
        for row in rows + gains:
            label = f"seed {row['seed']}" + (f" gain {row['gain']}" if "gain" in row else "")
            print(f"{curve.name:>14} {label:>16} P(K) {row['ratio'][STATS[0]]:5.2f}x "
                  f"ISI {row['ratio'][STATS[1]]:5.2f}x rate {row['rate_ratio']:.3f} "
                  f"P(0) {row['p_k'][0]:.4f} P(1) {row['p_k'][1]:.4f} P(2) {row['p_k'][2]:.4f} "
                  f"ISI(1) {row['isi'][0]:.4f} ISI(2) {row['isi'][1]:.4f}", flush=True)
    for name in ("train", "test"):
        r = result[name]
        print(f"{name:>14} {'':>16} {'':>24} P(0) {r['p_k'][0]:.4f} P(1) {r['p_k'][1]:.4f} "
              f"P(2) {r['p_k'][2]:.4f} ISI(1) {r['isi'][0]:.4f} ISI(2) {r['isi'][1]:.4f}")
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

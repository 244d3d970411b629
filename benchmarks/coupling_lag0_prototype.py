"""Prototype (outside the package): a *same-bin* coupling on top of the published retina50.

The package's lag-1 coupling (``TrainConfig.calibrate_coupling``) corrects pairs one bin
apart. Zero-lag covariances and P(K) are left to the GAN. This prototype draws the neurons of
each bin in index order, each with a lower-triangular coupling ``W0[n, j]`` (``j < n``) to the
neurons already drawn in that bin, on top of the packaged filter and lag-1 coupling, and solves
``W0`` and one rate offset per neuron by the same fixed-point steps (each pair's same-bin
coincidences over what independent neurons would give, shrunk by 20 pseudo-coincidences, as the
training windows'). The filter is *not* refitted with it, which is why the autocorrelogram and
the ISIs get worse here; a package version would solve all three together.

Writes ``results/coupling/lag0_prototype.json``::

    python benchmarks/coupling_lag0_prototype.py --data ../shared/data/retina/original_data_num_neurons_50_1.mat
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_record  # noqa: E402
from retina_curve import _default_data  # noqa: E402

STATS = ("firing_probability", "covariance", "lag1_covariance", "spike_count_distribution",
         "autocorrelogram", "time_course", "isi_distribution")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--n-fit", type=int, default=8192)
    p.add_argument("--n-windows", type=int, default=30000)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results"
                   / "coupling" / "lag0_prototype.json")
    args = p.parse_args(argv)

    from spikegan_tf import SpikeGAN
    from spikegan_tf.data import load_spikes, split_raster, window_view
    from spikegan_tf.evaluation.compare import as_statistics, compare
    from spikegan_tf.gan.history import history_coupling, history_filter
    from spikegan_tf.gan.sampling import iter_sample_chunks

    raw = load_spikes(args.data, key="data").spikes
    train, test = split_raster(raw, (0.8, 0.2), gap=32)
    ref = as_statistics(train, n_bins=32, label="train")
    floor = as_statistics(test, like=ref, n_bins=32, label="test")
    g = SpikeGAN.pretrained("retina50").generator_
    h, w1 = history_filter(g), history_coupling(g)
    n_neurons = h.shape[0]

    def probs(n: int, seed: int) -> np.ndarray:
        return next(iter_sample_chunks(g, n, seed, chunk_size=n, return_probs=True))[1]

    def draw(p: np.ndarray, u: np.ndarray, w0: np.ndarray, b: np.ndarray) -> np.ndarray:
        logit = np.log(p) - np.log1p(-p) + b[None, :, None]
        x = np.zeros((p.shape[2], p.shape[0], n_neurons), np.float32)
        for t in range(p.shape[2]):
            a = logit[:, :, t].copy()
            for lag in range(1, min(h.shape[1], t) + 1):
                a += h[:, lag - 1] * x[t - lag]
            if t:
                a += x[t - 1] @ w1.T
            for n in range(n_neurons):
                an = a[:, n] + (x[t, :, :n] @ w0[n, :n] if n else 0)
                x[t, :, n] = u[:, n, t] < 1 / (1 + np.exp(-an))
        return np.ascontiguousarray(x.transpose(1, 2, 0)).astype(np.uint8)

    def same_bin(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        flat = np.moveaxis(x, 1, 2).reshape(-1, n_neurons).astype(np.float32)
        return flat.T @ flat, flat.mean(axis=0), len(flat)

    prior = 20.0
    c, r, m = same_bin(np.ascontiguousarray(window_view(train, 32)[::8]))
    target = (c + prior) / (np.outer(r, r) * m + prior)
    pf = probs(args.n_fit, 123)
    uf = np.random.default_rng(5).random(pf.shape, dtype=np.float32)
    w0 = np.zeros((n_neurons, n_neurons), np.float32)
    b = np.zeros(n_neurons, np.float32)
    rate0 = draw(pf, uf, w0, b).mean(axis=(0, 2))
    lower = np.tril(np.ones((n_neurons, n_neurons), bool), -1)
    t0 = time.process_time()
    for _ in range(20):
        x = draw(pf, uf, w0, b)
        c, r, m = same_bin(x)
        step = np.clip(0.7 * np.log((target * np.outer(r, r) * m + prior) / (c + prior)), -1, 1)
        w0 = np.where(lower, w0 + step, 0).astype(np.float32)
        b += (np.log(rate0) - np.log(np.maximum(r, 1e-6))).astype(np.float32)
    fit_cpu = time.process_time() - t0
    rows = []
    for n in (args.n_windows, 1768):
        for seed in (1, 2):
            pe = probs(n, 1000 + seed)
            ue = np.random.default_rng(seed).random(pe.shape, dtype=np.float32)
            models = {"published": draw(pe, ue, np.zeros_like(w0), np.zeros_like(b)),
                      "same_bin": draw(pe, ue, w0, b)}
            vs_train = compare(ref, models, floor, statistics=STATS)
            vs_test = compare(floor, models, ref, statistics=STATS)
            for name in models:
                rows.append({"n_windows": n, "seed": seed, "model": name,
                             "ratio": {s: vs_train.ratio(name, s) for s in STATS},
                             "ratio_vs_test": {s: vs_test.ratio(name, s) for s in STATS}})
                print(n, seed, f"{name:9s}", " ".join(
                    f"{s[:6]} {rows[-1]['ratio'][s]:.2f}" for s in STATS), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "coupling_lag0_prototype",
                                    "machine": machine_record(), "fit_cpu_s": round(fit_cpu, 1),
                                    "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Issue 14 prototype: a population drive at long lags, outside the package.

The retina's autocorrelogram dips from about 50 to 200 bins after a spike, and
that dip is shared: summed over the 50 neurons, the lag-100 covariance between
*different* neurons (-0.71) is 20 times each neuron's own (-0.036; training
split). A 200-lag per-neuron filter (``raster_retina.py --lags 200``) makes the
neurons' own dips but none between them, and costs covariances and P(K)
(``results/temporal_lag200/train_seed*/raster_eval_history200.json``).

This prototype gives each neuron a drive from the *population's* spike count at
lags ``--start..--lags`` (beyond the 32-bin window, so a window never feels it):
``drive[n, t] += sum_l g[n, l] * S(t - l)``, ``S`` the population count, ``g``
raised cosines in log-lag (:func:`spikegan_tf.gan.history_fit.history_basis`).
On top of what a temporal run publishes (rates and the 10-lag filter,
``calibrated_copy(..., history_lags=10)``), it solves ``g`` and the output
offsets on the fit's 256 raster stretches so that each neuron's rate ``l`` bins
after the population's spikes, over its mean rate, is the training split's at
every lag, with the rates kept. Then it draws, for each sample seed, one raster
as long as the held-out split (one latent sequence, no generation boundaries)
with and without ``g`` on the same logits and uniforms, and measures the six
headline statistics and the ISIs against the floor, the autocorrelogram to lag
64, each neuron's rate variance over 256- and 2,048-bin blocks (over the
training split's) and the pooled autocorrelogram's excess at long lags.

Writes ``--curve``/``--out-name`` (JSON with the machine record)::

    python benchmarks/population_drive_prototype.py --curve benchmarks/results/temporal_lag200/train_seed0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _machine import machine_record  # noqa: E402
from raster_slow_variance import acg_excess, block_variance  # noqa: E402
from retina_curve import RAW, _default_data, load_run  # noqa: E402

BURN_IN = 256


def draw(logits: np.ndarray, u: np.ndarray, h: np.ndarray, g: np.ndarray | None,
         start: int) -> tuple[np.ndarray, np.ndarray]:
    """Spikes and probabilities ``(T, n, N)``: the filter ``h (N, Lh)`` and the population
    drive ``g (Lp, N)`` at lags ``start..start + Lp - 1``."""
    from scipy.special import expit

    n_bins, n, n_neurons = logits.shape
    reach = max(h.shape[1], 0 if g is None else start + len(g))
    future = np.zeros((n_bins + reach + 1, n, n_neurons), np.float32)
    x = np.zeros(logits.shape, np.uint8)
    q = np.empty(logits.shape, np.float32)
    h_by_lag = h.T[:, None, :]
    for t in range(n_bins):
        qt = expit(logits[t] + future[t])
        fired = (u[t] < qt).astype(np.float32)
        x[t], q[t] = fired, qt
        future[t + 1:t + 1 + h.shape[1]] += fired[None] * h_by_lag
        if g is not None:
            count = fired.sum(axis=1)  # (n,)
            future[t + start:t + start + len(g)] += count[None, :, None] * g[:, None, :]
    return x, q


def triggered(x_or_q: np.ndarray, count: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """``(N, len(lags))``: each neuron's mean ``x(t + l) S(t)`` over ``mean(x) mean(S)``."""
    n_bins = len(count)
    flat_q = x_or_q.reshape(n_bins, -1, x_or_q.shape[-1])
    flat_s = count.reshape(n_bins, -1)
    out = np.empty((flat_q.shape[-1], len(lags)))
    mean = flat_q.mean(axis=(0, 1), dtype=np.float64) * flat_s.mean(dtype=np.float64)
    for i, lag in enumerate(lags):
        out[:, i] = np.einsum("tc,tcn->n", flat_s[:n_bins - lag], flat_q[lag:],
                              dtype=np.float64) / ((n_bins - lag) * flat_s.shape[1]) / mean
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--curve", type=Path, required=True, help="retina_curve.py output directory")
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--seeds", default="1,2,3", help="sample seeds")
    p.add_argument("--start", type=int, default=33, help="first lag of the population drive")
    p.add_argument("--lags", type=int, default=200, help="last lag of the population drive")
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--damping", type=float, default=0.1)
    p.add_argument("--out-name", default="population_drive.json")
    args = p.parse_args(argv)
    if args.data is None:
        p.error(f"give --data PATH/{RAW} or set SPIKEGAN_RETINA_DIR")

    import keras
    from scipy.special import logit

    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.evaluation.compare import HEADLINE, as_statistics, compare
    from spikegan_tf.gan.calibration import calibrated_copy
    from spikegan_tf.gan.history import history_filter
    from spikegan_tf.gan.history_fit import fit_uniforms, history_basis, raster_logits

    config, train, test = load_run(args.curve, args.data)
    data = prepare_data(train, config.n_bins, val_fraction=0.0)
    stats = HEADLINE + ("isi_distribution",)
    ref32 = as_statistics(train, n_bins=32, label="train")
    floor32 = as_statistics(test, like=ref32, n_bins=32, label="test")
    ref65 = as_statistics(train, n_bins=65, max_lag=64, label="train")
    floor65 = as_statistics(test, like=ref65, n_bins=65, max_lag=64, label="test")
    lags = np.arange(args.start, args.lags + 1)
    basis = history_basis(args.lags, args.start - 1)[args.start - 1:, args.start - 1:]  # (K, Lp)

    t0 = time.process_time()
    published = calibrated_copy(
        keras.models.load_model(args.curve / "generator.keras", safe_mode=True, compile=False),
        config, data, seed=0, history_lags=10)
    h = history_filter(published)
    publish_s = time.process_time() - t0
    t0 = time.process_time()
    target = triggered(train[:, None, :].astype(np.float32),
                       train.sum(axis=1, dtype=np.float32)[:, None], lags)
    base = raster_logits(published, config, 256, BURN_IN + 1024, 0)
    u = fit_uniforms(0, base.shape)
    x, q = draw(base, u, h, None, args.start)
    goal = logit(q[BURN_IN:].mean(axis=(0, 1), dtype=np.float64))  # the published rates
    offsets = np.zeros(base.shape[2], np.float32)
    theta = np.zeros((base.shape[2], len(basis)))
    history = []
    for it in range(args.iterations):
        g = (theta @ basis).T.astype(np.float32)  # (Lp, N)
        x, q = draw(base + offsets, u, h, g, args.start)
        rate = np.clip(q[BURN_IN:].mean(axis=(0, 1), dtype=np.float64), 1e-6, 1 - 1e-6)
        offsets += (goal - logit(rate)).astype(np.float32)
        gen = triggered(q[BURN_IN:], x[BURN_IN:].sum(axis=2, dtype=np.float32), lags)
        step = np.clip(np.log(target / np.maximum(gen, 1e-6)), -1, 1)
        theta += args.damping * (step @ basis.T) / basis.sum(axis=1)
        err = float(np.mean(np.abs(gen - target)))
        history.append({"iteration": it, "error": err,
                        "rate_error": float(np.max(np.abs(rate / (1 / (1 + np.exp(-goal))) - 1)))})
        print(f"iteration {it}: mean |triggered - target| {err:.4f}", flush=True)
    g = (theta @ basis).T.astype(np.float32)
    for _ in range(8):  # the offsets alone, to the final drive
        _, q = draw(base + offsets, u, h, g, args.start)
        rate = np.clip(q[BURN_IN:].mean(axis=(0, 1), dtype=np.float64), 1e-6, 1 - 1e-6)
        offsets += (goal - logit(rate)).astype(np.float32)
    fit_s = time.process_time() - t0

    result = {"benchmark": "population_drive_prototype", "machine": machine_record(),
              "curve": str(args.curve), "start": args.start, "lags": args.lags,
              "damping": args.damping, "publish_cpu_s": round(publish_s, 1),
              "fit_cpu_s": round(fit_s, 1), "fit": history,
              "g_median_by_lag": np.median(g, axis=1).round(4).tolist(),
              "rows": [], "train_acg_excess": acg_excess(train),
              "test_block_variance": {str(b): block_variance(test, b) / block_variance(train, b)
                                      for b in (256, 2048)}}
    print(f"{'seed':>4} {'variant':>10} " + "".join(f"{s[:10]:>11}" for s in stats)
          + f"{'ACG64':>7}{'var256':>8}{'var2048':>8}{'rate':>7}")
    for seed in (int(s) for s in args.seeds.split(",")):
        logits = raster_logits(published, config, 1, BURN_IN + len(test), 1000 + seed)
        uu = np.random.default_rng(seed).random(logits.shape, dtype=np.float32)
        for variant, drive, shift in (("filter", None, 0.0), ("population", g, offsets)):
            fake = draw(logits + shift, uu, h, drive, args.start)[0][BURN_IN:, 0, :]
            res32 = compare(ref32, {"raster": fake}, floor32, n_bins=32, statistics=stats)
            res65 = compare(ref65, {"raster": fake}, floor65, n_bins=65, max_lag=64,
                            statistics=("autocorrelogram",))
            row = {"seed": seed, "variant": variant,
                   "ratio": {s: res32.ratio("raster", s) for s in stats},
                   "acg64_ratio": res65.ratio("raster", "autocorrelogram"),
                   "block_variance": {str(b): block_variance(fake, b) / block_variance(train, b)
                                      for b in (256, 2048)},
                   "acg_excess": acg_excess(fake),
                   "rate_ratio": float(fake.mean() / train.mean())}
            result["rows"].append(row)
            print(f"{seed:>4} {variant:>10} " + "".join(f"{row['ratio'][s]:11.2f}" for s in stats)
                  + f"{row['acg64_ratio']:7.2f}{row['block_variance']['256']:8.2f}"
                  f"{row['block_variance']['2048']:8.2f}{row['rate_ratio']:7.3f}", flush=True)
    out = args.curve / args.out_name
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

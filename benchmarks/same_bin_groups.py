"""Can the same-bin coupling make groups of neurons that always fire together fire together?

``uniform``'s 16 neurons fire in 4 groups of 4 with a same-bin correlation of about 1: a bin
holds a group's 4 spikes or none (0.19% of the data's bins split a group). A generator's
probabilities split them (session 40: 1.29% of a trained generator's raster bins, 0.73% with
both couplings). This solves the stationary filter and both couplings
(``history_fit._solve``, as :func:`~spikegan_tf.gan.history_fit.fit_stationary_history` does)
on synthetic logits standing in for a generator, the data's rates as the goal, and counts the
bins of the solved raster that split a group (groups found from the data's correlations):

* ``independent``: every neuron at its rate, nothing shared (a generator that learnt nothing);
* ``soft``: the generator knows each group's state in each bin (drawn at the group's rate)
  but softly, ``p`` 0.7 when on and 0.02 when off;
* ``sharp``: 0.9 and 0.005.

The fit's same-bin target is what the code on ``PYTHONPATH`` uses: log odds ratios
(``same_bin_target``, session 41) or, before, coincidences over their expected number.
Variants: ``--same-bound B`` sets ``history.SAME_BIN_BOUND`` (the same-bin coupling's bound,
16 since session 41; 8 before); run with an older code snapshot on ``PYTHONPATH`` to measure
its rule. Also records each fit's pair ratios (achieved same-bin coincidences over the
target, pairs within a group), its rates and its CPU-seconds. Prints a table and writes
``results/same_bin/groups_<tag>.json``::

    python benchmarks/same_bin_groups.py --data /tmp/uniform.npz --tag bound16
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_record, write_result  # noqa: E402

KINDS = {"soft": (0.7, 0.02), "sharp": (0.9, 0.005)}


def groups_of(raster: np.ndarray) -> np.ndarray:
    """Each neuron's group: neurons whose same-bin correlation exceeds 0.5 share one."""
    corr = np.corrcoef(raster.T.astype(float))
    group = np.full(raster.shape[1], -1)
    for i in range(raster.shape[1]):
        if group[i] < 0:
            group[(corr[i] > 0.5) & (group < 0)] = group.max() + 1
    return group


def split_share(x: np.ndarray, group: np.ndarray) -> float:
    """The share of bins (any leading axes; neurons last) in which some group fires in part."""
    split = np.zeros(x.shape[:-1], bool)
    for g in np.unique(group):
        s = x[..., group == g].sum(-1)
        split |= (s > 0) & (s < (group == g).sum())
    return float(split.mean())


def base_logits(kind: str, rates: np.ndarray, group: np.ndarray, shape: tuple[int, int],
                seed: int) -> np.ndarray:
    from scipy.special import logit

    if kind == "independent":
        return np.broadcast_to(logit(rates), (*shape, rates.size)).astype(np.float32).copy()
    p_on, p_off = KINDS[kind]
    rng = np.random.default_rng(seed)
    p = np.zeros((*shape, rates.size), np.float32)
    for g in np.unique(group):
        on = rng.random(shape) < rates[group == g].mean()
        p[..., group == g] = np.where(on, p_on, p_off)[..., None]
    return logit(p).astype(np.float32)


def main() -> None:
    from scipy.special import expit, logit

    from spikegan_tf.gan import history
    from spikegan_tf.gan import history_fit as hf

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help=".npz with a raster under `data`")
    p.add_argument("--kinds", default="independent,soft,sharp")
    p.add_argument("--same-bound", type=float, default=None)
    p.add_argument("--iterations", type=int, default=25)
    p.add_argument("--chains", type=int, default=128)
    p.add_argument("--tag", required=True)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    if args.same_bound is not None:
        history.SAME_BIN_BOUND = args.same_bound
    raster = np.load(args.data)["data"]
    T, lags, burn, bins = 256, 10, hf.BURN_IN, hf.STRETCH_BINS
    windows = np.ascontiguousarray(
        raster[:len(raster) // T * T].reshape(-1, T, raster.shape[1]).transpose(0, 2, 1))
    n_neurons = windows.shape[1]
    rates = windows.mean(axis=(0, 2))
    group = groups_of(raster)
    coinc, spikes = history.neuron_coincidences(windows, lags)
    target = hf._relative(coinc, spikes, spikes / (windows.shape[0] * T), 20.0,
                          hf._reach(T, lags))
    pair_t = hf._pair_ratio(*hf.pair_coincidences(windows), 20.0)
    same_lift = hf._pair_ratio(*hf.pair_coincidences(windows, lag=0), 20.0)  # the fit column's
    # the fit's target: log odds ratios since session 41 (the lift before)
    odds = hasattr(hf, "same_bin_target")
    same_t = hf.same_bin_target(windows) if odds else same_lift
    within = [(i, j) for i in range(n_neurons) for j in range(i) if group[i] == group[j]]
    rows = {}
    for kind in args.kinds.split(","):
        base = base_logits(kind, rates, group, (burn + bins, args.chains), seed=1)
        u = hf.fit_uniforms(0, base.shape)
        goal = logit(rates)[None, None, :]
        for coupled in (False, True):
            c0 = time.process_time()
            extra = dict(pair_target=pair_t, same_target=same_t) if coupled else {}
            offsets, h, rate_err, acg_err, w = hf._solve(
                base, u, goal, target, np.ones((n_neurons, lags), bool), lags,
                iterations=args.iterations, damping=0.7, bound=8.0, prior_spikes=20.0,
                reach=hf._reach(bins, lags), cap=True, skip=burn, **extra)
            cpu = time.process_time() - c0
            logits = base + offsets
            x, _ = history._draw_time_major(expit(logits).astype(np.float32),
                                            hf.fit_uniforms(5, base.shape), h, logit=logits,
                                            coupling=w)
            x = x[burn:]
            C, S, r = hf.pair_coincidences(np.ascontiguousarray(x.transpose(1, 2, 0)), lag=0)
            got = hf._pair_ratio(C, S, r, 20.0)
            fit = np.array([got[i, j] / same_lift[i, j] for i, j in within])
            rows[f"{kind}/{'both couplings' if coupled else 'filter alone'}"] = {
                "split_share": split_share(x, group),
                "same_bin_pair_fit_within_groups": [float(fit.min()), float(np.median(fit)),
                                                    float(fit.max())],
                "largest_same_bin_coupling": None if w is None else float(np.abs(w[0]).max()),
                "rate_max_relative_error": float(np.max(np.abs(x.mean(axis=(0, 1)) / rates - 1))),
                "fit_rate_error": rate_err, "fit_autocorrelation_error": acg_err,
                "fit_cpu_s": round(cpu, 2)}
    result = {"benchmark": "same_bin_groups", "machine": machine_record(), "tag": args.tag,
              "data": str(args.data), "data_split_share": split_share(raster, group),
              "same_bin_bound": getattr(history, "SAME_BIN_BOUND", history.COUPLING_BOUND),
              "same_bin_target": "log odds ratio" if odds else "coincidences over expected",
              "iterations": args.iterations, "chains": args.chains, "rows": rows}
    print(f"data: {result['data_split_share']:.4f} of bins split a group; same-bin bound "
          f"{result['same_bin_bound']}")
    print(f"{'base/fit':32s} {'split':>7s} {'pair fit min/med/max':>22s} {'rate err':>8s}")
    for name, row in rows.items():
        lo, med, hi = row["same_bin_pair_fit_within_groups"]
        print(f"{name:32s} {row['split_share']:7.4f} {lo:6.3f} {med:6.3f} {hi:6.3f}   "
              f"{row['rate_max_relative_error']:8.4f}")
    out = args.out or (Path(__file__).resolve().parent / "results" / "same_bin"
                       / f"groups_{args.tag}.json")
    write_result(out, result)


if __name__ == "__main__":
    main()

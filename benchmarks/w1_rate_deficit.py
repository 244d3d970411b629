"""Why WGAN rates come out low: the Wasserstein-closest *independent* model of correlated spikes.

A generator that has not (yet) learnt a population's correlations is, in effect,
a less-correlated model; the WGAN loss moves it to the distribution of its family
that is closest to the data in Wasserstein-1 distance. This script solves that
projection exactly (a linear programme over all 2**N binary words, Euclidean
ground metric, as the critic's gradient penalty measures) for groups of N neurons
of firing probability q that copy a common Bernoulli(q) draw with probability rho
(otherwise fire independently), projected on independent Bernoulli(p) neurons.
Maximum likelihood (KL) would give p = q for every rho; the Wasserstein projection
gives p < q as soon as rho > 0: unpaired spikes cost transport, so fewer spikes
are cheaper. That is the rate deficit of issue 11, and why it shrinks with
training (as the correlations are learnt) but never changes sign.

    python benchmarks/w1_rate_deficit.py     # ~10 s; writes results/w1_rate_deficit.json
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_record  # noqa: E402

CASES = [(0.25, 1.0, 2), (0.25, 0.5, 2), (0.132, 0.9, 4), (0.04, 0.3, 4), (0.04, 0.0, 4)]


def _w1(p: np.ndarray, q: np.ndarray, cost: np.ndarray) -> float:
    from scipy.optimize import linprog

    n = len(p)
    rows = [np.kron(np.eye(n)[i], np.ones(n)) for i in range(n)]
    cols = [np.kron(np.ones(n), np.eye(n)[j]) for j in range(n - 1)]  # the last is implied
    res = linprog(cost.ravel(), A_eq=np.array(rows + cols), b_eq=np.r_[p, q[:-1]],
                  bounds=(0, None))
    if res.status != 0:
        raise RuntimeError(f"transport problem not solved: {res.message}")
    return float(res.fun)


def closest_independent_rate(q: float, rho: float, n: int, grid: int = 400) -> float:
    """Firing probability of the independent model closest in W1 to the correlated group."""
    words = np.array(list(itertools.product([0, 1], repeat=n)), float)
    k = words.sum(axis=1)
    indep = lambda r: r**k * (1 - r) ** (n - k)  # noqa: E731
    data = rho * np.where(k == n, q, np.where(k == 0, 1 - q, 0.0)) + (1 - rho) * indep(q)
    cost = np.linalg.norm(words[:, None] - words[None], axis=2)
    rates = np.linspace(0.001, 0.5, grid)
    return float(rates[int(np.argmin([_w1(data, indep(r), cost) for r in rates]))])


def main() -> int:
    rows = []
    print(f"{'rate q':>7} {'rho':>5} {'N':>3} {'W1-closest p':>13} {'p / q':>6}")
    for q, rho, n in CASES:
        p = closest_independent_rate(q, rho, n)
        rows.append({"rate": q, "rho": rho, "n_neurons": n, "w1_closest_rate": p,
                     "ratio": p / q})
        print(f"{q:7.3f} {rho:5.2f} {n:3d} {p:13.3f} {p / q:6.2f}")
    out = Path(__file__).resolve().parent / "results" / "w1_rate_deficit.json"
    out.write_text(json.dumps({"benchmark": "w1_rate_deficit", "machine": machine_record(),
                               "grid": 400, "rows": rows}, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

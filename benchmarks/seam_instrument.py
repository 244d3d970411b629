"""Does the seam test see seams, and only seams? `simulate states` rasters, continuous vs joined.

For each seed: a states raster (8 neurons, mean dwell 100 bins) of 160,000 bins; the first
40,000 are the reference, the rest is evaluated twice: as it is (continuous: no seams) and cut
into 32-bin pieces, shuffled and joined (what a perfect window model produces). Reports the seam
classifier AUC and the straddling/within error ratios (16-bin windows), and the mean lagged
cross-covariance at lags 16, 32 and 64 against the exact one. Prints a table and writes
``benchmarks/results/seam_instrument.json``::

    python benchmarks/seam_instrument.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

RESULTS = Path(__file__).resolve().parent / "results" / "seam_instrument.json"


def _lagcov(x: np.ndarray, lag: int) -> float:
    a = x.astype(np.float64)
    c = (a[:-lag].T @ a[lag:]) / (len(a) - lag) - np.outer(a[:-lag].mean(0), a[lag:].mean(0))
    return float(c.mean())


def main() -> int:
    from _machine import machine_record

    from spikegan_tf.data.states import states
    from spikegan_tf.evaluation.seams import seam_report

    result = {"benchmark": "seam_instrument", "machine": machine_record(), "runs": []}
    print(f"{'seed':>4} {'raster':<11} {'AUC':>6} {'ACG ratio':>10} {'max other ratio':>16} "
          f"{'lag-32 cov (exact)':>19} {'s':>5}")
    for seed in (0, 1, 2):
        sim = states(160_000, 8, dwell=100, seed=seed)
        ref, x = sim.spikes[:40_000], sim.spikes[40_000:]
        n = len(x) // 32
        joined = x[: n * 32].reshape(n, 32, -1)[np.random.default_rng(seed).permutation(n)]
        exact = float(sim.ground_truth["expected_lagged_covariance"][31].mean())
        for name, r in (("continuous", x), ("joined", joined.reshape(n * 32, -1))):
            t0 = time.perf_counter()
            rep = seam_report(r, ref, 32, n_bins=16, seed=seed)
            others = max(abs(v - 1) + 1 for k, v in rep.ratio.items() if k != "autocorrelogram")
            row = {"seed": seed, "raster": name, "auc": rep.auc, "ratio": rep.ratio,
                   "lagged_covariance": {lag: _lagcov(r, lag) for lag in (16, 32, 64)},
                   "lag32_exact": exact, "seconds": time.perf_counter() - t0}
            result["runs"].append(row)
            print(f"{seed:>4} {name:<11} {rep.auc:6.3f} {rep.ratio['autocorrelogram']:10.2f} "
                  f"{others:16.2f} {row['lagged_covariance'][32]:9.5f} ({exact:.5f}) "
                  f"{row['seconds']:5.1f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

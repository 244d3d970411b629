"""Issue 14 item 6 measured: a tiny temporal model on `simulate states`, raster vs joined windows.

For each seed: a states raster (8 neurons, mean dwell 20 bins, rates 0.02/0.2)
of 60,000 bins; a tiny temporal Spike-GAN (3 dilated layers of 32 features,
receptive field 29 bins; critic 16/32 features on 32-bin windows) trained
2,000 steps (n_critic 2). From it, one continuous raster of 60,000 bins and
1,875 independent 32-bin windows joined end to end (what a window model gives).
Reports the seam classifier AUC of both, the mean lagged cross-covariance at
lags 1, 8, 16, 24 and 31 against the exact one and the data's, the rates, and
the training CPU-seconds. The slow test
``tests/test_raster.py::test_a_tiny_temporal_model_learns_states_without_seams``
asserts seed 0. Prints a table and writes ``results/raster_states.json``::

    python benchmarks/raster_states.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

RESULTS = Path(__file__).resolve().parent / "results" / "raster_states.json"
LAGS = (1, 8, 16, 24, 31)


def main() -> int:
    from _machine import machine_record

    from spikegan_tf import SpikeGAN
    from spikegan_tf import statistics as stats
    from spikegan_tf.data.states import states
    from spikegan_tf.evaluation.seams import seam_classifier_auc

    result = {"benchmark": "raster_states", "machine": machine_record(), "runs": []}
    print(f"{'seed':>4} {'AUC raster':>10} {'AUC joined':>10}  lagged covariance (lag: exact / "
          "raster / joined)")
    for seed in (0, 1, 2):
        sim = states(60_000, 8, dwell=20, low=0.02, high=0.2, seed=seed)
        gan = SpikeGAN(n_neurons=8, n_bins=32, num_features=16, architecture="temporal",
                       temporal_layers=3, temporal_features=32, latent_channels=4)
        cpu0 = time.process_time()
        gan.fit(sim.spikes, steps=2000, batch_size=64, n_critic=2, verbose=0, seed=seed)
        cpu = time.process_time() - cpu0
        raster = gan.sample_raster(60_000, seed=1)
        joined = gan.sample(60_000 // 32, seed=1).transpose(0, 2, 1).reshape(-1, 8)
        exact = sim.ground_truth["expected_lagged_covariance"]
        lagged = {name: stats.lagged_covariance(x, n_bins=33, max_lag=32)
                  for name, x in (("raster", raster), ("joined", joined), ("data", sim.spikes))}
        row = {"seed": seed, "train_cpu_s": cpu, "model": gan.config.to_dict(),
               "auc": {"raster": seam_classifier_auc(raster, 32, seed=0),
                       "joined": seam_classifier_auc(joined, 32, seed=0)},
               "lagged_covariance": {
                   str(lag): {"exact": float(exact[lag - 1].mean()),
                              **{k: float(v[lag - 1].mean()) for k, v in lagged.items()}}
                   for lag in LAGS},
               "rate": {"data": float(sim.spikes.mean()), "raster": float(raster.mean())}}
        result["runs"].append(row)
        cov = row["lagged_covariance"]
        print(f"{seed:>4} {row['auc']['raster']:10.3f} {row['auc']['joined']:10.3f}  "
              + "  ".join(f"{lag}: {cov[str(lag)]['exact']:.4f}/{cov[str(lag)]['raster']:.4f}/"
                          f"{cov[str(lag)]['joined']:.4f}" for lag in LAGS), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(RESULTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())

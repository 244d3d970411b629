"""What publishing a generator costs with and without its spike-history filter, by model size.

Times ``calibrated_copy(..., positions=True, history_lags=L)`` (what a run does at every
checkpoint save, ``TrainConfig.calibrate_history``) on a freshly built generator and sparse
random windows, for each ``--size NxT``, with ``L = 0`` and ``L = --lags``: process CPU seconds,
wall seconds and the process's peak resident memory after each (it only grows)::

    python benchmarks/history_scale.py --size 50x32 --size 512x128

Prints a table and writes ``results/history_fit/publish_scale.json`` with the machine record.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_record, write_result  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", action="append", default=[], help="NxT, e.g. 512x128 (repeatable)")
    p.add_argument("--lags", type=int, default=10)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results"
                   / "history_fit" / "publish_scale.json")
    args = p.parse_args(argv)

    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.gan.calibration import calibrated_copy
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.networks import build_generator

    rows = []
    print(f"{'size':>9s} {'lags':>4s} {'CPU-s':>7s} {'wall s':>7s} {'peak MB':>8s}")
    for size in args.size or ["50x32", "512x128"]:
        n_neurons, n_bins = (int(v) for v in size.split("x"))
        cfg = ModelConfig(n_neurons=n_neurons, n_bins=n_bins)
        gen = build_generator(cfg, seed=0)
        x = (np.random.default_rng(0).random((1000, n_neurons, n_bins)) < 0.03).astype(np.uint8)
        data = prepare_data(x, n_bins, val_fraction=0.0)
        for lags in (0, args.lags):
            c0, w0 = time.process_time(), time.perf_counter()
            calibrated_copy(gen, cfg, data, seed=0, positions=True, history_lags=lags)
            row = {"n_neurons": n_neurons, "n_bins": n_bins, "lags": lags,
                   "cpu_s": round(time.process_time() - c0, 1),
                   "wall_s": round(time.perf_counter() - w0, 1),
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}
            rows.append(row)
            print(f"{size:>9s} {lags:4d} {row['cpu_s']:7.1f} {row['wall_s']:7.1f} "
                  f"{row['peak_rss_mb']:8d}", flush=True)
    write_result(args.out, {"benchmark": "history_scale", "machine": machine_record(),
                            "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())

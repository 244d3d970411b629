"""Spike-GAN at scale: training and sampling at 512 x 128 and 1,024 x 64.

For each window shape, in a fresh subprocess (so that its peak memory is its
own): build the default Spike-GAN (conv, 128/256 critic features), time
training steps (after a warm-up call) and sampling, and record the peak
resident memory (``ru_maxrss``). The statistics of 100,000 windows of 1,024
neurons are ``bench_stats_scale.py``'s (files written before had a rough
version of it here, under ``statistics_1024x64``).

Writes ``benchmarks/results/bench_scale.json`` with the machine and its
float32 matmul calibration; prints a table.

Usage::

    TF_NUM_INTRAOP_THREADS=1 python benchmarks/bench_scale.py --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

SHAPES = ((512, 128), (1024, 64))
OUT = Path(__file__).resolve().parent / "results" / "bench_scale.json"


def _windows(n: int, n_neurons: int, n_bins: int, seed: int) -> np.ndarray:
    """Sparse windows with a realistic spread of rates (log-normal, median 0.02)."""
    rng = np.random.default_rng(seed)
    rates = np.clip(rng.lognormal(np.log(0.02), 0.8, n_neurons), 1e-4, 0.5)
    return (rng.random((n, n_neurons, n_bins), dtype=np.float32)
            < rates[None, :, None]).astype(np.uint8)


def one_shape(n_neurons: int, n_bins: int, steps: int) -> dict:
    """Time training steps and sampling of one window shape (run in its own process)."""
    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.sampling import sample
    from spikegan_tf.gan.train_config import TrainConfig
    from spikegan_tf.gan.trainer import Trainer

    data = prepare_data(_windows(2048, n_neurons, n_bins, 0), val_fraction=0.0)
    model = ModelConfig(n_neurons=n_neurons, n_bins=n_bins)
    trainer = Trainer(model, TrainConfig(eval_every=0, max_steps=10**9), verbose=0)
    params = {"generator": int(trainer.generator.count_params()),
              "critic": int(trainer.critic.count_params())}
    trainer.train_steps(data, 2)  # trace and warm up
    c0, w0 = time.process_time(), time.perf_counter()
    trainer.train_steps(data, steps)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    train_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sample(trainer.generator, 256, seed=0)
    c1, w1 = time.process_time(), time.perf_counter()
    sample(trainer.generator, 4096, seed=1)
    return {"n_neurons": n_neurons, "n_bins": n_bins, "params": params, "steps": steps,
            "steps_per_s": steps / wall, "cpu_s_per_step": cpu / steps,
            "sample_windows_per_s": 4096 / (time.perf_counter() - w1),
            "sample_cpu_s_per_1000": 1000 * (time.process_time() - c1) / 4096,
            "peak_rss_training_mb": train_peak,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)  # "N,T": child process
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    if args.one:
        n, t = (int(v) for v in args.one.split(","))
        print(json.dumps(one_shape(n, t, args.steps)))
        return 0
    from _machine import machine_record

    machine = machine_record()
    shapes = []
    for n, t in SHAPES:
        res = subprocess.run([sys.executable, __file__, "--one", f"{n},{t}", "--steps",
                              str(args.steps)], capture_output=True, text=True, check=True,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        shapes.append(json.loads(res.stdout.strip().splitlines()[-1]))
        r = shapes[-1]
        print(f"{n:5d} x {t:4d}: {r['steps_per_s']:.2f} it/s ({r['cpu_s_per_step']:.2f} CPU-s "
              f"per step), sampling {r['sample_windows_per_s']:.0f} windows/s, peak "
              f"{r['peak_rss_training_mb']:.0f} MB training, {r['peak_rss_mb']:.0f} MB with sampling, params G {r['params']['generator']:,} "
              f"D {r['params']['critic']:,}", flush=True)
    record = {"benchmark": "bench_scale", "machine": machine,
              "load_average_1m_end": os.getloadavg()[0],
              "threads": {k: os.environ.get(k) for k in ("TF_NUM_INTRAOP_THREADS",
                                                         "OMP_NUM_THREADS")},
              "training": shapes}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

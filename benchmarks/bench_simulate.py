"""Benchmark: simulating 100,000 windows of 16 neurons x 32 bins (target: < 5 s on 2 cores).

Times ``spikegan_tf.data.simulate.uniform`` and ``packets`` (one and two modes) with
the paper-sized windows, the median of several repeats, and, for scale, a
per-sample Python loop of the same ``uniform`` model (the structure of the
reference code) timed on a few thousand samples and extrapolated.

Usage::

    python benchmarks/bench_simulate.py [--samples 100000] [--repeats 3]

Prints a table and writes ``benchmarks/results/bench_simulate.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from spikegan_tf.data import simulate

TARGET_S = 5.0


def _naive_uniform(n_samples, n_neurons, n_bins, group_size, rate, corr, d, seed):
    """Per-sample, per-neuron loops (reference-code structure), same model, for comparison."""
    rng = np.random.default_rng(seed)
    n_groups = n_neurons // group_size
    q = np.sqrt(corr)
    out = np.zeros((n_samples, n_neurons, n_bins), np.uint8)
    burn = 8 * (d + 1)
    for s in range(n_samples):
        for g in range(n_groups):
            ref = rng.random(burn + n_bins) < rate
            last = -(10**9)
            for t in range(burn + n_bins):  # refractory period on the reference train
                if ref[t] and t - last > d:
                    last = t
                else:
                    ref[t] = False
            for k in range(group_size):
                copy = rng.random(burn + n_bins) < q
                raw = np.where(copy, ref, rng.random(burn + n_bins) < rate)
                last = -(10**9)
                for t in range(burn + n_bins):
                    if raw[t] and t - last > d:
                        last = t
                        if t >= burn:
                            out[s, g * group_size + k, t - burn] = 1
    return out


def _time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-samples", type=int, default=2_000)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_simulate.json"))
    args = parser.parse_args()

    n, neurons, bins = args.samples, 16, 32
    cases = {
        "uniform": lambda: simulate.uniform(n, neurons, bins, seed=0),
        "packets (1 mode)": lambda: simulate.packets(n, neurons, bins, seed=0),
        "packets (2 modes)": lambda: simulate.packets(n, neurons, bins, n_modes=2, seed=0),
    }
    rows = []
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    for name, fn in cases.items():
        times = _time(fn, args.repeats)
        med = statistics.median(times)
        rows.append({"case": name, "samples": n, "median_s": med, "times_s": times,
                     "windows_per_s": n / med, "meets_target": med < TARGET_S})

    m = args.naive_samples
    naive_times = _time(lambda: _naive_uniform(m, neurons, bins, 4, 0.25, 0.9, 2, 0), 1)
    naive_est = naive_times[0] * n / m
    uniform_med = rows[0]["median_s"]
    rows.append({"case": f"uniform, per-sample loop ({m} samples, extrapolated)", "samples": n,
                 "median_s": naive_est, "times_s": naive_times, "windows_per_s": n / naive_est,
                 "meets_target": naive_est < TARGET_S})

    print(f"simulate {n} windows of {neurons} neurons x {bins} bins; target < {TARGET_S:g} s; "
          f"median of {args.repeats}; cpu_count={os.cpu_count()}, load average {load_before}")
    print(f"{'case':58s} {'median s':>9s} {'windows/s':>11s} {'< 5 s':>6s}")
    for r in rows:
        print(f"{r['case']:58s} {r['median_s']:9.2f} {r['windows_per_s']:11.0f} "
              f"{'yes' if r['meets_target'] else 'no':>6s}")
    print(f"vectorised uniform is {naive_est / uniform_med:.0f}x faster than the per-sample loop")

    result = {
        "benchmark": "bench_simulate",
        "shape": [n, neurons, bins],
        "target_s": TARGET_S,
        "repeats": args.repeats,
        "rows": rows,
        "speedup_vs_per_sample_loop": naive_est / uniform_med,
        "machine": {"cpu_count": os.cpu_count(), "load_average_1min": load_before,
                    "python": platform.python_version(), "numpy": np.__version__,
                    "platform": platform.platform()},
        "caveat": "CPU shared with other processes while measured; timings are provisional",
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

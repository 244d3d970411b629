"""Speed and memory of the statistics on the full retina raster, and its noise floor.

Measures, in one run, on the 50-neuron salamander retina raster (283,041 bins)
cut into 32-bin windows with stride 1 (283,010 overlapping windows, never
materialised):

* wall-clock and process CPU time (median of ``--repeats``) of
  :func:`spikegan_tf.statistics.compute_statistics` (every statistic) and of each
  single-statistic function; the two ways of summing the (lagged) products
  (coincident spike pairs vs BLAS matrix products, identical results) are
  timed interleaved, so their ratio is fair on a shared machine;
* the peak of traced allocations (tracemalloc) and the process's peak RSS;
* the test-vs-train noise floor (first 80% of bins = train, last 20% = test,
  32-bin windows), with stride 1 and with stride 32, next to the values quoted
  in the data's README.

Prints a table and writes ``benchmarks/results/bench_stats.json``.

Usage::

    python benchmarks/bench_stats.py --data ../shared/data/retina/original_data_num_neurons_50_1.mat
    SPIKEGAN_RETINA_DIR=/path/to/retina python benchmarks/bench_stats.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from spikegan_tf import statistics as S
from spikegan_tf.data import windowed_spikes

RESULTS = Path(__file__).resolve().parent / "results" / "bench_stats.json"
FILE = "original_data_num_neurons_50_1.mat"

# README of the retina data: test-vs-train mean absolute errors, 32-bin windows
README_FLOOR = {
    "firing_probability": 2.2e-3,
    "covariance (off-diagonal)": 2.8e-4,
    "lag-1 covariance": 2.9e-4,
    "P(K)": 4.5e-4,
    "autocorrelogram (lags 1-10)": 1.6e-3,
}


def default_data() -> Path:
    env = os.environ.get("SPIKEGAN_RETINA_DIR")
    if env:
        return Path(env) / FILE
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "retina" / FILE


def load(path: Path) -> np.ndarray:
    try:
        from spikegan_tf.data import load_spikes

        return load_spikes(path, key="data").spikes
    except ImportError:  # pragma: no cover - before the data module existed
        import scipy.io

        return scipy.io.loadmat(path)["data"].astype(np.uint8)


def timed(fn, repeats: int) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        c, t = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return {"wall_s": float(np.median(walls)), "cpu_s": float(np.median(cpus)),
            "wall_min_s": float(np.min(walls))}


def floor_errors(train: np.ndarray, test: np.ndarray, n_bins: int, stride: int) -> dict:
    a = S.compute_statistics(train, n_bins=n_bins, stride=stride)
    b = S.compute_statistics(test, n_bins=n_bins, stride=stride)
    off = ~np.eye(a.n_neurons, dtype=bool)
    L = a.max_lag
    return {
        "firing_probability": float(np.abs(a.firing_probability - b.firing_probability).mean()),
        "covariance (off-diagonal)": float(np.abs(a.covariance - b.covariance)[off].mean()),
        "lag-1 covariance": float(np.abs(a.lagged_covariance[0] - b.lagged_covariance[0]).mean()),
        "P(K)": float(np.abs(a.spike_count_distribution - b.spike_count_distribution).mean()),
        "autocorrelogram (lags 1-10)": float(
            np.abs(a.autocorrelogram - b.autocorrelogram)[L + 1:].mean()),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=default_data(), help=f"path of {FILE}")
    p.add_argument("--bins", type=int, default=32)
    p.add_argument("--stride", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    if not args.data.is_file():
        print(f"bench_stats: data file not found: {args.data} (use --data or "
              "SPIKEGAN_RETINA_DIR)", file=sys.stderr)
        return 2
    raster = load(args.data)
    T, s = args.bins, args.stride
    src = windowed_spikes(raster, n_bins=T, stride=s)
    print(f"raster {raster.shape}, {src.n_windows} windows of {src.n_neurons} x {T} "
          f"(stride {s}); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    # -- speed: everything, both product methods interleaved ------------------------------
    S.compute_statistics(raster, n_bins=T, stride=s)  # warm-up (page-in, BLAS init)
    rows: dict[str, dict[str, float]] = {}
    walls: dict[str, list] = {"auto": [], "pairs": [], "dense": []}
    cpus: dict[str, list] = {k: [] for k in walls}
    for _ in range(args.repeats):
        for method in walls:
            c, t = time.process_time(), time.perf_counter()
            S.compute_statistics(raster, n_bins=T, stride=s, lag_method=method)
            walls[method].append(time.perf_counter() - t)
            cpus[method].append(time.process_time() - c)
    for method in walls:
        rows[f"compute_statistics (all, lag_method={method})"] = {
            "wall_s": float(np.median(walls[method])), "cpu_s": float(np.median(cpus[method])),
            "wall_min_s": float(np.min(walls[method]))}
    singles = {
        "firing_probability": lambda: S.firing_probability(raster, n_bins=T, stride=s),
        "time_course": lambda: S.time_course(raster, n_bins=T, stride=s),
        "covariance": lambda: S.covariance(raster, n_bins=T, stride=s),
        "lagged_covariance (L=10)": lambda: S.lagged_covariance(raster, 10, n_bins=T, stride=s),
        "autocorrelogram (L=10)": lambda: S.autocorrelogram(raster, 10, n_bins=T, stride=s),
        "spike_count_distribution": lambda: S.spike_count_distribution(raster, n_bins=T,
                                                                       stride=s),
        "isi_distribution": lambda: S.isi_distribution(raster, n_bins=T, stride=s),
        "word_probabilities (10 neurons x 2 bins)": lambda: S.word_probabilities(
            raster, range(10), 2, n_bins=T, stride=s),
        "spike_count_correlation": lambda: S.spike_count_correlation(raster, n_bins=T,
                                                                     stride=s),
    }
    for name, fn in singles.items():
        rows[name] = timed(fn, args.repeats)

    # -- memory ----------------------------------------------------------------------------
    tracemalloc.start()
    S.compute_statistics(raster, n_bins=T, stride=s)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    raster_mb = raster.nbytes / 2**20
    windows_mb = src.n_windows * src.n_neurons * T / 2**20

    # -- noise floor -------------------------------------------------------------------------
    cut = int(0.8 * raster.shape[0])
    train, test = raster[:cut], raster[cut:]
    floors = {f"stride {st}": floor_errors(train, test, T, st) for st in (1, T)}

    # -- report ------------------------------------------------------------------------------
    width = max(len(k) for k in rows) + 2
    print(f"\n{'statistic':<{width}}{'wall s (median)':>16}{'CPU s':>10}")
    for name, r in rows.items():
        print(f"{name:<{width}}{r['wall_s']:>16.2f}{r['cpu_s']:>10.2f}")
    ratio = rows["compute_statistics (all, lag_method=dense)"]["cpu_s"] / rows[
        "compute_statistics (all, lag_method=pairs)"]["cpu_s"]
    print(f"\nCPU time dense BLAS products / spike pairs: {ratio:.2f}x (same run)")
    print(f"peak traced allocations {peak / 2**20:.0f} MiB, peak RSS {rss_mb:.0f} MiB "
          f"(raster {raster_mb:.0f} MiB; materialised windows would be {windows_mb:.0f} MiB)")
    print(f"\nnoise floor: test (last 20%) vs train (first 80%), {T}-bin windows, MAE")
    print(f"{'statistic':<30}{'README':>10}{'stride 1':>12}{f'stride {T}':>12}")
    for k, v in README_FLOOR.items():
        print(f"{k:<30}{v:>10.1e}{floors['stride 1'][k]:>12.2e}{floors[f'stride {T}'][k]:>12.2e}")

    out = {
        "data": str(args.data),
        "raster_shape": list(raster.shape),
        "n_windows": src.n_windows,
        "n_bins": T,
        "stride": s,
        "repeats": args.repeats,
        "timings": rows,
        "dense_over_pairs_cpu_ratio": ratio,
        "peak_traced_mib": peak / 2**20,
        "peak_rss_mib": rss_mb,
        "materialised_windows_would_be_mib": windows_mb,
        "noise_floor": {"readme": README_FLOOR, **floors},
        "machine": {"cpus": os.cpu_count(), "load_average_1min": os.getloadavg()[0],
                    "python": platform.python_version(), "numpy": np.__version__},
        "caveat": "shared CPU (other jobs running): timings are provisional",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

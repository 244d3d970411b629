"""Fit time, sampling throughput and accuracy of the in-package baselines on the retina.

On the 50-neuron salamander retina raster, cut into 32-bin windows: train = the
first 80% of the bins, test = the last 20% (the data README's split, whose
test-vs-train mean absolute errors are the noise floor). Every baseline is
fitted on train only; then, in one run:

* fit wall-clock time (one fit per model);
* sampling throughput: median of ``--repeats`` draws of ``--throughput-n``
  windows (after one warm-up draw, which includes e.g. the DG's Cholesky);
* the evaluation table: ``--n-samples`` windows of each model against the test
  windows with :func:`spikegan_tf.evaluation.compare.compare`, next to the train windows
  (the noise floor; ratio 1.0 = as close to the test data as the training data
  are); firing rates, single-bin covariances, lag-1 covariances, P(K), and
  (not targets) lagged covariances of lags 1-10 and the autocorrelogram;
* the authors' DG and k-pairwise samples (last 20% of their files, when found)
  as reference rows: they were fitted on the whole recording, test included.

Targets (2 CPU cores): DG fit <= 60 s, DG sampling >= 10,000 windows/s, DG
rates / covariances / lag-1 covariances / P(K) within 1.5x the floor;
k-pairwise fit <= 10 min, its rates / covariances / P(K) within 1.5x the floor.

Prints a table and writes ``benchmarks/results/bench_baselines.json``. Timings
on a shared machine are provisional: the load average is recorded with them.

Usage::

    python benchmarks/bench_baselines.py --data ../shared/data/retina/
    SPIKEGAN_RETINA_DIR=/path/to/retina python benchmarks/bench_baselines.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "bench_baselines.json"
FILE = "original_data_num_neurons_50_1.mat"
AUTHORS = {
    "authors' DG (fit on all data)": ("DG_num_neurons_50_1.mat", "data"),
    "authors' k-pairwise (fit on all data)": ("k_pairwise_num_neurons_50_1.mat",
                                              "samples_batch_all"),
}
STATS = ("firing_probability", "covariance", "lag1_covariance", "spike_count_distribution",
         "lagged_covariance", "autocorrelogram")
SHORT = {"firing_probability": "rates", "covariance": "cov", "lag1_covariance": "lag-1 cov",
         "spike_count_distribution": "P(K)", "lagged_covariance": "lags 1-10",
         "autocorrelogram": "ACG"}
README_FLOOR = {"firing_probability": 2.2e-3, "covariance": 2.8e-4, "lag1_covariance": 2.9e-4,
                "spike_count_distribution": 4.5e-4}
TARGETS = {  # model -> (max fit seconds, min windows/s, statistics within 1.5x the floor)
    "dg": (60.0, 10_000.0, ("firing_probability", "covariance", "lag1_covariance",
                            "spike_count_distribution")),
    "kpairwise": (600.0, None, ("firing_probability", "covariance",
                                "spike_count_distribution")),
}


def default_data() -> Path:
    env = os.environ.get("SPIKEGAN_RETINA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "retina"


def _models(names: list[str], kp_iterations: int | None):
    from spikegan_tf import baselines as B

    table = {
        "independent": lambda: B.IndependentBernoulli(),
        "dg": lambda: B.DichotomizedGaussian(),
        "dg_spatial": lambda: B.DichotomizedGaussian(spatial_only=True, n_states=1),
        "dg_lag8": lambda: B.DichotomizedGaussian(max_lag=8),
        "dg_stationary": lambda: B.DichotomizedGaussian(n_states=1),
        "kpairwise": lambda: (B.KPairwiseMaxEnt(n_iterations=kp_iterations) if kp_iterations
                              else B.KPairwiseMaxEnt()),
    }
    unknown = [n for n in names if n not in table]
    if unknown:
        raise SystemExit(f"unknown model(s) {unknown}; choose from {sorted(table)}")
    return {n: table[n]() for n in names}


def _report_dict(model) -> dict:
    rep = model.fit_report_.to_dict()
    for key in list(rep):
        if key.endswith("_history"):  # keep the ends of long per-iteration histories
            hist = rep.pop(key)
            rep[key.replace("_history", "_first_last")] = [hist[0], hist[-1]] if hist else []
    return rep


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=default_data(),
                   help=f"retina folder (or the path of {FILE})")
    p.add_argument("--bins", type=int, default=32)
    p.add_argument("--models", default="independent,dg,dg_stationary,dg_spatial,kpairwise",
                   help="comma-separated: independent, dg (2 latent states, the default), "
                        "dg_stationary (1 state), dg_spatial, dg_lag8, kpairwise")
    p.add_argument("--n-samples", type=int, default=20_000, help="windows per model evaluated")
    p.add_argument("--throughput-n", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--kp-iterations", type=int, default=None,
                   help="override the k-pairwise gradient steps (default: the model's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)

    from spikegan_tf.data import load_spikes
    from spikegan_tf.evaluation.compare import compare

    folder = args.data if args.data.is_dir() else args.data.parent
    path = args.data if args.data.is_file() else args.data / FILE
    if not path.is_file():
        print(f"bench_baselines: data file not found: {path} (use --data or "
              "SPIKEGAN_RETINA_DIR)", file=sys.stderr)
        return 2
    raster = load_spikes(path, key="data").spikes
    cut = int(0.8 * raster.shape[0])
    train, test = raster[:cut], raster[cut:]
    t_bins = args.bins
    load_start = os.getloadavg()
    print(f"retina {raster.shape}, train {train.shape[0]} bins, test {test.shape[0]} bins, "
          f"{t_bins}-bin windows; load average {load_start[0]:.1f} on {os.cpu_count()} CPUs",
          flush=True)

    names = [s.strip() for s in args.models.split(",") if s.strip()]
    results: dict[str, dict] = {}
    samples: dict[str, np.ndarray] = {}
    for name, model in _models(names, args.kp_iterations).items():
        t0 = time.perf_counter()
        model.fit(train, n_bins=t_bins, seed=args.seed)
        fit_s = time.perf_counter() - t0
        model.sample(min(1000, args.throughput_n), seed=args.seed + 99)  # warm-up
        walls = []
        for r in range(args.repeats):
            t0 = time.perf_counter()
            model.sample(args.throughput_n, seed=args.seed + 100 + r)
            walls.append(time.perf_counter() - t0)
        rate = args.throughput_n / float(np.median(walls))
        samples[name] = model.sample(args.n_samples, seed=args.seed + 1)
        results[name] = {"options": model.get_options(), "fit_s": fit_s,
                         "sample_windows_per_s": rate,
                         "sample_walls_s": [float(w) for w in walls],
                         "fit_report": _report_dict(model)}
        print(f"  {name:<12s} fit {fit_s:7.1f} s   sampling {rate:9.0f} windows/s", flush=True)
        print("    " + model.fit_report_.summary().replace("\n", "\n    "), flush=True)

    references = {}
    for label, (fname, key) in AUTHORS.items():
        f = folder / fname
        if f.is_file():
            x = load_spikes(f, key=key).spikes
            references[label] = x[int(0.8 * x.shape[0]):]

    res = compare(test, {**samples, **references}, train, n_bins=t_bins, statistics=STATS,
                  reference_label="test", noise_floor_label="train (floor)")
    floor = {s: res.metrics["train (floor)"][s].mae for s in STATS}

    header = f"{'model':<38s}" + "".join(f"{SHORT[s]:>20s}" for s in STATS)
    lines = [header, f"{'':<38s}" + "".join(f"{'MAE (x floor)':>20s}" for _ in STATS)]
    for label in [*samples, *references, "train (floor)"]:
        cells = "".join(
            f"{res.metrics[label][s].mae:>12.2e} ({res.metrics[label][s].ratio_to_floor:4.2f})"
            for s in STATS)
        lines.append(f"{label:<38s}{cells}")
        if label in results:
            results[label]["metrics"] = {
                s: {"mae": res.metrics[label][s].mae,
                    "ratio_to_floor": res.metrics[label][s].ratio_to_floor} for s in STATS}
    ref_metrics = {label: {s: {"mae": res.metrics[label][s].mae,
                               "ratio_to_floor": res.metrics[label][s].ratio_to_floor}
                           for s in STATS} for label in references}
    print()
    print("\n".join(lines))

    checks = []
    for name, (max_fit, min_rate, stats) in TARGETS.items():
        if name not in results:
            continue
        r = results[name]
        checks.append((f"{name} fit <= {max_fit:.0f} s", r["fit_s"] <= max_fit,
                       f"{r['fit_s']:.1f} s"))
        if min_rate:
            checks.append((f"{name} sampling >= {min_rate:.0f} windows/s",
                           r["sample_windows_per_s"] >= min_rate,
                           f"{r['sample_windows_per_s']:.0f}"))
        for s in stats:
            ratio = r["metrics"][s]["ratio_to_floor"]
            checks.append((f"{name} {SHORT[s]} <= 1.5x floor", ratio <= 1.5, f"{ratio:.2f}x"))
    print()
    for what, ok, value in checks:
        print(f"  [{'ok' if ok else 'MISSED'}] {what}: {value}")
    load_end = os.getloadavg()
    print(f"\nload average {load_start[0]:.1f} -> {load_end[0]:.1f} on {os.cpu_count()} CPUs: "
          "timings are provisional on a shared machine")

    out = {
        "benchmark": "bench_baselines",
        "data": str(path),
        "split": {"train_bins": int(train.shape[0]), "test_bins": int(test.shape[0]),
                  "n_bins": t_bins, "rule": "first 80% / last 20% of bins, no gap"},
        "n_samples": args.n_samples,
        "throughput_n": args.throughput_n,
        "repeats": args.repeats,
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpu_count": os.cpu_count(), "load_average_start": load_start,
                    "load_average_end": load_end},
        "noise_floor": floor,
        "readme_floor": README_FLOOR,
        "models": results,
        "references": ref_metrics,
        "targets": [{"target": w, "met": bool(ok), "value": v} for w, ok, v in checks],
        "notes": [
            "Timings are provisional: measured on a CPU shared with other jobs.",
            "Authors' samples were fitted on the whole recording (test included); their "
            "DG samples follow the recording's population rate bin by bin, i.e. they are "
            "not draws of a stationary model.",
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, default=float) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Spike-GAN fidelity at scale after a fixed CPU budget (issue 17, item 2).

Simulates ``assemblies`` windows (``spikegan_tf.data.simulate.assemblies``,
default options: overlapping assemblies firing sequences over log-normal
background rates, exact ground truth) at ``--neurons`` x ``--bins`` (512 x 128;
``--neurons 1024 --bins 64`` for the other shape), ``--train`` + ``--held-out``
windows (20,000 + 2,000) split by ``prepare_data``. Trains the default
Spike-GAN (``ModelConfig`` and ``TrainConfig`` defaults, output bias at the
training rates) for ``--cpu-minutes`` (20) of the training process's CPU time,
in calls of ``--chunk`` steps, and every ``--eval-every`` steps (and at the end)
records the point -- steps, training CPU-s (evaluation excluded), wall-s --
with:

* as many generated windows as the held-out split, compared with
  :func:`spikegan_tf.evaluation.compare.compare` on firing rates, same-bin and
  lag-1 covariances and P(K) (``max_lag=1``): the reference is the training
  split and the noise floor the held-out split, so a ratio of 1.0 is as close
  to the training windows as new real windows are (the generated set has the
  held-out set's size);
* the same statistics against the exact ground truth (rates, same-bin and
  lag-1 covariances from :func:`assembly_covariance`, same-bin correlations):
  mean absolute error of the generated windows, of the held-out windows, and
  their ratio.

The independent model (``baselines.IndependentBernoulli``: every neuron
Bernoulli at its training rate, pooled over bins) is evaluated once, the same
way, as the reference row. Peak resident memory (``ru_maxrss``) is recorded
after the data are ready, at every point and at the end.

Writes ``benchmarks/results/scale_fidelity/<neurons>x<bins>_seed<seed>.json``
(after every point) with the machine record (``_machine.py``: CPU, SIMD flags,
float32 matmul calibration), the settings and the points; prints a table.

Usage (one thread, as measured)::

    TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1 \\
        python benchmarks/scale_fidelity.py --cpu-minutes 20
    # smoke run
    python benchmarks/scale_fidelity.py --cpu-minutes 0.5 --train 2000 --held-out 500 \\
        --eval-every 10 --out /tmp/scale_fidelity
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from _machine import machine_record  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "scale_fidelity"
STATS = ("firing_probability", "covariance", "lag1_covariance", "spike_count_distribution")
SHORT = {"firing_probability": "rate", "covariance": "cov", "lag1_covariance": "lag1",
         "spike_count_distribution": "P(K)"}
# against the exact ground truth (no P(K): it has no closed form here)
GT_STATS = ("firing_probability", "covariance", "correlation", "lag1_covariance")
GT_SHORT = {"firing_probability": "rate", "covariance": "cov", "correlation": "corr",
            "lag1_covariance": "lag1"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--neurons", type=int, default=512)
    p.add_argument("--bins", type=int, default=128)
    p.add_argument("--train", type=int, default=20000, help="training windows")
    p.add_argument("--held-out", type=int, default=2000,
                   help="held-out windows (and generated windows per point)")
    p.add_argument("--cpu-minutes", type=float, default=20.0, help="training CPU budget")
    p.add_argument("--eval-every", type=int, default=100, help="steps between points")
    p.add_argument("--chunk", type=int, default=10,
                   help="steps per training call (the budget is checked between calls)")
    p.add_argument("--seed", type=int, default=0, help="training seed (the data: --data-seed)")
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--save-generator", type=Path, default=None,
                   help="also save the final generator (.keras) here")
    return p.parse_args(argv)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ground_truth_stats(gt) -> SimpleNamespace:
    """The exact statistics of the simulation, shaped like ``Statistics``."""
    from spikegan_tf.data.simulate.assemblies import assembly_covariance

    p = np.asarray(gt["expected_rates"], np.float64)
    cov = assembly_covariance(gt, 0)
    sd = np.sqrt(p * (1.0 - p))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(sd, sd)
    return SimpleNamespace(firing_probability=p, covariance=cov, correlation=corr,
                           lagged_covariance=assembly_covariance(gt, 1)[None])


def against_truth(truth: SimpleNamespace, stats, held_out) -> dict:
    """MAE of ``stats`` and of the held-out windows against the ground truth, and the ratio."""
    from spikegan_tf.evaluation.metrics import STATISTICS

    out = {}
    for name in GT_STATS:
        extract = STATISTICS[name][0]
        t = extract(truth)
        row = {}
        for label, s in (("", stats), ("held_out_", held_out)):
            x = extract(s)
            ok = np.isfinite(t) & np.isfinite(x)
            row[f"{label}mae"] = float(np.abs(x[ok] - t[ok]).mean())
            row[f"{label}pearson_r"] = float(np.corrcoef(x[ok], t[ok])[0, 1])
        row["ratio_to_held_out"] = row["mae"] / row["held_out_mae"]
        out[name] = row
    return out


def evaluate(windows: np.ndarray, label: str, ref_stats, floor_stats, truth) -> dict:
    """Ratios to the floor (and errors against the ground truth) of ``windows``."""
    from spikegan_tf.evaluation.compare import as_statistics, compare

    stats = as_statistics(windows, like=ref_stats, label=label)
    res = compare(ref_stats, {label: stats}, floor_stats, statistics=STATS,
                  reference_label="train", noise_floor_label="held-out")
    m, f = res.metrics[label], res.metrics["held-out"]
    return {
        "ratio_to_floor": {s: m[s].ratio_to_floor for s in STATS},
        "mae": {s: m[s].mae for s in STATS},
        "pearson_r": {s: m[s].pearson_r for s in STATS},
        "floor_mae": {s: f[s].mae for s in STATS},
        "mean_rate": float(stats.firing_probability.mean()),
        "ground_truth": against_truth(truth, stats, floor_stats),
    }


def row(label: str, ev: dict) -> str:
    r, g = ev["ratio_to_floor"], ev["ground_truth"]
    return (f"{label:<22} " + " ".join(f"{r[s]:>6.2f}" for s in STATS) + "  | "
            + " ".join(f"{g[s]['ratio_to_held_out']:>6.2f}" for s in GT_STATS)
            + f"  {g['covariance']['pearson_r']:>6.3f} {ev['mean_rate']:.4f}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from spikegan_tf.baselines import IndependentBernoulli
    from spikegan_tf.data.simulate import assemblies
    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.evaluation.compare import as_statistics
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.sampling import sample
    from spikegan_tf.gan.train_config import TrainConfig
    from spikegan_tf.gan.trainer import Trainer

    args.out.mkdir(parents=True, exist_ok=True)
    name = f"{args.neurons}x{args.bins}_seed{args.seed}"
    path = args.out / f"{name}.json"
    machine = machine_record()
    print(f"{machine.get('cpu_model')}: float32 matmul "
          f"{machine['matmul_float32']['gflop_per_s']:.0f} GFLOP/s", flush=True)

    t0, c0 = time.perf_counter(), time.process_time()
    n_total = args.train + args.held_out
    sim = assemblies(n_total, args.neurons, args.bins, seed=args.data_seed)
    gt = sim.ground_truth
    data = prepare_data(sim.spikes, args.bins, val_fraction=args.held_out / n_total,
                        seed=args.data_seed)
    del sim
    train, held = data.train.spikes, data.val
    sim_s = time.perf_counter() - t0
    print(f"simulated and split {n_total} windows of {args.neurons} x {args.bins}: train "
          f"{data.n_train}, held-out {len(held)}; mean rate {float(held.mean()):.4f}; "
          f"{sim_s:.0f} s", flush=True)
    truth = ground_truth_stats(gt)
    c1 = time.process_time()
    ref_stats = as_statistics(train, max_lag=1, label="train")
    floor_stats = as_statistics(held, like=ref_stats, label="held-out")
    stats_cpu_s = time.process_time() - c1
    print(f"statistics of train + held-out: {stats_cpu_s:.0f} CPU-s", flush=True)

    c1 = time.process_time()
    indep = IndependentBernoulli().fit(train, seed=args.seed)
    independent = evaluate(indep.sample(len(held), seed=args.seed + 1), "independent",
                           ref_stats, floor_stats, truth)
    independent["cpu_s"] = time.process_time() - c1
    # held-out windows against the exact truth, for scale (the ratio is 1 by definition)
    held_truth = against_truth(truth, floor_stats, floor_stats)
    train_truth = against_truth(truth, ref_stats, floor_stats)
    setup_cpu_s = time.process_time() - c0
    rss_data = peak_rss_mb()

    mc = ModelConfig(n_neurons=args.neurons, n_bins=args.bins)
    trainer = Trainer(mc, TrainConfig(seed=args.seed, eval_every=0, max_steps=10**9),
                      verbose=0)
    trainer.init_output_bias(data)
    record = {
        "benchmark": "scale_fidelity",
        "machine": machine,
        "settings": {**{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                     "simulator": "assemblies (defaults)", "model": mc.to_dict(),
                     "train": trainer.config.to_dict(), "n_train": data.n_train,
                     "n_held_out": len(held), "n_generated": len(held), "max_lag": 1,
                     "reference": "train split", "noise_floor": "held-out split",
                     "threads": {k: os.environ.get(k) for k in (
                         "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
                         "OMP_NUM_THREADS")}},
        "data": {"mean_rate_train": float(ref_stats.firing_probability.mean()),
                 "mean_rate_ground_truth": float(truth.firing_probability.mean()),
                 "simulate_and_split_s": sim_s, "statistics_cpu_s": stats_cpu_s,
                 "setup_cpu_s": setup_cpu_s,
                 "held_out_vs_ground_truth": held_truth, "train_vs_ground_truth": train_truth},
        "independent": independent,
        "peak_rss_mb_after_data": rss_data,
        "points": [],
        "notes": "ratio_to_floor: MAE(generated vs train) / MAE(held-out vs train), statistics "
                 "of spikegan_tf.evaluation.compare. ground_truth: MAE against the exact "
                 "simulation statistics; ratio_to_held_out = generated MAE / held-out MAE "
                 "(same number of windows). cpu_s and wall_s: the training process's CPU "
                 "time and the wall time with evaluation excluded; elapsed_s includes it.",
    }

    def write() -> None:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(record, indent=2, default=float) + "\n")
        tmp.replace(path)

    head = (f"{'':<22} {'ratio to the held-out floor':^27}  | {'MAE / held-out MAE, vs truth':^27}"
            f"  vs truth  mean\n{'':<22} " + " ".join(f"{SHORT[s]:>6}" for s in STATS) + "  | "
            + " ".join(f"{GT_SHORT[s]:>6}" for s in GT_STATS) + "  cov r   rate")
    print(head)
    print(row("independent", independent), flush=True)
    print(f"{'(held-out windows)':<22} {'':>27}  | {'':>27}  "
          f"{held_truth['covariance']['pearson_r']:>6.3f} "
          f"{float(floor_stats.firing_probability.mean()):.4f}", flush=True)
    print(f"{'step':>6} {'CPU-s':>7} {'wall-s':>7}", flush=True)

    step, budget = 0, 60.0 * args.cpu_minutes
    cpu0, wall0 = time.process_time(), time.perf_counter()
    start = wall0
    while True:
        cpu = time.process_time() - cpu0
        done = cpu >= budget
        if step % args.eval_every == 0 or done:
            t_eval, w_eval = time.process_time(), time.perf_counter()
            gen = sample(trainer.sampling_generator, len(held), seed=args.seed + 1)
            point = {"step": step, "cpu_s": round(cpu, 1),
                     "wall_s": round(w_eval - wall0, 1),  # training only, like cpu_s
                     "elapsed_s": round(w_eval - start, 1),  # evaluations included
                     **evaluate(gen, "Spike-GAN", ref_stats, floor_stats, truth)}
            del gen
            point["eval_cpu_s"] = time.process_time() - t_eval
            point["eval_wall_s"] = time.perf_counter() - w_eval
            point["peak_rss_mb"] = peak_rss_mb()
            cpu0 += time.process_time() - t_eval  # evaluation is not training time
            wall0 += time.perf_counter() - w_eval
            record["points"].append(point)
            write()
            print(row(f"{step:>6} {cpu:>7.0f} {point['wall_s']:>7.0f}", point), flush=True)
        if done:
            break
        n = min(args.chunk, args.eval_every - step % args.eval_every)
        trainer.train_steps(data, n)
        step += n
    record["steps"] = step
    record["cpu_s_per_step"] = record["points"][-1]["cpu_s"] / max(step, 1)
    record["peak_rss_mb"] = peak_rss_mb()
    if args.save_generator is not None:
        from spikegan_tf.gan import rundir

        rundir.save_model(trainer.sampling_generator, args.save_generator)
    write()
    print(f"{step} steps, {record['cpu_s_per_step']:.2f} CPU-s per step; peak RSS "
          f"{record['peak_rss_mb']:.0f} MB; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Conditional Spike-GAN on `simulate tuned`: per-condition fidelity, decoding, tuning (issue 16).

Simulates the tuned population (40 neurons, 8 stimuli, 32 bins, a continuous
stimulus trace, stimulus-dependent noise correlations), trains a conditional
Spike-GAN on labels and covariates for a CPU budget, draws one window per
held-out window's condition and measures, next to the held-out floor:

* every statistic per stimulus, as a multiple of that stimulus's floor;
* a logistic-regression decoder of the stimulus: real -> real, real ->
  generated, generated -> real (percentage points against real -> real);
* the generated tuning curves against the exact ground truth (Pearson r),
  next to the held-out windows' r;
* at the end, the same for the generator a run publishes: each class's rates
  calibrated to the training windows (``TrainConfig.calibrate_rates``, the
  default with labels; ``spikegan_tf.gan.calibration.calibrated_copy``).

Every ``--eval-every`` iterations (and at the end) it records the point with
iterations and the training process's CPU-seconds. Writes
``OUT/seed<K>.json`` with the machine and its float32 matmul calibration.

Usage::

    python benchmarks/conditional_tuned.py --cpu-minutes 20 --seed 0 \\
        --out benchmarks/results/conditional_tuned
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_record  # noqa: E402

STATS = ("firing_probability", "covariance", "lag1_covariance", "spike_count_distribution",
         "autocorrelogram", "time_course")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=32768, help="simulated windows")
    p.add_argument("--neurons", type=int, default=40)
    p.add_argument("--stimuli", type=int, default=8)
    p.add_argument("--bins", type=int, default=32)
    p.add_argument("--cpu-minutes", type=float, default=20.0, help="training CPU budget")
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument("--num-features", type=int, default=128)
    p.add_argument("--seed", type=int, default=0, help="training seed (the data: seed 0)")
    p.add_argument("--ema-decay", type=float, default=None,
                   help="TrainConfig.ema_decay (default: the package's, 0.999 with "
                        "conditions); the last iterate is evaluated too")
    p.add_argument("--out", type=Path, required=True)
    return p.parse_args(argv)


def evaluate_point(generator, data, tuning, seed: int) -> dict:
    from spikegan_tf.evaluation import (
        compare_by_condition,
        decoding_report,
        tuning_correlation,
        tuning_curves,
    )
    from spikegan_tf.gan.sampling import sample

    train, val = data.train.spikes, data.val
    lt, lv = data.conditions.labels, data.val_conditions.labels
    gen = sample(generator, len(val), seed, conditions=data.val_conditions)
    comp = compare_by_condition(train, lt, val, lv, gen, lv, statistics=STATS)
    summary = comp.summary()
    dec = decoding_report(train, lt, val, lv, gen, lv)
    k = data.conditions.n_classes
    return {
        "ratio_median": {s: summary[s]["median"] for s in STATS},
        "ratio_max": {s: summary[s]["max"] for s in STATS},
        "per_condition": {s: [float(r) for r in comp.ratios(s)] for s in STATS},
        "decoding": dec,
        "tuning_r_generated": float(tuning_correlation(tuning_curves(gen, lv, k), tuning)),
        "tuning_r_held_out": float(tuning_correlation(tuning_curves(val, lv, k), tuning)),
        "rate_ratio": float(gen.mean() / val.mean()),
    }


def _final(trainer, data, gt, point: dict, args: argparse.Namespace) -> None:
    """The last point also evaluates the generator with each class's rates calibrated."""
    from spikegan_tf.gan import rundir
    from spikegan_tf.gan.calibration import calibrated_copy

    # what a run with these settings publishes as generator.keras
    calibrated = calibrated_copy(trainer.sampling_generator, trainer.model_config, data,
                                 seed=trainer.config.seed)
    point["calibrated"] = evaluate_point(calibrated, data, gt["tuning"], seed=1)
    m, d = point["calibrated"]["ratio_median"], point["calibrated"]["decoding"]
    print(f"{'(calibrated)':>15} " + " ".join(f"{m[s]:>6.2f}" for s in STATS)
          + f" {d['real_to_generated_pp']:>8.1f} {d['generated_to_real_pp']:>8.1f}"
          f" {point['calibrated']['tuning_r_generated']:>8.3f}", flush=True)
    suffix = _suffix(trainer)
    rundir.save_model(trainer.sampling_generator,
                      args.out / f"seed{args.seed}{suffix}_generator.keras")


def _suffix(trainer) -> str:
    d = trainer.config.ema_decay
    return f"_ema{d:g}" if d else ""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from spikegan_tf.data.simulate import tuned
    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.train_config import TrainConfig
    from spikegan_tf.gan.trainer import Trainer

    args.out.mkdir(parents=True, exist_ok=True)
    machine = machine_record()
    print(f"{machine.get('cpu_model')}: float32 matmul "
          f"{machine['matmul_float32']['gflop_per_s']:.0f} GFLOP/s", flush=True)
    sim = tuned(args.samples, args.neurons, args.bins, n_stimuli=args.stimuli, seed=0)
    gt = sim.ground_truth
    data = prepare_data(sim.spikes, args.bins, val_fraction=0.1, seed=0,
                        conditions={"labels": gt["labels"], "covariates": gt["covariates"]})
    mc = ModelConfig(n_neurons=args.neurons, n_bins=args.bins, num_features=args.num_features,
                     n_classes=data.conditions.n_classes,
                     n_covariates=data.conditions.n_covariates)
    # the loop below runs the steps and stops on the CPU budget
    trainer = Trainer(mc, TrainConfig(seed=args.seed, eval_every=0, max_steps=10**9,
                                      ema_decay=args.ema_decay), verbose=0)
    trainer.init_output_bias(data)
    points, cpu0, wall0 = [], time.process_time(), time.perf_counter()
    header = f"{'step':>7} {'CPU-s':>7} {'rate':>6} {'cov':>6} {'lag1':>6} {'P(K)':>6} " \
             f"{'ACG':>6} {'tc':>6} {'r->g pp':>8} {'g->r pp':>8} {'tuning r':>8}"
    print(header, flush=True)
    step, budget = 0, 60 * args.cpu_minutes
    while True:
        cpu = time.process_time() - cpu0
        done = cpu >= budget
        if step % args.eval_every == 0 or done:
            t_eval = time.process_time()
            point = {"step": step, "cpu_s": round(cpu, 1),
                     "wall_s": round(time.perf_counter() - wall0, 1),
                     **evaluate_point(trainer.sampling_generator, data, gt["tuning"], seed=1)}
            if trainer.generator_ema is not None:  # the same training's last iterate
                point["last_iterate"] = evaluate_point(trainer.generator, data, gt["tuning"],
                                                       seed=1)
            cpu0 += time.process_time() - t_eval  # evaluation is not training time
            points.append(point)
            m, d = point["ratio_median"], point["decoding"]
            print(f"{step:>7} {cpu:>7.0f} " + " ".join(f"{m[s]:>6.2f}" for s in STATS)
                  + f" {d['real_to_generated_pp']:>8.1f} {d['generated_to_real_pp']:>8.1f}"
                  f" {point['tuning_r_generated']:>8.3f}", flush=True)
            if "last_iterate" in point:
                m, d = point["last_iterate"]["ratio_median"], point["last_iterate"]["decoding"]
                print(f"{'(last)':>15} " + " ".join(f"{m[s]:>6.2f}" for s in STATS)
                      + f" {d['real_to_generated_pp']:>8.1f} {d['generated_to_real_pp']:>8.1f}",
                      flush=True)
            record = {"benchmark": "conditional_tuned", "machine": machine,
                      "settings": {**vars(args), "out": str(args.out),
                                   "model": mc.to_dict(), "train": trainer.config.to_dict(),
                                   "n_train": data.n_train, "n_val": len(data.val),
                                   "threads": {k: os.environ.get(k) for k in
                                               ("TF_NUM_INTRAOP_THREADS",
                                                "TF_NUM_INTEROP_THREADS")}},
                      "points": points}
            name = f"seed{args.seed}" + _suffix(trainer)
            tmp = args.out / f".{name}.json.tmp"
            tmp.write_text(json.dumps(record, indent=2, default=float) + "\n")
            tmp.replace(args.out / f"{name}.json")
        if done:
            _final(trainer, data, gt, points[-1], args)
            record["points"] = points
            tmp.write_text(json.dumps(record, indent=2, default=float) + "\n")
            tmp.replace(args.out / f"{name}.json")
            break
        trainer.train_steps(data, 100)
        step += 100
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

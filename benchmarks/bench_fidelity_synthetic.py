"""Training variants compared on simulated data, several seeds, against a held-out floor.

Each variant is a set of :class:`~spikegan_tf.gan.train_config.TrainConfig` or
:class:`~spikegan_tf.gan.config.ModelConfig` overrides (or a recipe, with its model).
Every (dataset, variant, seed) trains a small model for ``--steps`` generator iterations,
and every ``--eval-every`` iterations draws ``--n-eval`` windows and measures, against a
fresh held-out draw of the simulator:

* the mean generated firing rate as a fraction of the data's (1.0 = no bias);
* MAEs of per-neuron firing rates, covariances and the spike-count
  distribution, and each as a multiple of the floor (held-out vs training
  data);

against iterations and CPU-seconds of the training process. The JSON records
the machine (CPU model, SIMD flags, float32 matmul GFLOP/s) measured in the
same run.

Usage::

    python benchmarks/bench_fidelity_synthetic.py --datasets sparse,uniform \\
        --variants "spikes;probabilities:critic_input=probabilities" --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from _machine import machine_record  # noqa: E402

# name -> (simulator, keyword arguments); the windows are 16 neurons x 32 bins
DATASETS = {
    "sparse": ("uniform", {"firing_rate": 0.04, "correlation": 0.5}),
    "uniform": ("uniform", {}),
    "packets": ("packets", {}),
}


def parse_variants(text: str) -> list[tuple[str, dict]]:
    """``"name:key=value,key=value;name2"`` -> [(name, overrides)]."""
    out = []
    for item in filter(None, (s.strip() for s in text.split(";"))):
        name, _, rest = item.partition(":")
        overrides: dict = {}
        for pair in filter(None, (s.strip() for s in rest.split(","))):
            key, _, value = pair.partition("=")
            try:
                overrides[key.strip()] = json.loads(value)
            except json.JSONDecodeError:
                overrides[key.strip()] = value
        out.append((name.strip(), overrides))
    return out


def simulate(dataset: str, n: int, seed: int) -> np.ndarray:
    from spikegan_tf.data import simulate as sim

    kind, kwargs = DATASETS[dataset]
    return getattr(sim, kind)(n, 16, 32, seed=seed, **kwargs).spikes


def run_one(dataset: str, overrides: dict, seed: int, args: argparse.Namespace) -> dict:
    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.held_out import validation_errors
    from spikegan_tf.gan.sampling import sample
    from spikegan_tf.gan.train_config import TrainConfig, recipe_settings
    from spikegan_tf.gan.trainer import Trainer

    train = simulate(dataset, args.n_train, seed=1000 + seed)
    held = simulate(dataset, args.n_eval, seed=2000 + seed)
    floor = validation_errors(held, train[: args.n_eval])
    true_rate = float(held.mean())
    overrides = dict(overrides)
    recipe = overrides.pop("recipe", None)
    model_fields = {f.name for f in dataclasses.fields(ModelConfig)}
    model_overrides = {k: overrides.pop(k) for k in list(overrides) if k in model_fields}
    base = dict(batch_size=64, learning_rate=args.learning_rate, max_steps=args.steps,
                eval_every=0, seed=seed)
    base.update(overrides)
    cfg = TrainConfig.from_recipe(recipe, **base) if recipe else TrainConfig(**base)
    recipe_model = recipe_settings(recipe)["model"] if recipe else {}
    recipe_model.pop("n_bins", None)  # the windows here are 32 bins
    model = ModelConfig(**{"n_neurons": 16, "n_bins": 32, "num_features": args.num_features,
                           **recipe_model, **model_overrides})
    trainer = Trainer(model, cfg, verbose=0)
    data = prepare_data(train, val_fraction=0.0)
    if cfg.init_output_bias:
        trainer.init_output_bias(data)
    curve = []
    cpu0, wall0, step = time.process_time(), time.perf_counter(), 0
    cpu_train = 0.0
    while step < args.steps:
        n = min(args.eval_every, args.steps - step)
        c = time.process_time()
        trainer.train_steps(data, n)
        cpu_train += time.process_time() - c
        step += n
        fake = sample(trainer.generator, args.n_eval, seed=seed + 7)
        err = validation_errors(held, fake)
        curve.append({"step": step, "cpu_s": round(cpu_train, 2),
                      "rate_ratio": float(fake.mean()) / true_rate,
                      **err, **{k.replace("_mae", "_x_floor"): err[k] / floor[k] for k in err}})
    return {"dataset": dataset, "seed": seed, "overrides": {**overrides, **model_overrides},
            "model": model.to_dict(), "recipe": recipe,
            "floor": floor, "true_rate": true_rate, "curve": curve,
            "wall_s": time.perf_counter() - wall0, "cpu_s": time.process_time() - cpu0}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", default="sparse,uniform,packets")
    p.add_argument("--variants", default="default;paper:recipe=paper")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--n-train", type=int, default=8192)
    p.add_argument("--n-eval", type=int, default=4096)
    p.add_argument("--num-features", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=3e-4)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results"
                   / "bench_fidelity_synthetic.json")
    args = p.parse_args(argv)
    variants = parse_variants(args.variants)
    seeds = [int(s) for s in args.seeds.split(",")]
    machine = machine_record()
    print(f"{machine['cpu_model']}; float32 matmul "
          f"{machine['matmul_float32']['gflop_per_s']:.0f} GFLOP/s", flush=True)
    runs = []
    for dataset in args.datasets.split(","):
        for seed in seeds:  # seeds outermost within a dataset: variants interleave in time
            for name, overrides in variants:
                r = run_one(dataset, overrides, seed, args)
                r["variant"] = name
                runs.append(r)
                last = r["curve"][-1]
                print(f"{dataset:8s} {name:16s} seed {seed}: rate x{last['rate_ratio']:.3f}  "
                      f"rate {last['firing_rate_x_floor']:.2f}x  cov "
                      f"{last['covariance_x_floor']:.2f}x  P(K) "
                      f"{last['spike_count_x_floor']:.2f}x floor  ({r['cpu_s']:.0f} CPU-s)",
                      flush=True)
    print("\nmedian over seeds at the last step (x floor; rate ratio = generated/data mean rate)")
    print(f"{'dataset':10s}{'variant':18s}{'rate ratio':>11s}{'rate':>8s}{'cov':>8s}"
          f"{'P(K)':>8s}{'CPU-s':>8s}")
    summary = []
    for dataset in args.datasets.split(","):
        for name, _ in variants:
            last = [r["curve"][-1] for r in runs if r["dataset"] == dataset
                    and r["variant"] == name]
            cpu = [r["cpu_s"] for r in runs if r["dataset"] == dataset and r["variant"] == name]
            row = {"dataset": dataset, "variant": name, "cpu_s": statistics.median(cpu)}
            for key in ("rate_ratio", "firing_rate_x_floor", "covariance_x_floor",
                        "spike_count_x_floor"):
                row[key] = statistics.median(c[key] for c in last)
            summary.append(row)
            print(f"{dataset:10s}{name:18s}{row['rate_ratio']:11.3f}"
                  f"{row['firing_rate_x_floor']:8.2f}{row['covariance_x_floor']:8.2f}"
                  f"{row['spike_count_x_floor']:8.2f}{row['cpu_s']:8.0f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "bench_fidelity_synthetic", "machine": machine,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "summary": summary, "runs": runs}, indent=1) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

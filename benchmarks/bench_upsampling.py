"""Generator upsampling: resize-convolution vs transposed convolution, fidelity and speed.

Trains the same small semi-convolutional Spike-GAN with each upsampling on the
paper's simulated ``uniform`` dataset (16 neurons x 32 bins, groups of 4,
refractory period 2), for the same number of steps and seeds, and compares
(a) the errors of generated windows' statistics against held-out real windows
(firing probability, covariance, spike-count distribution, time course,
autocorrelogram: the last two expose temporal artefacts such as the
checkerboard pattern transposed convolutions are known for) and (b) training
speed (iterations per CPU second) and generator FLOPs.

Usage::

    python benchmarks/bench_upsampling.py                  # ~25 min on 2 busy cores
    python benchmarks/bench_upsampling.py --steps 500 --seeds 0

Writes ``benchmarks/results/bench_upsampling.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def errors(fake: np.ndarray, real: np.ndarray) -> dict[str, float]:
    from spikegan_tf import statistics as stats

    out = {}
    for name in ("firing_probability", "covariance", "spike_count_distribution",
                 "time_course", "autocorrelogram"):
        fn = getattr(stats, name)
        out[name] = float(np.mean(np.abs(np.asarray(fn(fake)) - np.asarray(fn(real)))))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=6000, help="generator steps per run (6000)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--num-features", type=int, default=32)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" /
                                             "bench_upsampling.json"))
    args = parser.parse_args(argv)

    from spikegan_tf.data import simulate, split_windows
    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.sampling import sample
    from spikegan_tf.gan.train_config import TrainConfig
    from spikegan_tf.gan.trainer import Trainer

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_train import forward_flops

    sim = simulate.uniform(8192, 16, 32, seed=100)
    train, held_out = split_windows(sim.spikes, (0.8, 0.2), seed=100)
    data = prepare_data(train, val_fraction=0.0)
    floor = errors(held_out[: len(held_out) // 2], held_out[len(held_out) // 2:])

    runs = []
    for seed in args.seeds:
        for upsampling in ("resize", "transpose"):
            model = ModelConfig(n_neurons=16, n_bins=32, num_features=args.num_features,
                                upsampling=upsampling)
            trainer = Trainer(model, TrainConfig(max_steps=args.steps, seed=seed, eval_every=0),
                              verbose=0)
            trainer.train_steps(data, 10)  # trace outside the timing
            w0, c0 = time.perf_counter(), time.process_time()
            trainer.train_steps(data, args.steps - 10)
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            fake = sample(trainer.generator, len(held_out), seed=seed)
            row = {"upsampling": upsampling, "seed": seed, "steps": args.steps,
                   "iters_per_s": (args.steps - 10) / wall,
                   "iters_per_cpu_s": (args.steps - 10) / cpu,
                   "generator_mflop_per_sample": forward_flops(model)[0] / 1e6,
                   "errors": errors(fake, held_out)}
            runs.append(row)
            print(json.dumps(row), flush=True)

    summary = {}
    for upsampling in ("resize", "transpose"):
        rows = [r for r in runs if r["upsampling"] == upsampling]
        summary[upsampling] = {
            "iters_per_cpu_s_median": statistics.median(r["iters_per_cpu_s"] for r in rows),
            "generator_mflop_per_sample": rows[0]["generator_mflop_per_sample"],
            "errors_mean": {k: float(np.mean([r["errors"][k] for r in rows]))
                            for k in rows[0]["errors"]},
        }
    print("\nnoise floor (held-out half vs half): "
          + ", ".join(f"{k} {v:.2e}" for k, v in floor.items()))
    print(f"{'statistic':<26}{'resize':>12}{'transpose':>12}")
    for k in summary["resize"]["errors_mean"]:
        print(f"{k:<26}{summary['resize']['errors_mean'][k]:>12.2e}"
              f"{summary['transpose']['errors_mean'][k]:>12.2e}")
    for k in ("iters_per_cpu_s_median", "generator_mflop_per_sample"):
        print(f"{k:<26}{summary['resize'][k]:>12.2f}{summary['transpose'][k]:>12.2f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "bench_upsampling", "runs": runs,
                               "summary": summary, "noise_floor": floor,
                               "load_average": os.getloadavg()}, indent=2) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

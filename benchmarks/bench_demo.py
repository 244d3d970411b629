"""What `spikegan demo` shows after N iterations: Spike-GAN and the independent model against the floor.

The demo's exact setting (the paper's simulated ``uniform`` dataset, 8192 windows of
16 neurons x 32 bins, 20 % held out as the noise floor, 32 critic features) trained
with the package defaults; every ``--eval-every`` iterations the six headline
statistics of as many generated windows as were held out are compared with the
training windows, as ratios to the held-out floor. Variants (e.g. the generator's
upsampling) and seeds run one after the other in this process, so they share the
machine (``--dataset packets`` trains on the ``packets`` simulator instead)::

    python benchmarks/bench_demo.py --steps 4000 --seeds 0,1,2 \
        --variants "transpose;resize:upsampling=resize"

Prints a table and writes ``benchmarks/results/bench_demo.json`` (with the machine's
CPU, SIMD flags and float32 matmul GFLOP/s).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_record  # noqa: E402


def _evaluated(gen, c0: float, n: int, seed: int, ref, floor, train_rate: float,
               indep_ratio: dict, **extra) -> dict:
    """The record of ``n`` windows of ``gen``; ``c0``: the CPU time its calibration began."""
    from spikegan_tf.evaluation.compare import HEADLINE, compare
    from spikegan_tf.gan.sampling import sample

    cal_s = time.process_time() - c0
    fake = sample(gen, n, seed=seed)
    stats = HEADLINE + ("isi_distribution",)
    res = compare(ref, {"Spike-GAN": fake}, floor, statistics=stats)
    ratio = {s: res.ratio("Spike-GAN", s) for s in stats}
    return {"ratio": ratio, "rate_ratio": float(fake.mean() / train_rate),
            "calibrate_cpu_s": round(cal_s, 2), **extra,
            "beats_independent": all(ratio[s] < indep_ratio[s] for s in HEADLINE)}


def _variants(text: str) -> list[tuple[str, dict]]:
    out = []
    for item in text.split(";"):
        name, _, rest = item.partition(":")
        fields = {}
        for pair in filter(None, rest.split(",")):
            key, _, value = pair.partition("=")
            try:
                fields[key] = json.loads(value)
            except json.JSONDecodeError:
                fields[key] = value
        out.append((name, fields))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="uniform", choices=("uniform", "packets"),
                   help="the simulator (16 neurons x 32 bins, 8,192 windows; the demo's: uniform)")
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--variants", default="transpose;resize:upsampling=resize",
                   help="name[:field=value,...] separated by ';' (ModelConfig or TrainConfig fields)")
    p.add_argument("--calibrate", action="store_true",
                   help="also evaluate a copy whose output bias is calibrated to the training "
                        "data's rates (spikegan_tf.gan.networks.calibrate_output_bias) and the "
                        "generator the run publishes (rates and, by default, positions "
                        "calibrated and a spike-history filter: Trainer.published_generator), "
                        "and that generator without the filter (and without the couplings)")
    p.add_argument("--out", type=Path,
                   default=Path(__file__).resolve().parent / "results" / "bench_demo.json")
    args = p.parse_args()

    import dataclasses

    from spikegan_tf.baselines import IndependentBernoulli
    from spikegan_tf.data import simulate, split_windows
    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.evaluation.compare import HEADLINE, as_statistics, compare
    from spikegan_tf.gan.calibration import calibrated_copy
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.networks import build_generator, calibrate_output_bias
    from spikegan_tf.gan.sampling import sample
    from spikegan_tf.gan.train_config import TrainConfig
    from spikegan_tf.gan.trainer import Trainer

    machine = machine_record()
    print(f"{machine['cpu_model']}: float32 matmul "
          f"{machine['matmul_float32']['gflop_per_s']:.0f} GFLOP/s", flush=True)
    model_fields = {f.name for f in dataclasses.fields(ModelConfig)}
    runs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        sim = getattr(simulate, args.dataset)(8192, 16, 32, seed=seed)
        train, held_out = split_windows(sim.spikes, (0.8, 0.2), seed=seed)
        ref = as_statistics(train, label="train")
        floor = as_statistics(held_out, like=ref, label="held-out")
        indep = IndependentBernoulli().fit(train, seed=seed).sample(len(held_out), seed=seed)
        base = compare(ref, {"independent": indep}, floor, statistics=HEADLINE)
        indep_ratio = {s: base.ratio("independent", s) for s in HEADLINE}
        data = prepare_data(train, val_fraction=0.1, seed=seed)
        for name, fields in _variants(args.variants):
            mf = {k: v for k, v in fields.items() if k in model_fields}
            tf_ = {k: v for k, v in fields.items() if k not in model_fields}
            model = ModelConfig(n_neurons=16, n_bins=32, **{"num_features": 32, **mf})
            cfg = TrainConfig(max_steps=args.steps, seed=seed, eval_every=0, **tf_)
            trainer = Trainer(model, cfg, verbose=0)
            if cfg.init_output_bias:
                trainer.init_output_bias(data)
            curve, cpu = [], 0.0
            while int(trainer.step.numpy()) < args.steps:
                c0 = time.process_time()
                trainer.train_steps(data, args.eval_every)
                cpu += time.process_time() - c0
                fake = sample(trainer.sampling_generator, len(held_out), seed=seed)
                res = compare(ref, {"Spike-GAN": fake}, floor, statistics=HEADLINE)
                ratio = {s: res.ratio("Spike-GAN", s) for s in HEADLINE}
                step = int(trainer.step.numpy())
                curve.append({"step": step, "cpu_s": round(cpu, 1), "ratio": ratio,
                              "rate_ratio": float(fake.mean() / train.mean()),
                              "beats_independent": all(ratio[s] < indep_ratio[s]
                                                       for s in HEADLINE)})
                if args.calibrate:
                    c0 = time.process_time()
                    gen = build_generator(model)
                    gen.set_weights(trainer.sampling_generator.get_weights())
                    calibrate_output_bias(gen, model, train.mean(axis=(0, 2)), seed=seed + 1)
                    seen = (len(held_out), seed, ref, floor, train.mean(), indep_ratio)
                    curve[-1]["calibrated"] = _evaluated(gen, c0, *seen)
                    # what the run publishes (TrainConfig.calibrate_rates and
                    # calibrate_positions as they resolve): rates and positions calibrated
                    c0 = time.process_time()
                    curve[-1]["published"] = _evaluated(
                        trainer.published_generator(), c0, *seen,
                        positions=bool(trainer.config.calibrate_positions),
                        history_lags=trainer.config.calibrate_history,
                        coupling=bool(trainer.config.calibrate_coupling),
                        same_bin=bool(trainer.config.calibrate_same_bin))
                    keys = ("calibrated", "published")
                    # the same weights published without the same-bin coupling, without the
                    # coupling, and without the filter
                    ablations = []
                    if trainer.config.calibrate_same_bin:
                        ablations.append(("no_same_bin",
                                          {"history_lags": trainer.config.calibrate_history,
                                           "coupling": True}))
                    if trainer.config.calibrate_coupling:
                        ablations.append(("no_coupling",
                                          {"history_lags": trainer.config.calibrate_history}))
                    if trainer.config.calibrate_history:
                        ablations.append(("no_history", {}))
                    for key, kept in ablations:
                        c0 = time.process_time()
                        curve[-1][key] = _evaluated(
                            calibrated_copy(trainer.sampling_generator, model, data, seed=seed,
                                            positions=True, **kept), c0, *seen)
                        keys += (key,)
                    for key in keys:
                        r = curve[-1][key]["ratio"]
                        print(f"  {key:10s} " + " ".join(f"{s[:8]} {r[s]:5.2f}" for s in HEADLINE),
                              flush=True)
                print(f"seed {seed} {name:10s} {step:6d} {cpu:6.0f} CPU-s  "
                      + " ".join(f"{s[:8]} {ratio[s]:5.2f}" for s in HEADLINE)
                      + f"  beats indep: {curve[-1]['beats_independent']}", flush=True)
            runs.append({"seed": seed, "variant": name, "fields": fields,
                         "independent": indep_ratio, "curve": curve})
    print("independent model (per seed): " + "; ".join(
        " ".join(f"{s[:8]} {r['independent'][s]:.2f}" for s in HEADLINE)
        for r in runs if r["variant"] == _variants(args.variants)[0][0]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "bench_demo", "machine": machine,
                                    "args": {k: str(v) for k, v in vars(args).items()},
                                    "runs": runs}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

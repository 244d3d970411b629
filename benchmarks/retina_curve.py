"""Convergence curve on the retina: all six headline statistics against iterations and CPU time.

Trains Spike-GAN on the first 80% of the recording (the split of
``benchmarks/retina.py``: last 20% held out, a one-window gap) and, every
``--eval-every`` generator iterations, draws as many windows as the test split
holds disjoint windows (1,769 for the retina) from the generator a run publishes
(its rates calibrated to the training windows when ``calibrate_rates`` resolves
on, as by default, and each (neuron, bin) too when ``calibrate_positions`` does;
the uncalibrated weights' ratios are kept as ``ratio_uncalibrated``, those with
the rates alone calibrated as ``ratio_rates_only``) and measures each headline
statistic's MAE against the training data as a multiple of the test-vs-train
noise floor (1.0 = as close as unseen real data). Each point records the
iteration, the training process's CPU-seconds (cumulative over resumed
sessions) and wall seconds. The run checkpoints at every point, so a budget can
be spent in chunks: rerunning the same command resumes.

Writes ``OUT/curve.jsonl`` (one line a point), ``OUT/curve.json`` (the points,
the settings and the machine with its float32 matmul calibration, measured in
each session), ``OUT/curve.png`` and ``OUT/generator.keras`` (the latest model).

Usage::

    python benchmarks/retina_curve.py --minutes 60 --out benchmarks/results/retina_curve_default
    python benchmarks/retina_curve.py --recipe paper --minutes 60 --out .../retina_curve_paper
    python benchmarks/retina_curve.py --model-set architecture=temporal --minutes 20 --out ...
    python benchmarks/retina_curve.py --set ema_decay=0.999 ...   # + the last iterate's ratios
    python benchmarks/retina_curve.py --model-set architecture=temporal --train-bins 64 ...
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _machine import machine_record  # noqa: E402

RAW = "original_data_num_neurons_50_1.mat"


def _default_data() -> Path | None:
    env = os.environ.get("SPIKEGAN_RETINA_DIR")
    base = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data" / "retina"
    return base / RAW if (base / RAW).exists() else None


def retina_splits(data: Path) -> tuple:
    """``(train, test)`` rasters of the recording ``data`` as this benchmark trains on it: the
    last 20% held out, a 32-bin gap."""
    from spikegan_tf.data import load_spikes, split_raster

    return split_raster(load_spikes(data, key="data").spikes, (0.8, 0.2), gap=32)


def load_run(curve: Path, data: Path) -> tuple:
    """``(config, train, test)`` of a run directory: its ``ModelConfig`` (``curve.json``) and
    the recording ``data`` split as this benchmark trains on it (:func:`retina_splits`)."""
    return (load_config(curve), *retina_splits(data))


def load_config(curve: Path):
    """The ``ModelConfig`` of a run directory (``curve.json``), without reading the recording."""
    from spikegan_tf.gan.config import ModelConfig

    return ModelConfig.from_dict(json.loads((curve / "curve.json").read_text())["settings"]["model"])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--key", default="data")
    p.add_argument("--minutes", type=float, default=60.0,
                   help="wall budget of this session (it binds with --cpu-minutes too: raise "
                        "it for a CPU budget longer than an hour)")
    p.add_argument("--max-steps", type=int, default=None, help="stop at this iteration")
    p.add_argument("--keep-at", type=int, action="append", default=[], metavar="STEP",
                   help="also keep that point's published generator as generator_STEP.keras")
    p.add_argument("--cpu-minutes", type=float, default=None,
                   help="stop once training has used this many CPU-minutes (all sessions)")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--recipe", default="default", choices=("default", "paper", "raster"),
                   help="TrainConfig recipe: its training settings only (the model is "
                        "--model-set's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="TrainConfig override (JSON value), e.g. --set learning_rate=3e-4")
    p.add_argument("--num-features", type=int, default=128)
    p.add_argument("--model-set", action="append", default=[], metavar="KEY=VALUE",
                   help="ModelConfig override (JSON value), e.g. --model-set architecture=temporal")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-bins", type=int, default=32,
                   help="train on windows of this many bins (temporal architecture only: its "
                        "first 32 bins are a 32-bin window, which is what is evaluated)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--plot-only", action="store_true", help="redraw curve.png from curve.jsonl")
    args = p.parse_args(argv)
    if args.data is None and not args.plot_only:
        p.error("give --data PATH/original_data_num_neurons_50_1.mat or set SPIKEGAN_RETINA_DIR")
    return args


def _overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def plot(out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spikegan_tf.evaluation.compare import HEADLINE

    points = [json.loads(line) for line in (out / "curve.jsonl").read_text().splitlines() if line]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, xkey, xlabel in ((axes[0], "step", "generator iterations"),
                             (axes[1], "cpu_s", "training CPU-seconds")):
        x = [p[xkey] for p in points]
        for stat in HEADLINE:
            ax.plot(x, [p["ratio"][stat] for p in points], label=stat, marker=".")
        ax.axhline(1.0, color="k", lw=1)
        ax.axhline(1.5, color="k", lw=1, ls="--")
        ax.set_xlabel(xlabel)
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("MAE vs train / test-vs-train floor")
    axes[1].legend(fontsize=8)
    fig.suptitle(f"Retina convergence ({out.name}); dashed: 1.5x target, solid: floor")
    fig.tight_layout()
    path = out / "curve.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out: Path = args.out
    if args.plot_only:
        print(plot(out))
        return 0
    import tensorflow as tf

    from spikegan_tf.data import load_spikes, split_raster
    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.evaluation.compare import HEADLINE, as_statistics, compare
    from spikegan_tf.gan import rundir
    from spikegan_tf.gan.calibration import calibrated_copy
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.sampling import sample
    from spikegan_tf.gan.train_config import TrainConfig
    from spikegan_tf.gan.trainer import Trainer

    out.mkdir(parents=True, exist_ok=True)
    machine = machine_record()
    print(f"{machine['cpu_model']}: float32 matmul "
          f"{machine['matmul_float32']['gflop_per_s']:.0f} GFLOP/s", flush=True)
    raster = load_spikes(args.data, key=args.key).spikes
    n_bins = 32
    train, test = split_raster(raster, (0.8, 0.2), gap=n_bins)
    n_gen = (len(test) - n_bins) // n_bins + 1  # disjoint test windows
    ref = as_statistics(train, n_bins=n_bins, label="train")
    floor = as_statistics(test, like=ref, n_bins=n_bins, label="test")

    cfg = TrainConfig.from_recipe(args.recipe, max_steps=None, max_minutes=args.minutes,
                                  eval_every=0, seed=args.seed, **_overrides(args.set))
    model = ModelConfig(n_neurons=raster.shape[1], n_bins=args.train_bins,
                        num_features=args.num_features, **_overrides(args.model_set))
    if args.train_bins != n_bins and model.architecture != "temporal":
        raise SystemExit("--train-bins needs --model-set architecture=temporal (stationary "
                         "windows, whose first 32 bins are a 32-bin window)")
    settings = {"recipe": args.recipe, "train": cfg.resolve(model).to_dict(),
                "model": model.to_dict(),
                "n_generated": n_gen, "eval_every": args.eval_every}
    state_path = out / "curve.json"
    if state_path.exists():
        saved = json.loads(state_path.read_text())
        # a model saved before a ModelConfig field existed has that field's default
        same = {"recipe": saved["settings"]["recipe"] == args.recipe,
                "model": ModelConfig.from_dict(saved["settings"]["model"]) == model}
        for key, ok in same.items():
            if not ok:
                raise SystemExit(f"{state_path}: {key} differs from this run's; use another --out")
        sessions = saved["sessions"]
    else:
        sessions = []
    data = prepare_data(train, args.train_bins, val_fraction=0.0)
    trainer = Trainer(model, cfg, verbose=0)
    manager = tf.train.CheckpointManager(trainer.checkpoint, str(out / "checkpoints"),
                                         max_to_keep=2)
    curve_path = out / "curve.jsonl"
    points = ([json.loads(x) for x in curve_path.read_text().splitlines() if x]
              if curve_path.exists() else [])
    if manager.latest_checkpoint:
        names = [name for name, _ in tf.train.list_variables(manager.latest_checkpoint)]
        start_ema = (trainer.generator_ema is not None
                     and not any(n.startswith("generator_ema/") for n in names))
        # a continuation that turns the weight average on restores everything else
        ckpt = trainer.checkpoint if not start_ema else tf.train.Checkpoint(
            generator=trainer.generator, critic=trainer.critic,
            generator_optimizer=trainer.g_optimizer, critic_optimizer=trainer.d_optimizer,
            step=trainer.step, rng=trainer.rng)
        ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        step = int(trainer.step.numpy())
        if start_ema:  # and starts the average at the restored weights
            trainer.generator_ema.set_weights(trainer.generator.get_weights())
            print(f"weight average (ema_decay={cfg.ema_decay}) started at step {step}",
                  flush=True)
        points = [p for p in points if p["step"] <= step]
    else:
        step = 0
        if cfg.init_output_bias:
            trainer.init_output_bias(data)
        points = []
    cpu_base = points[-1]["cpu_s"] if points else 0.0
    wall_base = points[-1]["wall_s"] if points else 0.0
    sessions.append({"start_step": step, "machine": machine})
    deadline = time.monotonic() + 60 * args.minutes
    cpu0, wall0 = time.process_time(), time.perf_counter()
    print(f"{'step':>7s}{'CPU-s':>8s}" + "".join(f"{s[:12]:>13s}" for s in HEADLINE)
          + f"{'rate ratio':>11s}", flush=True)
    cpu_cap = None if args.cpu_minutes is None else 60 * args.cpu_minutes
    while time.monotonic() < deadline and (args.max_steps is None or step < args.max_steps) \
            and (cpu_cap is None or (points[-1]["cpu_s"] if points else 0.0) < cpu_cap):
        n = args.eval_every - step % args.eval_every
        if args.max_steps is not None:
            n = min(n, args.max_steps - step)
        trainer.train_steps(data, n)
        step = int(trainer.step.numpy())
        cpu = cpu_base + time.process_time() - cpu0
        wall = wall_base + time.perf_counter() - wall0
        cpu_eval0 = time.process_time()
        stats = HEADLINE + ("isi_distribution",)
        # the published generator (calibrated as TrainConfig.calibrate_rates and
        # calibrate_positions resolve, as generator.keras is written), the sampled one
        # uncalibrated, and the last iterate
        published = trainer.published_generator()
        published_step = trainer.published_step()
        fakes = {"Spike-GAN": sample(published, n_gen, seed=args.seed + 1)}
        if published is not trainer.sampling_generator:
            fakes["uncalibrated"] = sample(trainer.sampling_generator, n_gen, seed=args.seed + 1)
        if trainer.config.calibrate_positions:  # and with the rates alone calibrated
            rates_only = calibrated_copy(trainer.sampling_generator, model, data, seed=cfg.seed)
            fakes["rates only"] = sample(rates_only, n_gen, seed=args.seed + 1)
        if trainer.generator_ema is not None:
            fakes["last iterate"] = sample(trainer.generator, n_gen, seed=args.seed + 1)
        fakes = {name: x[:, :, :n_bins] for name, x in fakes.items()}
        res = compare(ref, fakes, floor, statistics=stats)
        cpu_base -= time.process_time() - cpu_eval0  # evaluation is not training time
        fake = fakes["Spike-GAN"]
        ratio = {s: res.ratio("Spike-GAN", s) for s in stats}
        point = {"step": step, "cpu_s": round(cpu, 1), "wall_s": round(wall, 1),
                 "ratio": ratio, "rate_ratio": float(fake.mean() / train.mean())}
        if "uncalibrated" in fakes:
            point["ratio_uncalibrated"] = {s: res.ratio("uncalibrated", s) for s in stats}
            point["rate_ratio_uncalibrated"] = float(fakes["uncalibrated"].mean() / train.mean())
        if "rates only" in fakes:
            point["ratio_rates_only"] = {s: res.ratio("rates only", s) for s in stats}
        if "last iterate" in fakes:
            point["ratio_last_iterate"] = {s: res.ratio("last iterate", s) for s in stats}
        points.append(point)
        with open(curve_path, "w") as fh:
            fh.writelines(json.dumps(p) + "\n" for p in points)
        manager.save(checkpoint_number=step)
        rundir.save_model(published, out / "generator.keras", published_step)
        if step in args.keep_at:
            rundir.save_model(published, out / f"generator_{step}.keras", published_step)
        sessions[-1]["end_step"] = step
        state_path.write_text(json.dumps({"benchmark": "retina_curve", "settings": settings,
                                          "sessions": sessions, "points": points},
                                         indent=1) + "\n")
        print(f"{step:7d}{cpu:8.0f}" + "".join(f"{ratio[s]:13.2f}" for s in HEADLINE)
              + f"{point['rate_ratio']:11.3f}", flush=True)
        if "ratio_last_iterate" in point:
            last = point["ratio_last_iterate"]
            print(f"{'(last)':>15s}" + "".join(f"{last[s]:13.2f}" for s in HEADLINE), flush=True)
        if "ratio_uncalibrated" in point:
            unc = point["ratio_uncalibrated"]
            print(f"{'(uncal.)':>15s}" + "".join(f"{unc[s]:13.2f}" for s in HEADLINE)
                  + f"{point['rate_ratio_uncalibrated']:11.3f}", flush=True)
    budget = ("--max-steps" if args.max_steps is not None and step >= args.max_steps
              else "--cpu-minutes" if cpu_cap is not None and points
              and points[-1]["cpu_s"] >= cpu_cap else "--minutes (this session's wall budget)")
    print(f"stopped at step {step}: {budget} reached", flush=True)
    if points:
        plot(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The paper's retina comparison, rerun end to end on the 50-neuron salamander recording.

Steps (all in one run, on 2 CPU cores or a GPU when there is one):

1. load the raster ``(283041, 50)`` and split it **in time**: the first 80% of
   bins train, the last 20% test, with a gap of ``--bins`` bins so that no
   window of one part shares a bin with the other;
2. train Spike-GAN (the paper's semi-convolutional model, 128/256 critic
   features) on the training part for ``--minutes``; the test part is used only
   to log validation errors during training (no model selection);
3. sample as many windows as the test part holds;
4. fit the in-package baselines on the training part: independent Bernoulli,
   spatio-temporal dichotomized Gaussian and k-pairwise maximum entropy;
5. load the authors' DG and k-pairwise samples when given (they were fitted on
   the whole recording, test included: the table says so);
6. evaluate every model against the training windows (reference), next to
   the test windows (the noise floor: a ratio of 1.0 means "as close to the
   training data as unseen real data is"), with memorisation checks; write
   ``results.json``, ``report.md``, ``statistics.png``, ``ratios.png``, the
   Spike-GAN samples as ``samples_spikegan.npy`` and ``benchmark.json``
   (timings and the headline table).

Usage::

    python benchmarks/retina.py --data ../shared/data/retina/original_data_num_neurons_50_1.mat \\
        --authors-dg ../shared/data/retina/DG_num_neurons_50_1.mat \\
        --authors-kpairwise ../shared/data/retina/k_pairwise_num_neurons_50_1.mat \\
        --minutes 20 --out benchmarks/results/retina

``SPIKEGAN_RETINA_DIR`` may name the folder instead of ``--data``.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_record  # noqa: E402

RAW = "original_data_num_neurons_50_1.mat"
AUTHORS_DG = "DG_num_neurons_50_1.mat"
AUTHORS_KP = "k_pairwise_num_neurons_50_1.mat"


def _default(name: str) -> Path | None:
    env = os.environ.get("SPIKEGAN_RETINA_DIR")
    base = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data" / "retina"
    path = base / name
    return path if path.exists() else None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=_default(RAW), help="the raw raster (.mat)")
    p.add_argument("--key", default="data")
    p.add_argument("--authors-dg", type=Path, default=None,
                   help=f"the authors' DG samples ({AUTHORS_DG}, key 'data')")
    p.add_argument("--authors-kpairwise", type=Path, default=None,
                   help=f"the authors' k-pairwise samples ({AUTHORS_KP}, key 'samples_batch_all')")
    p.add_argument("--minutes", type=float, default=20.0, help="Spike-GAN training budget")
    p.add_argument("--bins", type=int, default=32)
    p.add_argument("--stride", type=int, default=1)
    p.add_argument("--train-fraction", type=float, default=0.8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-features", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=None,
                   help="Adam's (default: the package's, 3e-4; the paper's 1e-4)")
    p.add_argument("--n-critic", type=int, default=None,
                   help="critic updates per generator iteration (default: the package's, 5)")
    p.add_argument("--calibrate", action="store_true",
                   help="also evaluate the generator with its rates calibrated to the training "
                        "part's (SpikeGAN.calibrate_rates)")
    p.add_argument("--jit-compile", action="store_true", help="XLA-compile the training loop")
    p.add_argument("--paper-init", action="store_true",
                   help="start the generator's output at 0.5 (the paper), not at the data's rates")
    p.add_argument("--baselines", default="independent,dg,kpairwise",
                   help="in-package baselines to fit (comma-separated, or 'none')")
    p.add_argument("--n-memorization", type=int, default=1000)
    p.add_argument("--out", type=Path,
                   default=Path(__file__).resolve().parent / "results" / "retina")
    args = p.parse_args(argv)
    if args.data is None:
        p.error("give --data PATH/original_data_num_neurons_50_1.mat or set SPIKEGAN_RETINA_DIR")
    return args


def _fit_baselines(names: list[str], train: np.ndarray, n_bins: int, n_samples: int,
                   seed: int) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
    from spikegan_tf import baselines as B

    classes = {"independent": B.IndependentBernoulli, "dg": B.DichotomizedGaussian,
               "kpairwise": B.KPairwiseMaxEnt}
    samples, timings = {}, {}
    for name in names:
        if name not in classes:
            raise SystemExit(f"unknown baseline {name!r}; choose from {sorted(classes)}")
        t0 = time.perf_counter()
        model = classes[name]().fit(train, n_bins=n_bins, seed=seed)
        t_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        x = model.sample(n_samples, seed=seed + 1)
        t_sample = time.perf_counter() - t0
        label = {"independent": "independent", "dg": "DG (ours)",
                 "kpairwise": "k-pairwise (ours)"}[name]
        samples[label] = x
        timings[label] = {"fit_s": t_fit, "sample_s": t_sample,
                          "windows_per_s": n_samples / t_sample}
        print(f"  {label:<20s} fit {t_fit:7.1f} s   sample {n_samples / t_sample:9.0f} windows/s",
              flush=True)
    return samples, timings


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from spikegan_tf.data import load_spikes, split_raster, window_view
    from spikegan_tf.data.splits import TrainingData, prepare_data
    from spikegan_tf.evaluation.compare import HEADLINE
    from spikegan_tf.evaluation.report import evaluate
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.sampling import sample
    from spikegan_tf.gan.train_config import TrainConfig
    from spikegan_tf.gan.trainer import Trainer

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    rec = load_spikes(args.data, key=args.key)
    raster = rec.spikes
    n_bins, stride = args.bins, args.stride
    train, test = split_raster(raster, (args.train_fraction, 1 - args.train_fraction), gap=n_bins)
    n_test = (len(test) - n_bins) // stride + 1
    print(f"retina: {raster.shape[0]} bins x {raster.shape[1]} neurons; train {len(train)} bins, "
          f"test {len(test)} bins ({n_test} windows of {n_bins}, stride {stride})", flush=True)

    # ---- Spike-GAN
    model_cfg = ModelConfig(n_neurons=raster.shape[1], n_bins=n_bins,
                            num_features=args.num_features)
    chosen = {k: v for k, v in (("learning_rate", args.learning_rate),
                                ("n_critic", args.n_critic)) if v is not None}
    train_cfg = TrainConfig(batch_size=args.batch_size, **chosen,
                            max_steps=None, max_minutes=args.minutes,
                            seed=args.seed, jit_compile=args.jit_compile,
                            init_output_bias=not args.paper_init, eval_every=2000,
                            eval_samples=4096, checkpoint_every=2000, log_every=100)
    base = prepare_data(train, n_bins, val_fraction=0.0, stride=stride, source=str(args.data),
                        key=args.key)
    monitor = np.ascontiguousarray(window_view(test, n_bins, n_bins))  # disjoint test windows
    data = TrainingData(train=base.train, val=monitor,
                        info={**base.info, "val": "test split, disjoint windows, monitoring only"})
    run_dir = out / "run"
    trainer = Trainer(model_cfg, train_cfg, run_dir=run_dir, verbose=1)
    print(f"training Spike-GAN for {args.minutes} min ...", flush=True)
    result = trainer.fit(data, resume=(run_dir / "checkpoints").exists())
    print(f"  {result.step} generator iterations in {result.seconds:.0f} s "
          f"({result.step / max(result.seconds, 1e-9):.1f} it/s this session)", flush=True)
    t0 = time.perf_counter()
    fake = sample(trainer.generator, n_test, seed=args.seed + 1)
    t_sample = time.perf_counter() - t0
    np.save(out / "samples_spikegan.npy", fake)
    candidates: dict[str, np.ndarray] = {"Spike-GAN": fake}
    timings: dict[str, dict] = {"Spike-GAN": {"train_s": result.seconds, "steps": result.step,
                                              "sample_s": t_sample,
                                              "windows_per_s": n_test / t_sample,
                                              "learning_rate": train_cfg.learning_rate,
                                              "n_critic": train_cfg.n_critic}}
    if args.calibrate:
        from spikegan_tf.gan.networks import build_generator, calibrate_output_bias

        calibrated = build_generator(model_cfg)
        calibrated.set_weights(trainer.generator.get_weights())
        calibrate_output_bias(calibrated, model_cfg, train.mean(axis=0), seed=args.seed)
        candidates["Spike-GAN, rates calibrated"] = sample(calibrated, n_test,
                                                           seed=args.seed + 1)

    # ---- baselines fitted here
    names = [] if args.baselines == "none" else [s.strip() for s in args.baselines.split(",")]
    if names:
        print("fitting baselines on the training part ...", flush=True)
        fitted, fit_times = _fit_baselines(names, train, n_bins, n_test, args.seed)
        candidates.update(fitted)
        timings.update(fit_times)

    # ---- the authors' samples (fit on the whole recording)
    notes = [f"Reference: first {args.train_fraction:.0%} of the recording (train), "
             f"{n_bins}-bin windows, stride {stride}; noise floor: the last "
             f"{1 - args.train_fraction:.0%} (test), separated by a {n_bins}-bin gap.",
             f"Spike-GAN: {result.step} generator iterations ({args.minutes} min budget) on "
             f"{platform.processor() or platform.machine()}, trained on train only.",
             "In-package baselines were fitted on train only."]
    for label, path, key in (("DG (authors)", args.authors_dg, "data"),
                             ("k-pairwise (authors)", args.authors_kpairwise,
                              "samples_batch_all")):
        if path is not None:
            candidates[label] = load_spikes(path, key=key).spikes
            notes.append(f"{label}: samples released by the Spike-GAN authors, fitted on the "
                         "WHOLE recording (test included), so their errors are optimistic.")

    # ---- evaluation
    print("evaluating ...", flush=True)
    t0 = time.perf_counter()
    res = evaluate(train, candidates, noise_floor=test, train=train, n_bins=n_bins,
                   stride=stride, out_dir=out, notes=notes, seed=args.seed,
                   n_memorization=args.n_memorization, reference_label="train",
                   noise_floor_label="test (held-out)",
                   title="Salamander retina, 50 neurons, 32-bin windows")
    t_eval = time.perf_counter() - t0
    table = {label: {stat: m.ratio_to_floor for stat, m in res.metrics[label].items()}
             for label in candidates}
    floor_metrics = res.metrics.get(res.noise_floor_label or "", {})
    floor = {stat: m.mae for stat, m in floor_metrics.items()}
    summary = {
        "benchmark": "retina",
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "machine_record": machine_record(),
        "cpus": os.cpu_count(),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "timings": timings,
        "evaluate_s": t_eval,
        "total_s": time.perf_counter() - t_start,
        "ratio_to_floor": table,
        "noise_floor_mae": floor,
    }
    (out / "benchmark.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")

    stats = list(HEADLINE)
    print("\nmean absolute error as a multiple of the test-vs-train noise floor "
          "(1.0 = as close as unseen real data)")
    print(f"{'model':<22s}" + "".join(f"{s[:14]:>15s}" for s in stats))
    for label, row in table.items():
        cells = "".join(f"{row.get(s, float('nan')):15.2f}" for s in stats)
        print(f"{label:<22s}{cells}")
    print(f"\nwrote {out}/results.json, report.md, statistics.png, samples_spikegan.npy")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``spikegan demo``: simulate, train, sample, evaluate and report, in a few minutes on a CPU.

Example::

    spikegan demo --out runs/demo --steps 24000 --seed 0

Steps: simulate the paper's ``uniform`` dataset (16 neurons in correlated groups
of 4 with a refractory period, 32 bins, 8192 windows); hold out 20 % of the
windows as real data never trained on; train a small Spike-GAN for ``--steps``
generator iterations with 2 critic updates each (the same result on every machine;
24,000 took 5.0 minutes on 2 AVX-512 cores, benchmarks/results/bench_demo_time.json; ``--minutes`` caps the time); draw as many windows as were held out, from the generator the run publishes
(its output bias calibrated to the training rates, in every bin of the window, and a
per-neuron spike-history filter with lag-1 and same-bin couplings between neurons:
``TrainConfig.calibrate_rates``, ``calibrate_positions``, ``calibrate_history``,
``calibrate_coupling`` and ``calibrate_same_bin``) and
from the trained weights as they are; compare both (and an
independent-neuron baseline) with the training data, using the held-out windows
as the noise floor; write ``report.md`` with figures. Output directory::

    uniform.npz         the simulated dataset (with its ground truth)
    run/                the training run (checkpoints, generator.keras, metrics...)
    samples.npy         Spike-GAN's windows
    evaluation/         results.json, report.md and figures of the comparison
    training.png        validation errors and losses during training
    report.md           the short report (start here)

Running it again into the same directory replaces these files.
"""

from __future__ import annotations

import argparse
from typing import Any

from spikegan_tf._atomic import atomic_path
from spikegan_tf.cli._args import Number

_MARKER = ".spikegan-demo"
_OUTPUTS = ("uniform.npz", "run", "samples.npy", "evaluation", "training.png", "report.md")


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand."""
    p = subparsers.add_parser(
        "demo",
        help="simulate data, train a small Spike-GAN for a few minutes, sample, evaluate, report",
        description=(
            "End-to-end demonstration on the paper's simulated 'uniform' dataset: simulate, "
            "train for --steps on the CPU (or GPU), sample, evaluate against held-out data "
            "and an independent-neuron baseline, and write report.md with figures."
        ),
    )
    p.add_argument("--out", default="runs/demo", help="output directory (runs/demo)")
    p.add_argument("--steps", type=Number("--steps", minimum=1), default=24000,
                   help="generator iterations (24000 took 4.9 min on 2 AVX-512 cores; at "
                        "the same CPU time, more iterations beat a wider or larger-batch "
                        "model: benchmarks/results/bench_demo_capacity.json, bench_demo_long.json)")
    p.add_argument("--n-critic", type=Number("--n-critic", minimum=1), default=2,
                   help="critic updates per generator iteration (2: at the same CPU time, "
                        "closer to the floor than the library's 5 on this data, "
                        "benchmarks/results/bench_demo_ncritic2.json)")
    p.add_argument("--minutes", type=Number("--minutes", float, 0, open_min=True), default=None,
                   help="stop earlier after this many training minutes (no limit)")
    p.add_argument("--seed", type=Number("--seed", minimum=0), default=0, help="random seed (0)")
    p.add_argument("--neurons", type=Number("--neurons", minimum=1), default=16, help="simulated neurons (16)")
    p.add_argument("--bins", type=Number("--bins", minimum=1), default=32, help="bins per window (32)")
    p.add_argument("--samples", type=Number("--samples", minimum=1), default=8192, help="simulated windows (8192)")
    p.add_argument("--num-features", type=Number("--num-features", minimum=1), default=32,
                   help="critic features of the first layer (32: small enough for a CPU)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the subcommand; return the exit status."""
    import time
    from pathlib import Path

    import numpy as np

    from spikegan_tf.data import simulate, split_windows
    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.sampling import sample
    from spikegan_tf.gan.train_config import TrainConfig
    from spikegan_tf.gan.trainer import Trainer
    seed = args.seed  # numeric flags are checked by their Number types
    out = _prepare(Path(args.out))
    t_start = time.monotonic()

    print(f"spikegan demo: writing to {out}", flush=True)
    sim = simulate.uniform(args.samples, args.neurons, args.bins, seed=seed)
    sim.save(out / "uniform.npz")
    train_windows, held_out = split_windows(sim.spikes, (0.8, 0.2), seed=seed)
    print(f"  1/4 simulated {args.samples} windows of the 'uniform' dataset "
          f"({args.neurons} neurons x {args.bins} bins); {len(held_out)} held out", flush=True)

    model = ModelConfig(n_neurons=args.neurons, n_bins=args.bins,
                        num_features=args.num_features)
    config = TrainConfig(max_steps=args.steps, max_minutes=args.minutes, seed=seed,
                         n_critic=args.n_critic,
                         # checkpoints a quarter of the run apart; the costly publication
                         # (a calibrated copy) at the first and the last (callbacks.Checkpoint)
                         checkpoint_every=max(1000, args.steps // 4), eval_every=500,
                         log_every=100)
    data = prepare_data(train_windows, val_fraction=0.1, seed=seed,
                        source=str(out / "uniform.npz"), key="spikes")
    budget = f"{args.steps} steps" + ("" if args.minutes is None else
                                      f" or {args.minutes:g} min, whichever comes first")
    print(f"  2/4 training for {budget} (follow it: tensorboard --logdir "
          f"{out / 'run' / 'tensorboard'})", flush=True)
    trainer = Trainer(model, config, run_dir=out / "run", verbose=0 if args.quiet else 1)
    result = trainer.fit(data)
    print(f"      {result.step} steps in {result.seconds / 60:.1f} min", flush=True)

    # the published generator (rates calibrated per neuron and bin: TrainConfig.calibrate_rates
    # and calibrate_positions, the defaults)
    # and the trained weights as they are
    fake = sample(trainer.published_generator(), len(held_out), seed=seed)
    np.save(out / "samples.npy", fake)
    candidates = {"Spike-GAN": fake,
                  "Spike-GAN, not calibrated": sample(trainer.sampling_generator, len(held_out),
                                                      seed=seed)}
    notes = []
    baseline = _independent_baseline(train_windows, len(held_out), seed)
    if baseline is not None:
        candidates["independent"] = baseline
    else:
        notes.append("The independent-neuron baseline was not available.")
    print(f"  3/4 sampled {len(fake)} windows to {out / 'samples.npy'}", flush=True)

    evaluation = _evaluate(train_windows, candidates, held_out, out / "evaluation", notes, seed)
    curves = _plot_training(out / "run" / "metrics.jsonl", out / "training.png")
    _write_report(out, sim, model, result, evaluation, curves, len(train_windows),
                  len(held_out), config.n_critic)
    print(f"  4/4 evaluated; report: {out / 'report.md'} "
          f"({(time.monotonic() - t_start) / 60:.1f} min in all)", flush=True)
    return 0


def _prepare(out: Any) -> Any:
    """Create ``out``, or clear a previous demo's files; refuse other non-empty directories."""
    import shutil

    from spikegan_tf.errors import RunDirError

    if out.exists() and not out.is_dir():
        raise RunDirError(f"`--out` must be a directory. Received the file '{out}'.")
    if out.is_dir() and any(out.iterdir()) and not (out / _MARKER).exists():
        raise RunDirError(f"'{out}' is not empty and does not hold an earlier demo: choose "
                          "another --out (the demo replaces its own files only).")
    out.mkdir(parents=True, exist_ok=True)
    for name in _OUTPUTS:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    (out / _MARKER).write_text("files written by `spikegan demo`\n")
    return out


def _independent_baseline(train: Any, n: int, seed: int | None) -> Any:
    try:
        from spikegan_tf.baselines import IndependentBernoulli
    except ImportError:
        return None
    return IndependentBernoulli().fit(train, seed=seed).sample(n, seed=seed)


def _evaluate(reference: Any, candidates: dict, held_out: Any, out_dir: Any, notes: list,
              seed: int | None) -> Any:
    from spikegan_tf.evaluation.report import evaluate

    notes = [*notes, "Reference: the training windows; held-out: real windows never trained "
             "on, whose errors are the noise floor of a perfect model with as many samples."]
    return evaluate(reference, candidates, noise_floor=held_out, train=reference,
                    out_dir=out_dir, notes=notes, seed=seed,
                    title="Spike-GAN demo: simulated 'uniform' dataset")


def _plot_training(metrics_path: Any, png: Any) -> bool:
    import json

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = [json.loads(line) for line in metrics_path.read_text().splitlines() if line.strip()]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    loss = [r for r in rows if "wasserstein" in r]
    # markers: a short run logs one point, which a line alone would not show
    axes[0].plot([r["step"] for r in loss], [r["wasserstein"] for r in loss], marker="o",
                 markersize=3)
    axes[0].set(xlabel="step", ylabel="critic's Wasserstein estimate", title="training")
    val = [r for r in rows if "val_firing_rate_mae" in r]
    for key, label in (("val_firing_rate_mae", "firing rate"),
                       ("val_covariance_mae", "covariance"),
                       ("val_spike_count_mae", "spike count")):
        axes[1].plot([r["step"] for r in val], [r[key] for r in val], marker="o", label=label)
    axes[1].set(xlabel="step", ylabel="mean absolute error", title="validation", yscale="log")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return True


def _write_report(out: Any, sim: Any, model: Any, result: Any, evaluation: Any, curves: bool,
                  n_train: int, n_held: int, n_critic: int) -> None:

    lines = [
        "# Spike-GAN demo",
        "",
        f"Dataset: the paper's simulated `uniform` dataset, {sim.spikes.shape[0]} windows of "
        f"{sim.spikes.shape[1]} neurons x {sim.spikes.shape[2]} bins "
        f"(`uniform.npz`; parameters: {', '.join(f'{k}={v}' for k, v in sim.params.items())}).",
        f"Training: {n_train} windows ({n_held} held out), semi-convolutional model with "
        f"{model.num_features} critic features, {result.step} generator steps "
        f"({n_critic} critic updates each) in "
        f"{result.seconds / 60:.1f} min (run directory `run/`).",
        "\"Spike-GAN\" is the generator the run publishes (`run/generator.keras`): the trained "
        "weights with one logit offset per neuron and bin of the window so that each neuron's "
        "mean rate in each bin is the training data's, and a spike-history filter of 10 bins "
        "per neuron, solved with them so that each neuron's autocorrelation is the training "
        "data's, and couplings between neurons so that each pair's coincidences one "
        "bin apart and in the same bin are the training data's, its spikes drawn bin after bin "
        "and, within a bin, neuron after neuron "
        "(`TrainConfig.calibrate_rates`, `calibrate_positions`, `calibrate_history`, "
        "`calibrate_coupling` and `calibrate_same_bin`, the defaults); "
        "\"Spike-GAN, not calibrated\" is "
        "the trained weights as they are: a generator that has not yet learnt all the "
        "correlations fires too little (see the README, \"Why generated rates come out low\").",
        "",
    ]
    if curves:
        lines += ["![training curves](training.png)", ""]
    lines += ["## Evaluation", ""]
    lines += [f"![{fig}](evaluation/{fig})" for fig in getattr(evaluation, "figures", ())]
    lines += ["", evaluation.to_markdown(), "",
              "Full results: `evaluation/results.json`; samples: `samples.npy`.", ""]
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text("\n".join(lines))

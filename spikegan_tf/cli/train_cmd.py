"""``spikegan train``: train Spike-GAN on a recording or on windows, resumably.

Examples::

    spikegan train --data retina.mat --key data --bins 32 --out runs/retina --max-steps 20000
    spikegan train --out runs/retina --resume            # continue (same data and settings)
    spikegan train --data uniform.npz --out runs/uniform --max-minutes 10 --num-features 64
    spikegan train --data tuned.npz --condition-key labels --covariate-key covariates \
        --out runs/tuned --max-minutes 20                  # conditional generation
    spikegan train --data trials.npz --trials-table trials.csv --condition-key stimulus \
        --covariate-key speed,contrast --out runs/trials   # conditions from a CSV table

A raster file ``(time_bins, neurons)`` is cut into windows of ``--bins`` bins
(one every ``--stride`` bins) and split **in time**: the last ``--val-fraction``
of the recording validates. A file of windows ``(samples, neurons, bins)`` is
split **by sample**. ``--condition-key`` / ``--covariate-key`` name arrays of
the same file holding each window's label and covariates (per time bin for a
raster): the model then generates for a given condition. With ``--trials-table``
they name columns of a CSV table instead, one row per window (per time bin for a
raster). Everything goes to the run directory ``--out``
(``config.json``, ``checkpoints/``, ``generator.keras``, ``critic.keras``,
``metrics.jsonl``, ``tensorboard/``). Ctrl-C or SIGTERM saves a checkpoint and
stops; ``--resume`` continues from the latest checkpoint.
"""

from __future__ import annotations

import argparse
from typing import Any

from spikegan_tf.cli._args import Number, flag_error
from spikegan_tf.cli._conditions import train_conditions, train_trials_table

# flag -> (section, field) for settings stored in config.json
_MODEL_FLAGS = {
    "architecture": "architecture",
    "upsampling": "upsampling",
    "num_features": "num_features",
    "num_layers": "num_layers",
    "latent_dim": "latent_dim",
    "kernel_size": "kernel_size",
    "num_units": "num_units",
    "latent_channels": "latent_channels",
    "temporal_layers": "temporal_layers",
    "temporal_features": "temporal_features",
    "latent_scales": "latent_scales",
    "critic_lags": "critic_lags",
    "critic_neuron_filters": "critic_neuron_filters",
    "critic_neuron_kernel": "critic_neuron_kernel",
    "label_dim": "label_dim",
}
_TRAIN_FLAGS = {
    "max_steps": "max_steps",
    "max_minutes": "max_minutes",
    "seed": "seed",
    "batch_size": "batch_size",
    "n_critic": "n_critic",
    "lr": "learning_rate",
    "gp_weight": "gp_weight",
    "jit_compile": "jit_compile",
    "mixed_precision": "mixed_precision",
    "init_output_bias": "init_output_bias",
    "critic_input": "critic_input",
    "ema_decay": "ema_decay",
    "lr_decay_steps": "lr_decay_steps",
    "calibrate_rates": "calibrate_rates",
    "calibrate_positions": "calibrate_positions",
    "calibrate_history": "calibrate_history",
    "calibrate_coupling": "calibrate_coupling",
    "calibrate_same_bin": "calibrate_same_bin",
    "checkpoint_every": "checkpoint_every",
    "checkpoint_minutes": "checkpoint_minutes",
    "keep_checkpoints": "keep_checkpoints",
    "eval_every": "eval_every",
    "log_every": "log_every",
}
# parameter -> flag, for errors about a parameter (spikegan_tf.params.ParamError)
_PARAM_FLAGS = {
    **{name: "--" + flag.replace("_", "-") for flag, name in {**_MODEL_FLAGS,
                                                            **_TRAIN_FLAGS}.items()},
    "n_bins": "--bins", "val_fraction": "--val-fraction", "stride": "--stride",
    "more_steps": "--more-steps",
}
_DEFAULT_MAX_STEPS = 20000  # spikegan_tf.gan.train_config.DEFAULT_MAX_STEPS (not imported: no TF here)


def register(subparsers: Any) -> None:
    """Add the ``train`` subcommand."""
    p = subparsers.add_parser(
        "train",
        help="train Spike-GAN (WGAN-GP) on spike data; resumable",
        description=(
            "Train Spike-GAN on a spike file. Rasters are windowed and split in time, window "
            "files are split by sample. Writes a run directory (--out) with checkpoints, the "
            "generator and critic (.keras), metrics.jsonl and TensorBoard logs. Ctrl-C/SIGTERM "
            "saves a checkpoint and stops; --resume continues. On --resume, settings not given "
            "are taken from the run."
        ),
    )
    d = p.add_argument_group("data")
    d.add_argument("--data", default=None,
                   help="spike file (.npy/.npz/.mat/.csv/.nwb); optional with --resume")
    d.add_argument("--key", default=None, help="array name inside .npz/.mat files")
    d.add_argument("--bins", type=Number("--bins", minimum=1), default=None,
                   help="time bins per window (required for a raster file)")
    d.add_argument("--bin-width", type=Number("--bin-width", float, 0, open_min=True), default=None,
                   help="seconds per bin (needed to bin spike times from .csv/.nwb)")
    d.add_argument("--neurons-first", action="store_true",
                   help="the file stores the raster as (neurons, time_bins)")
    d.add_argument("--val-fraction",
                   type=Number("--val-fraction", float, 0, 1, open_max=True), default=None,
                   help="fraction held out for validation (default 0.1)")
    d.add_argument("--stride", type=Number("--stride", minimum=1), default=None,
                   help="bins between the starts of training windows of a raster (default 1)")
    d.add_argument("--condition-key", default=None,
                   help="conditional model: array of the same file with each window's label "
                        "(stimulus id, trial type; per time bin for a raster), or the label "
                        "column of --trials-table")
    d.add_argument("--covariate-key", default=None,
                   help="conditional model: array of the same file with each window's "
                        "covariates (n, bins[, C]); (time_bins[, C]) for a raster; or "
                        "numeric columns of --trials-table, comma-separated")
    d.add_argument("--trials-table", default=None, metavar="CSV",
                   help="conditions from a CSV table with a header row and one row per window "
                        "(per time bin for a raster), in the file's order; --condition-key "
                        "and --covariate-key name its columns")
    r = p.add_argument_group("run")
    r.add_argument("--out", required=True, help="run directory")
    r.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its latest checkpoint")
    r.add_argument("--max-steps", type=Number("--max-steps", minimum=0), default=None,
                   help=f"stop at this total number of generator steps (default "
                        f"{_DEFAULT_MAX_STEPS} without --max-minutes, or the run's on --resume)")
    r.add_argument("--max-minutes", "--minutes", dest="max_minutes",
                   type=Number("--max-minutes", float, 0, open_min=True), default=None,
                   help="stop after this many minutes of this session (alone: no step limit)")
    r.add_argument("--more-steps", type=Number("--more-steps", minimum=1), default=None,
                   metavar="N",
                   help="with --resume: train N steps beyond the latest checkpoint (e.g. to "
                        "extend a finished run)")
    r.add_argument("--seed", type=Number("--seed", minimum=0), default=None,
                   help="random seed (default 0)")
    r.add_argument("--checkpoint-every",
                   type=Number("--checkpoint-every", minimum=1), default=None,
                   help="steps between checkpoints (default 1000)")
    r.add_argument("--checkpoint-minutes",
                   type=Number("--checkpoint-minutes", float, 0, open_min=True), default=None,
                   help="also checkpoint after this many minutes, whichever comes first "
                        "(default 5)")
    r.add_argument("--keep-checkpoints",
                   type=Number("--keep-checkpoints", minimum=1), default=None,
                   help="checkpoints kept (default 3)")
    r.add_argument("--eval-every", type=Number("--eval-every", minimum=0), default=None,
                   help="steps between validation evaluations, 0 = never (default 1000)")
    r.add_argument("--log-every", type=Number("--log-every", minimum=1), default=None,
                   help="steps between metric logs (default 50)")
    r.add_argument("--quiet", action="store_true", help="no progress line")
    m = p.add_argument_group("model (defaults: the paper's)")
    m.add_argument("--architecture", choices=("conv", "fc", "temporal"), default=None,
                   help="semi-convolutional (conv, default), fully connected (fc), or temporal: "
                        "a stationary generator (dilated convolutions over a latent sequence) "
                        "that also draws continuous rasters of any length "
                        "(spikegan sample --raster)")
    m.add_argument("--upsampling", choices=("resize", "transpose"), default=None,
                   help="generator upsampling of the conv architecture (default transpose)")
    m.add_argument("--num-features", type=Number("--num-features", minimum=1), default=None,
                   help="critic features of the first layer, doubled per layer (default 128)")
    m.add_argument("--num-layers", type=Number("--num-layers", minimum=1), default=None,
                   help="convolutional layers (default 2)")
    m.add_argument("--latent-dim", type=Number("--latent-dim", minimum=1), default=None,
                   help="latent dimension (default 128)")
    m.add_argument("--kernel-size", type=Number("--kernel-size", minimum=1), default=None,
                   help="kernel width (default 5)")
    m.add_argument("--num-units", type=Number("--num-units", minimum=1), default=None,
                   help="units per layer of the fc architecture (default 512)")
    m.add_argument("--latent-channels", type=Number("--latent-channels", minimum=1),
                   default=None, help="temporal: latent features per time bin (default 8)")
    m.add_argument("--temporal-layers", type=Number("--temporal-layers", minimum=1),
                   default=None, help="temporal: dilated convolutions, dilations 1, 2, 4, ... "
                                      "(default 4: a receptive field of 61 bins at kernel 5)")
    m.add_argument("--temporal-features", type=Number("--temporal-features", minimum=1),
                   default=None, help="temporal: features per dilated convolution (default 64)")
    m.add_argument("--critic-lags", type=Number("--critic-lags", minimum=0), default=None,
                   help="give the critic each neuron's lagged self-coincidences up to this lag "
                        "(0: the paper's critic)")
    m.add_argument("--critic-neuron-filters", type=Number("--critic-neuron-filters", minimum=0),
                   default=None,
                   help="give the critic this many learnt temporal filters per neuron, each "
                        "neuron alone at full resolution (0: the paper's critic)")
    m.add_argument("--critic-neuron-kernel", type=Number("--critic-neuron-kernel", minimum=1),
                   default=None, help="width in bins of those filters (default 8)")
    m.add_argument("--label-dim", type=Number("--label-dim", minimum=1), default=None,
                   help="size of the generator's label embedding (conditional models; 16)")
    m.add_argument("--latent-scales", type=Number("--latent-scales", minimum=1), default=None,
                   help="temporal: time scales of the latent sequence, smoothed over 1, 2, ..., "
                        "2**(S-1) bins (default 1: white noise)")
    t = p.add_argument_group("optimisation")
    t.add_argument("--recipe", choices=("default", "paper"), default=None,
                   help="paper: exactly the paper's settings (Adam 1e-4, output starting at "
                        "0.5, the critic fed probabilities, resize-convolution upsampling); "
                        "other flags override it. default: this package's measured best")
    t.add_argument("--batch-size", type=Number("--batch-size", minimum=1), default=None,
                   help="batch size (default 64)")
    t.add_argument("--n-critic", type=Number("--n-critic", minimum=1), default=None,
                   help="critic updates per generator update (default 5)")
    t.add_argument("--lr", type=Number("--lr", float, 0, open_min=True), default=None,
                   help="Adam learning rate (default 3e-4; the paper's 1e-4)")
    t.add_argument("--critic-input", choices=("spikes", "probabilities"), default=None,
                   help="what the critic sees of generated windows: Bernoulli spikes with a "
                        "straight-through gradient (default), or the probabilities (the paper)")
    t.add_argument("--ema-decay", type=Number("--ema-decay", float, 0, 1, open_max=True),
                   default=None,
                   help="sample a moving average of the generator's weights with this decay "
                        "(0: the last iterate; default 0.999 with conditions, else 0)")
    t.add_argument("--lr-decay-steps", type=Number("--lr-decay-steps", minimum=1), default=None,
                   help="anneal the learning rates to 0 with a half cosine over this many "
                        "iterations (default: constant, as in the paper)")
    t.add_argument("--calibrate-rates", action=argparse.BooleanOptionalAction, default=None,
                   help="publish generator.keras with its rates calibrated to the training "
                        "windows, per neuron (per label with labels; checkpoints stay "
                        "uncalibrated; default: on, except for runs conditioned on covariates "
                        "alone)")
    t.add_argument("--calibrate-positions", action=argparse.BooleanOptionalAction, default=None,
                   help="with calibrated rates, also calibrate each neuron's rate in each bin "
                        "of the window, so the published model's time course is the training "
                        "windows' (default: on for unconditional conv and fc models)")
    t.add_argument("--calibrate-history", type=Number("--calibrate-history", minimum=0),
                   default=None, metavar="LAGS",
                   help="with calibrated positions (conv) or rates (temporal), also give the "
                        "published model a per-neuron spike-history filter of LAGS bins, "
                        "solved so that each neuron's autocorrelation is the training "
                        "windows'; a temporal model's rasters carry it across chunks (0: none; "
                        "default: 10 for unconditional conv and temporal models)")
    t.add_argument("--calibrate-coupling", action=argparse.BooleanOptionalAction, default=None,
                   help="with the spike-history filter of a conv model, also solve a lag-1 "
                        "coupling between neurons, so that each pair's coincidences one bin "
                        "apart are the training windows' (default: on for conv models with a "
                        "filter)")
    t.add_argument("--calibrate-same-bin", action=argparse.BooleanOptionalAction, default=None,
                   help="with the coupling, also solve a same-bin coupling (the neurons of a "
                        "bin drawn in index order), so that each pair's coincidences in the "
                        "same bin are the training windows' (default: on with the coupling)")
    t.add_argument("--gp-weight", type=Number("--gp-weight", float, 0), default=None,
                   help="gradient penalty weight (default 10)")
    t.add_argument("--jit-compile", action="store_true", default=None,
                   help="XLA-compile the training step")
    t.add_argument("--mixed-precision", action="store_true", default=None,
                   help="float16 compute with float32 weights (GPUs with tensor cores)")
    t.add_argument("--paper-init", dest="init_output_bias", action="store_false", default=None,
                   help="start the generator's output at sigmoid(0) = 0.5 as the paper did, "
                        "instead of at the training data's firing rates (the default)")
    t.add_argument("--strategy", choices=("auto", "default", "mirrored", "multiworker"),
                   default="auto",
                   help="auto: MirroredStrategy over all GPUs when there are several; "
                        "multiworker: across machines, from the TF_CONFIG environment variable "
                        "(the same command on every machine; --batch-size is global)")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the subcommand; return the exit status (130/143 after SIGINT/SIGTERM)."""
    import os
    import sys
    import warnings
    from pathlib import Path

    from spikegan_tf.errors import ConfigError
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.rundir import RunDir
    from spikegan_tf.validation import check_positive_int

    out = Path(args.out)
    saved: dict[str, Any] = {}
    if args.more_steps is not None and not args.resume:
        raise ConfigError("`--more-steps` extends a run: add --resume (or use --max-steps "
                          "for a new run).")
    if args.more_steps is not None and args.max_steps is not None:
        raise ConfigError("Give `--more-steps` (steps beyond the checkpoint) or `--max-steps` "
                          "(a total), not both.")
    role = None
    if args.strategy == "multiworker":  # a bad TF_CONFIG fails before anything is read
        from spikegan_tf.gan.multiworker import read_tf_config

        role = read_tf_config()
    run = RunDir(out)
    if role is None or role.is_chief or args.resume:  # a new run's directory is the chief's
        run.check_new_or_resumable(args.resume)
    if args.resume:
        saved = run.read_config()
    saved_data = saved.get("data") or {}
    data_path = args.data or saved_data.get("source")
    if data_path is None:
        raise ConfigError("`--data` is required (the spike file to train on).")
    if args.resume:
        _check_data_moved(out, args.data, saved_data.get("source"))
    data_path = os.path.abspath(data_path)  # stored resolved: resumable from anywhere
    key = args.key if args.key is not None else (saved_data.get("key") if not args.data else None)
    bin_width = args.bin_width if args.bin_width is not None else saved_data.get("bin_width")
    val_fraction = _pick(args.val_fraction, saved_data.get("val_fraction"), 0.1)
    stride = _pick(args.stride, saved_data.get("stride"), 1)
    condition_key = (args.condition_key if args.data or args.condition_key
                     else saved_data.get("condition_key"))
    covariate_key = (args.covariate_key if args.data or args.covariate_key
                     else saved_data.get("covariate_key"))
    trials_table = train_trials_table(args, saved_data, out, condition_key, covariate_key)

    recipe: dict[str, dict[str, Any]] = {"model": {}, "train": {}}
    if args.recipe:
        from spikegan_tf.gan.train_config import RECIPES

        recipe = RECIPES[args.recipe]
    model_fields = {**(saved.get("model") or {}), **recipe["model"]}
    for flag, name in _MODEL_FLAGS.items():
        if getattr(args, flag) is not None:
            model_fields[name] = getattr(args, flag)
    if args.bins is not None:
        model_fields["n_bins"] = args.bins
    from spikegan_tf.gan.train_config import _RESUME_LEGACY

    # a run saved before a setting existed resumes with what it did then
    train_fields = {**(_RESUME_LEGACY if saved.get("train") else {}),
                    **(saved.get("train") or {}), **recipe["train"]}
    for flag, name in _TRAIN_FLAGS.items():
        if getattr(args, flag) is not None:
            train_fields[name] = getattr(args, flag)
    # the budget is what the command line gives: one of steps/minutes alone sets it
    if args.max_minutes is not None and args.max_steps is None:
        train_fields["max_steps"] = None
    if (args.max_steps is not None or args.more_steps is not None) and args.max_minutes is None:
        train_fields["max_minutes"] = None
    if args.more_steps is not None:
        train_fields["max_steps"] = None  # set by Trainer.fit(more_steps=...) after restoring

    try:
        from spikegan_tf.data import load_spikes
        from spikegan_tf.data.splits import prepare_data
        from spikegan_tf.gan.train_config import TrainConfig, check_resumable

        if args.more_steps is not None:
            check_positive_int(args.more_steps, "--more-steps")
        if args.resume:
            # refuse settings the run cannot take before reading (and summarising) any data
            if "n_neurons" in model_fields:
                check_resumable(out, saved, ModelConfig.from_dict(model_fields))
            train_config = _train_config(TrainConfig, train_fields, args.more_steps)
            check_resumable(out, saved, train_config=train_config)
            if args.more_steps is None and _run_is_complete(out, train_config):
                return 0
        recording = load_spikes(data_path, key=key, bin_width=bin_width,
                                neurons_first=args.neurons_first)
        n_bins = model_fields.get("n_bins")
        if n_bins is None and recording.is_raster:
            raise ConfigError(f"`--bins` is required: '{data_path}' holds a raster "
                              f"{recording.spikes.shape} to cut into windows.")
        saved_classes = ((saved_data.get("conditions") or {}).get("classes")
                         if args.resume else None)
        conditions = train_conditions(recording, condition_key, covariate_key, trials_table,
                                      saved_classes)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            data = prepare_data(recording, n_bins, val_fraction=val_fraction, stride=stride,
                                seed=train_fields.get("seed", 0), conditions=conditions,
                                classes=saved_classes)
        if conditions is not None:
            data.info.update(condition_key=condition_key, covariate_key=covariate_key,
                             **({"trials_table": trials_table} if trials_table else {}))
            model_fields["n_classes"] = data.conditions.n_classes
            model_fields["n_covariates"] = data.conditions.n_covariates
        for w in caught:  # e.g. silent neurons: one line each, not Python's two
            print(f"spikegan train: warning: {w.message}", file=sys.stderr, flush=True)
        model_fields.setdefault("n_neurons", data.n_neurons)
        model_fields.setdefault("n_bins", data.n_bins)
        model_config = ModelConfig.from_dict(model_fields)
        train_config = _train_config(TrainConfig, train_fields, args.more_steps)
        if args.resume:
            check_resumable(out, saved, model_config, train_config, data.info)
    except ConfigError as exc:
        raise flag_error(exc, _PARAM_FLAGS) from None
    return _train(args, out, data, model_config, train_config)


def _train_config(cls: Any, fields: dict[str, Any], more_steps: int | None) -> Any:
    """The TrainConfig of ``fields``; with ``--more-steps`` a placeholder step limit."""
    if more_steps is not None:
        # Trainer.fit(more_steps=...) sets max_steps = restored step + N
        return cls.from_dict({**fields, "max_steps": more_steps})
    return cls.from_dict(fields)


def _check_data_moved(out: Any, given: str | None, saved: str | None) -> None:
    """On --resume: say in one line when the run's data file is not where it was."""
    import os

    from spikegan_tf.errors import ConfigError

    if saved is None:
        return
    if given is None:
        if not os.path.isfile(saved):
            where = "" if os.path.isabs(saved) else (
                f" (a path relative to the directory the run was started from, not to "
                f"{os.getcwd()})")
            raise ConfigError(
                f"Cannot resume '{out}': its training data '{saved}' is not there any "
                f"more{where}; if it moved, pass its new path with --data.")
        return
    if os.path.abspath(given) != os.path.abspath(saved) and os.path.isabs(saved):
        print(f"spikegan train: note: the data moved: the run was trained on '{saved}', "
              f"now reading '{os.path.abspath(given)}' (its shape is checked).")


def _run_is_complete(out: Any, train_config: Any) -> bool:
    """Print how to extend a finished run and return True when there is nothing to train."""
    import sys

    from spikegan_tf.gan.rundir import RunDir
    from spikegan_tf.gan.train_config import complete_message

    step = RunDir(out).latest_checkpoint_step()
    target = train_config.max_steps
    if step is None or target is None or step < target:
        return False
    print(f"spikegan train: {complete_message(out, step, target)}", file=sys.stderr)
    return True


def _train(args: argparse.Namespace, out: Any, data: Any, model_config: Any,
           train_config: Any) -> int:
    from spikegan_tf.errors import ConfigError
    from spikegan_tf.gan.rundir import RunDir
    from spikegan_tf.gan.trainer import Trainer

    strategy = _strategy(args.strategy)
    info = data.info
    print(f"spikegan train: run directory {out}")
    if args.strategy == "multiworker":
        from spikegan_tf.gan.multiworker import read_tf_config

        print(f"  this process: {read_tf_config()}")
    print(f"  data: {info.get('source')} ({info['kind']}, {info['n_neurons']} neurons x "
          f"{info['n_bins']} bins; {info['n_train']} training and {info['n_val']} validation "
          f"windows; mean firing probability {info['firing_probability']['mean']:.4f})")
    limits = []
    if args.more_steps is not None:
        limits.append(f"{args.more_steps} more steps")
    elif train_config.max_steps is not None:
        limits.append(f"{train_config.max_steps} steps")
    if train_config.max_minutes is not None:
        limits.append(f"{train_config.max_minutes:g} minutes")
    if model_config.architecture == "temporal":
        print(f"  generator: {model_config.temporal_layers} dilated convolutions of "
              f"{model_config.temporal_features} features, receptive field "
              f"{model_config.receptive_field} bins, {model_config.latent_channels} latent "
              "channels per bin")
    if data.conditional:
        cond = data.conditions
        what = ([f"{cond.n_classes} label classes {list(cond.classes)[:10]}"
                 f"{' ...' if cond.n_classes > 10 else ''}"] if cond.n_classes else [])
        what += [f"{cond.n_covariates} covariates per bin"] if cond.n_covariates else []
        print(f"  conditional: {' and '.join(what)}")
    print(f"  model: {model_config.architecture}, {model_config.num_layers} layers, "
          f"{model_config.num_features} features, upsampling {model_config.upsampling}; "
          f"batch {train_config.batch_size}, n_critic {train_config.n_critic}, "
          f"lr {train_config.learning_rate:g}; until {' or '.join(limits)}"
          f"{'; resuming' if args.resume else ''}")
    print(f"  follow it with: tensorboard --logdir {out / 'tensorboard'}", flush=True)
    try:
        trainer = Trainer(model_config, train_config, run_dir=out, strategy=strategy,
                          verbose=0 if args.quiet else 1)
        result = trainer.fit(data, resume=args.resume, more_steps=args.more_steps)
    except ConfigError as exc:
        raise flag_error(exc, _PARAM_FLAGS) from None
    val = ", ".join(f"{k} {v:.4g}" for k, v in result.validation.items())
    print(f"spikegan train: stopped at step {result.step} ({result.stopped}) after "
          f"{result.seconds / 60:.1f} min{'; validation ' + val if val else ''}")
    run = RunDir(out)
    print(f"  generator: {run.generator_path}; checkpoints: {run.checkpoint_dir}")
    if result.stopped in ("SIGINT", "SIGTERM"):
        print(f"  checkpoint saved; continue with: spikegan train --out {out} --resume")
        return 130 if result.stopped == "SIGINT" else 143
    if data.conditional:
        how = (f"--condition {data.conditions.classes[0]!r}" if data.conditions.n_classes
               and not data.conditions.n_covariates else "--conditions FILE.npz")
        print(f"  sample with: spikegan sample --run {out} --n 1000 {how} --seed 0 "
              "--out samples.npy")
        return 0
    print(f"  sample with: spikegan sample --run {out} --n 1000 --seed 0 --out samples.npy")
    if model_config.architecture == "temporal":
        print(f"  or one continuous raster: spikegan sample --run {out} --raster --length 100000 "
              "--seed 0 --out raster.npy")
    return 0


def _pick(value: Any, saved: Any, default: Any) -> Any:
    if value is not None:
        return value
    return default if saved is None else saved


def _strategy(name: str) -> Any:
    if name == "multiworker":  # first: before TensorFlow initialises its devices
        from spikegan_tf.gan.multiworker import multi_worker_strategy

        return multi_worker_strategy()
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        return tf.distribute.MirroredStrategy()
    return None

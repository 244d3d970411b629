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
import sys
import warnings
from typing import Any

from spikegan_tf.cli._args import flag_error
from spikegan_tf.cli._conditions import train_conditions, train_trials_table
from spikegan_tf.cli._train_flags import (
    _MODEL_FLAGS,
    _PARAM_FLAGS,
    _TRAIN_FLAGS,
    add_train_parser,
)


def register(subparsers: Any) -> None:
    """Add the ``train`` subcommand."""
    add_train_parser(subparsers).set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the subcommand; return the exit status (130/143 after SIGINT/SIGTERM)."""
    import os
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
        from spikegan_tf.gan.train_config import recipe_settings

        recipe = recipe_settings(args.recipe)
    recipe_bins = recipe["model"].pop("n_bins", None)  # for a raster; windows keep their own
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
            if recipe_bins is None:
                raise ConfigError(f"`--bins` is required: '{data_path}' holds a raster "
                                  f"{recording.spikes.shape} to cut into windows.")
            n_bins = recipe_bins
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
            _one_line_warning(w.message)
        model_fields.setdefault("n_neurons", data.n_neurons)
        model_fields.setdefault("n_bins", data.n_bins)
        model_config = ModelConfig.from_dict(model_fields)
        train_config = _train_config(TrainConfig, train_fields, args.more_steps)
        if args.resume:
            check_resumable(out, saved, model_config, train_config, data.info)
    except ConfigError as exc:
        raise flag_error(exc, _PARAM_FLAGS) from None
    return _train(args, out, data, model_config, train_config)


def _one_line_warning(message: Any, *args: Any, **kwargs: Any) -> None:
    """Print a warning as ``spikegan train: warning: ...``, one line (a ``showwarning``)."""
    print(f"spikegan train: warning: {message}", file=sys.stderr, flush=True)


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
        with warnings.catch_warnings():  # e.g. a stuck generator: one line each, as it happens
            warnings.simplefilter("default", UserWarning)
            warnings.showwarning = _one_line_warning
            result = trainer.fit(data, resume=args.resume, more_steps=args.more_steps)
    except ConfigError as exc:
        raise flag_error(exc, _PARAM_FLAGS) from None
    val = ", ".join(f"{k} {v:.4g}" for k, v in result.validation.items())
    print(f"spikegan train: stopped at step {result.step} ({result.stopped}) after "
          f"{result.seconds / 60:.1f} min{'; validation ' + val if val else ''}")
    run = RunDir(out)
    best = run.read_best() if train_config.publish == "best" else None
    which = (f" (step {best['step']}, the best validation score, {best['score']:.4g})"
             if best else "")
    print(f"  generator: {run.generator_path}{which}; checkpoints: {run.checkpoint_dir}")
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

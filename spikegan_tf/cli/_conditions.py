"""The conditions of ``spikegan sample``: ``--condition LABEL`` or ``--conditions FILE``."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["read_conditions_file", "run_conditions", "sample_onnx_conditional",
           "train_trials_table", "train_conditions"]


def read_conditions_file(path: str) -> dict[str, Any]:
    """``{"labels": ..., "covariates": ...}`` from an ``.npz`` (those keys) or an ``.npy``.

    An ``.npy`` holds labels (1-D) or covariates (2-D or more, numeric); no
    pickle. Errors are one line naming the file.
    """
    import numpy as np

    from spikegan_tf.errors import SpikeDataError

    if path.endswith(".npz"):
        try:
            with np.load(path, allow_pickle=False) as f:
                found = {k: f[k] for k in ("labels", "covariates") if k in f.files}
                keys = list(f.files)
        except (OSError, ValueError) as exc:
            raise SpikeDataError(f"Cannot read conditions file '{path}': {exc}.") from None
        if not found:
            raise SpikeDataError(f"Conditions file '{path}' has neither 'labels' nor "
                                 f"'covariates'. Keys present: {', '.join(keys)}.")
        return found
    if path.endswith(".npy"):
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise SpikeDataError(f"Cannot read conditions file '{path}': {exc}.") from None
        return {"labels": arr} if arr.ndim == 1 else {"covariates": arr}
    raise SpikeDataError(f"Conditions file '{path}' must be .npz or .npy.")


def _file_conditions(path: str, n: int | None) -> tuple[dict[str, Any], int]:
    """The conditions in ``path`` and their count (``--n`` must match it when given)."""
    from spikegan_tf.errors import ConfigError

    given = read_conditions_file(path)
    count = len(next(iter(given.values())))
    if n is not None and n != count:
        raise ConfigError(f"`--n` is {n} but '{path}' holds conditions for {count} windows.")
    return given, count


def _flag_label(value: str, classes: Any, whose: str) -> Any:
    """``--condition``'s text as a class value: an int when the classes are ints."""
    from spikegan_tf.errors import SpikeDataError

    if not (classes and isinstance(classes[0], int)):
        return value
    try:
        return int(value)
    except ValueError:
        raise SpikeDataError(f"`--condition` must be one of the {whose} classes {classes}. "
                             f"Received {value!r}.") from None


def run_conditions(args: argparse.Namespace, n: int | None) -> tuple[int, Any]:
    """``(n, Conditions or None)`` for ``--run``; refused before TensorFlow loads."""
    from spikegan_tf.errors import ConfigError, SpikeDataError
    from spikegan_tf.gan.conditioning import model_conditions
    from spikegan_tf.gan.rundir import RunDir

    run = RunDir(args.run)
    if not run.generator_path.is_file():
        return n, None  # loading the generator says what is missing
    config = run.model_config()
    classes = ((run.read_config().get("data") or {}).get("conditions") or {}).get("classes")
    given = args.condition
    if args.conditions is not None:
        given, n = _file_conditions(args.conditions, n)
    elif given is not None:
        given = _flag_label(given, classes, "run's")
    if config.conditional and args.calibrate:
        raise ConfigError("`--calibrate` applies to unconditional runs: a run with labels "
                          "publishes its generator calibrated per label (`spikegan train "
                          "--calibrate-rates`, its default).")
    try:
        return n, model_conditions(config, classes, n, given)
    except (ConfigError, SpikeDataError) as exc:
        msg = str(exc).replace("pass `conditions=`", "give --condition LABEL or --conditions "
                               "FILE").replace("`conditions`", "the conditions")
        raise type(exc)(msg) from None


def sample_onnx_conditional(args: argparse.Namespace, n: int | None, tmp: Any,
                            write_npy: Any) -> tuple[str, dict, int]:
    """``--model`` with ``--condition``/``--conditions``: the conditional rig runtime."""
    from spikegan_tf.export.conditional_runtime import ConditionalSampler

    sampler = ConditionalSampler(args.model, seed=args.seed)
    if args.conditions is not None:
        given, n = _file_conditions(args.conditions, n)
        labels, cov = given.get("labels"), given.get("covariates")
        labels = None if labels is None else labels.tolist()
    else:
        labels = [_flag_label(args.condition, sampler.classes, "model's")] * n
        cov = None
    chunk = args.chunk_size or sampler.chunk_size

    def draw(out: Any) -> None:
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            out[start:start + m] = sampler.sample(
                m, labels=None if labels is None else labels[start:start + m],
                covariates=None if cov is None else cov[start:start + m])

    write_npy(tmp, (n, sampler.n_neurons, sampler.n_bins), draw)
    return f"the conditional ONNX model {sampler.path}", sampler.record(), n


def train_trials_table(args: argparse.Namespace, saved_data: dict[str, Any], out: Any,
                       condition_key: str | None, covariate_key: str | None) -> str | None:
    """``spikegan train``'s trials table (absolute path): ``--trials-table`` or the run's.

    On ``--resume`` without ``--data`` the run's table is read again; one that
    is not there any more is a one-line error. Refused without a column to read.
    """
    import os
    import sys

    from spikegan_tf.errors import ConfigError

    saved = saved_data.get("trials_table") if args.resume else None
    path = args.trials_table if args.trials_table or args.data else saved
    if path is None:
        return None
    if condition_key is None and covariate_key is None:
        raise ConfigError(f"`--trials-table` needs `--condition-key` (its label column) and/or "
                          f"`--covariate-key` (its numeric columns, comma-separated). Received "
                          f"neither for '{path}'.")
    if args.trials_table is None and not os.path.isfile(path):
        raise ConfigError(f"Cannot resume '{out}': its trials table '{path}' is not there any "
                          "more; if it moved, pass its new path with --trials-table.")
    if saved and args.trials_table and os.path.abspath(args.trials_table) != saved:
        print(f"spikegan train: note: the trials table moved: the run was trained with "
              f"'{saved}', now reading '{os.path.abspath(args.trials_table)}'.", file=sys.stderr)
    return os.path.abspath(path)


def train_conditions(recording: Any, condition_key: str | None, covariate_key: str | None,
                     trials_table: str | None, classes: Any = None) -> dict[str, Any] | None:
    """``spikegan train``'s conditions: columns of the trials table, or arrays of the data file."""
    if trials_table is None:
        from spikegan_tf.data.io import recording_conditions

        return recording_conditions(recording, condition_key, covariate_key)
    from spikegan_tf.data.trials import table_conditions

    return table_conditions(trials_table, recording, condition_key, covariate_key,
                            classes=classes)

"""The run directory: the one place a training run keeps everything.

Layout (all paths relative to the run directory)::

    config.json        {"model": ModelConfig, "train": TrainConfig, "data": summary, ...}
    generator.keras    the latest generator (safe-mode loadable)
    critic.keras       the latest critic
    checkpoints/       tf.train.CheckpointManager checkpoints (models, optimisers, RNG, step)
    metrics.jsonl      one JSON object per logged step
    tensorboard/       TensorBoard event files

Every file is written to a temporary name and renamed into place, so an
interrupted write never leaves a truncated file behind.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

from spikegan_tf._atomic import atomic_path
from spikegan_tf.config import ModelConfig
from spikegan_tf.errors import RunDirError

__all__ = [
    "CONFIG_FILE",
    "GENERATOR_FILE",
    "CRITIC_FILE",
    "CHECKPOINT_DIR",
    "METRICS_FILE",
    "TENSORBOARD_DIR",
    "write_json_atomic",
    "write_config",
    "read_config",
    "read_model_config",
    "save_model",
    "load_generator",
    "load_critic",
    "latest_checkpoint_step",
]

CONFIG_FILE = "config.json"
GENERATOR_FILE = "generator.keras"
CRITIC_FILE = "critic.keras"
CHECKPOINT_DIR = "checkpoints"
METRICS_FILE = "metrics.jsonl"
TENSORBOARD_DIR = "tensorboard"


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` via a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serialisable")


def write_config(run_dir: str | os.PathLike, model: ModelConfig, **sections: Any) -> Path:
    """Write ``config.json`` with the model configuration and any further sections.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = write_config(d, ModelConfig(n_neurons=3, n_bins=8), data={"bin_width": 0.02})
    >>> read_model_config(d).n_neurons
    3
    """
    path = Path(run_dir) / CONFIG_FILE
    write_json_atomic(path, {"model": model.to_dict(), **sections})
    return path


def _require_dir(run_dir: str | os.PathLike) -> Path:
    run = Path(run_dir)
    if not run.exists():
        raise RunDirError(f"Run directory '{run}' does not exist.")
    if not run.is_dir():
        raise RunDirError(f"`run` must be a run directory. Received the file '{run}'.")
    return run


def read_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """Return the parsed ``config.json`` of a run directory (clear error if absent)."""
    path = _require_dir(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise RunDirError(
            f"Run directory '{run_dir}' has no {CONFIG_FILE}: it is not a spikegan run "
            "(expected the --out directory of `spikegan train`)."
        )
    try:
        cfg = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunDirError(f"'{path}' is not valid JSON: {exc}.") from None
    if not isinstance(cfg, dict) or "model" not in cfg:
        raise RunDirError(f"'{path}' has no 'model' section.")
    return cfg


def read_model_config(run_dir: str | os.PathLike) -> ModelConfig:
    """Return the :class:`ModelConfig` stored in a run directory."""
    return ModelConfig.from_dict(read_config(run_dir)["model"])


def save_model(model: Any, path: str | os.PathLike) -> Path:
    """Save a Keras model as a ``.keras`` file atomically (temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        model.save(tmp)
    return path


def _load(run_dir: str | os.PathLike, filename: str, what: str) -> Any:
    import keras

    run = _require_dir(run_dir)
    path = run / filename
    if not path.is_file():
        raise RunDirError(
            f"Run directory '{run}' has no {filename} (the trained {what}): train first "
            f"with `spikegan train --out {run}`, or pass the directory of a finished run."
        )
    damaged = (f"'{path}' is damaged or not a Keras file (the trained {what})")
    remedy = (f"restore it (a training run also keeps its weights in '{run / CHECKPOINT_DIR}': "
              f"`spikegan train --out {run} --resume --more-steps N` writes it again)")
    if not zipfile.is_zipfile(path):  # Keras would call it "File not found"
        raise RunDirError(f"{damaged}: it is not a .keras zip archive; {remedy}.")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
        raise RunDirError(f"{damaged}: {exc}; {remedy}.") from None
    if bad is not None:
        raise RunDirError(f"{damaged}: its member '{bad}' is corrupt; {remedy}.")
    if "config.json" not in names:
        raise RunDirError(f"{damaged}: the archive holds no Keras model (no config.json); "
                          f"{remedy}.")
    try:
        return keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # an archive Keras cannot rebuild
        raise RunDirError(f"{damaged}: Keras could not load it ({exc}); {remedy}.") from None


def load_generator(run_dir: str | os.PathLike) -> Any:
    """Load ``generator.keras`` from a run directory (safe mode, no custom objects)."""
    return _load(run_dir, GENERATOR_FILE, "generator")


def load_critic(run_dir: str | os.PathLike) -> Any:
    """Load ``critic.keras`` from a run directory (safe mode, no custom objects)."""
    return _load(run_dir, CRITIC_FILE, "critic")


def latest_checkpoint_step(run_dir: str | os.PathLike) -> int | None:
    """Step of the latest checkpoint in ``checkpoints/`` (``None`` when there is none)."""
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(str(Path(run_dir) / CHECKPOINT_DIR))
    return None if latest is None else int(latest.rsplit("-", 1)[-1])

"""The run directory: the one place a training run keeps everything.

Layout (all paths relative to the run directory)::

    config.json        {"model": ModelConfig, "train": TrainConfig, "data": summary, ...}
    generator.keras    the published generator (safe-mode loadable): the latest, or the best;
                       its metadata.json records the training step of its weights
    critic.keras       its critic
    best.json          with TrainConfig.publish="best": the published step, score and errors
    checkpoints/       tf.train.CheckpointManager checkpoints (models, optimisers, RNG, step)
    metrics.jsonl      one JSON object per logged step
    tensorboard/       TensorBoard event files

:class:`RunDir` is the one owner of these names: the trainer receives one, and
the command line, ``SpikeGAN`` and the exporters ask it for what they need
(configuration, models, checkpoint steps) instead of opening run files
themselves. Every file is written to a temporary name and renamed into place,
so an interrupted write never leaves a truncated file behind.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spikegan_tf._atomic import atomic_path
from spikegan_tf.errors import RunDirError
from spikegan_tf.gan.config import ModelConfig

__all__ = [
    "CONFIG_FILE",
    "GENERATOR_FILE",
    "CRITIC_FILE",
    "CHECKPOINT_DIR",
    "METRICS_FILE",
    "TENSORBOARD_DIR",
    "BEST_FILE",
    "RunDir",
    "write_json_atomic",
    "save_model",
    "split_as_trained",
]

CONFIG_FILE = "config.json"
GENERATOR_FILE = "generator.keras"
CRITIC_FILE = "critic.keras"
CHECKPOINT_DIR = "checkpoints"
METRICS_FILE = "metrics.jsonl"
TENSORBOARD_DIR = "tensorboard"
BEST_FILE = "best.json"
#: The key of a ``.keras`` archive's ``metadata.json`` that records the training step of its
#: weights (Keras writes that member and never reads it; a fourth member would make every load
#: extract the archive to a temporary directory).
STEP_KEY = "spikegan_step"
_METADATA = "metadata.json"


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


def save_model(model: Any, path: str | os.PathLike, step: int | None = None) -> Path:
    """Save a Keras model as a ``.keras`` file atomically (temporary file + rename).

    With ``step``, the archive also records the training step of its weights
    (:data:`STEP_KEY` in its ``metadata.json``, written before the rename: the
    file and its step are replaced together); :meth:`RunDir.published_step`
    reads it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        model.save(tmp)
        if step is not None:
            _record_step(tmp, int(step))
    return path


def _record_step(path: Path, step: int) -> None:
    """Rewrite the ``.keras`` archive ``path`` with ``step`` in its ``metadata.json``."""
    with atomic_path(path) as out, zipfile.ZipFile(path) as src, \
            zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == _METADATA:
                data = json.dumps({**json.loads(data), STEP_KEY: step}).encode()
            dst.writestr(info, data)


class RunDir:
    """A training run's directory and everything in it.

    Parameters
    ----------
    path : path-like
        The directory (``spikegan train --out``); nothing is created until
        :meth:`open_for_training` or a write.

    Examples
    --------
    >>> import tempfile
    >>> run = RunDir(tempfile.mkdtemp())
    >>> run.holds_run()
    False
    >>> _ = run.write_config(ModelConfig(n_neurons=3, n_bins=8), data={"bin_width": 0.02})
    >>> run.holds_run(), run.model_config().n_neurons, run.read_config()["data"]
    (True, 3, {'bin_width': 0.02})
    >>> RunDir.checkpoint_step("runs/x/checkpoints/ckpt-1200")
    1200
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir('{self.path}')"

    def __str__(self) -> str:
        return str(self.path)

    def __fspath__(self) -> str:
        return str(self.path)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunDir) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    # ------------------------------------------------------------------ names

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def generator_path(self) -> Path:
        return self.path / GENERATOR_FILE

    @property
    def critic_path(self) -> Path:
        return self.path / CRITIC_FILE

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / CHECKPOINT_DIR

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / TENSORBOARD_DIR

    @property
    def best_path(self) -> Path:
        return self.path / BEST_FILE

    def read_best(self) -> dict[str, Any] | None:
        """``best.json`` (``TrainConfig.publish="best"``), or ``None`` when there is none."""
        if not self.best_path.is_file():
            return None
        try:
            best = json.loads(self.best_path.read_text())
            float(best["score"]), int(best["step"])
        except (ValueError, KeyError, TypeError) as exc:
            raise RunDirError(f"'{self.best_path}' is not a best.json written by spikegan_tf "
                              f"(a JSON object with 'step' and 'score'): {exc}.") from None
        return best

    # ------------------------------------------------------------------ life cycle

    def holds_run(self) -> bool:
        """Whether a run was started here (a configuration or checkpoints exist)."""
        return self.config_path.exists() or self.checkpoint_dir.exists()

    def check_new_or_resumable(self, resume: bool,
                               check: Callable[[dict[str, Any]], None] | None = None) -> None:
        """Refuse a directory that cannot take this run, before anything is written.

        A new run needs a directory that holds no run; resuming needs one
        that does, and ``check(saved_config)`` raises when the saved settings
        do not allow it.
        """
        if self.path.exists() and not self.path.is_dir():
            raise RunDirError(f"Run directory '{self.path}' is a file.")
        if resume:
            if not self.path.exists():
                raise RunDirError(f"Cannot resume: '{self.path}' holds no run (no "
                                  f"{CONFIG_FILE}: the directory does not exist).")
            if not self.config_path.is_file():
                raise RunDirError(f"Cannot resume: '{self.path}' holds no run "
                                  f"(no {CONFIG_FILE}).")
            if check is not None:
                check(self.read_config())
        elif self.holds_run():
            raise RunDirError(
                f"Run directory '{self.path}' already holds a run. Resume it (--resume / "
                "resume=True) or choose another output directory.")

    def open_for_training(self, resume: bool,
                          check: Callable[[dict[str, Any]], None] | None = None) -> None:
        """:meth:`check_new_or_resumable`, then create the directory."""
        self.check_new_or_resumable(resume, check)
        self.path.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ configuration

    def _require_dir(self) -> Path:
        if not self.path.exists():
            raise RunDirError(f"Run directory '{self.path}' does not exist.")
        if not self.path.is_dir():
            raise RunDirError(f"`run` must be a run directory. Received the file '{self.path}'.")
        return self.path

    def write_config(self, model: ModelConfig, **sections: Any) -> Path:
        """Write ``config.json``: the model configuration and any further sections."""
        write_json_atomic(self.config_path, {"model": model.to_dict(), **sections})
        return self.config_path

    def read_config(self) -> dict[str, Any]:
        """The parsed ``config.json`` (a clear error when absent or damaged)."""
        self._require_dir()
        path = self.config_path
        if not path.is_file():
            raise RunDirError(
                f"Run directory '{self.path}' has no {CONFIG_FILE}: it is not a spikegan run "
                "(expected the --out directory of `spikegan train`)."
            )
        try:
            cfg = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RunDirError(f"'{path}' is not valid JSON: {exc}.") from None
        if not isinstance(cfg, dict) or "model" not in cfg:
            raise RunDirError(f"'{path}' has no 'model' section.")
        return cfg

    def model_config(self) -> ModelConfig:
        """The run's :class:`ModelConfig`."""
        return ModelConfig.from_dict(self.read_config()["model"])

    def neuron_rates(self) -> list[float] | None:
        """Each neuron's training firing rate as recorded at training (``None`` if absent)."""
        return (self.read_config().get("data") or {}).get("neuron_rates")

    # ------------------------------------------------------------------ models

    def write_model(self, model: ModelConfig, generator: Any, critic: Any,
                    step: int | None = None, **sections: Any) -> None:
        """Write a loadable model: ``config.json`` and the ``.keras`` models (of ``step``)."""
        if self.path.exists() and not self.path.is_dir():
            raise RunDirError(f"`path` must be a directory. Received the file '{self.path}'.")
        self.path.mkdir(parents=True, exist_ok=True)
        self.write_config(model, **sections)
        self.save_models(generator, critic, step=step)

    def save_models(self, generator: Any, critic: Any, step: int | None = None) -> None:
        """Write ``generator.keras`` and ``critic.keras`` (each atomically, each of ``step``)."""
        save_model(generator, self.generator_path, step=step)
        if critic is not None:
            save_model(critic, self.critic_path, step=step)

    def published_step(self) -> int | None:
        """The training step ``generator.keras`` records (``None``: none recorded, or no file).

        Examples
        --------
        >>> import tempfile, keras
        >>> run = RunDir(tempfile.mkdtemp())
        >>> g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> run.published_step() is None
        True
        >>> run.save_models(g, None, step=1200)
        >>> run.published_step()
        1200
        """
        try:
            with zipfile.ZipFile(self.generator_path) as archive:
                step = json.loads(archive.read(_METADATA)).get(STEP_KEY)
        except (OSError, zipfile.BadZipFile, ValueError, KeyError, TypeError, AttributeError):
            return None
        return None if step is None else int(step)

    def has_critic(self) -> bool:
        return self.critic_path.is_file()

    def load_generator(self) -> Any:
        """``generator.keras`` (safe mode, no custom objects)."""
        return self._load(GENERATOR_FILE, "generator")

    def load_critic(self) -> Any:
        """``critic.keras`` (safe mode, no custom objects)."""
        return self._load(CRITIC_FILE, "critic")

    def _load(self, filename: str, what: str) -> Any:
        import keras

        run = self._require_dir()
        path = run / filename
        if not path.is_file():
            raise RunDirError(
                f"Run directory '{run}' has no {filename} (the trained {what}): train first "
                f"with `spikegan train --out {run}`, or pass the directory of a finished run."
            )
        damaged = (f"'{path}' is damaged or not a Keras file (the trained {what})")
        remedy = (f"restore it (a training run also keeps its weights in '{self.checkpoint_dir}'"
                  f": `spikegan train --out {run} --resume --more-steps N` writes it again)")
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

    # ------------------------------------------------------------------ checkpoints

    def checkpoint_manager(self, checkpoint: Any, keep: int) -> Any:
        """A ``tf.train.CheckpointManager`` of ``checkpoints/ckpt-<step>``."""
        import tensorflow as tf

        return tf.train.CheckpointManager(checkpoint, str(self.checkpoint_dir),
                                          max_to_keep=keep, checkpoint_name="ckpt")

    @staticmethod
    def checkpoint_step(prefix: str | None) -> int | None:
        """The step in a checkpoint prefix ``.../ckpt-<step>`` (``None`` for ``None``)."""
        return None if prefix is None else int(str(prefix).rsplit("-", 1)[-1])

    def latest_checkpoint_step(self) -> int | None:
        """Step of the latest checkpoint (``None`` when there is none)."""
        import tensorflow as tf

        return self.checkpoint_step(tf.train.latest_checkpoint(str(self.checkpoint_dir)))

    # ------------------------------------------------------------------ metrics

    def open_metrics(self) -> Any:
        """``metrics.jsonl`` opened for appending (one JSON object a line)."""
        return open(self.metrics_path, "a")  # noqa: SIM115

    def truncate_metrics(self, step: int) -> None:
        """Drop the metric lines logged after ``step`` (the checkpoint resumed from)."""
        path = self.metrics_path
        if not path.is_file():
            return
        kept = []
        for line in path.read_text().splitlines():
            try:
                if json.loads(line).get("step", 0) <= step:
                    kept.append(line)
            except json.JSONDecodeError:  # a line cut by kill -9
                continue
        with atomic_path(path) as tmp:
            tmp.write_text("".join(line + "\n" for line in kept))


def split_as_trained(recording: Any, run_config: dict[str, Any], *,
                     val_fraction: float | None = None, conditions: Any = None) -> Any:
    """``recording``'s windows split as the run's training split them (:func:`prepare_data`).

    With the run's window length, ``stride``, seed and validation share (or
    ``val_fraction``), and its label classes in their order; warnings (e.g.
    silent neurons) are not repeated: training reported them.

    Examples
    --------
    >>> import numpy as np
    >>> x = (np.random.default_rng(0).random((40, 3, 8)) < 0.3).astype(np.uint8)
    >>> cfg = {"model": {"n_bins": 8}, "data": {"val_fraction": 0.25}, "train": {"seed": 1}}
    >>> data = split_as_trained(x, cfg)
    >>> from spikegan_tf.data.splits import prepare_data
    >>> same = prepare_data(x, 8, val_fraction=0.25, seed=1)
    >>> bool(np.array_equal(data.val, same.val)), len(data.val)
    (True, 10)
    """
    import warnings

    from spikegan_tf.data.splits import prepare_data

    info = run_config.get("data") or {}
    if val_fraction is None:
        val_fraction = float(info.get("val_fraction") or 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reported at training time
        return prepare_data(recording, run_config["model"]["n_bins"], val_fraction=val_fraction,
                            stride=int(info.get("stride") or 1),
                            seed=int((run_config.get("train") or {}).get("seed") or 0),
                            conditions=conditions,
                            classes=(info.get("conditions") or {}).get("classes"))

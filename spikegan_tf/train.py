"""WGAN-GP training of Spike-GAN: a custom ``tf.function`` step under ``tf.distribute``.

One training **step** is one generator iteration of the paper: ``n_critic``
critic updates (each on a fresh real batch, fresh fake batch and fresh
interpolation weights, loss ``E[D(fake)] - E[D(real)] + gp_weight * GP``)
followed by one generator update (loss ``-E[D(G(z))]``), Adam(3e-4, 0, 0.9)
for both, batch 64 (:class:`TrainConfig`; ``TrainConfig.from_recipe("paper")``
is the paper's Adam(1e-4, 0, 0.9)). By default the critic sees generated
windows as Bernoulli spikes with a straight-through gradient
(:func:`spikegan_tf.losses.critic_view`), as binary as the real ones.

How the step is made fast without changing the mathematics:

* the ``n_critic`` fake batches of one step are generated in **one** generator
  call (the generator does not change during the critic updates and has no
  batch-coupled layers);
* real, fake and interpolated windows go through the critic as **one** batch;
* real windows are sampled **inside the graph**: the training windows (or the
  training raster, windowed on the fly from random start indices) are a
  constant and each batch is a ``tf.gather`` of indices drawn uniformly, with
  replacement, from the trainer's ``tf.random.Generator``;
* several steps run per ``tf.function`` call (``steps_per_call``), and the
  whole loop can be XLA-compiled (``jit_compile``: for GPUs; on CPUs XLA
  compiles the penalty's second-order convolutions ~40x slower).

On a CPU the step is compute-bound: ``benchmarks/bench_train.py`` measures
~80 GFLOP per CPU-second for both this trainer and a straightforward Keras
step, ~80 % of what a large float32 matmul reaches.

Randomness: the trainer owns ``tf.random.Generator.from_seed(seed)``; it draws
every random number of a step (data indices, ``z``, interpolation weights) for
the **global** batch in cross-replica context, and each replica takes its slice,
so one seed gives the same training whatever the number of replicas. The
generator is checkpointed with the models, both optimisers and the step
counter: ``k`` steps, then resume for ``k`` more, equals ``2 k`` steps.

Losses are summed per replica and divided by the global batch size, so the
all-reduced gradients are those of the global batch.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf.config import ModelConfig, dataclass_from_dict
from spikegan_tf.data import split_raster, split_windows, window_view, windowed_spikes
from spikegan_tf.errors import ConfigError, SpikeDataError, TrainingDivergedError
from spikegan_tf.rundir import RunDir
from spikegan_tf.validation import check_positive_int, check_seed, silent_neurons_message, where

__all__ = ["DEFAULT_MAX_STEPS", "RECIPES", "TrainConfig", "TrainingData", "TrainResult",
           "Trainer", "check_resumable", "complete_message", "neuron_rates", "prepare_data"]

# TrainConfig fields that change the mathematics of training: resuming a run
# with other values is an error. The others (stopping, logging, speed) may change.
#: Steps of a run given neither ``max_steps`` nor ``max_minutes``.
DEFAULT_MAX_STEPS = 20000


class _Unset:
    """Default of ``TrainConfig.max_steps``: resolved in ``__post_init__``."""

    def __repr__(self) -> str:
        return f"{DEFAULT_MAX_STEPS} unless max_minutes is given"


_UNSET: Any = _Unset()

_RESUME_FIXED = ("batch_size", "n_critic", "gp_weight", "learning_rate", "beta_1", "beta_2",
                 "seed", "mixed_precision", "critic_input")
# what a run written before a setting existed did (its config.json lacks the key)
_RESUME_LEGACY = {"critic_input": "probabilities"}
_CRITIC_INPUTS = ("spikes", "probabilities")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of WGAN-GP training.

    The defaults are the paper's except where a committed benchmark measured
    better: ``learning_rate`` 3e-4 (not 1e-4), ``init_output_bias`` and
    ``critic_input="spikes"``. ``TrainConfig.from_recipe("paper")`` gives the
    paper's settings exactly.

    Parameters
    ----------
    batch_size : int
        Global batch size (split over the replicas of a distribution strategy).
    n_critic : int
        Critic updates per generator update.
    gp_weight : float
        Weight of the gradient penalty (``lambda``).
    learning_rate, beta_1, beta_2 : float
        Adam's parameters, the same for both networks.
    max_steps : int, optional
        Stop after this many steps (generator iterations) in total, counting
        the steps of the run being resumed. Default: ``DEFAULT_MAX_STEPS``
        (20000) when ``max_minutes`` is not given, else no step limit, so that
        a time budget alone is never cut short by a step cap.
    max_minutes : float, optional
        Stop after this many minutes of this session (checkpointing first).
    seed : int
        Seed of the initial weights and of every random draw of training.
    jit_compile : bool
        XLA-compile the training loop.
    mixed_precision : bool
        Build the models with the ``mixed_float16`` policy (float16 compute,
        float32 weights, losses and penalty) and scale the losses.
    checkpoint_every : int
        Steps between checkpoints (and between ``.keras`` model saves).
    checkpoint_minutes : float, optional
        Also checkpoint when this many minutes have passed since the last
        checkpoint (whichever of the two comes first), so that ``kill -9``
        loses at most this much work on a slow machine; ``None`` disables it.
    keep_checkpoints : int
        Checkpoints kept in ``checkpoints/`` (the latest ones).
    eval_every : int
        Steps between validation evaluations (0 disables them).
    eval_samples : int
        At most this many generated windows per evaluation (and no more than
        the validation windows).
    log_every : int
        Steps between lines of ``metrics.jsonl`` / TensorBoard points.
    steps_per_call : int
        Steps per ``tf.function`` call (fewer Python round trips; checkpoints,
        evaluations and logs still happen at their exact steps).
    init_output_bias : bool
        When a new run starts (step 0), set the generator's output bias to the
        logit of each neuron's firing probability in the training data
        (:func:`spikegan_tf.models.set_output_bias`), so that it starts at the
        data's rates. Not in the paper; ``False`` reproduces its initialisation.
    critic_input : {"spikes", "probabilities"}
        What the critic sees of a generated window. ``"spikes"``: Bernoulli
        draws ``u < p`` of the generator's probabilities, with a
        straight-through gradient (:func:`spikegan_tf.losses.critic_view`),
        so that real and fake windows are both binary. ``"probabilities"``:
        the probabilities themselves, as in the paper, which biases the
        generated rates low.

    Examples
    --------
    >>> TrainConfig().n_critic, TrainConfig().gp_weight, TrainConfig().batch_size
    (5, 10.0, 64)
    >>> TrainConfig().max_steps, TrainConfig(max_minutes=20).max_steps
    (20000, None)
    >>> TrainConfig(batch_size=0)
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.ConfigError: `batch_size` must be an integer >= 1. Received 0.
    """

    batch_size: int = 64
    n_critic: int = 5
    gp_weight: float = 10.0
    learning_rate: float = 3e-4
    beta_1: float = 0.0
    beta_2: float = 0.9
    max_steps: int | None = _UNSET  # type: ignore[assignment]  # see __post_init__
    max_minutes: float | None = None
    seed: int = 0
    jit_compile: bool = False
    mixed_precision: bool = False
    checkpoint_every: int = 1000
    checkpoint_minutes: float | None = 5.0
    keep_checkpoints: int = 3
    eval_every: int = 1000
    eval_samples: int = 8192
    log_every: int = 50
    steps_per_call: int = 10
    init_output_bias: bool = True
    critic_input: str = "spikes"

    def __post_init__(self) -> None:
        if self.max_steps is _UNSET:  # not given: a step cap only without a time budget
            object.__setattr__(self, "max_steps",
                               DEFAULT_MAX_STEPS if self.max_minutes is None else None)
        for name in ("batch_size", "n_critic", "checkpoint_every", "keep_checkpoints",
                     "eval_samples", "log_every", "steps_per_call"):
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.eval_every, "eval_every", minimum=0)
        if self.max_steps is not None:
            check_positive_int(self.max_steps, "max_steps", minimum=0)
        if self.max_minutes is not None and not _is_real(self.max_minutes, positive=True):
            raise ConfigError(f"`max_minutes` must be a number > 0 or None. "
                              f"Received {self.max_minutes!r}.")
        if self.checkpoint_minutes is not None and not _is_real(self.checkpoint_minutes,
                                                                 positive=True):
            raise ConfigError(f"`checkpoint_minutes` must be a number > 0 or None. "
                              f"Received {self.checkpoint_minutes!r}.")
        if self.max_steps is None and self.max_minutes is None:
            raise ConfigError("Set `max_steps` or `max_minutes` (or both): training needs a "
                              "stopping rule.")
        if check_seed(self.seed) is None:
            raise ConfigError("`seed` must be a non-negative integer (training is always seeded).")
        if not _is_real(self.gp_weight) or self.gp_weight < 0:
            raise ConfigError(f"`gp_weight` must be a number >= 0. Received {self.gp_weight!r}.")
        if not _is_real(self.learning_rate, positive=True):
            raise ConfigError(f"`learning_rate` must be a number > 0. "
                              f"Received {self.learning_rate!r}.")
        for name in ("beta_1", "beta_2"):
            value = getattr(self, name)
            if not _is_real(value) or not 0.0 <= value < 1.0:
                raise ConfigError(f"`{name}` must be in [0, 1). Received {value!r}.")
        if self.critic_input not in _CRITIC_INPUTS:
            raise ConfigError(f"`critic_input` must be one of {_CRITIC_INPUTS}. "
                              f"Received {self.critic_input!r}.")
        for name in ("jit_compile", "mixed_precision", "init_output_bias"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"`{name}` must be True or False. "
                                  f"Received {getattr(self, name)!r}.")

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_recipe(cls, recipe: str, **overrides: Any) -> TrainConfig:
        """A configuration from a named recipe (:data:`RECIPES`), with ``overrides`` on top.

        ``"paper"`` is exactly the paper's training (Adam 1e-4, betas 0 and
        0.9, batch 64, 5 critic updates, penalty 10, output at 0.5, the critic
        fed probabilities), whatever this package's defaults become;
        ``"default"`` is this package's defaults.

        Examples
        --------
        >>> cfg = TrainConfig.from_recipe("paper", max_steps=10)
        >>> cfg.learning_rate, cfg.critic_input, cfg.init_output_bias, cfg.max_steps
        (0.0001, 'probabilities', False, 10)
        """
        if recipe not in RECIPES:
            raise ConfigError(f"`recipe` must be one of {tuple(RECIPES)}. Received {recipe!r}.")
        return cls(**{**RECIPES[recipe]["train"], **overrides})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build a configuration from :meth:`to_dict` output, rejecting unknown keys.

        Examples
        --------
        >>> TrainConfig.from_dict({"batch_size": 16}).batch_size
        16
        """
        return dataclass_from_dict(cls, data, "training configuration")


#: Named recipes: the training settings (``"train"``, see ``TrainConfig.from_recipe``) and
#: model settings (``"model"``, :class:`~spikegan_tf.config.ModelConfig` fields) each one fixes.
#: ``"paper"`` is the paper's reference implementation (resize-convolution upsampling).
RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "default": {"train": {}, "model": {}},
    "paper": {"train": {"batch_size": 64, "n_critic": 5, "gp_weight": 10.0,
                        "learning_rate": 1e-4, "beta_1": 0.0, "beta_2": 0.9,
                        "init_output_bias": False, "critic_input": "probabilities"},
              "model": {"upsampling": "resize"}},
}


def _is_real(value: Any, positive: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    if not math.isfinite(float(value)):
        return False
    return float(value) > 0 if positive else True


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, eq=False)
class TrainingData:
    """Training and validation data ready for :meth:`Trainer.fit`.

    ``train`` is either windows ``(n, n_neurons, n_bins)`` or a raster
    ``(time_bins, n_neurons)`` that the trainer windows on the fly (start
    indices ``0, stride, 2 stride, ...``); ``val`` holds validation windows or
    is ``None``; ``info`` is the ``data`` section of ``config.json``.
    Build it with :func:`prepare_data`.
    """

    train: np.ndarray
    val: np.ndarray | None
    n_bins: int
    stride: int = 1
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def is_raster(self) -> bool:
        """Whether ``train`` is a raster (windowed on the fly)."""
        return self.train.ndim == 2

    @property
    def n_neurons(self) -> int:
        """Neurons per window."""
        return int(self.train.shape[-1] if self.is_raster else self.train.shape[1])

    @property
    def n_train(self) -> int:
        """Number of distinct training windows."""
        if self.is_raster:
            return (self.train.shape[0] - self.n_bins) // self.stride + 1
        return int(self.train.shape[0])


def neuron_rates(windows_or_raster: np.ndarray) -> np.ndarray:
    """Firing probability per neuron ``(n_neurons,)`` of a raster or of windows.

    Examples
    --------
    >>> import numpy as np
    >>> neuron_rates(np.array([[1, 0], [0, 0]], np.uint8)).tolist()
    [0.5, 0.0]
    """
    axes = 0 if windows_or_raster.ndim == 2 else (0, 2)
    return windows_or_raster.mean(axis=axes, dtype=np.float64)


def _firing_summary(windows_or_raster: np.ndarray) -> dict[str, float]:
    p = neuron_rates(windows_or_raster)
    return {"mean": float(p.mean()), "min": float(p.min()), "max": float(p.max())}


def prepare_data(spikes: Any, n_bins: int | None = None, *, val_fraction: float = 0.1,
                 stride: int = 1, seed: int = 0, source: str | None = None,
                 key: str | None = None, bin_width: float | None = None) -> TrainingData:
    """Validate spikes and split them into training and validation data.

    A raster ``(time_bins, n_neurons)`` is split **in time** (the last
    ``val_fraction`` of the recording validates, with an ``n_bins`` gap so that
    no window straddles both parts); the training part stays a raster that the
    trainer windows on the fly, and the validation part is cut into windows
    with ``stride``. Windows ``(n, n_neurons, n_bins)`` are split **by sample**
    (seeded random split).

    Parameters
    ----------
    spikes : array_like or SpikeRecording
        Raster or windows of 0/1 values, or what
        :func:`spikegan_tf.data.load_spikes` returns (its source, key and bin
        width are recorded unless given here).
    n_bins : int, optional
        Window length; required for a raster, checked against windows.
    val_fraction : float
        Fraction held out for validation, in ``[0, 1)``.
    stride : int
        Step between window starts in a raster.
    seed : int
        Seed of the split of windows.
    source, key, bin_width : optional
        Where the data came from, recorded in ``config.json``.

    Examples
    --------
    >>> import numpy as np
    >>> raster = (np.random.default_rng(0).random((1000, 4)) < 0.2).astype("uint8")
    >>> data = prepare_data(raster, 8, val_fraction=0.2)
    >>> data.n_neurons, data.train.shape, data.val.shape
    (4, (794, 4), (191, 4, 8))
    """
    stride = check_positive_int(stride, "stride")
    seed = check_seed(seed) or 0
    if not _is_real(val_fraction) or not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"`val_fraction` must be in [0, 1). Received {val_fraction!r}.")
    spec = windowed_spikes(spikes, n_bins=n_bins, stride=stride, name="spikes", source=source,
                           stride_for_windows="ignore")
    source = spec.source
    key = spec.key if key is None else key
    bin_width = spec.bin_width if bin_width is None else bin_width
    kind, n_bins = spec.kind, spec.n_bins
    if kind == "raster":
        raster = spec.spikes
        if val_fraction > 0:
            train, val_raster = split_raster(raster, (1.0 - val_fraction, val_fraction),
                                             gap=n_bins)
        else:
            train, val_raster = raster, None
        if train.shape[0] < n_bins:
            raise SpikeDataError(
                f"The training part of the raster has {train.shape[0]} time bins, fewer than "
                f"one window of n_bins={n_bins}{where(source)}. Use a longer recording, "
                "fewer bins or a smaller --val-fraction.")
        val = None
        if val_raster is not None and val_raster.shape[0] >= n_bins:
            val = np.ascontiguousarray(window_view(val_raster, n_bins, stride))
    else:
        windows = spec.spikes
        if val_fraction > 0 and len(windows) >= 2:
            train, val = split_windows(windows, (1.0 - val_fraction, val_fraction), seed=seed)
        else:
            train, val = windows, None
        if len(train) == 0:
            raise SpikeDataError(f"No training windows left after holding out "
                                 f"val_fraction={val_fraction}{where(source)}.")
        if val is not None and len(val) == 0:
            val = None
    data = TrainingData(train=np.ascontiguousarray(train), val=val, n_bins=n_bins,
                        stride=stride)
    info: dict[str, Any] = {
        "kind": kind,
        "n_neurons": data.n_neurons,
        "n_bins": n_bins,
        "stride": stride if kind == "raster" else None,
        "val_fraction": float(val_fraction),
        "n_train": data.n_train,
        "n_val": 0 if val is None else int(len(val)),
        "firing_probability": _firing_summary(train),
        "source": _resolved(source),
        "key": key,
        "bin_width": bin_width,
    }
    if kind == "raster":
        info["n_time_bins"] = int(spec.spikes.shape[0])
    rates = neuron_rates(train)
    info["silent_neurons"] = np.flatnonzero(rates == 0).tolist()
    # per neuron: what `spikegan sample --calibrate` shifts the generator's rates to
    info["neuron_rates"] = [float(r) for r in rates]
    silent = silent_neurons_message(rates, source=None if source is None else str(source))
    if silent:
        warnings.warn(silent, UserWarning, stacklevel=2)
    return dataclasses.replace(data, info=info)


def _resolved(source: Any) -> str | None:
    """The absolute path of a data file (so a run can be resumed from anywhere)."""
    if source is None:
        return None
    text = str(source)
    return os.path.abspath(text) if os.path.isfile(text) else text


# --------------------------------------------------------------------------- trainer


@dataclass
class TrainResult:
    """What :meth:`Trainer.fit` did.

    ``stopped`` is ``"max_steps"``, ``"max_minutes"``, ``"SIGINT"`` or ``"SIGTERM"``;
    ``"complete"`` when a resumed run had already reached ``max_steps`` (nothing
    was trained: extend it with ``more_steps``, see :meth:`Trainer.fit`).
    """

    step: int
    stopped: str
    seconds: float
    losses: dict[str, float]
    validation: dict[str, float]
    run_dir: Path | None


class Trainer:
    """WGAN-GP trainer of a Spike-GAN generator/critic pair.

    Parameters
    ----------
    model_config : ModelConfig
        Architecture of the two networks.
    train_config : TrainConfig, optional
        Hyper-parameters (:class:`TrainConfig`'s defaults if omitted).
    run_dir : path, optional
        Run directory (layout of :mod:`spikegan_tf.rundir`); ``None`` trains in
        memory without writing anything.
    strategy : tf.distribute.Strategy, optional
        Default: the current strategy (one device, the GPU when there is one);
        a ``MirroredStrategy`` trains on several devices.
    verbose : int
        0 silent, 1 progress line, 2 one line per log.

    Examples
    --------
    >>> import numpy as np
    >>> x = (np.random.default_rng(0).random((64, 3, 8)) < 0.3).astype("uint8")
    >>> trainer = Trainer(ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8),
    ...                   TrainConfig(batch_size=8, max_steps=2, eval_every=0), verbose=0)
    >>> trainer.fit(prepare_data(x)).step
    2
    """

    def __init__(self, model_config: ModelConfig, train_config: TrainConfig | None = None, *,
                 run_dir: str | Path | None = None, strategy: Any = None,
                 verbose: int = 1) -> None:
        import keras
        import tensorflow as tf

        from spikegan_tf.models import build_critic, build_generator

        if not isinstance(model_config, ModelConfig):
            raise ConfigError(f"`model_config` must be a ModelConfig. "
                              f"Received {type(model_config).__name__}.")
        train_config = TrainConfig() if train_config is None else train_config
        if not isinstance(train_config, TrainConfig):
            raise ConfigError(f"`train_config` must be a TrainConfig. "
                              f"Received {type(train_config).__name__}.")
        self.model_config = model_config
        self.config = train_config
        self.run_dir = None if run_dir is None else RunDir(run_dir)
        self.stop_training: str | None = None
        self.verbose = int(verbose)
        # one device, no strategy: the critic updates run in a graph loop (traced once,
        # XLA-compilable); other strategies synchronise in every update, which TF
        # allows only outside control flow, so their updates are unrolled instead
        self._single_device = strategy is None and not tf.distribute.has_strategy()
        self.strategy = strategy if strategy is not None else tf.distribute.get_strategy()
        if train_config.jit_compile and not self._single_device:
            warnings.warn("`jit_compile` applies to single-device training; it is ignored "
                          "under a distribution strategy.", stacklevel=2)
        elif train_config.jit_compile and not tf.config.list_logical_devices("GPU"):
            warnings.warn("`jit_compile` on a CPU: XLA compiles the gradient penalty's "
                          "second-order convolutions poorly (measured ~40x slower than "
                          "without it, benchmarks/bench_train.py); use it on GPUs.",
                          stacklevel=2)
        n_rep = self.strategy.num_replicas_in_sync
        if train_config.batch_size % n_rep:
            raise ConfigError(
                f"`batch_size` ({train_config.batch_size}) must be divisible by the number of "
                f"replicas ({n_rep}) of the distribution strategy.")
        g_seed, d_seed, rng_seed = (int(s) for s in
                                    np.random.SeedSequence(train_config.seed).generate_state(3))
        dtype = "mixed_float16" if train_config.mixed_precision else None
        with self.strategy.scope():
            self.generator = build_generator(model_config, dtype=dtype, seed=g_seed)
            self.critic = build_critic(model_config, dtype=dtype, seed=d_seed)
            self.g_optimizer = self._optimizer(keras, "generator_adam")
            self.d_optimizer = self._optimizer(keras, "critic_adam")
            # create the optimisers' slots now, so that a checkpoint restores into them
            self.g_optimizer.build(self.generator.trainable_variables)
            self.d_optimizer.build(self.critic.trainable_variables)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.rng = tf.random.Generator.from_seed(rng_seed)
        self.checkpoint = tf.train.Checkpoint(
            generator=self.generator, critic=self.critic, generator_optimizer=self.g_optimizer,
            critic_optimizer=self.d_optimizer, step=self.step, rng=self.rng)
        self._manager = None
        self._train_fn = None
        self._data_key: Any = None

    # ----------------------------------------------------------------- building blocks

    def _optimizer(self, keras: Any, name: str) -> Any:
        cfg = self.config
        opt = keras.optimizers.Adam(learning_rate=cfg.learning_rate, beta_1=cfg.beta_1,
                                    beta_2=cfg.beta_2, name=name)
        if cfg.mixed_precision:
            opt = keras.optimizers.LossScaleOptimizer(opt, name=f"{name}_loss_scale")
        return opt

    def _sample_real(self, data: Any, count: int) -> Any:
        """Draw ``count`` training windows in the graph (uniform, with replacement)."""
        import tensorflow as tf

        table, n_windows, raster_stride = data
        idx = self.rng.uniform((count,), 0, n_windows, dtype=tf.int64)
        if raster_stride is None:
            return tf.cast(tf.gather(table, idx), tf.float32)
        n_bins = self.model_config.n_bins
        rows = idx[:, None] * raster_stride + tf.range(n_bins, dtype=tf.int64)[None, :]
        windows = tf.gather(table, rows)  # (count, n_bins, n_neurons)
        return tf.transpose(tf.cast(windows, tf.float32), (0, 2, 1))

    def _replica_step(self, real: Any, z_critic: Any, alpha: Any, z_gen: Any,
                      u_critic: Any = None, u_gen: Any = None) -> dict[str, Any]:
        """One generator iteration on this replica's slice of the global batch.

        ``u_critic`` / ``u_gen`` are the uniform draws that turn the fake
        probabilities into spikes for the critic (``critic_input="spikes"``),
        ``None`` when the critic sees the probabilities.
        """
        import tensorflow as tf

        from spikegan_tf.losses import critic_objective, critic_view, generator_loss

        cfg, mc = self.config, self.model_config
        ctx = tf.distribute.get_replica_context()
        n_rep = ctx.num_replicas_in_sync
        batch = cfg.batch_size
        per = batch // n_rep
        if n_rep > 1:
            start = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * per
            real = real[:, start:start + per]
            z_critic = z_critic[:, start:start + per]
            alpha = alpha[:, start:start + per]
            z_gen = z_gen[start:start + per]
            if u_critic is not None:
                u_critic = u_critic[:, start:start + per]
                u_gen = u_gen[start:start + per]
        k = cfg.n_critic
        mixed = cfg.mixed_precision
        # all fake batches of the critic updates in one call: G is fixed meanwhile
        fake = self.generator(tf.reshape(z_critic, (k * per, mc.latent_dim)), training=True)
        fake = tf.reshape(tf.cast(fake, tf.float32), (k, per, mc.n_neurons, mc.n_bins))
        if u_critic is not None:  # the critic sees spikes, as it does for real windows
            fake = critic_view(fake, u_critic)
        critic_vars = self.critic.trainable_variables
        d_total = d_wass = d_gp = tf.constant(0.0)
        for i in tf.range(k) if self._single_device else range(k):
            with tf.GradientTape() as tape:
                total, wass, gp = critic_objective(self.critic, real[i], fake[i], alpha[i],
                                                   cfg.gp_weight, global_batch_size=batch)
                loss = self.d_optimizer.scale_loss(total) if mixed else total
            grads = tape.gradient(loss, critic_vars)
            self.d_optimizer.apply(grads, critic_vars)
            d_total, d_wass, d_gp = d_total + total, d_wass + wass, d_gp + gp
        gen_vars = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fake_gen = tf.cast(self.generator(z_gen, training=True), tf.float32)
            if u_gen is not None:
                fake_gen = critic_view(fake_gen, u_gen)
            scores = self.critic(fake_gen, training=True)
            g_loss = generator_loss(scores, global_batch_size=batch)
            loss = self.g_optimizer.scale_loss(g_loss) if mixed else g_loss
        grads = tape.gradient(loss, gen_vars)
        self.g_optimizer.apply(grads, gen_vars)
        return {"d_loss": d_total / k, "wasserstein": -d_wass / k, "gp": d_gp / k,
                "g_loss": g_loss}

    def _one_step(self, data: Any) -> dict[str, Any]:
        """Draw the global batch's random numbers, run the replicas, reduce the losses."""
        import tensorflow as tf

        cfg, mc = self.config, self.model_config
        k, b = cfg.n_critic, cfg.batch_size
        real = tf.reshape(self._sample_real(data, k * b), (k, b, mc.n_neurons, mc.n_bins))
        z_critic = self.rng.normal((k, b, mc.latent_dim))
        alpha = self.rng.uniform((k, b, 1, 1))
        z_gen = self.rng.normal((b, mc.latent_dim))
        args: tuple[Any, ...] = (real, z_critic, alpha, z_gen)
        if cfg.critic_input == "spikes":
            shape = (b, mc.n_neurons, mc.n_bins)
            args += (self.rng.uniform((k, *shape)), self.rng.uniform(shape))
        per_replica = self.strategy.run(self._replica_step, args=args)
        losses = {name: self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                  for name, value in per_replica.items()}
        self.step.assign_add(1)
        return losses

    def _build_train_fn(self, data: Any) -> Any:
        import tensorflow as tf

        names = ("d_loss", "wasserstein", "gp", "g_loss")

        def train_fn(n_steps: Any) -> tuple[dict[str, Any], Any, Any]:
            losses = {name: tf.constant(0.0) for name in names}
            finite = tf.constant(True)
            done = tf.constant(0, tf.int64)
            while done < n_steps and finite:
                losses = self._one_step(data)
                finite = tf.reduce_all(tf.math.is_finite(tf.stack(list(losses.values()))))
                done += 1
            return losses, finite, done

        jit = self.config.jit_compile and self._single_device
        return tf.function(train_fn, jit_compile=jit, reduce_retracing=True)

    def _data_tensors(self, data: TrainingData) -> Any:
        import tensorflow as tf

        table = tf.constant(data.train)
        if data.is_raster:
            return table, tf.constant(data.n_train, tf.int64), tf.constant(data.stride, tf.int64)
        return table, tf.constant(data.n_train, tf.int64), None

    def train_steps(self, data: TrainingData, n_steps: int) -> dict[str, float]:
        """Run ``n_steps`` steps without any run-directory I/O; return the last losses.

        Raises :class:`TrainingDivergedError` on a non-finite loss.
        """
        losses, finite, done = self._call(data, n_steps)
        if not finite:
            raise TrainingDivergedError(self._diverged_message(losses, None))
        return losses

    def _call(self, data: TrainingData, n_steps: int) -> tuple[dict[str, float], bool, int]:
        import tensorflow as tf

        self._check_data(data)
        key = id(data)
        if self._train_fn is None or self._data_key != key:
            self._data = self._data_tensors(data)
            self._train_fn = self._build_train_fn(self._data)
            self._data_key = key
        losses, finite, done = self._train_fn(tf.constant(n_steps, tf.int64))
        return ({k: float(v) for k, v in losses.items()}, bool(finite), int(done))

    def _check_data(self, data: TrainingData) -> None:
        if not isinstance(data, TrainingData):
            raise ConfigError("`data` must be a TrainingData (see `prepare_data`). "
                              f"Received {type(data).__name__}.")
        mc = self.model_config
        if data.n_neurons != mc.n_neurons or data.n_bins != mc.n_bins:
            raise SpikeDataError(
                f"The data has {data.n_neurons} neurons and {data.n_bins} bins per window, but "
                f"the model expects n_neurons={mc.n_neurons}, n_bins={mc.n_bins}.")

    def diverged_message(self, losses: dict[str, float], cause: str | None = None) -> str:
        """The one-line error of a diverged run: what happened and what to do."""
        shown = ", ".join(f"{k}={v:.4g}" for k, v in losses.items())
        cause = cause or f"non-finite loss ({shown})"
        msg = f"Training diverged at step {int(self.step.numpy())}: {cause}."
        last = self.last_checkpoint_step()
        if last is not None:
            msg += (f" The last good checkpoint (step {last}) is kept in "
                    f"'{self.run_dir.checkpoint_dir}': resume from it with a lower "
                    f"learning rate (now {self.config.learning_rate:g}).")
        elif self.run_dir is not None:
            msg += " No checkpoint had been saved yet; start again with a lower learning rate."
        else:
            msg += f" Try a lower learning rate (now {self.config.learning_rate:g})."
        return msg

    # ----------------------------------------------------------------- run directory

    def _open_run_dir(self, data: TrainingData, resume: bool,
                      more_steps: int | None = None) -> int:
        """Create or reopen the run directory; return the step restored (0 if new)."""
        run = self.run_dir
        run.open_for_training(resume, lambda saved: check_resumable(
            run, saved, self.model_config, self.config, data.info))
        self._manager = run.checkpoint_manager(self.checkpoint, self.config.keep_checkpoints)
        restored = 0
        if resume and self._manager.latest_checkpoint:
            self.checkpoint.restore(self._manager.latest_checkpoint).assert_existing_objects_matched()
            restored = int(self.step.numpy())
        if more_steps is not None:
            self.config = dataclasses.replace(self.config, max_steps=restored + more_steps)
        run.write_config(self.model_config, train=self.config.to_dict(), data=data.info)
        if resume:
            run.truncate_metrics(restored)
        return restored

    def last_checkpoint_step(self) -> int | None:
        """Step of the run directory's latest checkpoint (``None``: none, or no directory)."""
        if self._manager is None:
            return None
        return self.run_dir.checkpoint_step(self._manager.latest_checkpoint)

    def init_output_bias(self, data: TrainingData) -> None:
        """Start the generator at the training data's firing rates (see ``TrainConfig``)."""
        from spikegan_tf.models import set_output_bias

        self._check_data(data)
        with self.strategy.scope():
            set_output_bias(self.generator, self.model_config, neuron_rates(data.train))

    def save(self) -> None:
        """Write a checkpoint of the current step and the ``.keras`` models (with a run dir)."""
        if self.run_dir is None:
            return
        self._manager.save(checkpoint_number=int(self.step.numpy()))
        self.run_dir.save_models(self.generator, self.critic)

    # ----------------------------------------------------------------- the loop

    def fit(self, data: TrainingData, *, resume: bool = False, more_steps: int | None = None,
            callbacks: Sequence[Any] | None = None,
            config: TrainConfig | None = None) -> TrainResult:
        """Train until ``max_steps`` / ``max_minutes`` or a stop request.

        The loop only steps and stops; validation, logging, TensorBoard,
        checkpoints, the progress line and the stop on Ctrl-C / SIGTERM are
        the callbacks of :func:`spikegan_tf.callbacks.default_callbacks`
        (checkpoints every ``checkpoint_every`` steps or
        ``checkpoint_minutes`` minutes, and at the end). Resuming a run that
        already reached ``max_steps`` trains nothing and returns
        ``stopped="complete"`` (with a message when ``verbose``).

        Parameters
        ----------
        data : TrainingData
            From :func:`prepare_data`.
        resume : bool
            Continue the run in ``run_dir`` from its latest checkpoint.
        more_steps : int, optional
            Train this many steps beyond the step restored (or the current
            step): replaces ``max_steps`` by ``step + more_steps``.
        callbacks : sequence of Callback, optional
            Your own :class:`spikegan_tf.callbacks.Callback` objects, run after
            the default ones with the same ``logs``; one may stop training by
            setting ``trainer.stop_training`` to a reason.
        config : TrainConfig, optional
            New settings for this and later fits; only the stopping rule
            (``max_steps``, ``max_minutes``) and what does not change the
            mathematics (logging, checkpoint intervals) may differ from the
            trainer's.

        Returns
        -------
        TrainResult

        Raises
        ------
        TrainingDivergedError
            On a NaN/inf loss; the last good checkpoint is kept.
        """
        from spikegan_tf.callbacks import Callback, Validation, default_callbacks

        self._check_data(data)
        if more_steps is not None:
            check_positive_int(more_steps, "more_steps")
        if config is not None:
            if not isinstance(config, TrainConfig):
                raise ConfigError(f"`config` must be a TrainConfig. "
                                  f"Received {type(config).__name__}.")
            diff = _diff({k: getattr(self.config, k) for k in _RESUME_FIXED},
                         {k: getattr(config, k) for k in _RESUME_FIXED})
            if diff:
                raise ConfigError(f"`config` changes settings this trainer was built with "
                                  f"({diff}); build a new Trainer.")
            if config.jit_compile != self.config.jit_compile:
                self._train_fn = None
            self.config = config
        extra = list(callbacks or ())
        for cb in extra:
            if not isinstance(cb, Callback):
                raise ConfigError(f"`callbacks` must hold spikegan_tf.callbacks.Callback "
                                  f"objects. Received {type(cb).__name__}.")
        if self.run_dir is not None:
            self._open_run_dir(data, resume, more_steps)
        elif resume:
            raise ConfigError("`resume=True` needs a run directory.")
        elif more_steps is not None:
            self.config = dataclasses.replace(
                self.config, max_steps=int(self.step.numpy()) + more_steps)
        cfg = self.config
        start_step = step = int(self.step.numpy())
        if start_step == 0 and cfg.init_output_bias:
            self.init_output_bias(data)
        target = cfg.max_steps
        if resume and target is not None and start_step >= target:
            # nothing to do: say so (a silent no-op looks like a hang or a bug)
            if self.verbose > 0:
                print(complete_message(self.run_dir.path, start_step, target), file=sys.stderr)
            return TrainResult(step=start_step, stopped="complete", seconds=0.0, losses={},
                               validation={}, run_dir=self.run_dir.path)
        hooks = default_callbacks(self, data) + extra
        deadline = None if cfg.max_minutes is None else time.monotonic() + 60 * cfg.max_minutes
        self.stop_training: str | None = None
        losses: dict[str, float] = {}
        t0 = time.monotonic()
        try:
            for cb in hooks:
                cb.set_trainer(self)
                cb.on_train_begin(start_step, {})
            while True:
                if target is not None and step >= target:
                    stopped = "max_steps"
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    stopped = "max_minutes"
                    break
                if self.stop_training:
                    stopped = self.stop_training
                    break
                n = self._steps_until_event(step, target, hooks)
                t_call = time.monotonic()
                losses, finite, done = self._call(data, n)
                step = int(self.step.numpy())
                if not finite:
                    raise TrainingDivergedError(self.diverged_message(losses))
                logs: dict[str, Any] = {
                    **losses, "steps_per_s": done / max(time.monotonic() - t_call, 1e-9)}
                for cb in hooks:
                    cb.on_steps_end(step, logs)
            end_logs: dict[str, Any] = dict(losses)
            for cb in hooks:
                cb.on_train_end(step, end_logs)
        finally:
            for cb in hooks:
                cb.close()
        validation = next((cb.latest for cb in hooks if isinstance(cb, Validation)), {})
        return TrainResult(step=step, stopped=stopped, seconds=time.monotonic() - t0,
                           losses=losses, validation=validation,
                           run_dir=None if self.run_dir is None else self.run_dir.path)

    def _steps_until_event(self, step: int, target: int | None, hooks: Sequence[Any]) -> int:
        n = self.config.steps_per_call
        for cb in hooks:
            if cb.every:
                n = min(n, cb.every - step % cb.every)
        if target is not None:
            n = min(n, target - step)
        return max(n, 1)


def check_resumable(run: Any, saved: dict[str, Any], model_config: ModelConfig | None = None,
                    train_config: TrainConfig | None = None,
                    data_info: dict[str, Any] | None = None) -> None:
    """Raise :class:`ConfigError` when a run cannot resume with these settings.

    ``saved`` is the run's ``config.json``; each of ``model_config``,
    ``train_config`` (the fields that change the mathematics) and ``data_info``
    (the data's shape) is compared when given, so that a caller can refuse
    before loading or summarising any data.
    """
    if model_config is not None:
        saved_model = ModelConfig.from_dict(saved["model"])
        if saved_model != model_config:
            diff = _diff(saved_model.to_dict(), model_config.to_dict())
            raise ConfigError(f"Cannot resume '{run}': the model configuration differs from the "
                              f"saved one ({diff}).")
    if train_config is not None:
        saved_train = saved.get("train", {})
        now = train_config.to_dict()
        diff = _diff({k: saved_train.get(k, _RESUME_LEGACY.get(k)) for k in _RESUME_FIXED},
                     {k: now[k] for k in _RESUME_FIXED})
        if diff:
            raise ConfigError(f"Cannot resume '{run}': training settings that change the "
                              f"mathematics differ from the saved ones ({diff}).")
    if data_info is not None:
        saved_data = saved.get("data", {})
        keys = ("kind", "n_neurons", "n_bins", "n_train", "stride")
        diff = _diff({k: saved_data.get(k) for k in keys}, {k: data_info.get(k) for k in keys})
        if diff:
            raise ConfigError(f"Cannot resume '{run}': the training data differs from the run's "
                              f"({diff}).")


def complete_message(run: Any, step: int, max_steps: int) -> str:
    """What to say when a resumed run had already reached ``max_steps``.

    Examples
    --------
    >>> print(complete_message("runs/x", 2000, 2000))  # doctest: +NORMALIZE_WHITESPACE
    The run in 'runs/x' is complete: it reached max_steps=2000 (checkpoint at step 2000), so
    there is nothing to train. To extend it, resume with N more steps (`spikegan train --out
    runs/x --resume --more-steps N`, or `SpikeGAN.fit(..., resume=True, steps=N)`), or with a
    larger total (`--max-steps M`, M > 2000).
    """
    return (f"The run in '{run}' is complete: it reached max_steps={max_steps} (checkpoint at "
            f"step {step}), so there is nothing to train. To extend it, resume with N more "
            f"steps (`spikegan train --out {run} --resume --more-steps N`, or "
            f"`SpikeGAN.fit(..., resume=True, steps=N)`), or with a larger total "
            f"(`--max-steps M`, M > {step}).")


def _diff(saved: dict[str, Any], now: dict[str, Any]) -> str:
    return "; ".join(f"{k}: saved {saved.get(k)!r}, now {now.get(k)!r}"
                     for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k))

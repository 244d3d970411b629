"""The Spike-GAN trainer: builds the networks, runs the WGAN-GP step, stops; callbacks do the rest.

The step itself (its mathematics, how it is made fast, its randomness and its
distribution over replicas) is :mod:`spikegan_tf.gan.step`; the side jobs of
the loop (validation, logging, TensorBoard, checkpoints, progress, signals) are
:mod:`spikegan_tf.gan.callbacks`; the run's files are
:class:`spikegan_tf.gan.rundir.RunDir`.
"""

from __future__ import annotations

import dataclasses
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf.data.splits import TrainingData
from spikegan_tf.errors import ConfigError, SpikeDataError, TrainingDivergedError
from spikegan_tf.gan import multiworker
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.positions import positional
from spikegan_tf.gan.rundir import RunDir, write_json_atomic
from spikegan_tf.gan.step import WGANGPStep
from spikegan_tf.gan.train_config import (
    TERM_STARTS,
    TrainConfig,
    check_resumable,
    complete_message,
    coupling_capable,
    history_capable,
    resume_diff,
)
from spikegan_tf.validation import check_positive_int

__all__ = ["TrainResult", "Trainer"]

# the batch each generator term needs (its two independent halves) and why
_MIN_BATCH = {"variance_match": (4, "two halves of at least 2 windows"),
              "acg_variance_match": (4, "two halves of at least 2 windows"),
              "acg_match": (2, "two halves"), "pair_match": (2, "two halves")}


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


class Trainer(WGANGPStep):
    """WGAN-GP trainer of a Spike-GAN generator/critic pair.

    Parameters
    ----------
    model_config : ModelConfig
        Architecture of the two networks.
    train_config : TrainConfig, optional
        Hyper-parameters (:class:`TrainConfig`'s defaults if omitted).
    run_dir : path, optional
        Run directory (layout of :mod:`spikegan_tf.gan.rundir`); ``None`` trains in
        memory without writing anything.
    strategy : tf.distribute.Strategy, optional
        Default: the current strategy (one device, the GPU when there is one);
        a ``MirroredStrategy`` trains on several devices, a
        ``MultiWorkerMirroredStrategy`` on several machines (only the chief writes
        ``run_dir``: :mod:`spikegan_tf.gan.multiworker`).
    verbose : int
        0 silent, 1 progress line, 2 one line per log.

    Examples
    --------
    >>> import numpy as np
    >>> from spikegan_tf.data.splits import prepare_data
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

        from spikegan_tf.gan.networks import (
            CountHistogram,
            build_critic,
            build_generator,
            critic_path_count,
            critic_paths,
        )

        if not isinstance(model_config, ModelConfig):
            raise ConfigError(f"`model_config` must be a ModelConfig. "
                              f"Received {type(model_config).__name__}.")
        train_config = TrainConfig() if train_config is None else train_config
        if not isinstance(train_config, TrainConfig):
            raise ConfigError(f"`train_config` must be a TrainConfig. "
                              f"Received {type(train_config).__name__}.")
        train_config = train_config.resolve(model_config)
        if train_config.calibrate_rates and model_config.conditional \
                and not model_config.n_classes:
            raise ConfigError("`calibrate_rates` needs a model with labels or without "
                              "conditions; this one takes covariates only.")
        if train_config.calibrate_positions and not (train_config.calibrate_rates
                                                     and positional(model_config)):
            raise ConfigError("`calibrate_positions` needs `calibrate_rates` and an "
                              "unconditional 'conv' or 'fc' generator; received "
                              f"calibrate_rates={train_config.calibrate_rates}, architecture="
                              f"{model_config.architecture!r}"
                              f"{' with conditions' if model_config.conditional else ''}.")
        if train_config.calibrate_history and not history_capable(
                model_config, train_config.calibrate_rates, train_config.calibrate_positions):
            raise ConfigError("`calibrate_history` needs `calibrate_positions` on an "
                              "unconditional 'conv' generator, or `calibrate_rates` on an "
                              "unconditional 'temporal' one; received calibrate_rates="
                              f"{train_config.calibrate_rates}, calibrate_positions="
                              f"{train_config.calibrate_positions}, architecture="
                              f"{model_config.architecture!r}"
                              f"{' with conditions' if model_config.conditional else ''}.")
        if train_config.calibrate_coupling and not coupling_capable(
                model_config, train_config.calibrate_history):
            raise ConfigError("`calibrate_coupling` needs `calibrate_history` on a 'conv' "
                              "or 'temporal' generator; received calibrate_history="
                              f"{train_config.calibrate_history}, architecture="
                              f"{model_config.architecture!r}.")
        if train_config.calibrate_same_bin and not train_config.calibrate_coupling:
            raise ConfigError("`calibrate_same_bin` needs `calibrate_coupling`; received "
                              f"calibrate_coupling={train_config.calibrate_coupling}.")
        from spikegan_tf.gan.history import MAX_COUPLED_NEURONS, MAX_SAME_BIN_NEURONS

        for name, limit in (("calibrate_coupling", MAX_COUPLED_NEURONS),
                            ("calibrate_same_bin", MAX_SAME_BIN_NEURONS)):
            if getattr(train_config, name) and model_config.n_neurons > limit:
                raise ConfigError(f"`{name}` is exact for at most {limit} neurons (its sums "
                                  f"in float32); received n_neurons={model_config.n_neurons}.")
        if train_config.gp_per_path and critic_path_count(model_config) < 2:
            raise ConfigError("`gp_per_path` needs a critic of several paths "
                              "(critic_head_units > 0, critic_scales > 1 or critic_counts > 0); "
                              f"this one has critic_head_units={model_config.critic_head_units}, "
                              f"critic_scales={model_config.critic_scales}, "
                              f"critic_counts={model_config.critic_counts}.")
        for term, what in (("count_match", "the population counts"),
                           ("variance_match", "the variance of the spike counts"),
                           ("acg_variance_match", "the spread of the windows' coincidences")):
            if getattr(train_config, term) and train_config.critic_input != "spikes":
                flag = "--" + term.replace("_", "-")
                raise ConfigError(f"`{term}` ({flag}) needs `critic_input='spikes'` "
                                  f"(--critic-input spikes): it matches {what} of generated "
                                  "spikes; received "
                                  f"critic_input={train_config.critic_input!r}.")
        for term, (least, why) in _MIN_BATCH.items():
            if getattr(train_config, term) and train_config.batch_size < least:
                raise ConfigError(f"`{term}` (--{term.replace('_', '-')}) needs `batch_size` >= "
                                  f"{least} ({why}); received "
                                  f"batch_size={train_config.batch_size}.")
        parts = 2 ** (train_config.variance_match_scales - 1)
        if train_config.variance_match and model_config.n_bins % parts:
            raise ConfigError("`variance_match_scales` (--variance-match-scales) needs `n_bins` "
                              f"divisible by 2^(scales - 1) = {parts}; received n_bins="
                              f"{model_config.n_bins}, variance_match_scales="
                              f"{train_config.variance_match_scales}.")
        for term in ("acg_match", "acg_variance_match"):
            lags = getattr(train_config, term + "_lags")  # resolved above: never None
            if getattr(train_config, term) and lags >= model_config.n_bins:
                raise ConfigError(f"`{term}_lags` (--{term.replace('_', '-')}-lags) must be "
                                  f"smaller than the windows' n_bins ({model_config.n_bins}); "
                                  f"received {lags}.")
        if train_config.pair_match and model_config.n_neurons < 2:
            raise ConfigError("`pair_match` (--pair-match) needs at least 2 neurons (it matches "
                              f"pairs); received n_neurons={model_config.n_neurons}.")
        for start, term in TERM_STARTS.items():
            if getattr(train_config, start) and not getattr(train_config, term):
                raise ConfigError(
                    f"`{start}` (--{start.replace('_', '-')}) is "
                    f"{getattr(train_config, start)} but `{term}` is 0: nothing starts "
                    f"there. Set `{term}` or leave `{start}` at 0.")
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
        # multi-worker: only the chief writes the run directory; all agree on stopping
        self.is_chief = multiworker.is_chief_of(self.strategy)
        self._agree_stop = (multiworker.stop_agreement(self.strategy)
                            if multiworker.worker_count(self.strategy) > 1 else None)
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
        dtype = train_config.compute_policy
        with self.strategy.scope():
            self.generator = build_generator(model_config, dtype=dtype, seed=g_seed)
            self.critic = build_critic(model_config, dtype=dtype, seed=d_seed)
            self._critic_paths = (critic_paths(self.critic, model_config)
                                  if train_config.gp_per_path else None)
            self._count_histogram = (CountHistogram(train_config.count_match_max, dtype="float32")
                                     if train_config.count_match else None)
            self.g_optimizer = self._optimizer(keras, "generator_adam")
            self.d_optimizer = self._optimizer(keras, "critic_adam", train_config.n_critic,
                                               train_config.critic_learning_rate)
            # create the optimisers' slots now, so that a checkpoint restores into them
            self.g_optimizer.build(self.generator.trainable_variables)
            self.d_optimizer.build(self.critic.trainable_variables)
            # the moving average of the generator's weights (TrainConfig.ema_decay)
            self.generator_ema = None
            if train_config.ema_decay:
                self.generator_ema = build_generator(model_config, dtype=dtype, seed=g_seed)
                self.generator_ema.set_weights(self.generator.get_weights())
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.rng = tf.random.Generator.from_seed(rng_seed)
        tracked = {} if self.generator_ema is None else {"generator_ema": self.generator_ema}
        self.checkpoint = tf.train.Checkpoint(
            generator=self.generator, critic=self.critic, generator_optimizer=self.g_optimizer,
            critic_optimizer=self.d_optimizer, step=self.step, rng=self.rng, **tracked)
        self._manager = None
        self._train_fn = None
        self._data_key: Any = None
        self._targets: tuple[Any, dict[str, Any]] | None = None  # (data, loss_targets)
        self._published: tuple[int, Any] | None = None  # (step, generator)
        self._best: tuple[int, Any, Any, float] | None = None  # (step, generator, critic, score)
        self._calibration_data: TrainingData | None = None

    def _check_data(self, data: TrainingData) -> None:
        if not isinstance(data, TrainingData):
            raise ConfigError("`data` must be a TrainingData (see `prepare_data`). "
                              f"Received {type(data).__name__}.")
        mc = self.model_config
        if data.n_neurons != mc.n_neurons or data.n_bins != mc.n_bins:
            raise SpikeDataError(
                f"The data has {data.n_neurons} neurons and {data.n_bins} bins per window, but "
                f"the model expects n_neurons={mc.n_neurons}, n_bins={mc.n_bins}.")
        got = ((data.conditions.n_classes, data.conditions.n_covariates) if data.conditional
               else (0, 0))
        if got != (mc.n_classes, mc.n_covariates):
            raise SpikeDataError(
                f"The data has conditions with {got[0]} label classes and {got[1]} covariates, "
                f"but the model expects n_classes={mc.n_classes}, "
                f"n_covariates={mc.n_covariates}.")

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
                      more_steps: int | None = None) -> None:
        """Create or reopen the run directory (restoring its latest checkpoint on resume)."""
        run = self.run_dir
        check = lambda saved: check_resumable(  # noqa: E731
            run, saved, self.model_config, self.config, data.info)
        if self.is_chief:
            run.open_for_training(resume, check)
            self._manager = run.checkpoint_manager(self.checkpoint, self.config.keep_checkpoints)
        else:  # the chief creates the directory (a new run's may be there already)
            if resume:
                run.check_new_or_resumable(True, check)
            self._manager = multiworker.WorkerSaves(self.checkpoint, run)
        restored = 0
        if resume and self._manager.latest_checkpoint:
            self.checkpoint.restore(self._manager.latest_checkpoint).assert_existing_objects_matched()
            restored = int(self.step.numpy())
        if more_steps is not None:
            self.config = dataclasses.replace(self.config, max_steps=restored + more_steps)
        if not self.is_chief:
            return
        run.write_config(self.model_config, train=self.config.to_dict(), data=data.info)
        if resume:
            run.truncate_metrics(restored)
        best = run.read_best() if resume and self.config.publish == "best" else None
        # the best so far stays published until it is beaten (PublishBest scores it again)
        self._best = None if best is None else (
            int(best["step"]), run.load_generator(), run.load_critic(), float(best["score"]))
        if best is None and run.best_path.exists():
            run.best_path.unlink()  # this run publishes its last step now: best.json is stale

    def last_checkpoint_step(self) -> int | None:
        """Step of the run directory's latest checkpoint (``None``: none, or no directory)."""
        if self._manager is None:
            return None
        return self.run_dir.checkpoint_step(self._manager.latest_checkpoint)

    def init_output_bias(self, data: TrainingData) -> None:
        """Start the generator at the training data's firing rates (see ``TrainConfig``)."""
        from spikegan_tf.gan.conditioning import set_label_offsets
        from spikegan_tf.gan.networks import set_output_bias

        self._check_data(data)
        rates = data.train.neuron_rates()
        with self.strategy.scope():
            set_output_bias(self.generator, self.model_config, rates)
            if self.model_config.n_classes:  # and at each label's rates
                set_label_offsets(self.generator, self.model_config,
                                  data.class_rates(), rates)
            if self.generator_ema is not None:
                self.generator_ema.set_weights(self.generator.get_weights())

    @property
    def sampling_generator(self) -> Any:
        """The generator that is trained on, checkpointed and sampled: the weight average if kept.

        Validation and publishing use :meth:`calibrated_generator`, its calibrated copy, with
        ``publish="best"``; otherwise validation uses this one.
        """
        return self.generator if self.generator_ema is None else self.generator_ema

    def published_generator(self) -> Any:
        """The generator a run publishes: :meth:`calibrated_generator`, or the best one kept.

        With ``TrainConfig.publish="best"``, the generator of the best
        validation score so far (:meth:`keep_best`), once there is one.
        """
        best = self._published_best()
        return self.calibrated_generator() if best is None else best[1]

    def published_step(self) -> int:
        """The training step of :meth:`published_generator`'s weights (the best's, when kept)."""
        best = self._published_best()
        return int(self.step.numpy()) if best is None else best[0]

    def published_critic(self) -> Any:
        """The critic published beside :meth:`published_generator` (of the same step)."""
        best = self._published_best()
        return self.critic if best is None else best[2]

    def _published_best(self) -> tuple[int, Any, Any, float] | None:
        """The kept best (step, generator, critic, score) when the run publishes it, else None."""
        return self._best if self.config.publish == "best" else None

    def kept_best(self) -> Any:
        """The generator kept by :meth:`keep_best` (or a resumed run's), ``None`` before any."""
        return None if self._best is None else self._best[1]

    def keep_best(self, step: int, score: float, errors: dict[str, float]) -> None:
        """Keep this step's :meth:`calibrated_generator` and critic as the best, and publish them.

        Both are copies that training does not move. With a run directory (its
        chief): ``generator.keras``, ``critic.keras`` and ``best.json``
        (``step``, ``score``, ``errors``), each atomically.
        """
        import keras

        def frozen(model: Any) -> Any:
            copy = keras.models.clone_model(model)
            copy.set_weights(model.get_weights())
            return copy

        generator = self.calibrated_generator()
        if generator is self.sampling_generator:  # not calibrated: the live model itself
            generator = frozen(generator)
        self._best = (int(step), generator, frozen(self.critic), float(score))
        if self.run_dir is not None and self.is_chief:
            self.publish()
            write_json_atomic(self.run_dir.best_path,
                              {"step": int(step), "score": float(score), "errors": errors})

    def calibrated_generator(self) -> Any:
        """The sampling generator of the current step, its rates calibrated if set.

        With ``TrainConfig.calibrate_rates`` this is a copy of
        :attr:`sampling_generator` whose rates are calibrated to the training
        windows of the last :meth:`fit` (per label, or per neuron without
        labels; :func:`spikegan_tf.gan.calibration.calibrated_copy`); training
        and its checkpoints keep the uncalibrated weights. Otherwise it is the
        sampling generator itself.
        """
        if not self.config.calibrate_rates or self._calibration_data is None:
            return self.sampling_generator
        step = int(self.step.numpy())
        if self._published is None or self._published[0] != step:
            from spikegan_tf.gan.calibration import calibrated_copy

            self._published = (step, calibrated_copy(
                self.sampling_generator, self.model_config, self._calibration_data,
                seed=self.config.seed, positions=self.config.calibrate_positions,
                history_lags=self.config.calibrate_history,
                coupling=self.config.calibrate_coupling,
                same_bin=bool(self.config.calibrate_same_bin)))
        return self._published[1]

    def _use_data(self, data: TrainingData) -> None:
        """Remember the training data :meth:`published_generator` calibrates to."""
        if data is not self._calibration_data:
            self._calibration_data, self._published = data, None

    def train_steps(self, data: TrainingData, n_steps: int) -> dict[str, float]:
        """Run ``n_steps`` steps without run-directory I/O (see :class:`WGANGPStep`).

        ``data`` is also what :meth:`published_generator` calibrates to, as after
        :meth:`fit`.
        """
        self._use_data(data)
        return super().train_steps(data, n_steps)

    def save(self, publish: bool = True) -> None:
        """Write a checkpoint of the current step (with a run dir), and publish if ``publish``.

        See :meth:`publish`; the :class:`~spikegan_tf.gan.callbacks.Checkpoint`
        callback publishes at some checkpoints only, as publishing costs more.
        """
        if self.run_dir is None:
            return
        if not self.is_chief:  # the same saves, into a temporary directory
            self._manager.save(int(self.step.numpy()), (self.sampling_generator, self.critic))
            return
        self._manager.save(checkpoint_number=int(self.step.numpy()))
        if publish:
            self.publish()

    def publish(self) -> None:
        """Write ``generator.keras`` (:meth:`published_generator`) and ``critic.keras``.

        Each records the step of its weights (:meth:`RunDir.published_step`).

        Only the chief of a multi-worker run, and only with a run directory.
        """
        if self.run_dir is not None and self.is_chief:
            self.run_dir.save_models(self.published_generator(), self.published_critic(),
                                     step=self.published_step())

    # ----------------------------------------------------------------- the loop

    def fit(self, data: TrainingData, *, resume: bool = False, more_steps: int | None = None,
            callbacks: Sequence[Any] | None = None,
            config: TrainConfig | None = None) -> TrainResult:
        """Train until ``max_steps`` / ``max_minutes`` or a stop request.

        The loop only steps and stops; validation, logging, TensorBoard,
        checkpoints, the progress line and the stop on Ctrl-C / SIGTERM are
        the callbacks of :func:`spikegan_tf.gan.callbacks.default_callbacks`
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
            Your own :class:`spikegan_tf.gan.callbacks.Callback` objects, run after
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
        from spikegan_tf.gan.callbacks import Callback, default_callbacks
        from spikegan_tf.gan.held_out import Validation

        self._check_data(data)
        if more_steps is not None:
            check_positive_int(more_steps, "more_steps")
        new = self.config if config is None else config
        if getattr(new, "publish", None) == "best" and (data.val is None or not new.eval_every):
            raise ConfigError("`publish='best'` (--publish best) needs validation windows "
                              "(--val-fraction > 0) and `eval_every` > 0 (--eval-every); "
                              f"received eval_every={new.eval_every} and "
                              f"{'no' if data.val is None else len(data.val)} validation windows.")
        self._use_data(data)
        if config is not None:
            if not isinstance(config, TrainConfig):
                raise ConfigError(f"`config` must be a TrainConfig. "
                                  f"Received {type(config).__name__}.")
            config = config.resolve(self.model_config)
            diff = resume_diff(self.config.to_dict(), config.to_dict())
            if diff:
                raise ConfigError(f"`config` changes settings this trainer was built with "
                                  f"({diff}); build a new Trainer.")
            if config.jit_compile != self.config.jit_compile:
                self._train_fn = None
            self.config = config
        extra = list(callbacks or ())
        for cb in extra:
            if not isinstance(cb, Callback):
                raise ConfigError(f"`callbacks` must hold spikegan_tf.gan.callbacks.Callback "
                                  f"objects. Received {type(cb).__name__}.")
        self.loss_targets(data)  # refuses data a term cannot use before anything is written
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
                stopped = ("max_minutes" if deadline is not None and time.monotonic() >= deadline
                           else self.stop_training)
                if self._agree_stop is not None:  # every worker stops at the same step
                    stopped = self._agree_stop(stopped)
                if stopped:
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



"""``SpikeGAN``: the few-line Python API (fit, sample, save, load).

>>> gan = SpikeGAN(n_neurons=50, n_bins=32)               # doctest: +SKIP
>>> gan.fit(raster, steps=20000, run_dir="runs/retina")   # doctest: +SKIP
>>> windows = gan.sample(1000, seed=0)                    # doctest: +SKIP
>>> gan.save("my_model"); gan = SpikeGAN.load("my_model")  # doctest: +SKIP

It wraps :class:`spikegan_tf.gan.trainer.Trainer` (training),
:func:`spikegan_tf.gan.sampling.sample` (sampling protocol) and
:class:`spikegan_tf.gan.rundir.RunDir` (files): a saved model is a run directory, so
``SpikeGAN.load`` opens the ``--out`` directory of ``spikegan train`` too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf.errors import ConfigError
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.rundir import RunDir
from spikegan_tf.validation import check_positive_int

__all__ = ["SpikeGAN"]


class SpikeGAN:
    """A Spike-GAN generator/critic pair with a scikit-learn-like interface.

    Parameters
    ----------
    n_neurons, n_bins : int
        Window shape ``(n_neurons, n_bins)``.
    **model_kwargs
        Further :class:`~spikegan_tf.gan.config.ModelConfig` fields
        (``architecture``, ``num_features``, ``num_layers``, ``latent_dim``,
        ``upsampling``...).

    It follows the package's model protocol
    (:class:`spikegan_tf.protocol.SpikeModel`, shared with the baselines):
    ``fit(...)`` returns the model, ``sample(n, seed=None)``, ``save`` /
    ``load``; what fitting creates ends in ``_``.

    Attributes
    ----------
    config : ModelConfig
    generator_, critic_ : keras.Model or None
        ``None`` until trained or loaded.
    result_ : TrainResult or None
        What the last :meth:`fit` did (step reached, why it stopped, losses).
    trainer_ : Trainer or None
        The trainer of the last :meth:`fit` (a second ``fit`` continues it).
    fit_defaults : dict
        Training settings the first :meth:`fit` uses unless its keywords say
        otherwise: a recipe's (:meth:`from_recipe`) or a loaded run's
        (:func:`~spikegan_tf.gan.train_config.continuation_settings`: not its
        stopping, logging or speed options); empty for a new model. A later
        ``fit`` starts from the settings of the one before, so fitting further
        trains as before.

    Examples
    --------
    >>> import numpy as np
    >>> x = (np.random.default_rng(0).random((256, 3, 8)) < 0.2).astype("uint8")
    >>> gan = SpikeGAN(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)
    >>> gan.fit(x, steps=2, batch_size=16, verbose=0).result_.step
    2
    >>> gan.sample(5, seed=0).shape
    (5, 3, 8)
    """

    def __init__(self, n_neurons: int, n_bins: int, **model_kwargs: Any) -> None:
        self.config = ModelConfig(n_neurons=n_neurons, n_bins=n_bins, **model_kwargs)
        self.generator_: Any = None
        self.critic_: Any = None
        self.trainer_: Any = None
        self.result_: Any = None
        self._train_config: Any = None
        self._data_info: dict[str, Any] | None = None
        self.fit_defaults: dict[str, Any] = {}  # TrainConfig fields under fit's keywords
        self._last_fit: dict[str, Any] | None = None  # what the last fit() trained with
        # steps behind generator_ (None: not known) and behind the trainer's step 0
        self._trained_steps: int | None = 0
        self._trainer_offset = 0

    @classmethod
    def from_recipe(cls, recipe: str, n_neurons: int, n_bins: int | None = None,
                    **model_kwargs: Any) -> SpikeGAN:
        """A model built, and later fitted, with a named recipe's settings.

        Parameters
        ----------
        recipe : {"default", "paper", "raster"}
            See :data:`spikegan_tf.gan.train_config.RECIPES`. ``"raster"`` is
            for long continuous rasters: a six-layer temporal generator on
            256-bin windows with the terms measured on the retina.
        n_neurons : int
        n_bins : int, optional
            Window length; the recipe's (256 for ``"raster"``) when not given,
            32 when the recipe has none. To fit windows, give their length (the
            CLI takes a windows file's own).
        **model_kwargs
            :class:`~spikegan_tf.gan.config.ModelConfig` fields over the recipe's.
            Its training settings are :meth:`fit`'s defaults (``fit``'s own keywords
            override them).

        Examples
        --------
        >>> gan = SpikeGAN.from_recipe("raster", n_neurons=3, n_bins=64, temporal_features=8)
        >>> gan.config.architecture, gan.config.temporal_layers, gan.config.n_bins
        ('temporal', 6, 64)
        >>> gan.fit_defaults["acg_match"]
        10.0
        """
        from spikegan_tf.gan.train_config import recipe_settings

        settings = recipe_settings(recipe)
        model = {**settings["model"], **model_kwargs}
        recipe_bins = model.pop("n_bins", 32)
        gan = cls(n_neurons, recipe_bins if n_bins is None else n_bins, **model)
        gan.fit_defaults = settings["train"]
        return gan

    def __repr__(self) -> str:
        state = "trained" if self.generator_ is not None else "untrained"
        return (f"SpikeGAN(n_neurons={self.config.n_neurons}, n_bins={self.config.n_bins}, "
                f"architecture={self.config.architecture!r}, {state})")

    # ------------------------------------------------------------------ training

    def fit(self, spikes: Any, *, steps: int | None = None, minutes: float | None = None,
            seed: int | None = None, run_dir: str | os.PathLike | None = None, resume: bool = False,
            val_fraction: float = 0.1, stride: int = 1, verbose: int = 1,
            strategy: Any = None, callbacks: Any = None, conditions: Any = None,
            **train_kwargs: Any) -> Any:
        """Train on a raster, windows or a loaded recording (with their conditions, if any).

        Parameters
        ----------
        spikes : array_like or SpikeRecording
            A raster ``(time_bins, n_neurons)`` (windowed on the fly and split in
            time), windows ``(n, n_neurons, n_bins)`` (split by sample), or
            what :func:`spikegan_tf.data.load_spikes` returns.
        steps : int, optional
            Generator iterations to run in this call. A second ``fit``
            continues training.
        minutes : float, optional
            Wall-clock budget of this call. Give ``steps``, ``minutes`` or
            both: the budget is exactly what is given (``minutes`` alone runs
            for that long, with no step cap).
        seed : int, optional
            Seed of the initial weights, the split and every random draw;
            the last fit's, else ``fit_defaults``' (a loaded run's), else 0.
        run_dir : path, optional
            Write checkpoints, ``.keras`` models, metrics and TensorBoard logs here.
        resume : bool
            Continue the run in ``run_dir`` from its latest checkpoint; ``steps``
            then counts from that checkpoint's step.
        val_fraction, stride : optional
            See :func:`spikegan_tf.data.splits.prepare_data`.
        verbose : int
            0 silent, 1 progress line, 2 one line per log.
        strategy : tf.distribute.Strategy, optional
            E.g. ``tf.distribute.MirroredStrategy()`` for several GPUs, or
            ``tf.distribute.MultiWorkerMirroredStrategy()`` for several machines
            (:mod:`spikegan_tf.gan.multiworker`).
        callbacks : sequence of spikegan_tf.gan.callbacks.Callback, optional
            Your own side jobs of the training loop (see
            :mod:`spikegan_tf.gan.callbacks`).
        conditions : optional
            Conditional generation: each window's label ``(n,)`` (stimulus id,
            trial type; ints or strings), covariates ``(n, n_bins[, C])``
            (stimulus intensity, running speed), or both as a dict
            ``{"labels": ..., "covariates": ...}``; per time bin for a raster.
            The model's ``n_classes`` / ``n_covariates`` are taken from them;
            ``classes_`` keeps the label values.
        **train_kwargs
            Further :class:`~spikegan_tf.gan.train_config.TrainConfig` fields (``batch_size``,
            ``n_critic``, ``learning_rate``, ``jit_compile``, ``mixed_precision``,
            ``checkpoint_every``, ``eval_every``...), over ``fit_defaults`` (the first
            fit) or the last fit's settings.

        Returns
        -------
        SpikeGAN
            This model; ``result_`` says what training did.
        """
        import dataclasses

        from spikegan_tf.data.splits import prepare_data
        from spikegan_tf.gan.train_config import TERM_STARTS, TrainConfig, starts_after
        from spikegan_tf.gan.trainer import Trainer

        base = self.fit_defaults if self._last_fit is None else self._last_fit
        if seed is None:
            seed = base.get("seed", 0)
        if steps is None and minutes is None:
            raise ConfigError("Give `steps` or `minutes` (or both).")
        if steps is not None:
            check_positive_int(steps, "steps")
        data = prepare_data(spikes, self.config.n_bins, val_fraction=val_fraction,
                            stride=stride, seed=seed, conditions=conditions,
                            classes=self.classes_ if self.generator_ is not None else None)
        self._adopt_conditions(data)
        for name in ("max_steps", "max_minutes"):
            if name in train_kwargs:
                raise ConfigError(f"`{name}` is set by fit's `steps` and `minutes`; "
                                  "pass those instead.")
        settings = {**base, **train_kwargs, "seed": seed}
        for name, term in TERM_STARTS.items():  # a carried start whose term is off goes too
            if name not in train_kwargs and settings.get(term) == 0:
                settings.pop(name, None)
        config = TrainConfig.from_dict({**settings, "max_steps": steps,
                                        "max_minutes": minutes}).resolve(self.config)
        continuing = self.generator_ is not None and not resume
        if continuing:
            # trained weights go on from their own output bias, not one set from the data
            config = dataclasses.replace(config, init_output_bias=False)
        run = None if run_dir is None else RunDir(run_dir)
        trainer = self.trainer_
        reuse = False
        if (trainer is not None and not resume and trainer.run_dir == run
                and (strategy is None or strategy is trainer.strategy)):
            # the trainer counts its steps from _trainer_offset: the starts in its count
            same = dataclasses.replace(
                config, **starts_after(config.to_dict(), self._trainer_offset))
            reuse = _same_except_stopping(trainer.config, same)
            config = same if reuse else config
        if not reuse:
            # a new trainer counts from 0: the starts are counted back by the weights' steps
            self._trainer_offset = (self._trained_steps or 0) if continuing else 0
            if continuing:
                config = dataclasses.replace(
                    config, **starts_after(config.to_dict(), self._trained_steps))
            trainer = Trainer(self.config, config, run_dir=run, strategy=strategy,
                              verbose=verbose)
            if continuing:  # continue from current weights
                _continue_from(self.generator_, trainer.generator)
                if trainer.generator_ema is not None:
                    _continue_from(self.generator_, trainer.generator_ema)
                if self.critic_ is not None:
                    trainer.critic.set_weights(self.critic_.get_weights())
        trainer.verbose = verbose
        # a second fit() continues (same optimisers, same random stream); with a run
        # directory it reopens the run from the checkpoint the first fit() saved
        self.result_ = trainer.fit(data, resume=resume or (reuse and run is not None),
                                  more_steps=steps, config=config, callbacks=callbacks)
        self.trainer_ = trainer
        self.generator_, self.critic_ = trainer.published_generator(), trainer.published_critic()
        self._train_config = trainer.config
        self._data_info = data.info
        self._last_fit = settings
        self._trained_steps = self._trainer_offset + trainer.published_step()
        return self

    @property
    def classes_(self) -> tuple[Any, ...] | None:
        """The label values of a model trained with labels (index ``i`` is class ``i``)."""
        cond = (self._data_info or {}).get("conditions") or {}
        classes = cond.get("classes")
        return None if classes is None else tuple(classes)

    def _adopt_conditions(self, data: Any) -> None:
        """Take ``n_classes`` / ``n_covariates`` from the data (an error if a model disagrees)."""
        import dataclasses

        got = ((data.conditions.n_classes, data.conditions.n_covariates) if data.conditional
               else (0, 0))
        have = (self.config.n_classes, self.config.n_covariates)
        if got == have:
            return
        if self.generator_ is not None or have != (0, 0):
            raise ConfigError(
                f"The model takes {have[0]} label classes and {have[1]} covariates, but "
                f"`conditions` give {got[0]} and {got[1]}.")
        self.config = dataclasses.replace(self.config, n_classes=got[0], n_covariates=got[1])

    def make_conditions(self, n_samples: int, conditions: Any) -> Any:
        """Validated conditions for ``n_samples`` windows of this model (``None`` if unconditional).

        ``conditions`` as in :meth:`sample`; a single label value is used for
        every window.
        """
        from spikegan_tf.gan.conditioning import model_conditions

        return model_conditions(self.config, self.classes_, n_samples, conditions)

    # ------------------------------------------------------------------ sampling

    def sample(self, n_samples: int, seed: int | None = None, *,
               threshold: float | None = None, chunk_size: int | None = None,
               conditions: Any = None) -> np.ndarray:
        """Draw ``n_samples`` binary windows ``(n, n_neurons, n_bins)`` (uint8).

        Bernoulli draws from the generator's probabilities under the package's
        sampling protocol (same seed, same windows, in every runtime; ``None``
        draws fresh entropy); ``threshold`` gives deterministic ``p > threshold``
        spikes instead. A conditional model needs ``conditions``: one label
        value for all windows, labels ``(n,)`` (values of ``classes_``),
        covariates ``(n, n_bins[, C])``, or a dict of both.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> labels = rng.integers(0, 2, 256)
        >>> x = (rng.random((256, 3, 8)) < np.where(labels, 0.4, 0.05)[:, None, None])
        >>> gan = SpikeGAN(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)
        >>> _ = gan.fit(x.astype("uint8"), conditions=labels, steps=2, batch_size=16, verbose=0)
        >>> gan.classes_, gan.sample(4, seed=0, conditions=1).shape
        ((0, 1), (4, 3, 8))
        """
        from spikegan_tf.gan.sampling import sample

        self._require_generator()
        n_samples = check_positive_int(n_samples, "n_samples")
        return sample(self.generator_, n_samples, seed, chunk_size=chunk_size,
                      threshold=threshold,
                      conditions=self.make_conditions(n_samples, conditions))

    def sample_raster(self, n_time_bins: int, seed: int | None = None, *, start: int = 0,
                      threshold: float | None = None, chunk: int = 4096,
                      out: np.ndarray | None = None) -> np.ndarray:
        """Draw one continuous raster ``(n_time_bins, n_neurons)`` uint8 of any length.

        Needs ``architecture="temporal"``: a stationary generator whose every
        bin is the same function of the latent noise around it, so the raster
        has no window boundaries and no seams. It is generated ``chunk`` bins at
        a time (give ``out=np.lib.format.open_memmap(...)`` for rasters larger
        than memory); ``start`` continues the raster of the same seed exactly.
        See :func:`spikegan_tf.gan.raster.sample_raster`.

        Examples
        --------
        >>> import numpy as np
        >>> x = (np.random.default_rng(0).random((2000, 3)) < 0.1).astype("uint8")
        >>> gan = SpikeGAN(n_neurons=3, n_bins=8, num_features=4, architecture="temporal",
        ...                temporal_layers=2, temporal_features=8)
        >>> _ = gan.fit(x, steps=2, batch_size=16, verbose=0)
        >>> gan.sample_raster(10000, seed=0).shape
        (10000, 3)
        """
        from spikegan_tf.gan.raster import sample_raster

        self._require_generator()
        return sample_raster(self.generator_, self.config, n_time_bins, seed, start=start,
                             chunk=chunk, threshold=threshold, out=out)

    def probabilities(self, z: Any) -> np.ndarray:
        """Firing probabilities ``(n, n_neurons, n_bins)`` for latent vectors ``z``."""
        self._require_generator()
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.config.latent_dim:
            raise ConfigError(f"`z` must have shape (n, {self.config.latent_dim}). "
                              f"Received {z.shape}.")
        return np.asarray(self.generator_(z, training=False), dtype=np.float32)

    def calibrate_rates(self, spikes: Any, *, seed: int | None = 0, n_samples: int = 8192,
                        conditions: Any = None) -> np.ndarray:
        """Shift the generator's output bias so each neuron fires at its rate in ``spikes``.

        A generator that has not learnt all of the data's correlations fires too
        little (see :func:`spikegan_tf.gan.networks.calibrate_output_bias`); this fixes
        each neuron's mean rate exactly, leaving every other weight as trained. On
        the retina it improved five of the six headline statistics
        (``benchmarks/results/retina_calibrate.json``). Continuing to train
        afterwards starts from the calibrated bias.

        Parameters
        ----------
        spikes : array_like
            The training data: windows ``(n, n_neurons, n_bins)`` or a raster
            ``(n_time_bins, n_neurons)``, 0/1.
        seed : int or None
            Seed of the latent draws the mean rates are taken over.
        n_samples : int
            Number of those draws.
        conditions : optional
            A conditional model (with labels): the windows' conditions. Each
            class's logit offsets are shifted so every neuron fires at its rate
            in that class (:func:`spikegan_tf.gan.conditioning.calibrate_label_offsets`,
            one latent draw per window; ``n_samples`` is not used).

        Returns
        -------
        numpy.ndarray
            The logit shift of each neuron ``(n_neurons,)``; ``(n_classes,
            n_neurons)`` for a conditional model.

        Examples
        --------
        >>> import numpy as np
        >>> from spikegan_tf.gan.networks import build_generator
        >>> gan = SpikeGAN(n_neurons=2, n_bins=8, num_features=4, latent_dim=8)
        >>> gan.generator_ = build_generator(gan.config, seed=0)
        >>> raster = np.zeros((400, 2), np.uint8); raster[::10, 0] = 1; raster[::4, 1] = 1
        >>> _ = gan.calibrate_rates(raster, seed=0, n_samples=4096)
        >>> z = np.random.default_rng(0).standard_normal((4096, 8))  # the draws it used
        >>> [round(float(r), 4) for r in gan.probabilities(z).mean(axis=(0, 2))]
        [0.1, 0.25]
        """
        from spikegan_tf.data.source import neuron_rates
        from spikegan_tf.gan.networks import calibrate_output_bias
        from spikegan_tf.validation import check_raster, check_windows

        self._require_generator()
        if self.config.conditional:
            return self._calibrate_conditional(spikes, conditions, seed)
        if conditions is not None:
            raise ConfigError("This model is unconditional: it takes no `conditions`.")
        x = np.asarray(spikes)
        rates = neuron_rates(check_windows(x, "spikes") if x.ndim == 3
                              else check_raster(x, "spikes"))
        if rates.shape != (self.config.n_neurons,):
            raise ConfigError(f"`spikes` must have {self.config.n_neurons} neurons. "
                              f"Received {rates.shape[0]}.")
        return calibrate_output_bias(self.generator_, self.config, rates, seed=seed,
                                     n_samples=check_positive_int(n_samples, "n_samples"))

    def _calibrate_conditional(self, spikes: Any, conditions: Any, seed: int | None
                               ) -> np.ndarray:
        from spikegan_tf.data.source import as_windows
        from spikegan_tf.gan.conditioning import calibrate_label_offsets

        if not self.config.n_classes:
            raise ConfigError("Calibrating a conditional model needs labels; this one has only "
                              "covariates.")
        windows = as_windows(spikes, "spikes")
        cond = self.make_conditions(len(windows), conditions)
        return calibrate_label_offsets(self.generator_, self.config, windows, cond, seed=seed)

    def _require_generator(self) -> None:
        if self.generator_ is None:
            raise ConfigError("This SpikeGAN is not trained: call fit() or SpikeGAN.load() first.")

    # ------------------------------------------------------------------ files

    def save(self, path: str | os.PathLike) -> Path:
        """Save as a run directory: ``config.json``, ``generator.keras``, ``critic.keras``.

        Saving into the run directory the model was trained in just refreshes
        its ``.keras`` files.
        """
        self._require_generator()
        sections: dict[str, Any] = {}
        if self._train_config is not None:
            sections["train"] = self._train_config.to_dict()
        if self._data_info is not None:
            sections["data"] = self._data_info
        step = None
        if self._trained_steps is not None:
            # in the count of the "train" section (the last trainer's, from its step 0)
            step = self._trained_steps - self._trainer_offset
        run = RunDir(path)
        run.write_model(self.config, self.generator_, self.critic_, step=step, **sections)
        return run.path

    @classmethod
    def load(cls, path: str | os.PathLike) -> SpikeGAN:
        """Load a saved model or the run directory of ``spikegan train``.

        The critic is loaded when present (a run exported for sampling only may
        lack it); ``fit`` then continues from the loaded weights.
        """
        from spikegan_tf.gan.train_config import TrainConfig, continuation_settings

        run = RunDir(path)
        cfg = run.read_config()
        gan = cls(**run.model_config().to_dict())
        gan.generator_ = run.load_generator()
        if run.has_critic():
            gan.critic_ = run.load_critic()
        if "train" in cfg:
            gan._train_config = TrainConfig.from_dict(cfg["train"])
            gan.fit_defaults = continuation_settings(cfg["train"], gan.config)
        gan._trained_steps = _published_step(run, cfg)
        gan._data_info = cfg.get("data")
        return gan

    @classmethod
    def pretrained(cls, name: str) -> SpikeGAN:
        """A generator shipped with the package (``spikegan_tf.gan.pretrained.MODELS``).

        ``spikegan_tf.gan.pretrained.describe(name)`` gives its training, its
        evaluation and the data's citation.

        Examples
        --------
        >>> gan = SpikeGAN.pretrained("retina50")
        >>> gan.sample(1000, seed=0).shape
        (1000, 50, 32)
        """
        from spikegan_tf.gan import pretrained

        return cls.load(pretrained.path(name))


def _published_step(run: RunDir, cfg: dict[str, Any]) -> int | None:
    """The training steps behind a run's ``generator.keras`` (``None``: not known).

    Counted as the run's ``"train"`` settings count (their ``*_start``): the
    step the archive records (:meth:`RunDir.published_step`; a run killed
    after a checkpoint that did not publish keeps an older one); for files
    written before it did, what :meth:`SpikeGAN.save` wrote in ``config.json``,
    else the step of ``best.json`` for a run that publishes its best, else the
    run's latest checkpoint.
    """
    step = run.published_step()
    if step is not None:
        return step
    if "trained_steps" in cfg:
        return int(cfg["trained_steps"])
    if (cfg.get("train") or {}).get("publish") == "best":
        best = run.read_best()
        if best is not None:
            return int(best["step"])
    return run.latest_checkpoint_step()


def _continue_from(published: Any, generator: Any) -> None:
    """Set ``generator``'s weights from a published generator's layers of the same names.

    A published generator may carry layers training does not have (a calibrated
    spike-history filter, position offsets): those are left out; its
    calibrated output bias is where training goes on from (``fit`` does not
    set the bias from the data when it continues trained weights).
    """
    for layer in generator.layers:
        if not layer.weights:
            continue
        try:
            source = published.get_layer(layer.name)
        except ValueError:
            source = None
        shapes = [tuple(w.shape) for w in layer.weights]
        if source is None or [tuple(w.shape) for w in source.weights] != shapes:
            raise ConfigError(f"Cannot continue training from this generator: it has no layer "
                              f"{layer.name!r} with weights of shapes {shapes}.")
        layer.set_weights(source.get_weights())


def _same_except_stopping(a: Any, b: Any) -> bool:
    # init_output_bias acts at step 0 only, which a trainer to reuse is past
    keep = ("max_steps", "max_minutes", "init_output_bias")
    return ({k: v for k, v in a.to_dict().items() if k not in keep}
            == {k: v for k, v in b.to_dict().items() if k not in keep})

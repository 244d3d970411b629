"""The published generator: a copy whose firing rates are calibrated to the training windows.

``TrainConfig.calibrate_rates`` publishes (``generator.keras``,
``SpikeGAN.generator_``) this copy instead of the generator being trained. Why:
a WGAN's generator reaches the data's correlations before it reaches each
neuron's exact rate in each condition, and one constant per (label, neuron)
logit closes that gap without touching what shapes the correlations
(``benchmarks/results/conditional_tuned/``: worst-condition rate errors from
2.2x to 1.3x the held-out floor).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.positions import (
    calibrate_position_offsets,
    calibration_samples,
    positional,
    with_position_offsets,
)

__all__ = ["calibrated_copy", "MAX_CALIBRATION_WINDOWS"]

#: At most this many training windows (a seeded subsample) set the calibration.
MAX_CALIBRATION_WINDOWS = 32768
#: A filter longer than the training windows is fitted on a raster's windows this many times
#: its lags long (each spike then has a bin ``l`` later for most of a window's spikes).
LONG_WINDOW_LAGS = 8


def calibrated_copy(generator: Any, config: ModelConfig, data: Any, *, seed: int | None = 0,
                    max_windows: int = MAX_CALIBRATION_WINDOWS, positions: bool = False,
                    history_lags: int = 0, coupling: bool = False, same_bin: bool = False) -> Any:
    """A copy of ``generator`` with its rates calibrated to ``data``'s training windows.

    A model with labels gets each label's logit offsets moved
    (:func:`spikegan_tf.gan.conditioning.calibrate_label_offsets`, on at most
    ``max_windows`` training windows with their own conditions); an
    unconditional model gets its output bias moved
    (:func:`spikegan_tf.gan.networks.calibrate_output_bias`) and, with
    ``positions``, one logit offset per (neuron, bin) so that its time course is
    the training windows' (:mod:`spikegan_tf.gan.positions`; not for the
    ``"temporal"`` generator, stationary by construction). ``generator``
    itself is not changed.

    Parameters
    ----------
    generator : keras.Model
    config : ModelConfig
        The generator's configuration.
    data : TrainingData
        From :func:`spikegan_tf.data.splits.prepare_data`; its training split
        (and conditions) set the target rates.
    seed : int or None
        Seed of the latent draws (and of the subsample).
    max_windows : int
        Largest number of training windows used (fewer where their logits would
        exceed :data:`spikegan_tf.gan.positions.MAX_CALIBRATION_BYTES`).
    positions : bool
        Also calibrate each (neuron, bin) of an unconditional ``"conv"`` or
        ``"fc"`` generator.
    history_lags : int
        With ``positions`` on a ``"conv"`` generator, or on a ``"temporal"``
        one: also give it a spike-history filter of this many lags per neuron,
        solved with the offsets (the output bias of a temporal generator) so
        that each neuron's autocorrelation at lags ``1..history_lags`` is the
        training windows' (:func:`spikegan_tf.gan.history_fit.fit_history`,
        :func:`~spikegan_tf.gan.history_fit.fit_stationary_history`, on at most
        ``max_windows`` of them; a temporal generator's filter at least as long as
        its windows and longer than 10 lags is fitted on long windows of a raster's training split,
        :data:`LONG_WINDOW_LAGS` times the lags, as many bins in all). 0: none.
    coupling : bool
        With ``history_lags`` (on a ``"conv"`` or a ``"temporal"`` generator): also a lag-1 coupling
        between neurons, solved with the filter so that each pair's coincidences
        one bin apart are the training windows' (the coupling term of a
        generalised linear model).
    same_bin : bool
        With ``coupling``: also a same-bin coupling (the neurons of a bin drawn in
        index order, :mod:`spikegan_tf.gan.history`), solved with it so that each
        pair's log odds ratio of firing in the same bin is the training windows'
        (:func:`spikegan_tf.gan.history_fit.same_bin_log_odds`).

    Returns
    -------
    keras.Model

    Examples
    --------
    >>> from spikegan_tf.data.splits import prepare_data
    >>> from spikegan_tf.gan.networks import build_generator
    >>> x = (np.random.default_rng(0).random((256, 3, 8)) < [[0.1], [0.2], [0.3]])
    >>> cfg = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)
    >>> g = build_generator(cfg, seed=0)
    >>> data = prepare_data(x.astype("uint8"), 8)
    >>> c = calibrated_copy(g, cfg, data, seed=0)
    >>> z = np.random.default_rng(0).standard_normal((8192, 8)).astype("float32")
    >>> bool(np.allclose(c(z).numpy().mean(axis=(0, 2)), data.train.neuron_rates(), atol=1e-4))
    True
    >>> bool(np.allclose(g(z).numpy().mean(axis=(0, 2)), data.train.neuron_rates(), atol=0.05))
    False
    >>> from spikegan_tf.statistics import time_course
    >>> p = calibrated_copy(g, cfg, data, seed=0, positions=True)
    >>> bool(np.allclose(p(z).numpy().mean(axis=0), time_course(data.train), atol=2e-3))
    True
    """
    import keras

    from spikegan_tf.gan.conditioning import calibrate_label_offsets
    from spikegan_tf.gan.networks import calibrate_output_bias

    copy = keras.models.clone_model(generator)
    copy.set_weights(generator.get_weights())
    if not config.conditional:
        if positions and positional(config):
            # the (neuron, bin) offsets set each neuron's mean rate too: no per-neuron pass first
            from spikegan_tf.statistics import time_course

            history = history_lags if config.architecture == "conv" else 0
            if config.architecture == "conv":
                copy = with_position_offsets(copy, config, history_lags=history,
                                             coupling=coupling, same_bin=same_bin)
            target = time_course(data.train)
            calibrate_position_offsets(copy, config, target, seed=seed)
            if history:
                from spikegan_tf.gan.history_fit import fit_history

                fit_history(copy, config, _subsample(data.train, config, max_windows, seed), target,
                            seed=seed)
        elif history_lags and config.architecture == "temporal":  # its rates with the filter
            from spikegan_tf.gan.history_fit import fit_stationary_history, with_history_filter

            copy = with_history_filter(copy, config, history_lags, coupling=coupling,
                                       same_bin=same_bin)
            fit_stationary_history(copy, config,
                                   _history_windows(data.train, config, history_lags,
                                                    max_windows, seed),
                                   data.train.neuron_rates(), seed=seed)
            if _long_filter(history_lags, config) and data.train.kind == "raster":
                import warnings

                warnings.warn(
                    f"A spike-history filter of {history_lags} lags reaches beyond the "
                    f"{config.n_bins}-bin window: its rates are solved for continuous rasters "
                    "(sample_raster), where each bin has the spikes before it; windows start "
                    "without them and fire too often (2.7x the rate with 200 lags on the retina).",
                    UserWarning, stacklevel=2)
        else:
            calibrate_output_bias(copy, config, data.train.neuron_rates(), seed=seed)
        return copy
    keep = _keep(len(data.train.spikes), config, max_windows, seed)
    windows, conditions = data.train.spikes, data.conditions
    if keep is not None:
        windows, conditions = windows[keep], conditions.take(keep)
    calibrate_label_offsets(copy, config, windows, conditions, seed=seed)
    return copy


def _keep(n: int, config: ModelConfig, max_windows: int, seed: int | None) -> np.ndarray | None:
    """Sorted indices of a seeded subsample of ``n`` windows, or ``None`` to keep them all."""
    limit = calibration_samples(config, max_windows)  # fewer for large populations
    if n <= limit:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def _long_filter(lags: int, config: ModelConfig) -> bool:
    """Whether a temporal generator's filter of ``lags`` lags is fitted on a raster's long windows:
    longer than its windows and than the default filter (whose taps beyond a short window stay 0)."""
    from spikegan_tf.gan.history import DEFAULT_HISTORY_LAGS

    return lags >= config.n_bins and lags > DEFAULT_HISTORY_LAGS


def _history_windows(src: Any, config: ModelConfig, lags: int, max_windows: int,
                     seed: int | None) -> np.ndarray:
    """The windows a temporal generator's filter of ``lags`` lags is fitted to.

    The training windows (:func:`_subsample`) unless the filter is longer than them and
    than the default 10 lags (:func:`_long_filter`); then, from a raster, windows of :data:`LONG_WINDOW_LAGS` times ``lags`` bins, evenly
    spaced over it, as many bins in all as the subsample would hold (a windowed source
    has nothing longer: taps beyond its windows stay 0).
    """
    if not _long_filter(lags, config) or src.kind != "raster":
        return _subsample(src, config, max_windows, seed)
    raster = src.spikes
    length = min(LONG_WINDOW_LAGS * lags, len(raster))
    n = min(len(raster) // length,
            max(1, calibration_samples(config, max_windows) * config.n_bins // length))
    starts = np.linspace(0, len(raster) - length, n).astype(int)
    return np.stack([raster[s:s + length].T for s in starts])


def _subsample(src: Any, config: ModelConfig, max_windows: int, seed: int | None) -> Any:
    """Windows ``(n, N, T)`` of a :class:`~spikegan_tf.data.source.WindowedSpikes`, subsampled."""
    keep = _keep(src.shape[0], config, max_windows, seed)
    return src.windows() if keep is None else src.take(keep)

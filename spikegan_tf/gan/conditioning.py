"""Conditional models: the networks' condition inputs and the conditions a model is given.

Labels enter a network as the one-hot input ``label`` and covariates as
``covariates (n_bins, n_covariates)``, after ``z`` (generator) or ``spikes``
(critic); :func:`model_conditions` turns what a user passes (a label value,
labels, covariates, a dict) into the validated
:class:`~spikegan_tf.data.conditions.Conditions` of a model.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers

from spikegan_tf.errors import ConfigError
from spikegan_tf.gan.config import ModelConfig

__all__ = ["condition_inputs", "set_label_offsets", "model_conditions", "calibrate_label_offsets"]


def condition_inputs(config: ModelConfig) -> tuple[Any, Any]:
    """Keras inputs of a conditional model: ``label`` (one-hot) and ``covariates``, or None."""
    label = (keras.Input(shape=(config.n_classes,), name="label")
             if config.n_classes else None)
    cov = (keras.Input(shape=(config.n_bins, config.n_covariates), name="covariates")
           if config.n_covariates else None)
    return label, cov


def _inputs(main: Any, label: Any, cov: Any) -> Any:
    """The model's inputs: ``main`` alone (unconditional), else the list ``[main, label?, cov?]``."""
    extra = [t for t in (label, cov) if t is not None]
    return [main, *extra] if extra else main


def _conditioned_logits(h: Any, label: Any, cov: Any, config: ModelConfig,
                        dtype: str | None) -> Any:
    """Add the conditions' direct effect to the logits ``h (batch, n_bins, n_neurons)``.

    A per-class offset of each neuron's logit (its tuning) and a per-bin
    linear filter of the covariates; both start at zero, so a new generator
    still starts at the output bias (the data's rates).
    """
    extra = []
    if label is not None:
        offset = layers.Dense(config.n_neurons, use_bias=False, kernel_initializer="zeros",
                              dtype=dtype, name="label_logits")(label)
        extra.append(layers.RepeatVector(config.n_bins, dtype=dtype,
                                         name="label_logits_time")(offset))
    if cov is not None:
        extra.append(layers.Conv1D(config.n_neurons, config.kernel_size, padding="same",
                                   use_bias=False, kernel_initializer="zeros", dtype=dtype,
                                   name="covariate_logits")(cov))
    if not extra:
        return h
    return layers.Add(dtype=dtype, name="conditioned_logits")([h, *extra])


def set_label_offsets(generator: Any, config: ModelConfig, class_rates: Any,
                      firing_probability: Any) -> None:
    """Start a conditional generator at each class's firing rates.

    Sets the per-class logit offsets (layer ``label_logits``) to
    ``logit(class_rates[c, n]) - logit(firing_probability[n])``, so that with
    :func:`~spikegan_tf.gan.networks.set_output_bias` at ``firing_probability`` a new generator fires at
    the data's rate of each neuron for each label: the tuning curves are
    where training starts, as the rates are without conditions.

    Examples
    --------
    >>> import numpy as np
    >>> from spikegan_tf.gan.networks import build_generator, set_output_bias
    >>> cfg = ModelConfig(n_neurons=2, n_bins=8, num_features=4, n_classes=2)
    >>> g = build_generator(cfg, seed=0)
    >>> set_output_bias(g, cfg, [0.2, 0.2])
    >>> set_label_offsets(g, cfg, [[0.1, 0.2], [0.4, 0.2]], [0.2, 0.2])
    >>> p = g([np.zeros((2, 128), "float32"), np.eye(2, dtype="float32")]).numpy()
    >>> p[:, :, 0].astype(float).round(4).tolist()
    [[0.1, 0.2], [0.4, 0.2]]
    """
    rates = np.clip(np.asarray(class_rates, np.float64), 1e-4, 1 - 1e-4)
    base = np.clip(np.asarray(firing_probability, np.float64).ravel(), 1e-4, 1 - 1e-4)
    if rates.shape != (config.n_classes, config.n_neurons):
        raise ValueError(f"`class_rates` must have shape ({config.n_classes}, "
                         f"{config.n_neurons}); received {rates.shape}.")

    def logit(p: np.ndarray) -> np.ndarray:
        return np.log(p) - np.log1p(-p)

    layer = generator.get_layer("label_logits")
    layer.kernel.assign((logit(rates) - logit(base)[None, :]).astype(layer.kernel.dtype))


def model_conditions(config: ModelConfig, classes: Any, n_samples: int, conditions: Any) -> Any:
    """Conditions for ``n_samples`` windows of a model of ``config`` trained with ``classes``.

    ``conditions``: one label value (for every window), labels ``(n,)``,
    covariates ``(n, n_bins[, C])``, a dict of both, or a ``Conditions``.
    Returns ``None`` for an unconditional model (which then takes no
    ``conditions``); raises a one-line ``ConfigError`` / ``SpikeDataError``
    when they do not fit the model.

    Examples
    --------
    >>> cfg = ModelConfig(n_neurons=2, n_bins=4, n_classes=2)
    >>> model_conditions(cfg, ("left", "right"), 3, "right").labels.tolist()
    [1, 1, 1]
    >>> model_conditions(cfg, ("left", "right"), 3, "up")
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.SpikeDataError: `labels` holds the label 'up', which is not one of the classes ['left', 'right'].
    """
    from spikegan_tf.data.conditions import condition_arrays, make_conditions

    if not config.conditional:
        if conditions is not None:
            raise ConfigError("This model is unconditional: it takes no `conditions`.")
        return None
    takes = []
    if config.n_classes:
        takes.append(f"labels {list(classes or range(config.n_classes))}")
    if config.n_covariates:
        takes.append(f"{config.n_covariates} covariates per bin")
    takes = " and ".join(takes)
    if conditions is None:
        raise ConfigError(f"This model is conditional ({takes}): pass `conditions=`.")
    if np.ndim(conditions) == 0 and not isinstance(conditions, dict):
        conditions = np.full(n_samples, conditions)
    labels, covariates = condition_arrays(conditions)
    for given, wanted, what in ((labels, config.n_classes, "labels"),
                                (covariates, config.n_covariates, "covariates")):
        if (given is None) != (wanted == 0):
            raise ConfigError(f"This model takes {takes}; `conditions` "
                              f"{'lack' if given is None else 'have'} {what}.")
    return make_conditions(n_samples, config.n_bins, labels=labels, covariates=covariates,
                           classes=classes)


def calibrate_label_offsets(generator: Any, config: ModelConfig, windows: Any, conditions: Any,
                            *, seed: int | None = 0, batch_size: int = 1024) -> np.ndarray:
    """Shift each class's logit offsets so that every neuron fires at its rate in that class.

    The conditional analogue of
    :func:`~spikegan_tf.gan.networks.calibrate_output_bias`: the generator is
    run once per window of ``windows`` on that window's own conditions
    (covariates included) with a seeded latent draw, and for every class ``c``
    and neuron ``n`` the one constant ``d[c, n]`` that makes the mean
    probability over class ``c``'s windows equal that neuron's rate in them
    is solved exactly (a monotone 1-D root) and added to the ``label_logits``
    row of the class. Every other weight, and so how the covariates and the
    latent noise shape the activity, is untouched.

    Parameters
    ----------
    generator : keras.Model
        A conditional generator with labels; changed in place.
    config : ModelConfig
    windows : numpy.ndarray
        Training windows ``(n, n_neurons, n_bins)`` (0/1).
    conditions : Conditions
        Their conditions.
    seed : int or None
        Seed of the latent draws.
    batch_size : int
        Windows per generator call.

    Returns
    -------
    numpy.ndarray
        The shifts ``(n_classes, n_neurons)`` (0 for a class without windows).
    """
    from scipy.optimize import brentq
    from scipy.special import expit, logit

    if not config.n_classes or conditions is None or conditions.labels is None:
        raise ConfigError("calibrate_label_offsets needs a model with labels and the windows' "
                          "labels.")
    windows = np.asarray(windows)
    if len(windows) != len(conditions):
        raise ConfigError(f"{len(windows)} windows but {len(conditions)} conditions.")
    inputs = conditions.model_inputs()
    z = np.random.default_rng(seed).standard_normal((len(windows), config.latent_dim))
    z = z.astype(np.float32)
    probs = np.concatenate([
        np.asarray(generator([z[i:i + batch_size], *(a[i:i + batch_size] for a in inputs)],
                             training=False))
        for i in range(0, len(z), batch_size)]).astype(np.float64)
    logits = logit(np.clip(probs, 1e-12, 1 - 1e-12))
    shift = np.zeros((config.n_classes, config.n_neurons))
    for c in range(config.n_classes):
        sel = conditions.labels == c
        if not sel.any():
            continue
        target = np.clip(windows[sel].mean(axis=(0, 2), dtype=np.float64), 1e-6, 1 - 1e-6)
        for n in range(config.n_neurons):
            a = logits[sel, n, :].ravel()
            shift[c, n] = brentq(lambda d, a=a, r=target[n]: expit(a + d).mean() - r,
                                 -40.0, 40.0, xtol=1e-10)
    layer = generator.get_layer("label_logits")
    layer.kernel.assign((layer.kernel.numpy() + shift).astype(layer.kernel.dtype))
    return shift

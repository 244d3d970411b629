"""Positional calibration: one logit offset per (neuron, bin) of the published generator.

A semi-convolutional generator's expected rate varies with the position in the
window (its padded edges and stride-2 upsampling; ``benchmarks/time_course_pattern.py``:
a relative SD of 7.8% across bins on the retina, odd bins 3% above even ones),
while the training windows of a stationary recording fire at the same rate in
every bin. Per-neuron calibration cannot remove that pattern. These functions
add a non-trainable offset to the logits, ``probs = sigmoid(logits + b[t, n])``,
and solve ``b`` so that each neuron's mean probability in each bin is the
training windows' time course: the first moments exactly, the correlations
shaped by the trained weights untouched. ``benchmarks/retina_calibrate.py``
measures what it changes.

The offset is the bias of a frozen ``Dense`` layer fed an exact zero (a frozen
zero ``Dense(1)`` of ``z``), so the model keeps built-in layers only, loads in
safe mode, and grows by ``n_bins * n_neurons`` offsets and as many zeros.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spikegan_tf.gan.config import ModelConfig

__all__ = ["POSITION_LAYER", "positional", "position_layer", "with_position_offsets",
           "calibrate_position_offsets", "solve_logit_offsets", "latent_logits",
           "calibration_samples", "draws_within", "MAX_CALIBRATION_BYTES"]

#: Name of the layer whose bias holds the offsets ``(n_bins * n_neurons,)``, bin-major.
POSITION_LAYER = "position_logits"


def positional(config: ModelConfig) -> bool:
    """Whether a model's published copy takes positional offsets (unconditional conv or fc)."""
    return not config.conditional and config.architecture in ("conv", "fc")


def position_layer(generator: Any) -> Any | None:
    """The generator's positional offset layer, or ``None`` when it has none."""
    try:
        return generator.get_layer(POSITION_LAYER)
    except ValueError:
        return None


def carries_coupling(generator: Any, coupling: bool, same_bin: bool) -> bool:
    """Whether ``generator`` has the coupling asked for (none asked: ``True``).

    A same-bin one is asked for with ``same_bin`` (a ``(2, N, N)`` coupling).
    """
    from spikegan_tf.gan.history import history_coupling

    w = history_coupling(generator) if coupling else None
    return not coupling or (w is not None and (not same_bin or w.ndim == 3))


def add_coupling_layer(zero: Any, back: Any, n_neurons: int, same_bin: bool) -> Any:
    """``back`` plus the frozen coupling chain fed the exact zero ``zero``: still exactly 0.

    The coupling is the bias of a frozen ``Dense`` layer
    (:data:`~spikegan_tf.gan.history.COUPLING_LAYER`, ``N^2`` entries, or ``2 N^2`` with a
    same-bin part) whose output a kernel-less frozen ``Dense`` (``coupling_zero``) turns
    back into 0; shared by window (:func:`with_position_offsets`) and temporal generators
    (:func:`spikegan_tf.gan.history_fit.with_history_filter`). Refuses more than
    :data:`~spikegan_tf.gan.history.MAX_COUPLED_NEURONS` neurons, where its sums stop being exact
    (a same-bin one, more than :data:`~spikegan_tf.gan.history.MAX_SAME_BIN_NEURONS`).
    """
    from keras import layers

    from spikegan_tf.gan.history import COUPLING_LAYER, MAX_COUPLED_NEURONS, MAX_SAME_BIN_NEURONS

    limit, kind = ((MAX_SAME_BIN_NEURONS, "a same-bin coupling") if same_bin
                   else (MAX_COUPLED_NEURONS, "a coupling"))
    if n_neurons > limit:
        raise ValueError(f"{kind} is exact for at most {limit} neurons; "
                         f"this model has {n_neurons}.")
    dtype = zero.dtype
    frozen = {"trainable": False, "kernel_initializer": "zeros", "dtype": dtype}
    pairs = layers.Dense((1 + same_bin) * n_neurons ** 2, bias_initializer="zeros",
                         name=COUPLING_LAYER, **frozen)(zero)  # the coupling, as its bias
    pairs_back = layers.Dense(1, use_bias=False, name="coupling_zero", **frozen)(pairs)
    return layers.Add(dtype=dtype, name="history_sum")([back, pairs_back])


def with_position_offsets(generator: Any, config: ModelConfig, *, history_lags: int = 0,
                          coupling: bool = False, same_bin: bool = False) -> Any:
    """A model computing ``generator`` with a (zero) positional logit offset before its sigmoid.

    The new model shares ``generator``'s layers (copy it first to keep the
    original apart). A model that already has the offset (and the filter
    asked for) is returned as is; one with the offset alone, or with a filter of other
    lags, is rebuilt around the same logits, its offsets kept (the new filter zero).

    With ``history_lags``, it also carries a (zero) spike-history filter of
    that many lags per neuron (:mod:`spikegan_tf.gan.history`): the bias of a
    frozen layer fed the offsets' exact zero, whose output is multiplied back to
    zero, so the probabilities are unchanged. With ``coupling`` (and
    ``history_lags``), also a (zero) lag-1 coupling between neurons, the bias of
    another such layer (:data:`~spikegan_tf.gan.history.COUPLING_LAYER`); with
    ``same_bin`` as well, that layer holds a same-bin coupling before the lag-1 one
    (:func:`~spikegan_tf.gan.history.history_coupling` ``(2, N, N)``).

    Parameters
    ----------
    generator : keras.Model
        An unconditional ``"conv"`` generator of
        :func:`spikegan_tf.gan.networks.build_generator`.
    config : ModelConfig

    Returns
    -------
    keras.Model

    Examples
    --------
    >>> from spikegan_tf.gan.networks import build_generator
    >>> cfg = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)
    >>> g = build_generator(cfg, seed=0)
    >>> p = with_position_offsets(g, cfg)
    >>> z = np.random.default_rng(0).standard_normal((4, 8)).astype("float32")
    >>> bool(np.array_equal(p(z).numpy(), g(z).numpy()))
    True
    """
    import keras
    from keras import layers

    from spikegan_tf.gan.history import (
        HISTORY_LAYER,
        history_filter,
    )

    coupling = bool(coupling and history_lags)
    same_bin = bool(same_bin and coupling)
    existing = position_layer(generator)
    present = history_filter(generator)
    if existing is not None and (not history_lags or (
            present is not None and present.shape[1] == history_lags)) and (
            carries_coupling(generator, coupling, same_bin)):
        return generator
    if config.architecture != "conv" or config.conditional:
        raise ValueError("positional offsets are built for unconditional 'conv' generators; "
                         f"received architecture={config.architecture!r}"
                         f"{' with conditions' if config.conditional else ''}.")
    if existing is not None:  # rebuild around the logits, keeping the offsets
        logits = generator.get_layer("positioned_logits").input[0]
        kept = existing.get_weights()
    else:
        logits = generator.get_layer("sigmoid").input  # (batch, n_bins, n_neurons)
        kept = None
    dtype = logits.dtype
    z = generator.inputs[0]
    size = config.n_bins * config.n_neurons
    zero = layers.Dense(1, use_bias=False, kernel_initializer="zeros", trainable=False,
                        dtype=dtype, name="position_zero")(z)  # (batch, 1), exactly 0
    if history_lags:
        history = layers.Dense(history_lags * config.n_neurons, kernel_initializer="zeros",
                               bias_initializer="zeros", trainable=False, dtype=dtype,
                               name=HISTORY_LAYER)(zero)  # the filter, as its bias
        back = layers.Dense(1, use_bias=False, kernel_initializer="zeros", trainable=False,
                            dtype=dtype, name="history_zero")(history)  # exactly 0 again
        if coupling:
            back = add_coupling_layer(zero, back, config.n_neurons, same_bin)
        zero = layers.Add(dtype=dtype, name="position_input")([zero, back])
    offset = layers.Dense(size, kernel_initializer="zeros", bias_initializer="zeros",
                          trainable=False, dtype=dtype, name=POSITION_LAYER)(zero)
    offset = layers.Reshape((config.n_bins, config.n_neurons), dtype=dtype,
                            name="position_grid")(offset)
    h = layers.Add(dtype=dtype, name="positioned_logits")([logits, offset])
    h = layers.Activation("sigmoid", dtype="float32", name="sigmoid")(h)
    probs = layers.Permute((2, 1), dtype="float32", name="probs")(h)
    model = keras.Model(z, probs, name=generator.name)
    if kept is not None:
        model.get_layer(POSITION_LAYER).set_weights(kept)
    return model


#: The calibrations' latent draws hold at most this many bytes of float64 logits: 16,384
#: draws of a 50 x 32 model, 512 of a 1,024 x 64 one (whose 16,384 would take 8.6 GB).
MAX_CALIBRATION_BYTES = 1 << 28
#: ... but never fewer draws than this.
MIN_CALIBRATION_SAMPLES = 512


def draws_within(wanted: int, least: int, bytes_per_draw: int,
                 max_bytes: int = MAX_CALIBRATION_BYTES) -> int:
    """``wanted`` draws, fewer where they would exceed ``max_bytes``, never fewer than ``least``.

    >>> draws_within(16384, 512, 8 * 50 * 32), draws_within(16384, 512, 8 * 1024 * 64)
    (16384, 512)
    """
    return int(min(wanted, max(least, max_bytes // max(int(bytes_per_draw), 1))))


def calibration_samples(config: ModelConfig, n_samples: int,
                        max_bytes: int = MAX_CALIBRATION_BYTES) -> int:
    """How many of ``n_samples`` latent draws a calibration of ``config``'s model uses.

    Examples
    --------
    >>> calibration_samples(ModelConfig(n_neurons=50, n_bins=32), 16384)
    16384
    >>> calibration_samples(ModelConfig(n_neurons=1024, n_bins=64), 16384)
    512
    """
    return draws_within(n_samples, MIN_CALIBRATION_SAMPLES,
                        8 * config.n_neurons * config.n_bins, max_bytes)


def latent_logits(generator: Any, config: ModelConfig, n_samples: int, seed: int | None,
                  batch_size: int = 1024) -> np.ndarray:
    """The generator's logits ``(n, n_neurons, n_bins)`` (float64) on seeded latent draws.

    The draws are the first ``n`` rows of
    ``default_rng(seed).standard_normal((n_samples, latent_dim))`` in float32,
    the ones every calibration of this package averages over, with
    ``n = calibration_samples(config, n_samples)``: all of them unless their
    logits would exceed :data:`MAX_CALIBRATION_BYTES` (large populations).
    """
    from scipy.special import logit

    n = calibration_samples(config, n_samples)
    z = np.random.default_rng(seed).standard_normal((n, config.latent_dim)).astype("float32")
    out = np.empty((n, config.n_neurons, config.n_bins))
    for i in range(0, n, batch_size):
        p = np.asarray(generator(z[i:i + batch_size], training=False), dtype=np.float64)
        out[i:i + len(p)] = logit(np.clip(p, 1e-12, 1 - 1e-12))
    return out


def solve_logit_offsets(logits: np.ndarray, target: np.ndarray, *, tol: float = 1e-10,
                        max_iter: int = 100) -> np.ndarray:
    """Offsets ``d (n_neurons, n_bins)`` with ``mean_s sigmoid(logits[s] + d) = target``.

    Each cell's mean is monotone in its offset, so Newton's method from the
    offset of the means converges; cells it leaves unsolved are bisected.

    Parameters
    ----------
    logits : numpy.ndarray
        ``(n_samples, n_neurons, n_bins)``.
    target : numpy.ndarray
        ``(n_neurons, n_bins)`` probabilities, clipped to ``[1e-4, 1 - 1e-4]``.

    Examples
    --------
    >>> a = np.random.default_rng(0).normal(-2, 1, (4096, 2, 3))
    >>> d = solve_logit_offsets(a, np.full((2, 3), 0.1))
    >>> from scipy.special import expit
    >>> bool(np.allclose(expit(a + d).mean(axis=0), 0.1, rtol=0, atol=1e-9))
    True
    """
    from scipy.optimize import brentq
    from scipy.special import expit, logit

    r = np.clip(np.asarray(target, np.float64), 1e-4, 1 - 1e-4)
    d = np.empty(r.shape)
    for n in range(r.shape[0]):
        a = np.asarray(logits[:, n, :], np.float64)  # (samples, bins)
        dn = logit(r[n]) - logit(np.clip(expit(a).mean(0), 1e-12, 1 - 1e-12))
        for _ in range(max_iter):
            p = expit(a + dn)
            step = (p.mean(0) - r[n]) / np.maximum((p * (1 - p)).mean(0), 1e-300)
            dn = dn - np.clip(step, -2.0, 2.0)
            if np.max(np.abs(step)) < tol:
                break
        p = expit(a + dn).mean(0)
        for t in np.flatnonzero(~np.isclose(p, r[n], rtol=0, atol=1e-7)):
            dn[t] = brentq(lambda x, c=a[:, t], q=r[n, t]: expit(c + x).mean() - q,
                           -40.0, 40.0, xtol=tol)
        d[n] = dn
    return d


def calibrate_position_offsets(generator: Any, config: ModelConfig, time_course: Any, *,
                               n_samples: int = 16384, seed: int | None = 0,
                               batch_size: int = 1024) -> np.ndarray:
    """Move the positional offsets so each (neuron, bin) mean probability is ``time_course``.

    In place. The ``"fc"`` generator's output bias is already one value per
    (neuron, bin) and is moved itself; a ``"conv"`` generator needs
    :func:`with_position_offsets` first.

    Parameters
    ----------
    generator : keras.Model
    config : ModelConfig
    time_course : array_like
        ``(n_neurons, n_bins)`` target probabilities, e.g. the training windows'
        :func:`spikegan_tf.statistics.time_course`.
    n_samples : int
        Latent draws the means are taken over (fewer for large populations:
        :func:`spikegan_tf.gan.positions.calibration_samples`).
    seed : int or None
        Seed of the latent draws.
    batch_size : int
        Windows per generator call.

    Returns
    -------
    numpy.ndarray
        The offsets added ``(n_neurons, n_bins)``.

    Examples
    --------
    >>> from spikegan_tf.gan.networks import build_generator
    >>> cfg = ModelConfig(n_neurons=2, n_bins=8, num_features=4, latent_dim=8)
    >>> g = with_position_offsets(build_generator(cfg, seed=0), cfg)
    >>> target = np.tile(np.linspace(0.05, 0.2, 8), (2, 1))
    >>> _ = calibrate_position_offsets(g, cfg, target, n_samples=512, seed=0)
    >>> z = np.random.default_rng(0).standard_normal((512, 8)).astype("float32")
    >>> bool(np.allclose(g(z).numpy().mean(axis=0), target, atol=1e-5))
    True
    """
    target = np.asarray(time_course, dtype=np.float64)
    if target.shape != (config.n_neurons, config.n_bins):
        raise ValueError(f"`time_course` must have shape ({config.n_neurons}, {config.n_bins}); "
                         f"received {target.shape}.")
    if config.architecture == "fc":
        from spikegan_tf.gan.networks import output_bias_layer

        layer, order = output_bias_layer(generator, config), "neuron"
    else:
        layer, order = position_layer(generator), "bin"
        if layer is None:
            raise ValueError("the generator has no positional offsets; build it with "
                             "`with_position_offsets` first.")
    offsets = solve_logit_offsets(latent_logits(generator, config, n_samples, seed, batch_size),
                                  target)
    flat = offsets.ravel() if order == "neuron" else offsets.T.ravel()
    layer.bias.assign((layer.bias.numpy() + flat).astype(layer.bias.dtype))
    return offsets

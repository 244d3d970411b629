"""Solving a generator's spike-history filter after training (:mod:`spikegan_tf.gan.history`).

With common random numbers, alternate fixed-point steps in logit space move each (neuron,
bin) positional offset towards the training windows' rate and each filter tap towards the
training windows' autocorrelation of its neuron at its lag.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.history import (
    HISTORY_LAYER,
    _draw_time_major,
    history_filter,
    neuron_coincidences,
)

__all__ = ["fit_history", "settle_offsets", "fit_uniforms", "SETTLE_STEPS"]

#: Offset-only steps :func:`fit_history` takes after the last filter step.
SETTLE_STEPS = 8


def fit_uniforms(seed: int | None, shape: tuple[int, ...]) -> np.ndarray:
    """The uniforms the history calibrations draw their common random numbers from."""
    return np.random.default_rng(np.random.SeedSequence(seed or 0, spawn_key=(7,))).random(
        shape, dtype=np.float32)


def settle_offsets(base: np.ndarray, u: np.ndarray, h: np.ndarray, goal: np.ndarray,
                   offsets: np.ndarray, steps: int) -> tuple[np.ndarray, float]:
    """Move logit offsets so that spikes drawn with the filter ``h`` fire at ``expit(goal)``.

    ``base`` and ``u`` are time-major ``(T, n, N)``; ``offsets`` and ``goal`` are
    ``(T, 1, N)`` (one offset per bin and neuron) or ``(1, 1, N)`` (one per
    neuron). Each step moves the offsets by ``goal - logit(rate)``, each
    neuron's mean step scaled by how much of the previous one its rate showed
    (a secant step: with a refractory filter a neuron's rate follows its offsets
    only in part). Returns the offsets and the largest relative rate error
    measured at the last step.
    """
    from scipy.special import expit, logit

    axes = (1,) if offsets.shape[0] > 1 else (0, 1)  # the draws (and bins) a rate averages
    target = expit(goal)
    rate_err = float("nan")
    settle = None  # (mean logit error, mean step) per neuron at the last step
    for _ in range(steps):
        logits = base + offsets
        _, q = _draw_time_major(expit(logits).astype(np.float32), u, h, logit=logits)
        rate = np.clip(q.mean(axis=axes, keepdims=True, dtype=np.float64), 1e-6, 1 - 1e-6)
        rate_err = float(np.max(np.abs(rate / target - 1)))
        step = goal - logit(rate)
        mean_err = step.mean(axis=0)  # (1, N)
        if settle is not None:  # how much of the last mean step each neuron's rate showed
            moved = np.abs(settle[1]) > 1e-6
            gain = np.where(moved, (settle[0] - mean_err) / np.where(moved, settle[1], 1), 1)
            step = step + (1 / np.clip(gain, 0.25, 1.0) - 1) * mean_err
        settle = (mean_err, step.mean(axis=0))
        offsets = offsets + step.astype(np.float32)
    return offsets, rate_err


def _expected_autocorrelation(x: np.ndarray, q: np.ndarray, lags: int,
                              prior_spikes: float) -> np.ndarray:
    """:func:`neuron_autocorrelation` with ``x(t + l)`` replaced by its probability ``q``.

    ``x`` and ``q`` are time-major ``(T, n, N)``.
    ``E[x(t) x(t + l)] = E[x(t) q(t + l)]`` (``q(t + l)`` is drawn given the
    past, ``x(t)`` included), with less sampling noise. With ``prior_spikes``
    pseudo-spikes whose coincidences are the neuron's rate, as the targets have.
    """
    t, s, n = np.nonzero(x)  # time-major (T, n, N): the spikes; x(t) q(t + l) over them
    coinc = np.zeros((q.shape[2], lags))
    for lag in range(1, lags + 1):
        keep = t + lag < q.shape[0]
        coinc[:, lag - 1] = np.bincount(n[keep], weights=q[t[keep] + lag, s[keep], n[keep]],
                                        minlength=q.shape[2])
    spikes = q.sum(axis=(0, 1), dtype=np.float64)
    return _relative(coinc, spikes, spikes / (q.shape[0] * q.shape[1]), prior_spikes)


def _relative(coinc: np.ndarray, spikes: np.ndarray, rate: np.ndarray,
              prior_spikes: float) -> np.ndarray:
    """Per (neuron, lag), coincidences per spike over the neuron's rate, shrunk towards 1.

    ``(coinc / rate + m) / (spikes + m)`` with ``m = prior_spikes`` pseudo-spikes
    of a neuron without history (whose coincidences per spike are its rate): 1
    for no history, below 1 for a refractory lag, above for a bursting one.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(rate[:, None] > 0, coinc / rate[:, None], 0.0)
    return (scaled + prior_spikes) / (spikes[:, None] + prior_spikes + 1e-12)


def fit_history(generator: Any, config: ModelConfig, windows: np.ndarray, time_course: Any, *,
                n_samples: int = 8192, seed: int | None = 0, iterations: int = 25,
                damping: float = 0.7, bound: float = 8.0,
                prior_spikes: float = 20.0) -> dict[str, Any]:
    """Solve the filter and the positional offsets of ``generator`` (in place).

    ``generator`` has both layers (:func:`spikegan_tf.gan.positions.with_position_offsets`
    with ``history_lags``). With common random numbers (``n_samples`` latent
    and uniform draws from ``seed``), alternate fixed-point steps in logit
    space: each (neuron, bin) offset moves by ``logit(target) - logit(rate)``,
    each filter tap by ``damping * log(target / generated)`` of the neuron's
    autocorrelation at that lag (:func:`spikegan_tf.gan.history.neuron_autocorrelation`
    of ``windows``), clipped to ``[-bound, bound]``; then :data:`SETTLE_STEPS`
    steps of the offsets alone (:func:`settle_offsets`). The targets carry ``prior_spikes`` pseudo-spikes
    whose coincidences are the neuron's rate (no history): a neuron with few
    spikes keeps a filter near 0 instead of one fitted to their noise.

    Returns
    -------
    dict
        ``rate_error`` (largest relative error of a (neuron, bin) rate) and
        ``autocorrelation_error`` (mean absolute error over neurons and lags of
        the coincidences per spike relative to the rate, shrunk as above) at the
        last iteration, and ``iterations``.
    """
    from scipy.special import expit, logit

    from spikegan_tf.gan.positions import latent_logits, position_layer

    h0 = history_filter(generator)
    positions = position_layer(generator)
    if h0 is None or positions is None:
        raise ValueError("the generator has no spike-history filter; build it with "
                         "`with_position_offsets(..., history_lags=L)` first.")
    lags = h0.shape[1]
    target_rate = np.clip(np.asarray(time_course, dtype=np.float64), 1e-6, 1 - 1e-6)
    coinc, spikes = neuron_coincidences(windows, lags)
    target = _relative(coinc, spikes, spikes / max(windows.shape[0] * windows.shape[2], 1),
                       prior_spikes)
    history = generator.get_layer(HISTORY_LAYER)
    history.bias.assign(np.zeros_like(history.bias.numpy()))  # logits below see no filter
    base = np.ascontiguousarray(np.moveaxis(  # time-major (T, n, N)
        latent_logits(generator, config, n_samples, seed).astype(np.float32), 2, 0))
    u = fit_uniforms(seed, base.shape)
    offsets = np.zeros((config.n_bins, 1, config.n_neurons), np.float32)
    h = np.zeros((config.n_neurons, lags), np.float32)
    active = spikes > 0  # silent neurons keep a zero filter
    goal = logit(target_rate.T[:, None, :])
    acg_err = float("nan")
    for _ in range(iterations):
        logits = base + offsets
        x, q = _draw_time_major(expit(logits).astype(np.float32), u, h, logit=logits)
        rate = np.clip(q.mean(axis=1, keepdims=True, dtype=np.float64), 1e-6, 1 - 1e-6)
        offsets += (goal - logit(rate)).astype(np.float32)  # (T, 1, N)
        generated = _expected_autocorrelation(x, q, lags, prior_spikes)
        acg_err = float(np.mean(np.abs(generated - target)[active]))
        step = damping * np.log((target + 1e-6) / (generated + 1e-6))
        h = np.clip(h + np.where(active[:, None], np.clip(step, -1, 1), 0), -bound, bound)
        h = h.astype(np.float32)
    # the filter is fixed: the offsets alone, to it
    offsets, rate_err = settle_offsets(base, u, h, goal, offsets, SETTLE_STEPS)
    offsets = offsets[:, 0, :].T  # (N, T)
    positions.bias.assign((positions.bias.numpy() + offsets.T.ravel()).astype(
        positions.bias.dtype))
    history.bias.assign(h.T.ravel().astype(history.bias.dtype))
    return {"rate_error": rate_err, "autocorrelation_error": acg_err, "iterations": iterations}

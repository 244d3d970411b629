"""A population with slow hidden states: ground truth for continuous spike trains.

A hidden two-state Markov chain (down = 0, up = 1) switches with probability
``1 / dwell`` per bin, so a state lasts ``dwell`` bins on average (100: three
32-bin windows). Given the state, every neuron fires independently in each bin
with probability ``low[i]`` (down) or ``high[i]`` (up). Correlations therefore
reach far beyond one window, which is what a generator of continuous spike
trains must carry across the seams between its windows; and they are known
exactly. With ``rho = 1 - 2 / dwell`` and ``d = high - low``::

    P(x_i = 1)                     = (low_i + high_i) / 2
    cov(x_i(t), x_j(t + tau))      = d_i d_j / 4 * rho ** tau     (i != j or tau > 0)
    corr(state(t), state(t + tau)) = rho ** tau

The output is a raster ``(n_time_bins, n_neurons)`` (cut it into windows as
any recording).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spikegan_tf.data.simulate import SimulatedData
from spikegan_tf.params import Real, RuleError, check_param
from spikegan_tf.validation import check_positive_int, check_seed

__all__ = ["states", "expected_lagged_covariance"]

_CHUNK_BINS = 1 << 16


def _rate(value: Any, name: str) -> float:
    check_param(name, value, Real(min=0, max=1, min_open=True, max_open=True,
                                  kind="a probability"))
    return float(value)


def expected_lagged_covariance(low: np.ndarray, high: np.ndarray, dwell: float,
                               max_lag: int) -> np.ndarray:
    """Exact ``cov(x_i(t), x_j(t + tau))`` for ``tau = 1..max_lag``: ``(max_lag, N, N)``.

    Examples
    --------
    >>> c = expected_lagged_covariance(np.array([0.1]), np.array([0.3]), 100, 2)
    >>> np.round(c[:, 0, 0], 6).tolist()
    [0.0098, 0.009604]
    """
    d = np.asarray(high, np.float64) - np.asarray(low, np.float64)
    rho = 1.0 - 2.0 / float(dwell)
    lags = np.arange(1, max_lag + 1)
    return (rho ** lags)[:, None, None] * np.outer(d, d)[None] / 4.0


def states(n_time_bins: int, n_neurons: int = 20, *, dwell: float = 100.0, low: float = 0.02,
           high: float = 0.12, spread: float = 0.5, max_lag: int = 64,
           seed: int | None = None) -> SimulatedData:
    """Simulate a raster driven by a slow hidden two-state chain (see the module docstring).

    Parameters
    ----------
    n_time_bins, n_neurons : int
        Raster size.
    dwell : float
        Mean number of bins a state lasts (> 2).
    low, high : float
        Mean firing probability per bin in the down and up states; each
        neuron's own values are drawn uniformly within ``+-spread`` of them.
    spread : float
        Relative spread of the neurons' probabilities, in ``[0, 1)``.
    max_lag : int
        Lags of the ground-truth covariances stored.
    seed : int, optional
        Seed (same seed, same raster).

    Returns
    -------
    SimulatedData
        ``spikes`` uint8 ``(n_time_bins, n_neurons)``; ground truth ``states``
        (uint8 per bin), ``low``, ``high``, ``expected_rates``,
        ``expected_lagged_covariance`` ``(max_lag, N, N)`` for lags 1..max_lag
        and ``state_autocorrelation`` (lags 0..max_lag).

    Examples
    --------
    >>> sim = states(1000, 4, seed=0)
    >>> sim.spikes.shape, sim.ground_truth["expected_lagged_covariance"].shape
    ((1000, 4), (64, 4, 4))
    """
    n_time_bins = check_positive_int(n_time_bins, "n_time_bins")
    n_neurons = check_positive_int(n_neurons, "n_neurons")
    max_lag = check_positive_int(max_lag, "max_lag")
    check_param("dwell", dwell, Real(min=2, min_open=True, kind="a number of bins"))
    low, high = _rate(low, "low"), _rate(high, "high")
    if not low < high:
        raise RuleError(f"{{low}} must be below {{high}}. Received {low} and {high}.",
                        ("low", "high"))
    check_param("spread", spread, Real(min=0, max=1, max_open=True))
    rng = np.random.default_rng(check_seed(seed))
    lows = low * (1 + spread * rng.uniform(-1, 1, n_neurons))
    highs = high * (1 + spread * rng.uniform(-1, 1, n_neurons))
    highs = np.clip(np.maximum(highs, lows + 1e-3), None, 0.999)
    p_switch = 1.0 / float(dwell)
    state = np.empty(n_time_bins, np.uint8)
    spikes = np.empty((n_time_bins, n_neurons), np.uint8)
    current = int(rng.random() < 0.5)  # the stationary distribution is (1/2, 1/2)
    for lo in range(0, n_time_bins, _CHUNK_BINS):
        hi = min(n_time_bins, lo + _CHUNK_BINS)
        flips = rng.random(hi - lo) < p_switch
        flips[0] = False if lo == 0 else flips[0]
        s = (current + np.cumsum(flips)) % 2
        state[lo:hi] = s
        current = int(s[-1])
        p = np.where(s[:, None] == 1, highs[None], lows[None])
        spikes[lo:hi] = rng.random(p.shape) < p
    rho = 1.0 - 2.0 * p_switch
    truth = {
        "states": state,
        "low": lows,
        "high": highs,
        "expected_rates": (lows + highs) / 2,
        "expected_lagged_covariance": expected_lagged_covariance(lows, highs, dwell, max_lag),
        "state_autocorrelation": rho ** np.arange(max_lag + 1),
    }
    params = {"n_time_bins": n_time_bins, "n_neurons": n_neurons, "dwell": float(dwell),
              "low": low, "high": high, "spread": float(spread), "max_lag": max_lag,
              "seed": seed}
    return SimulatedData(spikes, "states", params, truth)

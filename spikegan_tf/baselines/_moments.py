"""Training data of the baselines and the moments their fits need.

Every baseline's ``fit`` accepts either windows ``(n, neurons, bins)`` or a raster
``(time_bins, neurons)`` plus ``n_bins`` (cut into stride-``stride`` windows).
:func:`prepare` validates that once (:func:`spikegan_tf.data.windowed_spikes`)
and returns the :class:`~spikegan_tf.data.WindowedSpikes` (a raster cut to the bins
its windows cover); the moment
functions below compute what the fits match, directly from the raster when there
is one (the windows of a raster are never materialised):

* firing probabilities pooled over bins (or per bin position);
* lagged second moments ``E[x_i(t) x_j(t + l)]`` for ``l = 0..max_lag``, pooled
  over time (stationarity), from one sparse or dense matrix product per lag;
* the single-bin patterns and their spike-count distribution ``P(K)``.

These are part of model fitting; evaluation lives in :mod:`spikegan_tf.statistics`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from spikegan_tf.data import WindowedSpikes, windowed_spikes

__all__ = ["prepare", "rates", "rates_per_bin", "lagged_moments", "patterns"]

# below this density a sparse product is faster than a dense one
_SPARSE_DENSITY = 0.15


def prepare(data: Any, *, n_bins: Any = None, stride: Any = 1) -> WindowedSpikes:
    """Validate ``data`` (windows, or a raster with ``n_bins``) for fitting.

    ``data`` may also be an object with a ``spikes`` attribute (a
    :class:`spikegan_tf.data.SpikeRecording`).

    Examples
    --------
    >>> import numpy as np
    >>> d = prepare(np.zeros((100, 3), np.uint8), n_bins=8, stride=4)
    >>> d.kind, d.n_windows, d.spikes.shape
    ('raster', 24, (100, 3))
    """
    w = windowed_spikes(data, n_bins=n_bins, stride=stride, name="data")
    spikes = w.spikes
    if w.kind == "raster":  # bins after the last window are in none
        spikes = spikes[: (w.n_windows - 1) * w.stride + w.n_bins]
    return dataclasses.replace(w, spikes=spikes)


def rates(d: WindowedSpikes) -> np.ndarray:
    """Firing probability per neuron, pooled over bins ``(neurons,)`` float64."""
    return d.neuron_rates()


def rates_per_bin(d: WindowedSpikes) -> np.ndarray:
    """Firing probability per neuron and bin position ``(neurons, bins)`` float64."""
    if d.kind == "windows":
        return d.spikes.mean(axis=0, dtype=np.float64)
    out = np.empty((d.n_neurons, d.n_bins))
    stop = (d.n_windows - 1) * d.stride + 1
    for t in range(d.n_bins):
        out[:, t] = d.spikes[t : t + stop : d.stride].mean(axis=0, dtype=np.float64)
    return out


def _lagged_products_raster(raster: np.ndarray, max_lag: int) -> np.ndarray:
    """``(max_lag + 1, N, N)`` counts ``sum_t x_i(t) x_j(t + l)`` (float64)."""
    n, n_neurons = raster.shape
    out = np.empty((max_lag + 1, n_neurons, n_neurons))
    if raster.mean() < _SPARSE_DENSITY:
        import scipy.sparse as sp

        s = sp.csr_matrix(raster, dtype=np.float64)
        for lag in range(max_lag + 1):
            out[lag] = (s[: n - lag].T @ s[lag:]).toarray()
        return out
    x = raster.astype(np.float32)
    # counts below 2**24 are exact in float32; longer rasters use float64
    if n >= 2**24:
        x = x.astype(np.float64)
    for lag in range(max_lag + 1):
        out[lag] = x[: n - lag].T @ x[lag:]
    return out


def lagged_moments(d: WindowedSpikes, max_lag: int) -> np.ndarray:
    """Stationary second moments ``M[l, i, j] = E[x_i(t) x_j(t + l)]``, ``l = 0..max_lag``.

    For a raster the mean runs over all pairs of bins ``l`` apart; for windows over
    all pairs inside each window. ``M[0]`` is symmetric with the rates on its diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([[[1, 1, 0]], [[0, 1, 1]]], np.uint8)   # 2 windows, 1 neuron
    >>> lagged_moments(prepare(w), 2)[:, 0, 0]
    array([0.66666667, 0.5       , 0.        ])
    """
    if d.kind == "raster":
        counts = _lagged_products_raster(d.spikes, max_lag)
        n = d.spikes.shape[0]
        return counts / (n - np.arange(max_lag + 1))[:, None, None]
    w = d.spikes
    n, n_neurons, n_bins = w.shape
    counts = np.zeros((max_lag + 1, n_neurons, n_neurons))
    chunk = max(1, 2**20 // (n_neurons * n_bins))
    for start in range(0, n, chunk):
        # (chunk, bins, N) float32: exact integer counts inside one chunk
        tm = w[start : start + chunk].transpose(0, 2, 1).astype(np.float32)
        for lag in range(max_lag + 1):
            a = tm[:, : n_bins - lag].reshape(-1, n_neurons)
            b = tm[:, lag:].reshape(-1, n_neurons)
            counts[lag] += a.T @ b
    return counts / (n * (n_bins - np.arange(max_lag + 1)))[:, None, None]


def patterns(d: WindowedSpikes) -> np.ndarray:
    """Single-bin patterns ``(time_bins, neurons)`` uint8 (a view for rasters)."""
    if d.kind == "raster":
        return d.spikes
    n, n_neurons, n_bins = d.spikes.shape
    return d.spikes.transpose(0, 2, 1).reshape(n * n_bins, n_neurons)

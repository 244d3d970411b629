"""Finishing: accumulated sums -> statistics (covariances, autocorrelogram, distributions,
entropies).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from spikegan_tf.statistics.sums import _Sums

__all__ = ["distribution_entropy"]


def _warn_silent(var: np.ndarray, what: str) -> None:
    silent = np.flatnonzero(~(var > 0))
    if silent.size:
        shown = ", ".join(str(i) for i in silent[:20]) + (", ..." if silent.size > 20 else "")
        warnings.warn(
            f"{silent.size} neuron(s) have zero variance in {what} (e.g. they never spike): "
            f"their correlations are NaN. Neurons: [{shown}].",
            RuntimeWarning,
            stacklevel=4,
        )


def _corr_from_cov(cov: np.ndarray, what: str) -> np.ndarray:
    var = np.diag(cov).copy()
    _warn_silent(var, what)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(np.where(var > 0, var, np.nan))
        corr = cov / np.outer(sd, sd)
    np.clip(corr, -1.0, 1.0, out=corr)
    return corr


def _cov_from_sums(s2, s1l, s1r, n, ddof) -> np.ndarray:
    denom = n - ddof
    if denom <= 0:
        return np.full(s2.shape, np.nan)
    return (s2 - np.outer(s1l, s1r) / n) / denom


def _covariances(sums: _Sums, ddof: int) -> tuple[np.ndarray, np.ndarray]:
    """Single-bin covariance ``(N, N)`` and lagged covariances ``(L, N, N)`` (of the pair
    windows)."""
    n, T = sums.n_pair_windows, sums.n_bins
    covs = [
        _cov_from_sums(sums.s2[lag], sums.s1l[lag], sums.s1r[lag], n * (T - lag), ddof)
        for lag in range(sums.s2.shape[0])
    ]
    N = sums.n_neurons
    lagged = np.stack(covs[1:]) if len(covs) > 1 else np.zeros((0, N, N))
    return covs[0], lagged


def _acg(sums: _Sums) -> np.ndarray:
    c = sums.acg
    return np.concatenate([c[:0:-1], c])


def _normalize_acg(counts: np.ndarray) -> np.ndarray:
    L = (counts.size - 1) // 2
    top = counts.max()
    if not top > 0:
        warnings.warn(
            "no spikes: the normalised autocorrelogram is undefined (NaN).",
            RuntimeWarning,
            stacklevel=4,
        )
        return np.full(counts.shape, np.nan)
    out = counts / top
    out[L] = 0.0
    return out


def _normalize_dist(counts: np.ndarray, what: str) -> np.ndarray:
    total = counts.sum()
    if not total > 0:
        warnings.warn(f"{what} is empty: its distribution is NaN.", RuntimeWarning, stacklevel=4)
        return np.full(counts.shape, np.nan)
    return counts / total


def distribution_entropy(p: Any, base: float = 2.0) -> float:
    """Plug-in entropy of a probability vector (bits by default; NaN if ``p`` is NaN).

    Examples
    --------
    >>> distribution_entropy([0.5, 0.5, 0.0])
    1.0
    """
    p = np.asarray(p, dtype=np.float64).ravel()
    if p.size == 0 or np.isnan(p).any():
        return float("nan")
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum() / np.log(base))


def _pattern_entropies(codes: list[np.ndarray]) -> tuple[float, float]:
    allc = np.concatenate(codes)
    _, counts = np.unique(allc, return_counts=True)
    n = allc.size
    p = counts / n
    h = distribution_entropy(p)
    mm = h + (counts.size - 1) / (2.0 * n * np.log(2.0))
    return h, float(mm)

"""Lagged products of a raster block, ``sum_t w_l(t) x(t)^T x(t+l)`` for ``l = 0..L``.

``w_l(t)`` counts the windows that hold both bins ``t`` and ``t+l`` (0/1 for windows laid end
to end). Two exact methods: enumerating the coincident spike pairs with scipy's sparse
product (C++, releases the GIL), or BLAS products of the dense block. Every sum is an
integer below ``2**24`` per block, so int32 and float32 hold it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import scipy.sparse as sp

from spikegan_tf.data.source import EXACT_F32
from spikegan_tf.statistics.defaults import _SPARSE_PAIR_COST

__all__ = []


def _coverage(m: int, stride: int, n_windows: int, length: int) -> np.ndarray:
    """Number of windows ``k`` (start ``k*stride``) with ``t`` in ``[start, start+length)``.

    For ``t = 0..m-1``; ``length`` may be shorter than the window (lagged pairs).

    Examples
    --------
    >>> _coverage(6, 3, 2, 2).tolist()  # windows start at 0 and 3
    [1, 1, 0, 1, 1, 0]
    """
    t = np.arange(m, dtype=np.int64)
    hi = np.minimum(t // stride, n_windows - 1)
    lo = np.maximum(-((length - 1 - t) // stride), 0)  # ceil((t - length + 1) / stride)
    return np.maximum(hi - lo + 1, 0)


@dataclass
class _Block:
    """One raster block: its spikes ``(row, neuron)`` sorted by row then neuron."""

    row: np.ndarray
    neuron: np.ndarray
    m: int
    n_neurons: int
    stride: int
    n_windows: int
    n_bins: int
    dense: np.ndarray | None = None  # the (m, N) uint8 block, if at hand

    @classmethod
    def from_raster(cls, X: np.ndarray, stride: int, n_windows: int, n_bins: int) -> _Block:
        row, neuron = np.nonzero(X)
        return cls(row, neuron, X.shape[0], X.shape[1], stride, n_windows, n_bins, X)

    @classmethod
    def from_windows(cls, flat: np.ndarray, shape: tuple[int, int, int]) -> _Block:
        """From the flat indices ``flat`` (increasing) of the spikes of windows ``shape``."""
        B, N, T = shape
        b, rest = np.divmod(flat, N * T)
        i, t = np.divmod(rest, T)
        key = np.sort((b * T + t) * N + i)
        row, neuron = np.divmod(key, N)
        return cls(row, neuron, B * T, N, T, B, T)

    def n_pairs(self, max_lag: int) -> float:
        """Coincident spike pairs ``(t, t+l)`` of lags ``0..max_lag`` (an upper bound)."""
        K = np.bincount(self.row, minlength=self.m).astype(np.float64)
        return float(sum(K[: self.m - lag] @ K[lag:] for lag in range(max_lag + 1)))

    def raster(self) -> np.ndarray:
        if self.dense is None:
            self.dense = np.zeros((self.m, self.n_neurons), np.uint8)
            self.dense[self.row, self.neuron] = 1
        return self.dense


def _csr(row: np.ndarray, neuron: np.ndarray, m: int, n: int) -> sp.csr_array:
    indptr = np.zeros(m + 1, np.int64)
    np.cumsum(np.bincount(row, minlength=m), out=indptr[1:])
    itype = np.int32 if max(m, n, row.size) < 2**31 else np.int64
    return sp.csr_array((np.ones(row.size, np.int32), neuron.astype(itype), indptr.astype(itype)),
                        shape=(m, n))


def _lag_sparse(blk: _Block, Xc: sp.csr_array, lag: int) -> tuple[np.ndarray, ...]:
    """``(s1l, s1r, s2)`` of one lag by the sparse product of the two shifted blocks."""
    w = _coverage(blk.m - lag, blk.stride, blk.n_windows, blk.n_bins - lag)
    rows = np.flatnonzero(w)
    wr = w[rows].astype(np.int32)
    left, right = Xc[rows], Xc[rows + lag]
    s1l, s1r = left.T @ wr, right.T @ wr
    if wr.max(initial=0) > 1:
        left.data = np.repeat(wr, np.diff(left.indptr))
    return s1l, s1r, _product(left, right, blk.n_neurons)


def _product(left: sp.csr_array, right: sp.csr_array, n: int) -> np.ndarray:
    """Dense ``left.T @ right`` ``(n, n)`` of two CSR blocks with the same rows (scipy)."""
    return (left.T.tocsr() @ right).toarray()


def _lag_dense(blk: _Block, Xf: np.ndarray, lag: int) -> tuple[np.ndarray, ...]:
    """``(s1l, s1r, s2)`` of one lag by BLAS products (float32 is exact: see the module)."""
    w = _coverage(blk.m - lag, blk.stride, blk.n_windows, blk.n_bins - lag).astype(Xf.dtype)
    left = Xf[: blk.m - lag] * w[:, None]
    return w @ Xf[: blk.m - lag], w @ Xf[lag:], left.T @ Xf[lag:]


def _use_sparse(blk: _Block, max_lag: int, method: str) -> bool:
    if method != "auto":
        return method == "pairs"
    dense_cost = (max_lag + 1) * float(blk.m) * blk.n_neurons ** 2
    return _SPARSE_PAIR_COST * blk.n_pairs(max_lag) < dense_cost


def _lag_jobs(blk: _Block, max_lag: int, method: str, add) -> list:
    """One job per lag ``0..max_lag``: a callable that calls ``add(lag, s1l, s1r, s2)``.

    The jobs may run in threads (the products release the GIL); each calls ``add`` with its
    own lag.
    """
    if _use_sparse(blk, max_lag, method):
        Xc = _csr(blk.row, blk.neuron, blk.m, blk.n_neurons)
        return [partial(_run, add, lag, _lag_sparse, blk, Xc) for lag in range(max_lag + 1)]
    ftype = np.float32 if blk.n_windows * blk.n_bins <= EXACT_F32 else np.float64
    Xf = blk.raster().astype(ftype)
    return [partial(_run, add, lag, _lag_dense, blk, Xf) for lag in range(max_lag + 1)]


def _run(add, lag: int, product, blk: _Block, X) -> None:
    add(lag, *product(blk, X, lag))

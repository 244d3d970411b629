"""The accumulator: additive sums over windows (integers held exactly in float64), from which
every statistic is finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from spikegan_tf.data.source import BLOCK_ROWS, EXACT_F32, WindowedSpikes
from spikegan_tf.statistics.defaults import _PAIR_COST

__all__ = []


def _coverage(m: int, stride: int, n_windows: int, length: int) -> np.ndarray:
    """Number of windows ``k`` (start ``k*stride``) with ``t`` in ``[start, start+length)``.

    For ``t = 0..m-1``; ``length`` may be shorter than the window (lagged pairs).
    """
    t = np.arange(m, dtype=np.int64)
    hi = np.minimum(t // stride, n_windows - 1)
    lo = np.maximum(-((length - 1 - t) // stride), 0)  # ceil((t - length + 1) / stride)
    return np.maximum(hi - lo + 1, 0)


@dataclass
class _Sums:
    n_neurons: int
    n_bins: int
    max_lag: int
    want: frozenset
    word_neurons: tuple[int, ...] = ()
    word_bins: int = 1
    method: str = "auto"
    n_windows: int = 0
    s1l: np.ndarray = field(init=False)
    s1r: np.ndarray = field(init=False)
    s2: np.ndarray = field(init=False)
    tc: np.ndarray = field(init=False)
    pk: np.ndarray = field(init=False)
    isi: np.ndarray = field(init=False)
    words1: np.ndarray = field(init=False)
    wordsb: np.ndarray = field(init=False)
    c1: np.ndarray = field(init=False)
    c2: np.ndarray = field(init=False)
    codes: list = field(init=False)

    def __post_init__(self) -> None:
        N, T, L = self.n_neurons, self.n_bins, self.max_lag
        nl = L + 1 if "lags" in self.want else 1
        self.s1l = np.zeros((nl, N))
        self.s1r = np.zeros((nl, N))
        self.s2 = np.zeros((nl, N, N)) if "lags" in self.want else np.zeros((0, N, N))
        self.tc = np.zeros((N, T), dtype=np.int64)
        self.pk = np.zeros(N + 1)
        self.isi = np.zeros(T)
        G = len(self.word_neurons)
        self.words1 = np.zeros(1 << G if "words" in self.want else 0)
        self.wordsb = np.zeros(1 << (G * self.word_bins) if "words" in self.want else 0)
        self.c1 = np.zeros(N)
        self.c2 = np.zeros((N, N))
        self.codes = []

    def add(self, X: np.ndarray, s: int, nw: int) -> None:
        T, want = self.n_bins, self.want
        m = X.shape[0]
        self.n_windows += nw
        w0 = _coverage(m, s, nw, T)
        if "lags" in want:
            K = X.sum(axis=1, dtype=np.int64)
            if self.method == "pairs" or (
                self.method == "auto" and _PAIR_COST * float(K @ K) < m * self.n_neurons**2
            ):
                self._add_lags_pairs(X, K, s, nw)
            else:
                self._add_lags_dense(X, s, nw)
        elif "mean" in want:
            self.s1l[0] += w0.astype(np.float64) @ X.astype(np.float64)
        if "timecourse" in want:
            self._add_time_course(X, s, nw)
        if "pk" in want:
            K = X.sum(axis=1, dtype=np.int64)
            self.pk += np.bincount(K, weights=w0, minlength=self.n_neurons + 1)
        if "isi" in want:
            self._add_isi(X, s, nw)
        if "words" in want:
            self._add_words(X, s, nw, w0)
        if "counts" in want:
            starts = np.arange(nw, dtype=np.int64) * s
            if s >= T:  # disjoint windows: sum each one directly (gaps are dropped)
                edges = np.empty(2 * nw, dtype=np.int64)
                edges[0::2], edges[1::2] = starts, starts + T
                counts = np.add.reduceat(X, edges[:-1], axis=0, dtype=np.int32)[0::2]
            else:
                cs = np.zeros((m + 1, self.n_neurons), dtype=np.int32)
                np.cumsum(X, axis=0, dtype=np.int32, out=cs[1:])
                counts = cs[starts + T] - cs[starts]
            counts = counts.astype(np.float64)
            self.c1 += counts.sum(axis=0)
            self.c2 += counts.T @ counts
        if "entropy" in want:
            win = sliding_window_view(X, T, axis=0)[::s][:nw]
            bits = win.reshape(nw, -1)  # copies; N*T <= 64 so this is small
            packed = np.packbits(bits, axis=1, bitorder="little")
            padded = np.zeros((nw, 8), dtype=np.uint8)
            padded[:, : packed.shape[1]] = packed
            self.codes.append(padded.view("<u8").ravel())

    def _add_lags_dense(self, X: np.ndarray, s: int, nw: int) -> None:
        # BLAS products; float32 is exact here: every sum is an integer <= nw * T <= 2**24
        # (see WindowedSpikes.blocks). Totals are kept in float64.
        T, m = self.n_bins, X.shape[0]
        ftype = np.float32 if nw * T <= EXACT_F32 else np.float64
        Xf = X.astype(ftype)
        for lag in range(self.max_lag + 1):
            w = _coverage(m - lag, s, nw, T - lag).astype(ftype)
            left = Xf[: m - lag] * w[:, None]
            self.s1l[lag] += w @ Xf[: m - lag]
            self.s1r[lag] += w @ Xf[lag:]
            self.s2[lag] += left.T @ Xf[lag:]

    def _add_lags_pairs(self, X: np.ndarray, K: np.ndarray, s: int, nw: int) -> None:
        # Sparse activity: enumerate the coincident spike pairs (t, i), (t+lag, j) and
        # add their window weights (no BLAS, so no thread over-subscription either).
        T, N, m = self.n_bins, self.n_neurons, X.shape[0]
        t, i = np.nonzero(X)  # sorted by time, then neuron
        ptr = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(K, out=ptr[1:])
        for lag in range(self.max_lag + 1):
            w = _coverage(m - lag, s, nw, T - lag)
            # right-hand members: spikes at t >= lag, weighted by the window count of t - lag
            sel = t >= lag
            self.s1r[lag] += np.bincount(i[sel], weights=w[t[sel] - lag], minlength=N)
            sel = t < m - lag
            ta, ia = t[sel], i[sel]
            wa = w[ta]
            keep = wa > 0
            ta, ia, wa = ta[keep], ia[keep], wa[keep]
            self.s1l[lag] += np.bincount(ia, weights=wa, minlength=N)
            partners = K[ta + lag]
            a = np.repeat(np.arange(ta.size), partners)
            first = ptr[ta + lag] - (np.cumsum(partners) - partners)
            b = np.repeat(first, partners) + np.arange(a.size)
            key = ia[a] * N + i[b]
            self.s2[lag] += np.bincount(key, weights=wa[a], minlength=N * N).reshape(N, N)

    def _add_time_course(self, X: np.ndarray, s: int, nw: int) -> None:
        # tc[:, p] += sum_k X[p + k*s]; consecutive p of one residue class share terms
        T = self.n_bins
        for r in range(min(s, T)):
            acc = X[r : r + (nw - 1) * s + 1 : s].sum(axis=0, dtype=np.int64)
            self.tc[:, r] += acc
            for p in range(r + s, T, s):
                acc = acc - X[p - s] + X[p - s + nw * s].astype(np.int64)
                self.tc[:, p] += acc

    def _add_isi(self, X: np.ndarray, s: int, nw: int) -> None:
        T = self.n_bins
        neuron, t = np.nonzero(X.T)  # sorted by neuron, then time
        same = neuron[1:] == neuron[:-1]
        t1 = t[:-1][same].astype(np.int64)
        t2 = t[1:][same].astype(np.int64)
        d = t2 - t1
        keep = d < T
        t1, t2, d = t1[keep], t2[keep], d[keep]
        # windows k containing both spikes: t2 - T + 1 <= k*s <= t1
        hi = np.minimum(t1 // s, nw - 1)
        lo = np.maximum(-((T - 1 - t2) // s), 0)
        weight = np.maximum(hi - lo + 1, 0).astype(np.float64)
        self.isi += np.bincount(d, weights=weight, minlength=T)[:T]

    def _add_words(self, X: np.ndarray, s: int, nw: int, w0: np.ndarray) -> None:
        T, b = self.n_bins, self.word_bins
        g = list(self.word_neurons)
        G = len(g)
        powers = np.left_shift(1, np.arange(G, dtype=np.int64))
        code1 = X[:, g].astype(np.int64) @ powers
        self.words1 += np.bincount(code1, weights=w0, minlength=1 << G)
        m = X.shape[0] - b + 1
        codeb = np.zeros(m, dtype=np.int64)
        for d in range(b):
            codeb |= code1[d : d + m] << (d * G)
        wb = _coverage(m, s, nw, T - b + 1)
        self.wordsb += np.bincount(codeb, weights=wb, minlength=1 << (G * b))


def _accumulate(
    src: WindowedSpikes,
    want: set[str],
    *,
    max_lag: int = 0,
    word_neurons: tuple[int, ...] = (),
    word_bins: int = 1,
    block_rows: int = BLOCK_ROWS,
    method: str = "auto",
) -> _Sums:
    sums = _Sums(
        src.n_neurons,
        src.n_bins,
        max_lag,
        frozenset(want),
        word_neurons=word_neurons,
        word_bins=word_bins,
        method=method,
    )
    for X, s, nw in src.blocks(block_rows):
        sums.add(X, s, nw)
    return sums

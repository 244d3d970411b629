"""The accumulator: additive sums over windows (integers held exactly in float64), from which
every statistic is finished.

Windows are read as blocks ``(B, N, T)`` and summed from their spike positions; a raster is
read as overlapping row blocks, each bin weighted by the number of windows that hold it. The
pairwise sums (``s1l``, ``s1r``, ``s2``: lagged products) may come from a subsample of the
windows (``pair_index``); everything else comes from all of them.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from spikegan_tf.data.source import BLOCK_ROWS, WindowedSpikes
from spikegan_tf.statistics.pairs import _Block, _coverage, _lag_jobs
from spikegan_tf.statistics.spikes import (
    _gap_counts,
    _spike_positions,
    _window_gaps,
    _window_time_course,
    _window_words,
)
from spikegan_tf.statistics.stream import _raster_blocks, _subsample_blocks, _window_blocks

__all__ = []

_FROM_POSITIONS = {"isi", "acg", "pk", "counts"}  # sums of windows taken from spike positions


@dataclass
class _Sums:
    n_neurons: int
    n_bins: int
    max_lag: int
    want: frozenset
    word_neurons: tuple[int, ...] = ()
    word_bins: int = 1
    method: str = "auto"
    pool: Executor | None = None
    n_windows: int = 0
    n_pair_windows: int = 0
    s1l: np.ndarray = field(init=False)
    s1r: np.ndarray = field(init=False)
    s2: np.ndarray = field(init=False)
    tc: np.ndarray = field(init=False)
    acg: np.ndarray = field(init=False)
    pk: np.ndarray = field(init=False)
    isi: np.ndarray = field(init=False)
    words1: np.ndarray = field(init=False)
    wordsb: np.ndarray = field(init=False)
    c1: np.ndarray = field(init=False)
    c2: np.ndarray = field(init=False)
    codes: list = field(init=False)

    def __post_init__(self) -> None:
        N, T, L = self.n_neurons, self.n_bins, self.max_lag
        nl = L + 1 if "lags" in self.want else 0
        self.s1l = np.zeros((nl, N))
        self.s1r = np.zeros((nl, N))
        self.s2 = np.zeros((nl, N, N))
        self.tc = np.zeros((N, T), dtype=np.int64)
        self.acg = np.zeros(L + 1)
        self.pk = np.zeros(N + 1)
        self.isi = np.zeros(T)
        G = len(self.word_neurons)
        self.words1 = np.zeros(1 << G if "words" in self.want else 0)
        self.wordsb = np.zeros(1 << (G * self.word_bins) if "words" in self.want else 0)
        self.c1 = np.zeros(N)
        self.c2 = np.zeros((N, N))
        self.codes = []

    # ----------------------------------------------------------------- pairwise (lagged) sums

    def _add_lag(self, lag: int, s1l: np.ndarray, s1r: np.ndarray, s2: np.ndarray) -> None:
        self.s1l[lag] += s1l
        self.s1r[lag] += s1r
        self.s2[lag] += s2

    def start_pairs(self, blk: _Block) -> list:
        """Start the lagged products of one block (its windows count as pair windows).

        Returns the futures to wait for when they run in the thread pool (else none).
        """
        self.n_pair_windows += blk.n_windows
        jobs = _lag_jobs(blk, self.max_lag, self.method, self._add_lag)
        if self.pool is None or len(jobs) == 1:
            for job in jobs:
                job()
            return []
        return [self.pool.submit(job) for job in jobs]

    def add_pair_windows(self, W: np.ndarray) -> None:
        """Lagged products of windows ``(B, N, T)``."""
        _wait(self.start_pairs(_Block.from_windows(_spike_positions(W), W.shape)))

    # ------------------------------------------------------------------ windows (B, N, T)

    def add_windows(self, W: np.ndarray, pairs: bool) -> None:
        """Every wanted sum of windows ``(B, N, T)``; the lagged products too if ``pairs``."""
        B, N, T = W.shape
        want = self.want
        self.n_windows += B
        flat = _spike_positions(W) if pairs or want & _FROM_POSITIONS else None
        pending = self.start_pairs(_Block.from_windows(flat, W.shape)) if pairs else []
        row = None if flat is None else flat // T  # window * N + neuron of each spike
        if "timecourse" in want:
            self.tc += _window_time_course(W)
        if "isi" in want or "acg" in want:
            isi, acg = _window_gaps(flat, row, T, self.max_lag)
            self.isi += isi
            self.acg[1:] += acg[1:]
            self.acg[0] += flat.size
        if "pk" in want:
            K = np.bincount(row // N * T + (flat - row * T), minlength=B * T)
            self.pk += np.bincount(K, minlength=N + 1)
        if "words" in want:
            code1, codeb = _window_words(W, list(self.word_neurons), self.word_bins)
            self.words1 += np.bincount(code1, minlength=self.words1.size)
            self.wordsb += np.bincount(codeb, minlength=self.wordsb.size)
        if "counts" in want:
            self._add_counts(np.bincount(row, minlength=B * N).reshape(B, N), T)
        if "entropy" in want:
            self._add_codes(W.reshape(B, -1))
        _wait(pending)

    def _add_counts(self, counts: np.ndarray, n_bins: int) -> None:
        # float32 holds the products exactly while the block's sum stays below 2**24
        ftype = np.float32 if counts.shape[0] * n_bins * n_bins <= 1 << 24 else np.float64
        c = counts.astype(ftype)
        self.c1 += c.sum(axis=0, dtype=np.float64)
        self.c2 += c.T @ c

    def _add_codes(self, bits: np.ndarray) -> None:
        packed = np.packbits(bits, axis=1, bitorder="little")  # N*T <= 64: one uint64 each
        padded = np.zeros((bits.shape[0], 8), dtype=np.uint8)
        padded[:, : packed.shape[1]] = packed
        self.codes.append(padded.view("<u8").ravel())

    # ------------------------------------------------- raster blocks (m, N), stride s, nw windows

    def add(self, X: np.ndarray, s: int, nw: int, pairs: bool) -> None:
        """Every wanted sum of the ``nw`` windows of a raster block (see ``blocks``)."""
        T, want = self.n_bins, self.want
        m = X.shape[0]
        self.n_windows += nw
        pending = self.start_pairs(_Block.from_raster(X, s, nw, T)) if pairs else []
        w0 = _coverage(m, s, nw, T)
        if "timecourse" in want:
            self._add_time_course(X, s, nw)
        if "pk" in want or "acg" in want:
            K = X.sum(axis=1, dtype=np.int64)
            self.pk += np.bincount(K, weights=w0, minlength=self.n_neurons + 1)
            self.acg[0] += float(w0 @ K)
        if "isi" in want or "acg" in want:
            self._add_gaps(X, s, nw)
        if "words" in want:
            self._add_words(X, s, nw, w0)
        if "counts" in want:
            self._add_counts(self._raster_counts(X, s, nw), T)
        if "entropy" in want:
            win = sliding_window_view(X, T, axis=0)[::s][:nw]
            self._add_codes(win.reshape(nw, -1))  # copies; N*T <= 64 so this is small
        _wait(pending)

    def _raster_counts(self, X: np.ndarray, s: int, nw: int) -> np.ndarray:
        T = self.n_bins
        starts = np.arange(nw, dtype=np.int64) * s
        if s >= T:  # disjoint windows: sum each one directly (gaps are dropped)
            edges = np.empty(2 * nw, dtype=np.int64)
            edges[0::2], edges[1::2] = starts, starts + T
            return np.add.reduceat(X, edges[:-1], axis=0, dtype=np.int32)[0::2]
        cs = np.zeros((X.shape[0] + 1, self.n_neurons), dtype=np.int32)
        np.cumsum(X, axis=0, dtype=np.int32, out=cs[1:])
        return cs[starts + T] - cs[starts]

    def _add_time_course(self, X: np.ndarray, s: int, nw: int) -> None:
        # tc[:, p] += sum_k X[p + k*s]; consecutive p of one residue class share terms
        T = self.n_bins
        for r in range(min(s, T)):
            acc = X[r : r + (nw - 1) * s + 1 : s].sum(axis=0, dtype=np.int64)
            self.tc[:, r] += acc
            for p in range(r + s, T, s):
                acc = acc - X[p - s] + X[p - s + nw * s].astype(np.int64)
                self.tc[:, p] += acc

    def _add_gaps(self, X: np.ndarray, s: int, nw: int) -> None:
        T = self.n_bins
        neuron, t = np.nonzero(X.T)  # sorted by neuron, then time

        def both(t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
            # windows k containing both spikes: t2 - T + 1 <= k*s <= t1
            hi = np.minimum(t1 // s, nw - 1)
            lo = np.maximum(-((T - 1 - t2) // s), 0)
            return np.maximum(hi - lo + 1, 0).astype(np.float64)

        if "isi" in self.want:
            self.isi += _gap_counts(neuron, t, T - 1, both, consecutive=True)
        if "acg" in self.want and self.max_lag:
            self.acg[1:] += _gap_counts(neuron, t, self.max_lag, both)[1:]

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


def _wait(futures: list) -> None:
    for f in futures:
        f.result()


def _resolve_threads(threads: int | None) -> int:
    if threads is not None:
        return threads
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _accumulate(
    src: WindowedSpikes,
    want: set[str],
    *,
    max_lag: int = 0,
    word_neurons: tuple[int, ...] = (),
    word_bins: int = 1,
    block_rows: int = BLOCK_ROWS,
    method: str = "auto",
    pair_index: np.ndarray | None = None,
    threads: int | None = 1,
) -> _Sums:
    """Sums of ``want`` over the windows of ``src``; the lagged products ("lags") over the
    windows ``pair_index`` only, if given.
    """
    n_threads = _resolve_threads(threads)
    pairs = "lags" in want
    with ThreadPoolExecutor(n_threads) if pairs and n_threads > 1 else nullcontext() as pool:
        sums = _Sums(src.n_neurons, src.n_bins, max_lag, frozenset(want),
                     word_neurons=word_neurons, word_bins=word_bins, method=method, pool=pool)
        inline = pairs and pair_index is None
        subsample = None
        if pairs and not inline:
            # the subsample's products run meanwhile (their own sums: no race), else after
            subsample = _Background(lambda: _add_subsample(sums, src, pair_index, block_rows),
                                    pool is not None)
        try:
            _add_all(sums, src, block_rows, inline)
        except BaseException:
            if subsample is not None:
                subsample.close()
            raise
        if subsample is not None:
            subsample.result()
    return sums


def _add_all(sums: _Sums, src: WindowedSpikes, block_rows: int, pairs: bool) -> None:
    if src.kind == "windows":
        for W in _window_blocks(src, block_rows):
            sums.add_windows(W, pairs)
    else:
        for X, s, nw in _raster_blocks(src, block_rows):
            sums.add(X, s, nw, pairs)


def _add_subsample(sums: _Sums, src: WindowedSpikes, index: np.ndarray, block_rows: int) -> None:
    for W in _subsample_blocks(src, index, block_rows):
        sums.add_pair_windows(W)


class _Background:
    """``fn()`` in a thread of its own (``background``) or when the result is asked for."""

    def __init__(self, fn, background: bool) -> None:
        self.fn, self.executor = fn, ThreadPoolExecutor(1) if background else None
        self.future = self.executor.submit(fn) if self.executor else None

    def result(self) -> None:
        if self.executor is None:
            self.fn()
            return
        try:
            self.future.result()
        finally:
            self.close()

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)

"""Statistics of binary population activity, pooled over windows.

Every statistic here is a property of **windows** ``(n_samples, n_neurons, n_bins)``
(the layout the generator produces). Real data usually come as one long raster
``(n_time_bins, n_neurons)``; pass it with ``n_bins=T`` (and ``stride``) and the
statistics are those of the windows ``raster[k*stride : k*stride + T]``, computed
**without materialising the overlapping windows**: every statistic is a sum over
windows, and each raster bin enters that sum weighted by the number of windows
(at each in-window position) that contain it. Explicit windows are processed the
same way (as a raster of concatenated windows with ``stride = n_bins``), so the
two modes agree to the last bit: all accumulated sums are integers held exactly
in float64.

Definitions (``x_i(t)`` is neuron ``i`` at in-window bin ``t``; "pooled" means
over all windows and all bins of each window):

* **firing probability** ``(N,)``: pooled mean of ``x_i``.
* **time course** ``(N, T)``: mean over windows of ``x_i(t)`` for each bin ``t``.
* **covariance / correlation** ``(N, N)``: single-bin, pooled, i.e. ``np.cov`` of the
  ``(N, n*T)`` matrix of concatenated windows (``ddof=1`` by default, as the
  reference code's ``np.cov``); correlation is ``np.corrcoef`` of the same matrix.
* **lagged covariance** ``(L, N, N)``: ``[l-1, i, j] = cov(x_i(t), x_j(t+l))`` over
  all pairs ``(t, t+l)`` inside one window (``n*(T-l)`` pairs, each side centred on its
  own mean, ``ddof`` as above). Unlike the reference code, pairs never straddle two
  windows, so the result does not depend on the order of the windows.
* **autocorrelogram** ``(2L+1,)`` for lags ``-L..L``: coincidence counts
  ``sum_i sum_t x_i(t) x_i(t+l)`` inside windows, summed over windows and neurons
  (symmetric in ``l``). The reference normalisation divides by the maximum (the
  lag-0 count, i.e. the number of spikes) and sets lag 0 to zero.
* **spike-count distribution** ``P(K)`` ``(N+1,)``: distribution of the population
  count ``K = sum_i x_i(t)`` over all pooled bins.
* **inter-spike intervals** ``(T,)``: ``P(d)``, the distribution of the interval
  ``d`` (in bins) between consecutive spikes of one neuron inside one window
  (``d = 1..T-1``; entry 0 is 0).
* **words**: with a group of ``G`` neurons ``g``, the code of bin ``t`` is
  ``sum_j x_{g_j}(t) 2**j``; multi-bin words over ``b`` consecutive bins of one
  window have code ``sum_d code(t+d) 2**(d*G)``. Dense tables of ``2**(G*b)``
  probabilities (``G*b <= 20``).
* **spike-count correlation** ``(N, N)``: correlation over windows of the
  per-window spike counts ``c_i = sum_t x_i(t)``.
* **entropy** (bits): plug-in and Miller-Madow estimates of the entropy of whole
  window patterns, only when ``N*T <= 64``; plug-in entropies of the word tables
  always.

A neuron that never spikes has an undefined correlation: its entries are NaN and a
``RuntimeWarning`` names it (nothing crashes).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from spikegan_tf.data import windowed_spikes
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.validation import check_positive_int

__all__ = [
    "WindowSource",
    "Statistics",
    "compute_statistics",
    "firing_probability",
    "time_course",
    "covariance",
    "correlation",
    "lagged_covariance",
    "autocorrelogram",
    "spike_count_distribution",
    "isi_distribution",
    "word_probabilities",
    "spike_count_correlation",
    "entropy",
    "distribution_entropy",
    "DEFAULT_MAX_LAG",
    "DEFAULT_WORD_NEURONS",
    "DEFAULT_WORD_BINS",
    "MAX_WORD_BITS",
    "MAX_ENTROPY_BITS",
]

DEFAULT_MAX_LAG = 10  # the reference code's autocorrelogram lags
DEFAULT_WORD_NEURONS = 10  # size of the default word group (most active neurons)
DEFAULT_WORD_BINS = 2
MAX_WORD_BITS = 20  # dense word tables hold 2**bits float64 (8 MiB at 20 bits)
MAX_WORD_NEURONS = 20
MAX_ENTROPY_BITS = 64  # whole-window patterns are packed into one uint64
_BLOCK_ROWS = 1 << 16  # raster rows processed at once (~13 MiB as float32 for 50 neurons)
_EXACT_F32 = 1 << 24  # integers up to this are exact in float32
# measured cost of one coincident spike pair relative to one multiply-add of a BLAS product
# (single thread); above it the dense products win
_PAIR_COST = 200.0


# ---------------------------------------------------------------------------
# the data: explicit windows or a raster cut into (overlapping) windows
# ---------------------------------------------------------------------------


class WindowSource:
    """Windows given explicitly, or as a raster cut into windows without copying.

    Parameters
    ----------
    data : array_like, SpikeRecording or WindowSource
        Windows ``(n, n_neurons, n_bins)``, or a raster ``(n_time_bins, n_neurons)``
        when ``n_bins`` is given (validated by :func:`spikegan_tf.data.windowed_spikes`).
    n_bins : int, optional
        Window length for a raster. With windows it may be given and must match.
    stride : int
        Step between window starts in a raster (ignored for windows).
    name : str
        Argument name for error messages.
    source : str, optional
        File the data came from, for error messages.

    Examples
    --------
    >>> import numpy as np
    >>> src = WindowSource(np.zeros((100, 3)), n_bins=32, stride=4)
    >>> src.n_windows, src.n_neurons, src.n_bins, src.kind
    (18, 3, 32, 'raster')
    >>> src.windows(0, 2).shape
    (2, 3, 32)
    """

    def __init__(
        self,
        data: Any,
        *,
        n_bins: int | None = None,
        stride: int = 1,
        name: str = "spikes",
        source: str | None = None,
    ) -> None:
        if isinstance(data, WindowSource):
            self.__dict__.update(data.__dict__)
            if n_bins is not None and n_bins != data.n_bins:
                raise ConfigError(
                    f"`n_bins` ({n_bins}) does not match the {data.n_bins}-bin windows of `{name}`."
                )
            return
        w = windowed_spikes(data, n_bins=n_bins, stride=stride, name=name, source=source,
                            stride_for_windows="ignore")
        self.name = name
        self.source = w.source
        self.kind = w.kind
        self.n_neurons, self.n_bins, self.n_windows = w.n_neurons, w.n_bins, w.n_windows
        if w.kind == "raster":
            self._raster, self._windows, self.stride = w.spikes, None, w.stride
        else:  # windows laid end to end
            self._raster, self._windows, self.stride = None, w.spikes, w.n_bins

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(n_windows, n_neurons, n_bins)``."""
        return (self.n_windows, self.n_neurons, self.n_bins)

    def windows(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Windows ``start:stop`` (a read-only strided view for a raster)."""
        stop = self.n_windows if stop is None else min(stop, self.n_windows)
        if self._windows is not None:
            return self._windows[start:stop]
        view = sliding_window_view(self._raster, self.n_bins, axis=0)[:: self.stride]
        return view[start:stop]

    def take(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Copy of the windows at ``indices`` as a uint8 array ``(len(indices), N, T)``."""
        idx = np.asarray(indices, dtype=np.int64)
        if self._windows is not None:
            return self._windows[idx]
        view = sliding_window_view(self._raster, self.n_bins, axis=0)[:: self.stride]
        return np.ascontiguousarray(view[idx])

    def iter_windows(self, chunk: int) -> Iterator[np.ndarray]:
        """Yield consecutive chunks of at most ``chunk`` windows."""
        for start in range(0, self.n_windows, chunk):
            yield self.windows(start, start + chunk)

    def _blocks(self, block_rows: int) -> Iterator[tuple[np.ndarray, int, int]]:
        """Yield ``(raster_block, stride, n_windows)`` covering every window once."""
        T = self.n_bins
        if self._windows is not None:
            per = max(1, block_rows // T)
            for start in range(0, self.n_windows, per):
                w = self._windows[start : start + per]
                yield np.ascontiguousarray(w.transpose(0, 2, 1)).reshape(-1, self.n_neurons), T, len(w)
            return
        s = self.stride
        per = max(1, min((block_rows - T) // s + 1, _EXACT_F32 // T))
        for k0 in range(0, self.n_windows, per):
            nw = min(per, self.n_windows - k0)
            a0 = k0 * s
            yield self._raster[a0 : a0 + (nw - 1) * s + T], s, nw


# ---------------------------------------------------------------------------
# the accumulator: additive sums over windows
# ---------------------------------------------------------------------------


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
        # (see WindowSource._blocks). Totals are kept in float64.
        T, m = self.n_bins, X.shape[0]
        ftype = np.float32 if nw * T <= _EXACT_F32 else np.float64
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
    src: WindowSource,
    want: set[str],
    *,
    max_lag: int = 0,
    word_neurons: tuple[int, ...] = (),
    word_bins: int = 1,
    block_rows: int = _BLOCK_ROWS,
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
    for X, s, nw in src._blocks(block_rows):
        sums.add(X, s, nw)
    return sums


# ---------------------------------------------------------------------------
# finishing: sums -> statistics
# ---------------------------------------------------------------------------


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
    """Single-bin covariance ``(N, N)`` and lagged covariances ``(L, N, N)``."""
    n, T = sums.n_windows, sums.n_bins
    covs = [
        _cov_from_sums(sums.s2[lag], sums.s1l[lag], sums.s1r[lag], n * (T - lag), ddof)
        for lag in range(sums.s2.shape[0])
    ]
    N = sums.n_neurons
    lagged = np.stack(covs[1:]) if len(covs) > 1 else np.zeros((0, N, N))
    return covs[0], lagged


def _acg(sums: _Sums) -> np.ndarray:
    c = np.einsum("lii->l", sums.s2)
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


# ---------------------------------------------------------------------------
# the one-call statistics
# ---------------------------------------------------------------------------


_ARRAY_FIELDS = (
    "firing_probability",
    "time_course",
    "covariance",
    "correlation",
    "lagged_covariance",
    "autocorrelogram",
    "autocorrelogram_counts",
    "spike_count_distribution",
    "isi_distribution",
    "spike_count_correlation",
    "words",
    "multibin_words",
)
_SCALAR_FIELDS = ("word_entropy", "multibin_word_entropy", "entropy", "entropy_miller_madow")


@dataclass(frozen=True, eq=False)
class Statistics:
    """All statistics of one set of windows (see the module docstring for definitions).

    Arrays are float64 and read-only. Build with :func:`compute_statistics`; store
    with :meth:`save` / :meth:`load` (``.npz``, no pickle).

    Attributes
    ----------
    n_windows, n_neurons, n_bins, max_lag, ddof, word_bins : int
        Parameters the statistics were computed with.
    word_neurons : tuple of int
        The neurons whose activity words are tabulated.
    firing_probability : (N,)
    time_course : (N, T)
    covariance, correlation : (N, N)
    lagged_covariance : (max_lag, N, N)
    autocorrelogram : (2*max_lag+1,)
        Reference normalisation (divided by the maximum, lag 0 set to 0).
    autocorrelogram_counts : (2*max_lag+1,)
        Raw coincidence counts.
    spike_count_distribution : (N+1,)
    isi_distribution : (T,)
    spike_count_correlation : (N, N)
    words : (2**G,)
    multibin_words : (2**(G*word_bins),)
    word_entropy, multibin_word_entropy : float
        Plug-in entropies (bits) of the word tables.
    entropy, entropy_miller_madow : float
        Entropy (bits) of whole-window patterns; NaN when ``N*T > 64``.
    """

    n_windows: int
    n_neurons: int
    n_bins: int
    max_lag: int
    ddof: int
    word_neurons: tuple[int, ...]
    word_bins: int
    firing_probability: np.ndarray
    time_course: np.ndarray
    covariance: np.ndarray
    correlation: np.ndarray
    lagged_covariance: np.ndarray
    autocorrelogram: np.ndarray
    autocorrelogram_counts: np.ndarray
    spike_count_distribution: np.ndarray
    isi_distribution: np.ndarray
    spike_count_correlation: np.ndarray
    words: np.ndarray
    multibin_words: np.ndarray
    word_entropy: float
    multibin_word_entropy: float
    entropy: float
    entropy_miller_madow: float

    def __post_init__(self) -> None:
        for name in _ARRAY_FIELDS:
            arr = np.array(getattr(self, name), dtype=np.float64)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "word_neurons", tuple(int(i) for i in self.word_neurons))

    @property
    def variance(self) -> np.ndarray:
        """Per-neuron single-bin variances (the covariance diagonal)."""
        return np.diag(self.covariance).copy()

    def params(self) -> dict[str, Any]:
        """Parameters that must agree for two statistics to be comparable."""
        return {
            "n_neurons": self.n_neurons,
            "n_bins": self.n_bins,
            "max_lag": self.max_lag,
            "ddof": self.ddof,
            "word_neurons": list(self.word_neurons),
            "word_bins": self.word_bins,
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write the statistics to an ``.npz`` file (no pickle)."""
        meta = {k: np.asarray(getattr(self, k)) for k in ("n_windows", "n_neurons", "n_bins",
                                                          "max_lag", "ddof", "word_bins")}
        arrays = {k: getattr(self, k) for k in _ARRAY_FIELDS}
        scalars = {k: np.asarray(getattr(self, k)) for k in _SCALAR_FIELDS}
        np.savez(path, word_neurons=np.asarray(self.word_neurons, dtype=np.int64),
                 **meta, **arrays, **scalars)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Statistics:
        """Read statistics written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            names = [f.name for f in dataclasses.fields(cls)]
            missing = [n for n in names if n not in z.files]
            if missing:
                raise SpikeDataError(
                    f"'{path}' is not a saved Statistics file: missing {', '.join(missing)}."
                )
            kw: dict[str, Any] = {}
            for n in names:
                v = z[n]
                if n == "word_neurons":
                    kw[n] = tuple(int(i) for i in v)
                elif n in _ARRAY_FIELDS:
                    kw[n] = v
                elif n in _SCALAR_FIELDS:
                    kw[n] = float(v)
                else:
                    kw[n] = int(v)
        return cls(**kw)


def _resolve_max_lag(max_lag: int | None, n_bins: int) -> int:
    if max_lag is None:
        return min(DEFAULT_MAX_LAG, n_bins - 1)
    max_lag = check_positive_int(max_lag, "max_lag", minimum=0)
    if max_lag >= n_bins:
        raise ConfigError(
            f"`max_lag` must be smaller than the window length ({n_bins} bins). Received {max_lag}."
        )
    return max_lag


def _resolve_words(
    word_neurons: Sequence[int] | None, word_bins: int, src: WindowSource
) -> tuple[tuple[int, ...], int]:
    word_bins = check_positive_int(word_bins, "word_bins")
    if word_bins > src.n_bins:
        raise ConfigError(
            f"`word_bins` must be at most the window length ({src.n_bins}). Received {word_bins}."
        )
    N = src.n_neurons
    if word_neurons is None:
        g = min(N, DEFAULT_WORD_NEURONS, MAX_WORD_BITS // word_bins)
        rate = _accumulate(src, {"mean"}).s1l[0]
        order = np.argsort(-rate, kind="stable")[:g]
        return tuple(int(i) for i in np.sort(order)), word_bins
    try:
        group = tuple(int(i) for i in word_neurons)
    except (TypeError, ValueError):
        raise ConfigError(
            f"`word_neurons` must be a sequence of neuron indices. Received {word_neurons!r}."
        ) from None
    if not 1 <= len(group) <= MAX_WORD_NEURONS:
        raise ConfigError(
            f"`word_neurons` must hold 1 to {MAX_WORD_NEURONS} neurons. Received {len(group)}."
        )
    bad = [i for i in group if not 0 <= i < N]
    if bad:
        raise ConfigError(
            f"`word_neurons` must be indices in [0, {N}). Received out-of-range {bad}."
        )
    if len(set(group)) != len(group):
        raise ConfigError(f"`word_neurons` must not repeat a neuron. Received {list(group)}.")
    if len(group) * word_bins > MAX_WORD_BITS:
        raise ConfigError(
            f"`len(word_neurons) * word_bins` must be at most {MAX_WORD_BITS} (a dense table of "
            f"2**bits probabilities). Received {len(group)} * {word_bins} = "
            f"{len(group) * word_bins}: use fewer neurons or word_bins=1."
        )
    return group, word_bins


def _check_ddof(ddof: Any) -> int:
    return check_positive_int(ddof, "ddof", minimum=0)


def compute_statistics(
    data: Any,
    *,
    n_bins: int | None = None,
    stride: int = 1,
    max_lag: int | None = None,
    word_neurons: Sequence[int] | None = None,
    word_bins: int = DEFAULT_WORD_BINS,
    ddof: int = 1,
    block_rows: int = _BLOCK_ROWS,
    lag_method: str = "auto",
) -> Statistics:
    """Compute every statistic of windows, or of a raster cut into windows, in one pass.

    Parameters
    ----------
    data : array_like or WindowSource
        Windows ``(n, N, T)`` of 0/1, or a raster ``(time, N)`` with ``n_bins``.
    n_bins : int, optional
        Window length when ``data`` is a raster.
    stride : int
        Step between raster windows (1 = every window, as the reference code).
    max_lag : int, optional
        Largest lag of the lagged covariances and autocorrelogram
        (default ``min(10, T-1)``).
    word_neurons : sequence of int, optional
        Group whose activity words are tabulated (default: the
        ``min(N, 10, 20 // word_bins)`` most active neurons, in index order).
    word_bins : int
        Number of consecutive bins in a multi-bin word.
    ddof : int
        Delta degrees of freedom of the covariances (1 = ``np.cov``).
    block_rows : int
        Raster rows processed at once (memory ~ ``block_rows * N * 24`` bytes).
    lag_method : {"auto", "pairs", "dense"}
        How the (lagged) products are summed: by enumerating coincident spike
        pairs (fast for sparse activity, no BLAS threads) or by BLAS matrix
        products; ``"auto"`` picks the cheaper. The results are identical.

    Returns
    -------
    Statistics

    Examples
    --------
    >>> import numpy as np
    >>> raster = (np.random.default_rng(0).random((1000, 4)) < 0.2).astype(np.uint8)
    >>> st = compute_statistics(raster, n_bins=16, stride=1, max_lag=3)
    >>> st.n_windows, st.lagged_covariance.shape, st.spike_count_distribution.shape
    (985, (3, 4, 4), (5,))
    >>> windows = np.lib.stride_tricks.sliding_window_view(raster, 16, axis=0)
    >>> bool(np.allclose(compute_statistics(windows, max_lag=3).covariance, st.covariance))
    True
    """
    src = WindowSource(data, n_bins=n_bins, stride=stride)
    L = _resolve_max_lag(max_lag, src.n_bins)
    ddof = _check_ddof(ddof)
    group, wb = _resolve_words(word_neurons, word_bins, src)
    want = {"lags", "timecourse", "pk", "isi", "words", "counts"}
    do_entropy = src.n_neurons * src.n_bins <= MAX_ENTROPY_BITS
    if do_entropy:
        want.add("entropy")
    block_rows = check_positive_int(block_rows, "block_rows")
    if lag_method not in ("auto", "pairs", "dense"):
        raise ConfigError(
            f"`lag_method` must be 'auto', 'pairs' or 'dense'. Received {lag_method!r}."
        )
    sums = _accumulate(src, want, max_lag=L, word_neurons=group, word_bins=wb,
                       block_rows=block_rows, method=lag_method)
    n, T = sums.n_windows, sums.n_bins
    cov, lagged = _covariances(sums, ddof)
    corr = _corr_from_cov(cov, "single-bin activity")
    acg_counts = _acg(sums)
    cc_cov = _cov_from_sums(sums.c2, sums.c1, sums.c1, n, 1)
    cc_corr = _corr_from_cov(cc_cov, "spike counts per window")
    words = sums.words1 / (n * T)
    mwords = sums.wordsb / (n * (T - wb + 1))
    h, hmm = _pattern_entropies(sums.codes) if do_entropy else (float("nan"), float("nan"))
    return Statistics(
        n_windows=n,
        n_neurons=src.n_neurons,
        n_bins=T,
        max_lag=L,
        ddof=ddof,
        word_neurons=group,
        word_bins=wb,
        firing_probability=sums.s1l[0] / (n * T),
        time_course=sums.tc / n,
        covariance=cov,
        correlation=corr,
        lagged_covariance=lagged,
        autocorrelogram=_normalize_acg(acg_counts),
        autocorrelogram_counts=acg_counts,
        spike_count_distribution=sums.pk / (n * T),
        isi_distribution=_normalize_dist(sums.isi, "the set of within-window inter-spike intervals"),
        spike_count_correlation=cc_corr,
        words=words,
        multibin_words=mwords,
        word_entropy=distribution_entropy(words),
        multibin_word_entropy=distribution_entropy(mwords),
        entropy=h,
        entropy_miller_madow=hmm,
    )


# ---------------------------------------------------------------------------
# single statistics (each runs only the sums it needs)
# ---------------------------------------------------------------------------


def firing_probability(windows: Any, *, n_bins: int | None = None, stride: int = 1) -> np.ndarray:
    """Per-neuron firing probability ``(N,)``: mean over windows and bins.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1, 0, 0, 1], [0, 0, 0, 0]], [[1, 1, 0, 0], [0, 0, 0, 1]]])
    >>> firing_probability(x)
    array([0.5  , 0.125])
    """
    src = WindowSource(windows, n_bins=n_bins, stride=stride, name="windows")
    sums = _accumulate(src, {"mean"})
    return sums.s1l[0] / (src.n_windows * src.n_bins)


def time_course(windows: Any, *, n_bins: int | None = None, stride: int = 1) -> np.ndarray:
    """Per-neuron mean time course ``(N, T)``: mean over windows of each bin.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1, 0, 0, 1]], [[1, 1, 0, 0]]])
    >>> time_course(x)
    array([[1. , 0.5, 0. , 0.5]])
    """
    src = WindowSource(windows, n_bins=n_bins, stride=stride, name="windows")
    sums = _accumulate(src, {"timecourse"})
    return sums.tc / src.n_windows


def covariance(
    windows: Any, *, ddof: int = 1, n_bins: int | None = None, stride: int = 1
) -> np.ndarray:
    """Single-bin covariance ``(N, N)`` pooled over windows and bins (``np.cov`` of ``(N, n*T)``).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1, 0, 1, 0], [1, 0, 1, 0]]])
    >>> covariance(x, ddof=0)
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    src = WindowSource(windows, n_bins=n_bins, stride=stride, name="windows")
    sums = _accumulate(src, {"lags"}, max_lag=0)
    return _covariances(sums, _check_ddof(ddof))[0]


def correlation(windows: Any, *, n_bins: int | None = None, stride: int = 1) -> np.ndarray:
    """Single-bin correlation matrix ``(N, N)`` (``np.corrcoef`` of ``(N, n*T)``).

    A neuron that never spikes has NaN correlations (with a ``RuntimeWarning``).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1, 0, 1, 0], [0, 1, 0, 1]]])
    >>> correlation(x)
    array([[ 1., -1.],
           [-1.,  1.]])
    """
    src = WindowSource(windows, n_bins=n_bins, stride=stride, name="windows")
    sums = _accumulate(src, {"lags"}, max_lag=0)
    return _corr_from_cov(_covariances(sums, 1)[0], "single-bin activity")


def lagged_covariance(
    windows: Any,
    max_lag: int = 1,
    *,
    ddof: int = 1,
    n_bins: int | None = None,
    stride: int = 1,
) -> np.ndarray:
    """Lagged cross-covariances ``(max_lag, N, N)``, ``[l-1, i, j] = cov(x_i(t), x_j(t+l))``.

    Pairs ``(t, t+l)`` are taken inside each window and pooled over windows.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1, 0, 1, 0], [0, 1, 0, 1]]])
    >>> lagged_covariance(x, 1, ddof=0)[0]  # neuron 1 follows neuron 0
    array([[-0.22222222,  0.22222222],
           [ 0.22222222, -0.22222222]])
    """
    src = WindowSource(windows, n_bins=n_bins, stride=stride, name="windows")
    L = check_positive_int(max_lag, "max_lag")
    if L >= src.n_bins:
        raise ConfigError(
            f"`max_lag` must be smaller than the window length ({src.n_bins} bins). Received {L}."
        )
    sums = _accumulate(src, {"lags"}, max_lag=L)
    return _covariances(sums, _check_ddof(ddof))[1]


def autocorrelogram(
    windows: Any,
    max_lag: int = DEFAULT_MAX_LAG,
    normalize: str = "reference",
    *,
    n_bins: int | None = None,
    stride: int = 1,
) -> np.ndarray:
    """Population autocorrelogram for lags ``-max_lag..max_lag`` ``(2*max_lag+1,)``.

    Parameters
    ----------
    normalize : {"reference", "counts"}
        ``"counts"``: coincidences ``sum_i sum_t x_i(t) x_i(t+l)`` inside windows,
        summed over windows and neurons. ``"reference"``: the reference code's
        normalisation, counts divided by their maximum with lag 0 set to 0.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1, 1, 0, 1]]])
    >>> autocorrelogram(x, 2, normalize="counts")
    array([1., 1., 3., 1., 1.])
    >>> autocorrelogram(x, 2)
    array([0.33333333, 0.33333333, 0.        , 0.33333333, 0.33333333])
    """
    if normalize not in ("reference", "counts"):
        raise ConfigError(
            f"`normalize` must be 'reference' or 'counts'. Received {normalize!r}."
        )
    src = WindowSource(windows, n_bins=n_bins, stride=stride, name="windows")
    L = check_positive_int(max_lag, "max_lag", minimum=0)
    if L >= src.n_bins:
        raise ConfigError(
            f"`max_lag` must be smaller than the window length ({src.n_bins} bins). Received {L}."
        )
    counts = _acg(_accumulate(src, {"lags"}, max_lag=L))
    return counts if normalize == "counts" else _normalize_acg(counts)


def spike_count_distribution(
    windows: Any, *, n_bins: int | None = None, stride: int = 1
) -> np.ndarray:
    """``P(K)`` ``(N+1,)``: distribution of the population spike count in one bin.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1, 0, 1, 0], [1, 0, 0, 0]]])
    >>> spike_count_distribution(x)
    array([0.5 , 0.25, 0.25])
    """
    src = WindowSource(windows, n_bins=n_bins, stride=stride, name="windows")
    sums = _accumulate(src, {"pk"})
    return sums.pk / (src.n_windows * src.n_bins)


def isi_distribution(
    windows: Any, *, normalize: bool = True, n_bins: int | None = None, stride: int = 1
) -> np.ndarray:
    """Distribution of within-window inter-spike intervals ``(T,)``, indexed by interval.

    Entry ``d`` is the probability (or, with ``normalize=False``, the count) of an
    interval of ``d`` bins between consecutive spikes of the same neuron in the
    same window; entry 0 is always 0. NaN (with a warning) if there is no interval.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1, 1, 0, 1], [1, 0, 0, 0]]])
    >>> isi_distribution(x, normalize=False)
    array([0., 1., 1., 0.])
    """
    src = WindowSource(windows, n_bins=n_bins, stride=stride, name="windows")
    counts = _accumulate(src, {"isi"}).isi
    if not normalize:
        return counts
    return _normalize_dist(counts, "the set of within-window inter-spike intervals")


def word_probabilities(
    windows: Any,
    neurons: Sequence[int],
    word_bins: int = 1,
    *,
    n_bins: int | None = None,
    stride: int = 1,
) -> np.ndarray:
    """Probabilities ``(2**(G*word_bins),)`` of the activity words of a group of neurons.

    Neuron ``neurons[j]`` in bin ``t+d`` of the word is bit ``d*G + j`` of its code.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1, 0, 1, 0], [1, 0, 0, 0]]])
    >>> word_probabilities(x, [0, 1])  # codes 00, 01, 10, 11
    array([0.5 , 0.25, 0.  , 0.25])
    """
    src = WindowSource(windows, n_bins=n_bins, stride=stride, name="windows")
    group, wb = _resolve_words(neurons, word_bins, src)
    sums = _accumulate(src, {"words"}, word_neurons=group, word_bins=wb)
    if wb == 1:
        return sums.words1 / (src.n_windows * src.n_bins)
    return sums.wordsb / (src.n_windows * (src.n_bins - wb + 1))


def spike_count_correlation(
    windows: Any, *, n_bins: int | None = None, stride: int = 1
) -> np.ndarray:
    """Correlation ``(N, N)`` over windows of the per-window spike counts.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1, 1], [0, 0]], [[0, 0], [1, 0]], [[1, 0], [1, 1]]])
    >>> spike_count_correlation(x).round(3)
    array([[ 1. , -0.5],
           [-0.5,  1. ]])
    """
    src = WindowSource(windows, n_bins=n_bins, stride=stride, name="windows")
    sums = _accumulate(src, {"counts"})
    cov = _cov_from_sums(sums.c2, sums.c1, sums.c1, sums.n_windows, 1)
    return _corr_from_cov(cov, "spike counts per window")


def entropy(
    windows: Any,
    method: str = "plugin",
    *,
    n_bins: int | None = None,
    stride: int = 1,
) -> float:
    """Entropy in bits of whole-window patterns (``N*T <= 64`` only).

    Parameters
    ----------
    method : {"plugin", "miller_madow"}
        Plug-in (maximum likelihood) estimate, or with the Miller-Madow bias
        correction ``(m - 1) / (2 n ln 2)`` (``m`` distinct patterns seen, ``n`` windows).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1, 0]], [[0, 1]], [[1, 0]], [[0, 0]]])
    >>> entropy(x)
    1.5
    """
    if method not in ("plugin", "miller_madow"):
        raise ConfigError(f"`method` must be 'plugin' or 'miller_madow'. Received {method!r}.")
    src = WindowSource(windows, n_bins=n_bins, stride=stride, name="windows")
    bits = src.n_neurons * src.n_bins
    if bits > MAX_ENTROPY_BITS:
        raise ConfigError(
            f"Whole-window entropy needs n_neurons * n_bins <= {MAX_ENTROPY_BITS}. Received "
            f"{src.n_neurons} * {src.n_bins} = {bits}: use the word entropies "
            "(compute_statistics(...).word_entropy) for larger windows."
        )
    h, hmm = _pattern_entropies(_accumulate(src, {"entropy"}).codes)
    return h if method == "plugin" else hmm

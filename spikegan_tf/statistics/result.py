"""``Statistics``, every statistic of one set of windows, and :func:`compute_statistics`, which
computes them in one pass.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spikegan_tf.data.source import BLOCK_ROWS, WindowedSpikes
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.params import Integer, check_param
from spikegan_tf.statistics.defaults import (
    DEFAULT_MAX_LAG,
    DEFAULT_WORD_BINS,
    DEFAULT_WORD_NEURONS,
    MAX_ENTROPY_BITS,
    MAX_WORD_BITS,
    MAX_WORD_NEURONS,
)
from spikegan_tf.statistics.finish import (
    _acg,
    _corr_from_cov,
    _cov_from_sums,
    _covariances,
    _normalize_acg,
    _normalize_dist,
    _pattern_entropies,
    distribution_entropy,
)
from spikegan_tf.statistics.stream import _pair_subsample, _source
from spikegan_tf.statistics.sums import _accumulate
from spikegan_tf.validation import check_positive_int

__all__ = ["Statistics", "compute_statistics"]


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
_INT_FIELDS = ("n_windows", "n_neurons", "n_bins", "max_lag", "ddof", "word_bins",
               "n_pair_windows")
_OPTIONAL_FIELDS = ("n_pair_windows",)  # files saved before it existed load with its default


@dataclass(frozen=True, eq=False)
class Statistics:
    """All statistics of one set of windows (see the module docstring for definitions).

    Arrays are float64 and read-only. Build with :func:`compute_statistics`; store
    with :meth:`save` / :meth:`load` (``.npz``, no pickle).

    Attributes
    ----------
    n_windows, n_neurons, n_bins, max_lag, ddof, word_bins : int
        Parameters the statistics were computed with.
    n_pair_windows : int
        Windows the single-bin and lagged covariances (and the correlation) were computed
        from: ``n_windows`` unless ``compute_statistics(..., pair_windows=k)`` used a subsample.
        Every other statistic uses all ``n_windows`` windows.
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
    n_pair_windows: int | None = None

    def __post_init__(self) -> None:
        pair = self.n_windows if self.n_pair_windows is None else self.n_pair_windows
        object.__setattr__(self, "n_pair_windows", int(pair))
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
        meta = {k: np.asarray(getattr(self, k)) for k in _INT_FIELDS}
        arrays = {k: getattr(self, k) for k in _ARRAY_FIELDS}
        scalars = {k: np.asarray(getattr(self, k)) for k in _SCALAR_FIELDS}
        np.savez(path, word_neurons=np.asarray(self.word_neurons, dtype=np.int64),
                 **meta, **arrays, **scalars)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Statistics:
        """Read statistics written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            names = [f.name for f in dataclasses.fields(cls)]
            missing = [n for n in names if n not in z.files and n not in _OPTIONAL_FIELDS]
            if missing:
                raise SpikeDataError(
                    f"'{path}' is not a saved Statistics file: missing {', '.join(missing)}."
                )
            kw: dict[str, Any] = {}
            for n in names:
                if n not in z.files:  # saved before the field existed: its default
                    continue
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
    word_neurons: Sequence[int] | None,
    word_bins: int,
    src: WindowedSpikes,
    rates: np.ndarray | None = None,
) -> tuple[tuple[int, ...], int]:
    """The word group and length; by default the most active neurons (by ``rates``, which
    are computed if not given)."""
    word_bins = check_positive_int(word_bins, "word_bins")
    if word_bins > src.n_bins:
        raise ConfigError(
            f"`word_bins` must be at most the window length ({src.n_bins}). Received {word_bins}."
        )
    N = src.n_neurons
    if word_neurons is None:
        g = min(N, DEFAULT_WORD_NEURONS, MAX_WORD_BITS // word_bins)
        if rates is None:
            rates = _accumulate(src, {"timecourse"}).tc.sum(axis=1)
        order = np.argsort(-rates, kind="stable")[:g]
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


def _check_options(lag_method: Any, pair_windows: Any, threads: Any) -> None:
    if lag_method not in ("auto", "pairs", "dense"):
        raise ConfigError(
            f"`lag_method` must be 'auto', 'pairs' or 'dense'. Received {lag_method!r}."
        )
    check_param("pair_windows", pair_windows, [Integer(min=1), None])
    check_param("threads", threads, [Integer(min=1), None])


def compute_statistics(
    data: Any,
    *,
    n_bins: int | None = None,
    stride: int = 1,
    max_lag: int | None = None,
    word_neurons: Sequence[int] | None = None,
    word_bins: int = DEFAULT_WORD_BINS,
    ddof: int = 1,
    block_rows: int = BLOCK_ROWS,
    lag_method: str = "auto",
    pair_windows: int | None = None,
    threads: int | None = None,
) -> Statistics:
    """Compute every statistic of windows, or of a raster cut into windows, in one pass.

    Parameters
    ----------
    data : array_like or WindowedSpikes
        Windows ``(n, N, T)`` of 0/1, or a raster ``(time, N)`` with ``n_bins``. A
        ``numpy.memmap`` is read block by block (its pages are released after each block),
        so a set larger than the memory can be evaluated.
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
        Raster rows (windows x bins) processed at once; the memory used grows with it.
    lag_method : {"auto", "pairs", "dense"}
        How the (lagged) products are summed: by enumerating coincident spike
        pairs (scipy's sparse product; fast for sparse activity) or by BLAS matrix
        products; ``"auto"`` picks the cheaper per block. The results are identical.
    pair_windows : int, optional
        Compute the pairwise statistics -- ``covariance``, ``correlation`` and
        ``lagged_covariance`` -- from ``pair_windows`` evenly spaced windows only (windows
        ``k * n // pair_windows``, ``k = 0..pair_windows-1``; the same every time), and every
        other statistic, the spike-count correlation included, from all ``n`` windows.
        Their cost grows with the number of neuron pairs (``N**2``) times the lags; at
        100,000 windows of 1,024 neurons it dominates everything else by two orders of
        magnitude. ``None`` (default) or at least ``n``: all windows.
        ``Statistics.n_pair_windows`` records the number used.
    threads : int, optional
        Threads summing the lagged products (default: the CPUs this process may use). The
        results do not depend on it. On 2 cores without other work, 2 threads took 0.65x the wall time of
        one for 1.15x its CPU (``benchmarks/results/bench_stats_scale.json``).

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

    The pairwise statistics of a subsample, the rest of all windows:

    >>> sub = compute_statistics(windows, max_lag=3, pair_windows=100)
    >>> sub.n_windows, sub.n_pair_windows
    (985, 100)
    >>> chosen = windows[np.arange(100) * 985 // 100]
    >>> bool(np.array_equal(sub.covariance, compute_statistics(chosen, max_lag=3).covariance))
    True
    >>> bool(np.array_equal(sub.time_course, st.time_course))
    True
    """
    _check_options(lag_method, pair_windows, threads)
    src = _source(data, n_bins, stride)
    L = _resolve_max_lag(max_lag, src.n_bins)
    ddof = _check_ddof(ddof)
    block_rows = check_positive_int(block_rows, "block_rows")
    check_positive_int(word_bins, "word_bins")
    want = {"lags", "timecourse", "acg", "pk", "isi", "words", "counts"}
    tc = None
    if word_neurons is None:  # the default group needs the rates first: a pass for them
        tc = _accumulate(src, {"timecourse"}, block_rows=block_rows).tc
        want.discard("timecourse")
    group, wb = _resolve_words(word_neurons, word_bins, src,
                               None if tc is None else tc.sum(axis=1))
    do_entropy = src.n_neurons * src.n_bins <= MAX_ENTROPY_BITS
    if do_entropy:
        want.add("entropy")
    sums = _accumulate(src, want, max_lag=L, word_neurons=group, word_bins=wb,
                       block_rows=block_rows, method=lag_method,
                       pair_index=_pair_subsample(src.n_windows, pair_windows), threads=threads)
    if tc is not None:
        sums.tc = tc
    # finished here, not in a helper: the warnings below point at the caller (stacklevel)
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
        firing_probability=sums.tc.sum(axis=1) / (n * T),
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
        n_pair_windows=sums.n_pair_windows,
    )

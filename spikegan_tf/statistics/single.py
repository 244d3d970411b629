"""Single statistics, each running only the sums it needs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from spikegan_tf.data.source import windowed_spikes
from spikegan_tf.errors import ConfigError
from spikegan_tf.statistics.defaults import DEFAULT_MAX_LAG, MAX_ENTROPY_BITS
from spikegan_tf.statistics.finish import (
    _acg,
    _corr_from_cov,
    _cov_from_sums,
    _covariances,
    _normalize_acg,
    _normalize_dist,
    _pattern_entropies,
)
from spikegan_tf.statistics.result import _check_ddof, _resolve_words
from spikegan_tf.statistics.sums import _accumulate
from spikegan_tf.validation import check_positive_int

__all__ = [
    "firing_probability",
    "time_course",
    "covariance",
    "correlation",
    "lagged_covariance",
    "pair_coincidences",
    "autocorrelogram",
    "spike_count_distribution",
    "window_count_variance",
    "isi_distribution",
    "word_probabilities",
    "spike_count_correlation",
    "entropy",
]


def firing_probability(windows: Any, *, n_bins: int | None = None, stride: int = 1) -> np.ndarray:
    """Per-neuron firing probability ``(N,)``: mean over windows and bins.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1, 0, 0, 1], [0, 0, 0, 0]], [[1, 1, 0, 0], [0, 0, 0, 1]]])
    >>> firing_probability(x)
    array([0.5  , 0.125])
    """
    src = windowed_spikes(windows, n_bins=n_bins, stride=stride, name="windows", stride_for_windows="ignore")
    sums = _accumulate(src, {"timecourse"})
    return sums.tc.sum(axis=1) / (src.n_windows * src.n_bins)


def time_course(windows: Any, *, n_bins: int | None = None, stride: int = 1) -> np.ndarray:
    """Per-neuron mean time course ``(N, T)``: mean over windows of each bin.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1, 0, 0, 1]], [[1, 1, 0, 0]]])
    >>> time_course(x)
    array([[1. , 0.5, 0. , 0.5]])
    """
    src = windowed_spikes(windows, n_bins=n_bins, stride=stride, name="windows", stride_for_windows="ignore")
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
    src = windowed_spikes(windows, n_bins=n_bins, stride=stride, name="windows", stride_for_windows="ignore")
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
    src = windowed_spikes(windows, n_bins=n_bins, stride=stride, name="windows", stride_for_windows="ignore")
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
    src = windowed_spikes(windows, n_bins=n_bins, stride=stride, name="windows", stride_for_windows="ignore")
    L = check_positive_int(max_lag, "max_lag")
    if L >= src.n_bins:
        raise ConfigError(
            f"`max_lag` must be smaller than the window length ({src.n_bins} bins). Received {L}."
        )
    sums = _accumulate(src, {"lags"}, max_lag=L)
    return _covariances(sums, _check_ddof(ddof))[1]


def pair_coincidences(windows: Any, max_lag: int = 1, *, n_bins: int | None = None,
                      stride: int = 1) -> np.ndarray:
    """Mean coincidences ``(max_lag + 1, N, N)``, ``[l, i, j]``: the mean of ``x_i(t) x_j(t+l)``.

    The mean is over the windows and their ``n_bins - l`` in-window pairs of
    bins: the raw second moments behind :func:`covariance` (``l = 0``) and
    :func:`lagged_covariance`, without the means taken off, which is what
    ``TrainConfig.pair_match`` matches.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1, 0, 1, 0], [1, 1, 0, 1]]])
    >>> pair_coincidences(x, 1)[0]  # same bin: together in bin 0
    array([[0.5 , 0.25],
           [0.25, 0.75]])
    >>> pair_coincidences(x, 1)[1]  # neuron 1 one bin after neuron 0 in pairs (0, 1), (2, 3)
    array([[0.        , 0.66666667],
           [0.33333333, 0.33333333]])
    """
    src = windowed_spikes(windows, n_bins=n_bins, stride=stride, name="windows",
                          stride_for_windows="ignore")
    L = check_positive_int(max_lag, "max_lag", minimum=0)
    if L >= src.n_bins:
        raise ConfigError(
            f"`max_lag` must be smaller than the window length ({src.n_bins} bins). Received {L}."
        )
    sums = _accumulate(src, {"lags"}, max_lag=L)
    pairs = sums.n_pair_windows * (src.n_bins - np.arange(L + 1))
    return sums.s2 / pairs[:, None, None]


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
    src = windowed_spikes(windows, n_bins=n_bins, stride=stride, name="windows", stride_for_windows="ignore")
    L = check_positive_int(max_lag, "max_lag", minimum=0)
    if L >= src.n_bins:
        raise ConfigError(
            f"`max_lag` must be smaller than the window length ({src.n_bins} bins). Received {L}."
        )
    counts = _acg(_accumulate(src, {"acg"}, max_lag=L))
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
    src = windowed_spikes(windows, n_bins=n_bins, stride=stride, name="windows", stride_for_windows="ignore")
    sums = _accumulate(src, {"pk"})
    return sums.pk / (src.n_windows * src.n_bins)


def window_count_variance(windows: Any, *, n_bins: int | None = None, stride: int = 1,
                          relative: bool = False, parts: int = 1) -> float:
    """Variance over the windows of a window's population spike count (all neurons and bins).

    The slow fluctuations of a population's activity, which ``P(K)`` of single
    bins does not show; a raster's windows are those of ``n_bins`` bins every
    ``stride`` bins (the target of ``TrainConfig.variance_match``).
    ``relative=True``: the variance over the squared mean count (the squared
    coefficient of variation; NaN without spikes), which scaling every rate
    alike leaves nearly unchanged (``TrainConfig.variance_match_relative``).
    ``parts``: each window split into ``parts`` consecutive parts of equal
    length (``n_bins`` divisible by ``parts``), the variance that of a part's
    count, pooled over the parts of all the windows
    (``TrainConfig.variance_match_scales``).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1, 0], [1, 1]], [[0, 0], [0, 1]]])  # counts 3 and 1
    >>> window_count_variance(x)
    1.0
    >>> window_count_variance(np.array([[1], [0], [1], [1]]), n_bins=2)  # counts 1, 1, 2
    0.2222222222222222
    >>> window_count_variance(x, relative=True)  # variance 1, mean 2
    0.25
    >>> window_count_variance(x, parts=2)  # part counts 2, 1, 0, 1
    0.5
    """
    src = windowed_spikes(windows, n_bins=n_bins, stride=stride, name="windows",
                          stride_for_windows="ignore")
    parts = check_positive_int(parts, "parts")
    if src.n_bins % parts:
        raise ConfigError(f"`parts` must divide the windows' {src.n_bins} bins. Received "
                         f"{parts}.")
    totals = _window_counts(src, parts)
    return _relative_variance(totals) if relative else float(totals.var())


def _window_counts(src: Any, parts: int = 1) -> np.ndarray:
    """Population spike counts ``(n_windows, parts)`` int64 of each window's ``parts`` parts."""
    size = src.n_bins // parts
    if src.kind == "raster":
        cum = np.concatenate([[0], np.cumsum(src.spikes.sum(axis=1, dtype=np.int64))])
        starts = (np.arange(src.n_windows, dtype=np.int64)[:, None] * src.stride
                  + np.arange(parts, dtype=np.int64) * size)
        return cum[starts + size] - cum[starts]
    return np.concatenate([w.reshape(*w.shape[:2], parts, size).sum(axis=(1, 3), dtype=np.int64)
                           for w in src.iter_windows(4096)])


def _relative_variance(totals: np.ndarray) -> float:
    """Variance over squared mean (the squared coefficient of variation); NaN for a zero mean."""
    mean = totals.mean()
    return float(totals.var() / mean ** 2) if mean > 0 else float("nan")


def window_coincidence_variance(windows: Any, lags: int, *, n_bins: int | None = None,
                                stride: int = 1, per_spike: bool = False) -> float:
    """Squared coefficient of variation over the windows of a window's short-lag coincidences.

    A window's coincidences are ``sum_i sum_{l=1..L} x_i(t) x_i(t + l)`` over
    its neurons and its in-window pairs of bins, its unnormalised
    autocorrelogram at lags ``1..L`` summed; ``per_spike=True`` divides them by
    the window's spike count (0 for a window without spikes): how bursty the
    window is whatever its rate, the autocorrelogram's normalisation. The value
    is their variance over the windows divided by their squared mean (NaN
    without coincidences): a population whose burstiness changes from window to
    window has a large one. On the retina (50 cells, 256-bin windows, ``L =
    10``) the training windows' coincidences have 0.055 and their coincidences
    per spike 0.0061 where the raster recipe's generator makes about 0.18 and
    0.065, which its long rasters show as stretches that differ in their
    autocorrelogram far more than the recording's do
    (``TrainConfig.acg_variance_match``; ``benchmarks/results/critic_head_long/``).
    A raster's windows are those of ``n_bins`` bins every ``stride`` bins.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1, 1, 0]], [[1, 1, 1]]])  # coincidences at lags 1-2: 1 and 3
    >>> window_coincidence_variance(x, 2)  # variance 1, mean 2
    0.25
    >>> window_coincidence_variance(x, 2, per_spike=True)  # 1 / 2 and 3 / 3: variance 1/16
    0.1111111111111111
    >>> raster = np.array([[1], [1], [0], [1]])  # windows of 2 bins: coincidences 1, 0, 0
    >>> round(window_coincidence_variance(raster, 1, n_bins=2), 6)  # variance 2/9, mean 1/3
    2.0
    """
    src = windowed_spikes(windows, n_bins=n_bins, stride=stride, name="windows",
                          stride_for_windows="ignore")
    lags = check_positive_int(lags, "lags")
    if lags >= src.n_bins:
        raise ConfigError(f"`lags` must be smaller than the windows' {src.n_bins} bins. "
                          f"Received {lags}.")
    if src.kind == "raster":
        x = src.spikes
        starts = np.arange(src.n_windows, dtype=np.int64) * src.stride
        totals = np.zeros(src.n_windows, np.int64)
        for lag in range(1, lags + 1):
            pairs = np.einsum("tn,tn->t", x[:-lag], x[lag:], dtype=np.int64)
            cum = np.concatenate([[0], np.cumsum(pairs)])
            totals += cum[starts + src.n_bins - lag] - cum[starts]
    else:
        totals = np.concatenate([
            sum(np.einsum("wnt,wnt->w", w[..., :-lag], w[..., lag:], dtype=np.int64)
                for lag in range(1, lags + 1))
            for w in src.iter_windows(4096)])
    if per_spike:
        totals = totals / np.maximum(_window_counts(src)[:, 0], 1)
    return _relative_variance(totals)


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
    src = windowed_spikes(windows, n_bins=n_bins, stride=stride, name="windows", stride_for_windows="ignore")
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
    src = windowed_spikes(windows, n_bins=n_bins, stride=stride, name="windows", stride_for_windows="ignore")
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
    src = windowed_spikes(windows, n_bins=n_bins, stride=stride, name="windows", stride_for_windows="ignore")
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
    src = windowed_spikes(windows, n_bins=n_bins, stride=stride, name="windows", stride_for_windows="ignore")
    bits = src.n_neurons * src.n_bins
    if bits > MAX_ENTROPY_BITS:
        raise ConfigError(
            f"Whole-window entropy needs n_neurons * n_bins <= {MAX_ENTROPY_BITS}. Received "
            f"{src.n_neurons} * {src.n_bins} = {bits}: use the word entropies "
            "(compute_statistics(...).word_entropy) for larger windows."
        )
    h, hmm = _pattern_entropies(_accumulate(src, {"entropy"}).codes)
    return h if method == "plugin" else hmm

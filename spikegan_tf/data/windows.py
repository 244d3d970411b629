"""Windows of a raster, and train/validation/test splits that cannot leak.

A raster ``(n_time_bins, n_neurons)`` is cut into windows
``(n_windows, n_neurons, n_bins)`` of ``n_bins`` consecutive bins, one every
``stride`` bins, as a read-only view (no copy).

:func:`split_raster` cuts a raster into contiguous blocks of time, in order,
dropping ``gap`` bins between consecutive blocks: a window lies inside one
block, so no window of one split shares a time bin with a window of another
split (and with ``gap >= n_bins`` not even the bins next to each other).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.params import ParamError
from spikegan_tf.validation import check_positive_int, check_seed

__all__ = ["window_view", "n_windows", "split_raster", "split_windows", "split_indices"]


def n_windows(n_time_bins: int, n_bins: int, stride: int = 1) -> int:
    """Number of windows of ``n_bins`` bins, one every ``stride`` bins.

    Examples
    --------
    >>> n_windows(10, 4), n_windows(10, 4, stride=3), n_windows(3, 4)
    (7, 3, 0)
    """
    n_time_bins = check_positive_int(n_time_bins, "n_time_bins", minimum=0)
    n_bins = check_positive_int(n_bins, "n_bins")
    stride = check_positive_int(stride, "stride")
    if n_time_bins < n_bins:
        return 0
    return (n_time_bins - n_bins) // stride + 1


def window_view(raster: np.ndarray, n_bins: int, stride: int = 1) -> np.ndarray:
    """Read-only view of the windows of a raster, ``(n_windows, n_neurons, n_bins)``.

    Window ``i`` is ``raster[i * stride : i * stride + n_bins].T``. Nothing is
    copied (:func:`numpy.lib.stride_tricks.sliding_window_view`): copy a slice
    with ``np.array(view[a:b])`` when you need one.

    Parameters
    ----------
    raster : numpy.ndarray
        ``(n_time_bins, n_neurons)``; validate it first (``check_raster``).
    n_bins : int
        Bins per window.
    stride : int
        Bins between the starts of consecutive windows.

    Raises
    ------
    SpikeDataError
        The raster has fewer than ``n_bins`` time bins.

    Examples
    --------
    >>> import numpy as np
    >>> raster = np.arange(12).reshape(6, 2)      # 6 time bins, 2 neurons
    >>> w = window_view(raster, 4, stride=2)
    >>> w.shape
    (2, 2, 4)
    >>> w[1].tolist()                             # bins 2..5, neurons as rows
    [[4, 6, 8, 10], [5, 7, 9, 11]]
    """
    raster = np.asarray(raster)
    if raster.ndim != 2:
        raise SpikeDataError(
            f"`raster` must have 2 dimensions (time bins, neurons). Received shape {raster.shape}."
        )
    n_bins = check_positive_int(n_bins, "n_bins")
    stride = check_positive_int(stride, "stride")
    if raster.shape[0] < n_bins:
        raise SpikeDataError(
            f"The raster has {raster.shape[0]} time bins, fewer than one window of "
            f"n_bins={n_bins}. Use a smaller n_bins or a longer recording."
        )
    view = np.lib.stride_tricks.sliding_window_view(raster, n_bins, axis=0)
    return view[::stride]


def _check_fractions(fractions: Any) -> np.ndarray:
    try:
        frac = np.asarray(fractions, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParamError("fractions", "a sequence of positive numbers summing to 1",
                         fractions) from None
    if frac.ndim != 1 or frac.size < 1:
        raise ParamError("fractions", "a non-empty sequence of numbers", fractions)
    if not np.isfinite(frac).all() or (frac <= 0).any():
        raise ParamError("fractions", "positive numbers", frac.tolist())
    if abs(frac.sum() - 1.0) > 1e-6:
        raise ParamError("fractions", f"numbers that sum to 1 (these sum to {frac.sum():g})",
                         frac.tolist())
    return frac


def _boundaries(n: int, frac: np.ndarray) -> np.ndarray:
    """Cut ``n`` items into ``len(frac)`` consecutive sizes (rounded cumulative fractions)."""
    edges = np.rint(np.cumsum(frac) * n).astype(np.int64)
    edges[-1] = n
    return np.concatenate([[0], edges])


def split_raster(
    raster: np.ndarray,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    *,
    gap: int | None = None,
    n_bins: int | None = None,
) -> list[np.ndarray]:
    """Split a raster into contiguous blocks of time, in order, with a gap between them.

    Parameters
    ----------
    raster : numpy.ndarray
        ``(n_time_bins, n_neurons)``.
    fractions : sequence of float
        Share of the kept bins in each block (positive, summing to 1), e.g.
        ``(0.8, 0.1, 0.1)`` for train/validation/test.
    gap : int, optional
        Bins dropped between consecutive blocks. Default: ``n_bins``, so that
        no window of one block even touches a window of the next one.
    n_bins : int, optional
        Window length that will be cut from the blocks: each block must hold
        at least one window.

    Returns
    -------
    list of numpy.ndarray
        The blocks (views of ``raster``), ``len(fractions)`` of them.

    Raises
    ------
    ConfigError
        Bad fractions, or neither ``gap`` nor ``n_bins`` given.
    SpikeDataError
        The raster is too short: a block is empty or shorter than ``n_bins``.

    Examples
    --------
    >>> import numpy as np
    >>> raster = np.arange(24).reshape(24, 1)
    >>> train, test = split_raster(raster, (0.75, 0.25), n_bins=4)
    >>> train[:, 0].tolist()[-1], test[:, 0].tolist()[0], len(train), len(test)
    (14, 19, 15, 5)
    """
    raster = np.asarray(raster)
    if raster.ndim != 2:
        raise SpikeDataError(
            f"`raster` must have 2 dimensions (time bins, neurons). Received shape {raster.shape}."
        )
    frac = _check_fractions(fractions)
    if n_bins is not None:
        n_bins = check_positive_int(n_bins, "n_bins")
    if gap is None:
        if n_bins is None:
            raise ConfigError(
                "`split_raster` needs `gap` (bins dropped between blocks) or `n_bins` "
                "(window length, used as the gap)."
            )
        gap = n_bins
    gap = check_positive_int(gap, "gap", minimum=0)
    total = raster.shape[0]
    usable = total - gap * (frac.size - 1)
    edges = _boundaries(max(usable, 0), frac)
    sizes = np.diff(edges)
    need = n_bins or 1
    if usable <= 0 or (sizes < need).any():
        shortest = int(sizes.min()) if usable > 0 else 0
        raise SpikeDataError(
            f"The raster has {total} time bins: too few to split into fractions "
            f"{frac.tolist()} with a gap of {gap} bins; the shortest block would have "
            f"{shortest} bins, fewer than {'one window of ' if n_bins else ''}{need}. "
            "Use fewer splits, a smaller gap or n_bins, or a longer recording."
        )
    blocks = []
    for i in range(frac.size):
        begin = int(edges[i]) + i * gap
        blocks.append(raster[begin : begin + int(sizes[i])])
    return blocks


def split_windows(
    windows: np.ndarray,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    *,
    seed: int | None,
) -> list[np.ndarray]:
    """Split independent windows ``(n_samples, n_neurons, n_bins)`` at random by sample.

    For files of windows (e.g. simulated datasets), whose samples are
    independent; split a continuous raster with :func:`split_raster` instead.

    Returns
    -------
    list of numpy.ndarray
        Copies holding disjoint sets of samples, ``len(fractions)`` of them.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.zeros((10, 2, 4), np.uint8)
    >>> [len(s) for s in split_windows(w, (0.8, 0.2), seed=0)]
    [8, 2]
    """
    windows = np.asarray(windows)
    if windows.ndim != 3:
        raise SpikeDataError(
            "`windows` must have 3 dimensions (samples, neurons, bins). Received shape "
            f"{windows.shape}."
        )
    return [windows[idx] for idx in split_indices(windows.shape[0], fractions, seed=seed)]


def split_indices(n: int, fractions: Sequence[float] = (0.8, 0.1, 0.1), *,
                  seed: int | None) -> list[np.ndarray]:
    """The sorted sample indices of each part of :func:`split_windows` (same seed, same split).

    Examples
    --------
    >>> [idx.tolist() for idx in split_indices(5, (0.6, 0.4), seed=0)]
    [[2, 3, 4], [0, 1]]
    """
    frac = _check_fractions(fractions)
    seed = check_seed(seed)
    edges = _boundaries(n, frac)
    if (np.diff(edges) < 1).any():
        raise SpikeDataError(
            f"{n} samples are too few to split into fractions {frac.tolist()}: a split would "
            "be empty."
        )
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(order[edges[i] : edges[i + 1]]) for i in range(frac.size)]

"""Per-block sums from spike positions: where the spikes are, gaps between spikes of one
neuron (inter-spike intervals, autocorrelogram), population counts, activity words.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = []


def _spike_positions(W: np.ndarray) -> np.ndarray:
    """Flat indices (increasing, int64) of the ones of a C-contiguous uint8 0/1 array.

    Scans 8 bytes at a time: faster than ``np.flatnonzero`` on sparse spikes.

    Examples
    --------
    >>> x = np.zeros((2, 3, 5), np.uint8); x[0, 1, 2] = x[1, 2, 4] = 1
    >>> _spike_positions(x).tolist() == np.flatnonzero(x).tolist() == [7, 29]
    True
    """
    flat = W.reshape(-1)
    n8 = flat.size // 8 * 8
    words = flat[:n8].view(np.uint64)
    nonzero = np.flatnonzero(words != 0)
    k = np.flatnonzero(words[nonzero].view(np.bool_))
    pos = nonzero[k >> 3] * 8 + (k & 7)
    if n8 < flat.size:
        pos = np.concatenate([pos, np.flatnonzero(flat[n8:]) + n8])
    return pos


def _gap_counts(
    group: np.ndarray,
    pos: np.ndarray,
    max_gap: int,
    weight: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    consecutive: bool = False,
) -> np.ndarray:
    """Counts ``(max_gap+1,)`` of the gaps ``d = pos[q] - pos[p]`` (``1 <= d <= max_gap``)
    between two spikes ``p < q`` of the same ``group``.

    ``pos`` is increasing within each group and the groups are contiguous. Each pair
    counts ``weight(pos[p], pos[q])`` (default 1); ``consecutive`` keeps only ``q = p+1``
    (inter-spike intervals), otherwise every pair counts (coincidences at lag ``d``).

    Examples
    --------
    >>> g, t = np.array([0, 0, 0, 1]), np.array([1, 2, 4, 0])
    >>> _gap_counts(g, t, 3).tolist(), _gap_counts(g, t, 3, consecutive=True).tolist()
    ([0.0, 1.0, 1.0, 1.0], [0.0, 1.0, 1.0, 0.0])
    """
    counts = np.zeros(max_gap + 1)
    idx = np.flatnonzero((group[1:] == group[:-1]) & (np.diff(pos) <= max_gap))
    k = 1
    while idx.size:
        a, b = pos[idx], pos[idx + k]
        w = None if weight is None else weight(a, b)
        counts += np.bincount(b - a, weights=w, minlength=max_gap + 1)
        if consecutive:
            break
        k += 1
        idx = idx[idx + k < pos.size]
        j = idx + k
        idx = idx[(group[j] == group[idx]) & (pos[j] - pos[idx] <= max_gap)]
    return counts


def _window_gaps(flat: np.ndarray, row: np.ndarray, n_bins: int,
                 max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Inter-spike-interval counts ``(T,)`` and coincidence counts at lags ``1..max_lag``
    ``(max_lag+1,)`` (entry 0 left 0) of windows given by the flat spike indices ``flat``
    and their rows ``row = flat // n_bins`` (window and neuron).

    Examples
    --------
    >>> x = np.array([[[1, 1, 0, 1]]], np.uint8)
    >>> f = np.flatnonzero(x)
    >>> [c.tolist() for c in _window_gaps(f, f // 4, 4, 2)]
    [[0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]
    """
    d = np.diff(flat)
    same = row[1:] == row[:-1]
    isi = np.bincount(d[same], minlength=n_bins)[:n_bins].astype(np.float64)
    acg = np.zeros(max_lag + 1)
    idx = np.flatnonzero(same & (d <= max_lag)) if max_lag else d[:0]
    k = 1
    while idx.size:  # pairs k spikes apart, of the candidates k-1 apart
        gap = flat[idx + k] - flat[idx]
        acg += np.bincount(gap, minlength=max_lag + 1)
        k += 1
        idx = idx[idx + k < flat.size]
        j = idx + k
        idx = idx[(row[j] == row[idx]) & (flat[j] - flat[idx] <= max_lag)]
    return isi, acg


def _window_time_course(W: np.ndarray) -> np.ndarray:
    """Spikes per neuron and bin summed over windows ``(N, T)`` (int64), 255 windows at a time
    in uint8.
    """
    tc = np.zeros(W.shape[1:], np.int64)
    for k in range(0, W.shape[0], 255):
        tc += W[k:k + 255].sum(axis=0, dtype=np.uint8)
    return tc


def _window_words(W: np.ndarray, group: list[int], word_bins: int) -> tuple[np.ndarray, ...]:
    """Single-bin codes ``(B*T,)`` and ``word_bins``-bin codes of the group's activity."""
    B, _, T = W.shape
    code = np.zeros((B, T), np.int64)
    for j, g in enumerate(group):
        code |= W[:, g, :].astype(np.int64) << j
    m = T - word_bins + 1
    codeb = np.zeros((B, m), np.int64)
    for d in range(word_bins):
        codeb |= code[:, d:d + m] << (d * len(group))
    return code.ravel(), codeb.ravel()

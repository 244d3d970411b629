"""Memorisation check: how close are generated windows to the training windows?

A generator that copies its training data reproduces every statistic perfectly,
so statistics alone cannot tell learning from memorising. Here each generated
window gets the Hamming distance (number of differing bins) to its nearest
training window, and so does each window of a held-out stretch of the real
recording: a model that generalises sits as far from the training set as new
real data does, and copies nothing verbatim (distance 0) much more often than
the held-out data.

Distances are exact. For sparse activity they are computed from an inverted
index of the training spikes (for every query spike, the training windows that
spike at the same neuron and bin), which costs about
``spikes per query x training spikes / (n_neurons x stride)``; for dense activity
from float32 matrix products ``|q| + |r| - 2 q.r`` (exact: all values are
integers below 2**24). Training data given as a raster with ``n_bins`` and
``stride`` are never cut into materialised windows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from spikegan_tf.data.source import WindowedSpikes, windowed_spikes
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.validation import check_positive_int, check_seed

__all__ = ["MemorizationResult", "nearest_distances", "memorization", "DEFAULT_N_QUERIES"]

DEFAULT_N_QUERIES = 1000
_PAIR_COST = 150.0  # one index pair vs one multiply-add of a float32 matrix product
_MAX_BATCH_CELLS = 1 << 22  # queries x references accumulated at once (16 MiB of int32)
_MAX_PAIRS = 1 << 21  # index pairs materialised at once


class _Index:
    """Inverted index of the reference spikes.

    A reference spike at (raster row ``t``, neuron ``i``) lies at bin ``p`` of window
    ``k`` when ``t = k*s + p``; writing ``t = s*u + r`` and ``p = s*v + r``, that is
    ``k = u - v``. Spikes are grouped by ``key = i*s + r`` and sorted by ``u``, so the
    windows that spike at (neuron ``i``, bin ``p``) are one contiguous run.
    """

    def __init__(self, src: WindowedSpikes) -> None:
        self.n, self.N, self.T = src.n_windows, src.n_neurons, src.n_bins
        if src.kind == "raster":
            s = src.stride
            raster = src.spikes[: (self.n - 1) * s + self.T]
        else:  # windows laid end to end: window k, bin p is raster row k*T + p
            s = self.T
            raster = np.ascontiguousarray(src.spikes.transpose(0, 2, 1)).reshape(-1, self.N)
        self.s = s
        neuron, t = np.nonzero(raster.T)  # sorted by neuron, then time
        key = neuron.astype(np.int64) * s + t % s
        order = np.argsort(key, kind="stable")
        self.u = (t[order] // s).astype(np.int64)
        self.span = raster.shape[0] // s + 1  # u < span
        self.sorted_key = key[order] * self.span + self.u  # globally sorted
        # spikes per reference window
        cs = np.zeros((raster.shape[0] + 1,), dtype=np.int64)
        np.cumsum(raster.sum(axis=1, dtype=np.int64), out=cs[1:])
        starts = np.arange(self.n, dtype=np.int64) * s
        self.counts = cs[starts + self.T] - cs[starts]

    def _runs(self, i: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For query spikes (neuron i, bin p): first/last index of valid partners, and v."""
        s = self.s
        v = p.astype(np.int64) // s
        base = (i.astype(np.int64) * s + p % s) * self.span
        lo = np.searchsorted(self.sorted_key, base + v)  # u >= v      -> k >= 0
        hi = np.searchsorted(self.sorted_key, base + v + self.n)  # u < v + n -> k < n
        return lo, hi, v

    def query_cost(self, queries: np.ndarray) -> int:
        _, i, p = np.nonzero(queries)
        lo, hi, _ = self._runs(i, p)
        return int((hi - lo).sum())

    def overlaps(self, queries: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(first_query, overlaps (b, n))`` for batches of queries.

        A batch holds about ``_MAX_PAIRS`` (query spike, reference spike) pairs, so
        the temporary arrays stay cache-sized; the overlaps come from one bincount.
        """
        qid, i, p = np.nonzero(queries)
        lo, hi, v = self._runs(i, p)
        lens = hi - lo
        per_query = np.bincount(qid, weights=lens, minlength=len(queries))
        first_spike = np.searchsorted(qid, np.arange(len(queries) + 1))
        max_b = max(1, _MAX_BATCH_CELLS // self.n)
        q0 = 0
        while q0 < len(queries):
            # grow the batch while it stays under the pair and cell budgets
            cum = np.cumsum(per_query[q0 : q0 + max_b])
            b = max(1, int(np.searchsorted(cum, _MAX_PAIRS, side="right")))
            q1 = q0 + b
            sl = slice(first_spike[q0], first_spike[q1])
            n_i = lens[sl]
            jump = np.repeat(lo[sl] - (np.cumsum(n_i) - n_i), n_i)
            idx = np.arange(jump.size)
            idx += jump
            cells = self.u[idx]
            # cell = (qid - q0) * n + k with k = u - v
            cells += np.repeat((qid[sl].astype(np.int64) - q0) * self.n - v[sl], n_i)
            ov = np.bincount(cells, minlength=b * self.n)
            yield q0, ov.reshape(b, self.n)
            q0 = q1


def _dense_overlaps(
    queries: np.ndarray, ref: WindowedSpikes
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """Yield ``(k0, k1, overlaps (nq, k1-k0), ref counts)`` per chunk of reference windows."""
    D = ref.n_neurons * ref.n_bins
    ftype = np.float32 if D <= (1 << 24) else np.float64
    Q = queries.reshape(len(queries), -1).astype(ftype)
    chunk = max(1, min(ref.n_windows, (1 << 26) // max(D, 1) // 4))
    for k0 in range(0, ref.n_windows, chunk):
        R = ref.windows(k0, k0 + chunk).reshape(-1, D).astype(ftype)
        yield k0, k0 + len(R), Q @ R.T, R.sum(axis=1)


def nearest_distances(
    queries: Any,
    reference: Any,
    *,
    n_bins: int | None = None,
    stride: int = 1,
    method: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Hamming distance from each query window to its nearest reference window.

    Parameters
    ----------
    queries : array_like
        Windows ``(q, N, T)``.
    reference : array_like or WindowedSpikes
        Windows ``(n, N, T)``, or a raster ``(time, N)`` cut with ``n_bins``/``stride``.
    method : {"auto", "index", "dense"}
        Inverted spike index (sparse data) or float32 matrix products; same result.

    Returns
    -------
    distances : numpy.ndarray
        int64 ``(q,)``, number of differing bins to the nearest reference window.
    nearest : numpy.ndarray
        int64 ``(q,)``, index of that window (the first one on ties).

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.array([[[1, 0, 0]], [[0, 1, 1]]])
    >>> d, k = nearest_distances(np.array([[[0, 1, 0]], [[1, 0, 0]]]), ref)
    >>> d.tolist(), k.tolist()
    ([1, 0], [1, 0])
    """
    if method not in ("auto", "index", "dense"):
        raise ConfigError(f"`method` must be 'auto', 'index' or 'dense'. Received {method!r}.")
    ref = windowed_spikes(reference, n_bins=n_bins, stride=stride, name="reference", stride_for_windows="ignore")
    q = windowed_spikes(queries, name="queries", n_bins=ref.n_bins if np.ndim(queries) == 2 else None, stride_for_windows="ignore")
    if (q.n_neurons, q.n_bins) != (ref.n_neurons, ref.n_bins):
        raise SpikeDataError(
            f"`queries` windows are {q.n_neurons} neurons x {q.n_bins} bins but the reference "
            f"windows are {ref.n_neurons} x {ref.n_bins}."
        )
    Q = q.take(np.arange(q.n_windows)) if q.kind == "raster" else q.windows()
    qn = Q.reshape(len(Q), -1).sum(axis=1, dtype=np.int64)
    best = np.full(len(Q), np.iinfo(np.int64).max, dtype=np.int64)
    arg = np.zeros(len(Q), dtype=np.int64)
    index = None
    if method != "dense":
        index = _Index(ref)
        if method == "auto":
            D = ref.n_neurons * ref.n_bins
            if _PAIR_COST * index.query_cost(Q) > float(len(Q)) * ref.n_windows * D:
                index = None
    if index is not None:
        for q0, ov in index.overlaps(Q):
            h = qn[q0 : q0 + len(ov), None] + index.counts[None, :] - 2 * ov
            arg[q0 : q0 + len(ov)] = h.argmin(axis=1)
            best[q0 : q0 + len(ov)] = h[np.arange(len(ov)), arg[q0 : q0 + len(ov)]]
        return best, arg
    for k0, _k1, ov, rn in _dense_overlaps(Q, ref):
        h = (qn[:, None] + rn[None, :].astype(np.int64) - 2 * ov.astype(np.int64))
        j = h.argmin(axis=1)
        hj = h[np.arange(len(h)), j]
        better = hj < best
        best[better] = hj[better]
        arg[better] = j[better] + k0
    return best, arg


def _summary(d: np.ndarray | None, n_bits: int) -> dict[str, Any] | None:
    if d is None:
        return None
    return {
        "n": int(d.size),
        "mean": float(d.mean()),
        "median": float(np.median(d)),
        "min": int(d.min()),
        "p05": float(np.quantile(d, 0.05)),
        "mean_fraction_of_bins": float(d.mean() / n_bits),
        "exact_copy_fraction": float(np.mean(d == 0)),
    }


@dataclass(frozen=True, eq=False)
class MemorizationResult:
    """Nearest-training-window distances of generated and held-out windows.

    Attributes
    ----------
    generated_distances, held_out_distances : numpy.ndarray
        Hamming distance of each checked window to its nearest training window
        (``held_out_distances`` is None without held-out data).
    generated_nearest, held_out_nearest : numpy.ndarray
        Index of that training window.
    generated_indices, held_out_indices : numpy.ndarray
        Which windows were checked (a random subsample, see ``n_queries``).
    n_train : int
        Number of training windows searched.
    n_bits : int
        Bins per window (``n_neurons * n_bins``).
    """

    generated_distances: np.ndarray
    generated_nearest: np.ndarray
    generated_indices: np.ndarray
    held_out_distances: np.ndarray | None
    held_out_nearest: np.ndarray | None
    held_out_indices: np.ndarray | None
    n_train: int
    n_bits: int

    @property
    def copy_fraction(self) -> float:
        """Fraction of checked generated windows identical to a training window."""
        return float(np.mean(self.generated_distances == 0))

    @property
    def held_out_copy_fraction(self) -> float | None:
        """The same for held-out real windows (None without them)."""
        if self.held_out_distances is None:
            return None
        return float(np.mean(self.held_out_distances == 0))

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (means, median, 5% quantile, exact-copy fractions)."""
        return {
            "n_train": self.n_train,
            "n_bits": self.n_bits,
            "generated": _summary(self.generated_distances, self.n_bits),
            "held_out": _summary(self.held_out_distances, self.n_bits),
        }


def _subsample(n: int, n_queries: int | None, rng: np.random.Generator) -> np.ndarray:
    if n_queries is None or n_queries >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=n_queries, replace=False))


def memorization(
    generated: Any,
    train: Any,
    held_out: Any = None,
    *,
    n_bins: int | None = None,
    stride: int = 1,
    n_queries: int | None = DEFAULT_N_QUERIES,
    seed: int | None = 0,
    method: str = "auto",
) -> MemorizationResult:
    """Nearest-training-window Hamming distances of generated vs held-out real windows.

    Parameters
    ----------
    generated : array_like
        Generated windows ``(n, N, T)`` (or a raster with ``n_bins``).
    train : array_like
        Training windows, or the training raster with ``n_bins``/``stride``.
    held_out : array_like, optional
        Held-out real windows or raster (the control).
    n_bins, stride : int
        How rasters are cut into windows.
    n_queries : int or None
        Check a random subsample of at most this many generated (and held-out)
        windows; None checks all.
    seed : int
        Seed of the subsample.
    method : {"auto", "index", "dense"}
        See :func:`nearest_distances`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> train = (rng.random((200, 3, 4)) < 0.3).astype(np.uint8)
    >>> r = memorization(train[:50], train, n_queries=20, seed=1)
    >>> r.copy_fraction
    1.0
    """
    seed = check_seed(seed)
    if n_queries is not None:
        n_queries = check_positive_int(n_queries, "n_queries")
    ref = windowed_spikes(train, n_bins=n_bins, stride=stride, name="train", stride_for_windows="ignore")
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for label, data in (("generated", generated), ("held_out", held_out)):
        if data is None:
            out.update({f"{label}_distances": None, f"{label}_nearest": None,
                        f"{label}_indices": None})
            continue
        src = windowed_spikes(data, n_bins=n_bins if np.ndim(data) == 2 else None, stride=stride,
                           name=label, stride_for_windows="ignore")
        if (src.n_neurons, src.n_bins) != (ref.n_neurons, ref.n_bins):
            raise SpikeDataError(
                f"`{label}` windows are {src.n_neurons} neurons x {src.n_bins} bins but the "
                f"training windows are {ref.n_neurons} x {ref.n_bins}."
            )
        idx = _subsample(src.n_windows, n_queries, rng)
        d, k = nearest_distances(src.take(idx), ref, method=method)
        out.update({f"{label}_distances": d, f"{label}_nearest": k, f"{label}_indices": idx})
    return MemorizationResult(n_train=ref.n_windows, n_bits=ref.n_neurons * ref.n_bins, **out)

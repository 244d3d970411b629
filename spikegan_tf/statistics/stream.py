"""Reading windows block by block: large inputs checked in chunks, memory-mapped pages released,
and the evenly spaced subsample of windows that the pairwise statistics may be limited to.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from spikegan_tf.data.source import EXACT_F32, WindowedSpikes, windowed_spikes
from spikegan_tf.validation import check_binary, check_positive_int, release_pages

__all__ = []

# memory-mapped windows, and windows larger than this, are checked chunk by chunk: the
# validator's checks build temporaries three times as large as the array, which a
# memory-mapped 100,000 x 1,024 x 64 set (6.5 GB) cannot afford
_CHUNKED_CHECK_BYTES = 1 << 26
_CHECK_CHUNK_BYTES = 1 << 26


def _source(data: Any, n_bins: Any, stride: Any) -> WindowedSpikes:
    """:func:`windowed_spikes` of ``data``; large uint8/bool windows are checked in chunks.

    Examples
    --------
    >>> _source(np.zeros((3, 2, 4), np.uint8), None, 1).shape
    (3, 2, 4)
    """
    if not (isinstance(data, np.ndarray) and data.ndim == 3 and data.dtype in (np.uint8, np.bool_)
            and (isinstance(data, np.memmap) or data.nbytes > _CHUNKED_CHECK_BYTES)):
        return windowed_spikes(data, n_bins=n_bins, stride=stride, stride_for_windows="ignore")
    windowed_spikes(data[:1], n_bins=n_bins, stride=stride, stride_for_windows="ignore")
    windows = data.view(np.uint8)
    per = max(1, _CHECK_CHUNK_BYTES // max(1, windows[0].nbytes))
    for k0 in range(0, len(windows), per):
        chunk = windows[k0:k0 + per]
        if chunk.max() > 1:
            check_binary(chunk, "data")  # raises the validator's message
        release_pages(chunk)
    return WindowedSpikes("windows", windows, int(windows.shape[2]), 1, int(windows.shape[0]))


def _windows_per_block(src: WindowedSpikes, block_rows: int) -> int:
    return max(1, min(block_rows // src.n_bins, EXACT_F32 // src.n_bins))


def _window_blocks(src: WindowedSpikes, block_rows: int) -> Iterator[np.ndarray]:
    """Consecutive windows ``(B, N, T)`` (C-contiguous uint8) of a set of windows."""
    per = _windows_per_block(src, block_rows)
    for k0 in range(0, src.n_windows, per):
        view = src.spikes[k0:k0 + per]
        yield np.ascontiguousarray(view)
        release_pages(view)


def _raster_blocks(src: WindowedSpikes, block_rows: int) -> Iterator[tuple[np.ndarray, int, int]]:
    """:meth:`WindowedSpikes.blocks` of a raster, releasing memory-mapped pages after each."""
    for X, s, nw in src.blocks(block_rows):
        yield X, s, nw
        release_pages(X)


def _subsample_blocks(src: WindowedSpikes, index: np.ndarray,
                      block_rows: int) -> Iterator[np.ndarray]:
    """The windows ``index`` (increasing) as blocks ``(B, N, T)``."""
    per = _windows_per_block(src, block_rows)
    for k0 in range(0, index.size, per):
        yield _take(src, index[k0:k0 + per])


def _take(src: WindowedSpikes, index: np.ndarray, chunk: int = 64) -> np.ndarray:
    """A copy of the windows ``index`` (increasing), releasing memory-mapped pages as it goes
    (the kernel may map much more than the windows read)."""
    out = np.empty((index.size, src.n_neurons, src.n_bins), np.uint8)
    for k0 in range(0, index.size, chunk):
        idx = index[k0:k0 + chunk]
        out[k0:k0 + idx.size] = src.take(idx)
        first, last = int(idx[0]), int(idx[-1])
        if src.kind == "windows":
            release_pages(src.spikes[first:last + 1])
        else:
            release_pages(src.spikes[first * src.stride:last * src.stride + src.n_bins])
    return out


def _pair_subsample(n_windows: int, pair_windows: Any) -> np.ndarray | None:
    """Indices of the windows the pairwise statistics use (None: all of them).

    ``pair_windows`` evenly spaced windows, ``k * n_windows // pair_windows``.

    Examples
    --------
    >>> _pair_subsample(10, 4).tolist(), _pair_subsample(10, 10), _pair_subsample(10, None)
    ([0, 2, 5, 7], None, None)
    """
    if pair_windows is None:
        return None
    m = check_positive_int(pair_windows, "pair_windows")
    if m >= n_windows:
        return None
    return np.arange(m, dtype=np.int64) * n_windows // m

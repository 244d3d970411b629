"""Where the statistics read windows from: explicit windows or a raster cut into (overlapping) windows,
in blocks, without materialising the overlaps.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from spikegan_tf.data import windowed_spikes
from spikegan_tf.errors import ConfigError

__all__ = [
    "WindowSource",
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

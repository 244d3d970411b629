"""Windows, or a raster plus ``n_bins``/``stride``: one validated description.

Training, the baselines and the statistics all accept either windows
``(n_samples, n_neurons, n_bins)`` or a raster ``(n_time_bins, n_neurons)`` cut
into windows of ``n_bins`` bins, one every ``stride`` bins. :func:`windowed_spikes`
checks such input once, at the public boundary, and returns a
:class:`WindowedSpikes` that the callers trust; the windows of a raster are
never materialised here (see :func:`spikegan_tf.data.window_view`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from spikegan_tf.data.windows import n_windows as _n_windows
from spikegan_tf.data.windows import window_view as _window_view
from spikegan_tf.errors import ConfigError, SpikeDataError, WindowingError
from spikegan_tf.validation import (
    check_binary,
    check_positive_int,
    check_raster,
    check_windows,
    where,
)

__all__ = ["WindowedSpikes", "windowed_spikes", "as_windows", "neuron_rates", "BLOCK_ROWS",
           "EXACT_F32"]

BLOCK_ROWS = 1 << 16  # raster rows processed at once (~13 MiB as float32 for 50 neurons)
EXACT_F32 = 1 << 24  # integers up to this are exact in float32


@dataclass(frozen=True)
class WindowedSpikes:
    """Validated spikes and the windows they are cut into.

    Attributes
    ----------
    kind : {"raster", "windows"}
        Layout of ``spikes``.
    spikes : numpy.ndarray
        ``uint8`` 0/1: the whole raster ``(n_time_bins, n_neurons)``, or the
        windows ``(n_samples, n_neurons, n_bins)``.
    n_bins : int
        Bins per window.
    stride : int
        Bins between the starts of consecutive windows of a raster; 1 for windows.
    n_windows : int
        Number of windows (at least 1).
    source : str or None
        File the spikes came from, for error messages.
    key, bin_width : optional
        The ``key`` and ``bin_width`` of the recording that was unwrapped, if any.
    """

    kind: str
    spikes: np.ndarray
    n_bins: int
    stride: int
    n_windows: int
    source: str | None = None
    key: str | None = None
    bin_width: float | None = None

    @property
    def n_neurons(self) -> int:
        """Neurons per window."""
        return int(self.spikes.shape[1])

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(n_windows, n_neurons, n_bins)``."""
        return (self.n_windows, self.n_neurons, self.n_bins)

    @property
    def n_time_bins(self) -> int:
        """Single bins in ``spikes`` (a raster's length, or windows x bins)."""
        if self.kind == "raster":
            return int(self.spikes.shape[0])
        return int(self.spikes.shape[0] * self.spikes.shape[2])

    def windows(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Windows ``start:stop`` ``(n, n_neurons, n_bins)`` (a read-only view for a raster).

        Examples
        --------
        >>> w = windowed_spikes(np.eye(6, 2, dtype=np.uint8), n_bins=4, stride=2)
        >>> w.windows().shape, w.windows(1)[0, :, 0].tolist()
        ((2, 2, 4), [0, 0])
        """
        stop = self.n_windows if stop is None else min(stop, self.n_windows)
        if self.kind == "windows":
            return self.spikes[start:stop]
        return _window_view(self.spikes, self.n_bins, self.stride)[start:stop]

    def take(self, indices: Any) -> np.ndarray:
        """A copy of the windows at ``indices``, uint8 ``(len(indices), n_neurons, n_bins)``."""
        idx = np.asarray(indices, dtype=np.int64)
        if self.kind == "windows":
            return self.spikes[idx]
        return np.ascontiguousarray(_window_view(self.spikes, self.n_bins, self.stride)[idx])

    def iter_windows(self, chunk: int) -> Iterator[np.ndarray]:
        """Consecutive chunks of at most ``chunk`` windows."""
        for start in range(0, self.n_windows, chunk):
            yield self.windows(start, start + chunk)

    def blocks(self, block_rows: int = BLOCK_ROWS) -> Iterator[tuple[np.ndarray, int, int]]:
        """``(raster_block, stride, n_windows)`` covering every window once, in order.

        Windows are laid end to end (stride ``n_bins``); a raster is cut into
        blocks of about ``block_rows`` rows that overlap by ``n_bins - stride``,
        each holding at most ``EXACT_F32 // n_bins`` windows, so that sums over
        the windows of one block are exact in float32.
        """
        T = self.n_bins
        if self.kind == "windows":
            per = max(1, block_rows // T)
            for start in range(0, self.n_windows, per):
                w = self.spikes[start:start + per]
                yield (np.ascontiguousarray(w.transpose(0, 2, 1)).reshape(-1, self.n_neurons),
                       T, len(w))
            return
        s = self.stride
        per = max(1, min((block_rows - T) // s + 1, EXACT_F32 // T))
        for k0 in range(0, self.n_windows, per):
            nw = min(per, self.n_windows - k0)
            a0 = k0 * s
            yield self.spikes[a0:a0 + (nw - 1) * s + T], s, nw

    def neuron_rates(self) -> np.ndarray:
        """Firing probability of each neuron ``(n_neurons,)`` over ``spikes`` (float64)."""
        return neuron_rates(self.spikes)


def neuron_rates(windows_or_raster: np.ndarray) -> np.ndarray:
    """Firing probability per neuron ``(n_neurons,)`` of a raster or of windows.

    Examples
    --------
    >>> neuron_rates(np.array([[1, 0], [0, 0]], np.uint8)).tolist()
    [0.5, 0.0]
    """
    axes = 0 if windows_or_raster.ndim == 2 else (0, 2)
    return windows_or_raster.mean(axis=axes, dtype=np.float64)


def as_windows(data: Any, name: str = "spikes") -> np.ndarray:
    """Validated windows ``(n, n_neurons, n_bins)`` of an array of windows or a :class:`WindowedSpikes`.

    For the consumers that need every window as an array (importance maps).

    Examples
    --------
    >>> w = windowed_spikes(np.zeros((10, 2), np.uint8), n_bins=4, stride=3)
    >>> as_windows(w).shape, as_windows(np.zeros((5, 2, 4), np.uint8)).shape
    ((3, 2, 4), (5, 2, 4))
    """
    return np.ascontiguousarray(windowed_spikes(data, name=name).windows())


def _unwrap(data: Any, source: str | None) -> tuple[Any, str | None, str | None, float | None]:
    """Take the array, file, key and bin width out of a recording-like object."""
    if not hasattr(data, "spikes") or isinstance(data, np.ndarray):
        return data, source, None, None
    if source is None:
        source = getattr(data, "source", None) or getattr(data, "path", None)
    return data.spikes, source, getattr(data, "key", None), getattr(data, "bin_width", None)


def windowed_spikes(
    data: Any,
    *,
    n_bins: Any = None,
    stride: Any = None,
    name: str = "data",
    source: str | None = None,
    stride_for_windows: str = "reject",
) -> WindowedSpikes:
    """Validate windows, or a raster with ``n_bins`` (and ``stride``), once.

    Parameters
    ----------
    data : array_like, SpikeRecording or WindowedSpikes
        Windows ``(n_samples, n_neurons, n_bins)`` or a raster
        ``(n_time_bins, n_neurons)`` of 0/1 values, or an object with a
        ``spikes`` attribute (a :class:`spikegan_tf.data.SpikeRecording`), whose
        ``source`` (or ``path``), ``key`` and ``bin_width`` are kept.
    n_bins : int, optional
        Bins per window: required for a raster; for windows it may be given and
        must equal their number of bins.
    stride : int, optional
        Bins between window starts in a raster (default 1).
    name : str
        Argument name of ``data`` in error messages (``"data"``, ``"spikes"``...).
    source : str, optional
        File the data came from, for error messages; default: the recording's.
    stride_for_windows : {"reject", "ignore"}
        What a ``stride`` other than None or 1 does with windows: raise, or
        nothing (for callers that pass one stride for any input).

    Returns
    -------
    WindowedSpikes

    Raises
    ------
    SpikeDataError
        ``data`` is not 2- or 3-dimensional, or not 0/1 values.
    WindowingError
        (a :class:`SpikeDataError` and a :class:`ConfigError`) a raster without
        ``n_bins`` or shorter than one window, windows that disagree with
        ``n_bins``, or a ``stride`` given for windows.
    ConfigError
        ``n_bins`` or ``stride`` is not a positive integer.

    Examples
    --------
    >>> import numpy as np
    >>> w = windowed_spikes(np.zeros((100, 3), np.uint8), n_bins=8, stride=4)
    >>> w.kind, w.n_windows, w.n_neurons, w.spikes.shape
    ('raster', 24, 3, (100, 3))
    >>> windowed_spikes(np.zeros((5, 3, 8)), n_bins=8).n_windows
    5
    >>> windowed_spikes(np.zeros((100, 3)), name="spikes")
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.WindowingError: `n_bins` is required when `spikes` is a raster ...
    """
    if stride_for_windows not in ("reject", "ignore"):
        raise ConfigError(
            "`stride_for_windows` must be 'reject' or 'ignore'. "
            f"Received {stride_for_windows!r}."
        )
    if isinstance(data, WindowedSpikes):  # validated already: check only the window length
        if n_bins is not None and check_positive_int(n_bins, "n_bins") != data.n_bins:
            raise WindowingError(f"`n_bins` ({n_bins}) does not match the {data.n_bins}-bin "
                                 f"windows of `{name}`.")
        return data
    data, source, key, bin_width = _unwrap(data, source)
    source = None if source is None else str(source)
    loc = where(source)
    try:
        arr = data if isinstance(data, np.ndarray) else np.asarray(data)
    except Exception:  # ragged lists and the like: the validator's message
        check_binary(data, name, source=source)
        raise
    if arr.ndim == 3:
        windows = check_windows(arr, name, source=source)
        if n_bins is not None and check_positive_int(n_bins, "n_bins") != windows.shape[2]:
            raise WindowingError(
                f"`n_bins` disagrees with `{name}`: n_bins={n_bins} was requested, but "
                f"`{name}` holds windows of {windows.shape[2]} bins (shape {windows.shape} = "
                f"(n_samples, n_neurons, n_bins)){loc}. Leave `n_bins` out for windows."
            )
        if stride_for_windows == "reject" and stride not in (None, 1):
            raise WindowingError(
                f"`stride` applies only to a raster; `{name}` holds windows {windows.shape} "
                f"(n_samples, n_neurons, n_bins){loc}. Received stride={stride!r}; leave "
                "`stride` out for windows."
            )
        return WindowedSpikes("windows", windows, int(windows.shape[2]), 1,
                              int(windows.shape[0]), source, key, bin_width)
    if arr.ndim == 2:
        raster = check_raster(arr, name, source=source)
        if n_bins is None:
            raise WindowingError(
                f"`n_bins` is required when `{name}` is a raster (time_bins, neurons); "
                f"received a raster of shape {raster.shape}{loc}: pass `n_bins` (and "
                "`stride`) to cut it into windows."
            )
        n_bins = check_positive_int(n_bins, "n_bins")
        stride = 1 if stride is None else check_positive_int(stride, "stride")
        count = _n_windows(raster.shape[0], n_bins, stride)
        if count == 0:
            raise WindowingError(
                f"`{name}` has {raster.shape[0]} time bins{loc}, fewer than one window of "
                f"n_bins={n_bins}: the raster (shape {raster.shape}) is too short. Use a "
                "smaller `n_bins` or a longer recording."
            )
        return WindowedSpikes("raster", raster, n_bins, stride, count, source, key, bin_width)
    dims = f"{arr.ndim} dimension{'' if arr.ndim == 1 else 's'}"
    raise SpikeDataError(
        f"`{name}` must be a raster (time_bins, n_neurons) or windows (n_samples, n_neurons, "
        f"n_bins). Received shape {arr.shape} ({dims}){loc}; give windows (3-D) or a raster "
        "(2-D)."
    )

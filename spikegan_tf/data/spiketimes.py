"""Spike times to binary rasters, and the CSV spike-time reader.

Bins are half-open intervals ``[start + k * bin_width, start + (k + 1) * bin_width)``;
``start`` is 0 unless given: time 0 is the origin of the recording, so a unit's
rate is its spike count over the time since 0, not since the first spike.
A raster holds at most one spike per neuron and bin: a bin with more spikes is
an error unless ``clip=True`` keeps one (or choose a smaller bin width).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.params import Integer, Real, check_param
from spikegan_tf.validation import csv_row_problem, where

__all__ = ["raster_from_spike_times", "read_csv_spike_times"]

# bin coordinates are rounded to this many decimals before flooring, so that
# e.g. t=0.3 s with 0.1 s bins falls in bin 3 despite floating-point error
_BIN_DECIMALS = 9


def raster_from_spike_times(
    times: Any,
    units: Any = None,
    *,
    bin_width: float,
    start: float | None = None,
    stop: float | None = None,
    n_units: int | None = None,
    clip: bool = False,
    source: str | None = None,
    unit_ids: Sequence[Any] | None = None,
) -> np.ndarray:
    """Bin spike times (seconds) into a binary raster ``(n_time_bins, n_units)``.

    Parameters
    ----------
    times : array_like or list of array_like
        Spike times in seconds: one flat array (with ``units`` giving each
        spike's unit, or a single unit when ``units`` is None), or a list with
        one array of times per unit (``units`` None).
    units : array_like of int, optional
        Unit (column) index of each spike, ``0 <= unit < n_units``.
    bin_width : float
        Bin width in seconds.
    start : float, optional
        Start of the first bin. Default 0 (the origin of the spike times);
        negative times then are an error. Spikes before an explicit ``start``
        are dropped.
    stop : float, optional
        End of the binned span (exclusive); spikes outside ``[start, stop)`` are
        dropped. Default: just after the last spike.
    n_units : int, optional
        Number of columns. Default: the largest unit index + 1.
    clip : bool
        Keep one spike when a bin holds several, instead of raising.
    source : str, optional
        File the times came from, quoted in error messages.
    unit_ids : sequence, optional
        Label of each column, used in error messages (default: the index).

    Returns
    -------
    numpy.ndarray
        ``uint8`` raster ``(n_time_bins, n_units)``.

    Raises
    ------
    SpikeDataError
        Non-finite times or bad unit indices; negative times without an
        explicit ``start``; several spikes in one bin of a unit without
        ``clip``; no spike to bin.
    ConfigError
        Bad ``bin_width``, ``start``/``stop`` or ``n_units``.

    Examples
    --------
    >>> raster_from_spike_times([0.0, 0.25, 0.31], [0, 1, 0], bin_width=0.1)
    array([[1, 0],
           [0, 0],
           [0, 1],
           [1, 0]], dtype=uint8)
    >>> raster_from_spike_times([0.0, 0.05], bin_width=0.1)
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.SpikeDataError: Unit 0 has 2 spikes in bin 0 (0 to 0.1 s), but a raster holds at most one spike per bin (1 bin of 1 unit has several). Pass clip=True (--clip) to keep one spike per bin, or use a bin width smaller than 0.1 s.
    """
    loc = where(source)
    bin_width = _positive_float(bin_width, "bin_width")
    times, units = _flatten(times, units, loc)
    if times.size and not np.isfinite(times).all():
        bad = int((~np.isfinite(times)).sum())
        raise SpikeDataError(f"Spike times must be finite. Received {bad} NaN/infinite times{loc}.")
    if n_units is None:
        if units.size == 0:
            raise SpikeDataError(f"No spike times to bin{loc}: give `n_units` and `stop`.")
        n_units = int(units.max()) + 1
    else:
        check_param("n_units", n_units, Integer(min=1))
    if units.size and (units.min() < 0 or units.max() >= n_units):
        raise SpikeDataError(
            f"Unit indices must lie in [0, {n_units - 1}]. Received indices from "
            f"{int(units.min())} to {int(units.max())}{loc}."
        )

    if start is None:
        _check_not_negative(times, loc)
        start = 0.0
    start = _finite_float(start, "start")
    if stop is None:
        if times.size == 0:
            raise SpikeDataError(f"No spike times to bin{loc}: give `stop`.")
        last = float(times.max())
        if last < start:
            raise ConfigError(
                f"`start` ({start} s) is after the last spike ({last} s){loc}."
            )
        n_bins = int(np.floor(np.round((last - start) / bin_width, _BIN_DECIMALS))) + 1
    else:
        stop = _finite_float(stop, "stop")
        if stop <= start:
            raise ConfigError(
                f"`stop` must be greater than `start`. Received start={start}, stop={stop}."
            )
        n_bins = int(np.ceil(np.round((stop - start) / bin_width, _BIN_DECIMALS)))

    k = np.floor(np.round((times - start) / bin_width, _BIN_DECIMALS)).astype(np.int64)
    keep = (k >= 0) & (k < n_bins)
    if stop is not None:
        keep &= times < stop
    k, u = k[keep], units[keep]

    raster = np.zeros((n_bins, n_units), dtype=np.uint8)
    if k.size == 0:
        return raster
    flat = k * n_units + u
    if not clip:
        uniq, counts = np.unique(flat, return_counts=True)
        if (counts > 1).any():
            first = int(np.argmax(counts > 1))
            bad_bin, bad_unit = divmod(int(uniq[first]), n_units)
            n_bad = int((counts > 1).sum())
            n_bad_units = int(np.unique(uniq[counts > 1] % n_units).size)
            label = unit_ids[bad_unit] if unit_ids is not None else bad_unit
            t0 = start + bad_bin * bin_width
            raise SpikeDataError(
                f"Unit {label} has {int(counts[first])} spikes in bin {bad_bin} "
                f"({t0:.6g} to {t0 + bin_width:.6g} s){loc}, but a raster holds at most one "
                f"spike per bin ({n_bad} bin{'s' if n_bad > 1 else ''} of {n_bad_units} "
                f"unit{'s' if n_bad_units > 1 else ''} "
                f"{'have' if n_bad > 1 else 'has'} several). Pass clip=True (--clip) to keep "
                f"one spike per bin, or use a bin width smaller than {bin_width:g} s."
            )
    raster.reshape(-1)[flat] = 1
    return raster


def read_csv_spike_times(
    path: str, *, units: Sequence[Any] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a CSV of spike times: one ``time,unit`` row per spike.

    A first line that is not numeric is taken as a header. A single column is
    read as the times of one unit. Unit ids must be integers; they are mapped
    to raster columns in increasing order (or in the order of ``units``).

    Times are seconds from the origin of the recording: a negative time is an
    error naming the file and the line.

    Returns
    -------
    times : numpy.ndarray of float64
    unit_index : numpy.ndarray of int64
        Column of each spike.
    unit_ids : numpy.ndarray of int64
        Unit id of each column.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "s.csv")
    >>> _ = open(p, "w").write("time,unit\\n0.5,7\\n0.1,3\\n")
    >>> t, idx, ids = read_csv_spike_times(p)
    >>> t.tolist(), idx.tolist(), ids.tolist()
    ([0.5, 0.1], [1, 0], [3, 7])
    """
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise SpikeDataError(
            f"File '{path}' is not a text CSV file (it is binary). Expected rows 'time,unit'."
        ) from None
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise SpikeDataError(
            f"File '{path}' holds no spike times. Expected rows 'time,unit' (seconds, unit id)."
        )
    skip = first
    if not _is_numeric_row(lines[first]):
        skip = first + 1  # header
    if not any(line.strip() for line in lines[skip:]):
        raise SpikeDataError(
            f"File '{path}' holds no spike times. Expected rows 'time,unit' (seconds, unit id)."
        )
    try:
        data = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=skip, ndmin=2, dtype=np.float64)
    except ValueError as exc:
        detail = csv_row_problem(lines, skip) or str(exc).rstrip(".")
        raise SpikeDataError(
            f"File '{path}' is not a CSV of spike times: {detail}. Expected numeric rows "
            "'time,unit' (seconds, integer unit id), with an optional header line."
        ) from None
    if data.size == 0:
        raise SpikeDataError(
            f"File '{path}' holds no spike times. Expected rows 'time,unit' (seconds, unit id)."
        )
    if data.shape[1] == 1:
        times, raw_units = data[:, 0], np.zeros(data.shape[0])
    elif data.shape[1] == 2:
        times, raw_units = data[:, 0], data[:, 1]
    else:
        raise SpikeDataError(
            f"File '{path}' has {data.shape[1]} columns. Expected 2 columns 'time,unit' "
            "(or 1 column of times of a single unit)."
        )
    negative = times < 0
    if negative.any():
        first_bad = int(np.argmax(negative))
        raise SpikeDataError(
            f"File '{path}' has {int(negative.sum())} negative spike time(s), the first "
            f"{times[first_bad]:g} s in data row {first_bad + 1}. Expected times in seconds "
            "from the start of the recording (>= 0); shift them, or bin from an earlier "
            "origin with raster_from_spike_times(..., start=...)."
        )
    if not np.isfinite(raw_units).all() or (raw_units != np.round(raw_units)).any():
        raise SpikeDataError(
            f"The unit column of file '{path}' must hold integer unit ids. Received non-integer "
            "values."
        )
    ids_per_spike = raw_units.astype(np.int64)
    present = np.unique(ids_per_spike)
    if units is None:
        unit_ids = present
    else:
        unit_ids = select_unit_ids(units, present, f"file '{path}'")
        keep = np.isin(ids_per_spike, unit_ids)
        times, ids_per_spike = times[keep], ids_per_spike[keep]
    order = np.argsort(unit_ids, kind="stable")
    pos = np.searchsorted(unit_ids[order], ids_per_spike)
    unit_index = order[pos].astype(np.int64)
    return times, unit_index, unit_ids


def select_unit_ids(units: Sequence[Any], present: np.ndarray, where: str) -> np.ndarray:
    """Validate the unit ids a user selected against the ids ``present`` in ``where``.

    Returns the selected ids (int64) in the user's order; ``where`` names the
    file in error messages (e.g. ``"file 'x.csv'"``).
    """
    try:
        wanted = np.asarray(list(units))
    except TypeError:
        wanted = np.asarray([units])
    if wanted.size == 0 or wanted.dtype.kind not in "iu":
        raise ConfigError(f"`units` must be a non-empty list of integer unit ids. Received {units!r}.")
    if np.unique(wanted).size != wanted.size:
        raise ConfigError(f"`units` lists a unit more than once: {wanted.tolist()}.")
    missing = wanted[~np.isin(wanted, present)]
    if missing.size:
        shown = ", ".join(str(i) for i in present[:20]) + (" ..." if present.size > 20 else "")
        raise SpikeDataError(
            f"Unit(s) {', '.join(str(i) for i in missing)} not found in {where}. "
            f"Units present: {shown}."
        )
    return wanted.astype(np.int64)


def _check_not_negative(times: np.ndarray, loc: str) -> None:
    negative = times < 0
    if negative.any():
        raise SpikeDataError(
            f"Spike times must be >= 0 s (time 0 is the origin of the raster). Received "
            f"{int(negative.sum())} negative time(s), the smallest {float(times.min()):g} s{loc}. "
            "Pass `start` (--start) to bin from an earlier origin."
        )


def _is_numeric_row(line: str) -> bool:
    try:
        [float(x) for x in line.split(",")]
    except ValueError:
        return False
    return True


def _flatten(times: Any, units: Any, loc: str) -> tuple[np.ndarray, np.ndarray]:
    if units is None and isinstance(times, (list, tuple)) and times and all(
        np.ndim(t) == 1 for t in times
    ):
        per_unit = [_float_array(t, loc) for t in times]
        flat_times = np.concatenate(per_unit) if per_unit else np.zeros(0)
        flat_units = np.repeat(np.arange(len(per_unit)), [t.size for t in per_unit])
        return flat_times, flat_units.astype(np.int64)
    flat_times = _float_array(times, loc)
    if units is None:
        return flat_times, np.zeros(flat_times.size, dtype=np.int64)
    u = np.asarray(units)
    if u.ndim != 1 or u.shape[0] != flat_times.shape[0]:
        raise SpikeDataError(
            f"`units` must give one unit per spike time: expected shape ({flat_times.size},). "
            f"Received shape {u.shape}{loc}."
        )
    if u.size and (u.dtype.kind not in "iuf" or (u != np.round(u)).any()):
        raise SpikeDataError(f"`units` must hold integer unit indices. Received dtype {u.dtype}{loc}.")
    return flat_times, u.astype(np.int64)


def _float_array(x: Any, loc: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "iuf" and arr.size:
        raise SpikeDataError(
            f"Spike times must be real numbers (seconds). Received dtype {arr.dtype}{loc}."
        )
    if arr.ndim != 1:
        raise SpikeDataError(
            f"Spike times must be a 1-D array. Received shape {arr.shape}{loc}."
        )
    return arr.astype(np.float64)


#: a duration: what ``bin_width`` accepts (also checked by :func:`spikegan_tf.data.load_spikes`)
POSITIVE_SECONDS = Real(min=0, min_open=True, kind="a number of seconds")


def _positive_float(value: Any, name: str) -> float:
    check_param(name, value, POSITIVE_SECONDS)
    return float(value)


def _finite_float(value: Any, name: str) -> float:
    check_param(name, value, Real(kind="a number of seconds"))
    return float(value)

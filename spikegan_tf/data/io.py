"""One loader for every spike file: ``load_spikes``.

Formats, chosen by the file extension:

========  ==============================================================
``.npy``   one array (``allow_pickle=False``); memory-mapped read-only above 1 GiB
``.npz``   several named arrays
``.mat``   MATLAB v4/v5/v7 (scipy) and v7.3 (HDF5, h5py)
``.csv``   spike times, one ``time,unit`` row per spike (needs ``bin_width``)
``.nwb``   the Units table of an NWB file (needs ``bin_width``; extra ``nwb``)
========  ==============================================================

A 2-D array is a raster ``(n_time_bins, n_neurons)`` (pass ``neurons_first=True``
for files stored ``(n_neurons, n_time_bins)``); a 3-D array holds windows
``(n_samples, n_neurons, n_bins)``. When a ``.npz``/``.mat`` file holds several
arrays and no ``key`` is given, the array named ``spikes`` is used (the
convention ``spikegan simulate`` writes); otherwise the only array; otherwise
the error lists the keys present. The other numeric arrays of the file are kept
in :attr:`SpikeRecording.extras` (e.g. a simulated file's ``packet_mask``).

Every problem with a file raises :class:`~spikegan_tf.errors.SpikeDataError`
naming the file, what was expected and what was received. Pickled data is never
loaded.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf.data.readers import _NPY_MAGIC, _head, _read_mat, _read_npy, _read_npz
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.params import check_param
from spikegan_tf.validation import check_binary

__all__ = ["SpikeRecording", "load_spikes", "SUPPORTED_EXTENSIONS", "DEFAULT_KEY",
           "MMAP_MIN_BYTES", "recording_conditions"]


#: file extensions :func:`load_spikes` reads
SUPPORTED_EXTENSIONS = (".npy", ".npz", ".mat", ".csv", ".nwb")
#: array name used when a file holds several arrays and no key is given
DEFAULT_KEY = "spikes"
#: ``.npy`` files larger than this are memory-mapped (read-only) instead of read into memory
MMAP_MIN_BYTES = 1 << 30



@dataclass(frozen=True, eq=False)
class SpikeRecording:
    """Binary spikes loaded from a file, with where they came from.

    Attributes
    ----------
    spikes : numpy.ndarray
        ``uint8`` 0/1 values: a raster ``(n_time_bins, n_neurons)`` when
        ``kind == "raster"``, windows ``(n_samples, n_neurons, n_bins)`` when
        ``kind == "windows"``.
    kind : {"raster", "windows"}
        Layout of ``spikes``.
    source : str or None
        Path of the file read, or None for arrays built in memory.
    key : str or None
        Name of the array used inside a ``.npz``/``.mat`` file.
    bin_width : float or None
        Width of a time bin in seconds, when known.
    extras : dict of str to numpy.ndarray
        The file's other numeric (or string) arrays, e.g. a simulated file's
        ground truth ``packet_mask`` and JSON ``metadata``, or ``unit_ids`` for
        spike-time files; may be empty.

    Examples
    --------
    >>> import numpy as np
    >>> rec = SpikeRecording(np.zeros((100, 3), np.uint8), kind="raster")
    >>> rec.n_neurons, rec.is_raster
    (3, True)
    """

    spikes: np.ndarray
    kind: str
    source: str | None = None
    key: str | None = None
    bin_width: float | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in ("raster", "windows"):
            raise ConfigError(
                f"`kind` must be 'raster' or 'windows'. Received {self.kind!r}."
            )
        want = 2 if self.kind == "raster" else 3
        if self.spikes.ndim != want:
            raise SpikeDataError(
                f"A {self.kind} must have {want} dimensions. Received shape {self.spikes.shape}."
            )
        if self.spikes.dtype != np.uint8:
            raise SpikeDataError(
                f"`spikes` must be uint8 (validate with check_binary). Received {self.spikes.dtype}."
            )

    @property
    def n_neurons(self) -> int:
        """Number of neurons (axis 1 in both layouts)."""
        return int(self.spikes.shape[1])

    @property
    def is_raster(self) -> bool:
        """True for a raster ``(n_time_bins, n_neurons)``, False for windows."""
        return self.kind == "raster"


def load_spikes(
    path: str | os.PathLike[str],
    *,
    key: str | None = None,
    neurons_first: bool = False,
    bin_width: float | None = None,
    start: float | None = None,
    stop: float | None = None,
    clip: bool = False,
    units: Sequence[int] | None = None,
) -> SpikeRecording:
    """Load binary spikes from ``.npy``, ``.npz``, ``.mat``, ``.csv`` or ``.nwb``.

    Parameters
    ----------
    path : str or path-like
        File to read; the extension selects the reader.
    key : str, optional
        Array to use in a ``.npz``/``.mat`` file. Default: ``"spikes"`` if
        present, else the only array.
    neurons_first : bool
        The file stores a 2-D raster as ``(n_neurons, n_time_bins)``; it is
        transposed to ``(n_time_bins, n_neurons)``.
    bin_width : float, optional
        Bin width in seconds. Required for spike times (``.csv``, ``.nwb``);
        recorded for arrays (used for rates in spikes per second).
    start, stop : float, optional
        Time span in seconds binned from spike times (``.csv``, ``.nwb``);
        default: from time 0 (the origin; negative times are an error) to the
        last spike. Not used for arrays. ``extras`` then holds ``unit_ids``
        (the unit id of each column), ``time_span`` (``[start, end)`` of the
        raster) and ``spike_time_range`` (first and last spike).
    clip : bool
        Keep one spike per bin when a bin holds several (spike times) or a
        count above 1 (arrays of counts), instead of raising.
    units : sequence of int, optional
        Units to keep: unit ids for ``.csv``/``.nwb``, neuron (column)
        indices for arrays; the order given is the neuron order.

    Returns
    -------
    SpikeRecording
        A ``.npy`` file larger than :data:`MMAP_MIN_BYTES` (1 GiB) is memory-mapped
        read-only (``numpy.load(..., mmap_mode="r")``): its ``uint8`` or ``bool`` spikes
        are checked chunk by chunk and never copied, so files larger than the memory load;
        the values are those the file holds either way.

    Raises
    ------
    SpikeDataError
        Unknown extension, unreadable/corrupt/truncated file, text posing as
        ``.npy``, pickled/object data, MATLAB structs or cell arrays, several
        arrays and no key, non-binary values, wrong number of dimensions,
        empty arrays.
    FileNotFoundError
        ``path`` does not exist.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> np.savez(os.path.join(d, "x.npz"), spikes=np.eye(4, 3, dtype=np.uint8))
    >>> rec = load_spikes(os.path.join(d, "x.npz"))
    >>> rec.kind, rec.spikes.shape, rec.key
    ('raster', (4, 3), 'spikes')
    """
    path = os.fspath(path)
    if bin_width is not None:
        bin_width = _check_bin_width(bin_width)
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, "No such file", path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "Is a directory, expected a spike file", path)
    ext = Path(path).suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise SpikeDataError(
            f"Cannot read file '{path}': unknown extension {ext or '(none)'!r}. "
            f"Expected one of {', '.join(SUPPORTED_EXTENSIONS)}."
        )

    if ext in (".csv", ".nwb"):
        if key is not None:
            raise ConfigError(f"`key` does not apply to {ext} files ('{path}'); remove it.")
        if neurons_first:
            raise ConfigError(
                f"`neurons_first` does not apply to spike-time files ('{path}'); remove it."
            )
        if bin_width is None:
            raise ConfigError(
                f"File '{path}' holds spike times: give `bin_width` (seconds per bin, "
                "e.g. 0.02) to bin them into a raster."
            )
        if ext == ".csv":
            from spikegan_tf.data.spiketimes import read_csv_spike_times

            times, unit_idx, unit_ids = read_csv_spike_times(path, units=units)
        else:
            from spikegan_tf.data.nwb import read_nwb_spike_times

            times, unit_idx, unit_ids = read_nwb_spike_times(path, units=units)
        from spikegan_tf.data.spiketimes import raster_from_spike_times

        raster = raster_from_spike_times(
            times,
            unit_idx,
            bin_width=bin_width,
            start=start,
            stop=stop,
            n_units=len(unit_ids),
            clip=clip,
            source=path,
            unit_ids=unit_ids,
        )
        origin = 0.0 if start is None else float(start)
        extras = {
            "unit_ids": np.asarray(unit_ids),
            # [origin, end) of the raster and [first, last] spike time, in seconds
            "time_span": np.array([origin, origin + raster.shape[0] * bin_width]),
        }
        if times.size:
            extras["spike_time_range"] = np.array([times.min(), times.max()], np.float64)
        return SpikeRecording(
            raster,
            kind="raster",
            source=path,
            key=None,
            bin_width=bin_width,
            extras=extras,
        )

    if start is not None or stop is not None:
        raise ConfigError(
            f"`start`/`stop` select a time span of spike times (.csv, .nwb); file '{path}' "
            "holds an array: slice the raster instead."
        )
    if ext == ".npy":
        if key is not None:
            raise ConfigError(
                f"`key` does not apply to .npy files ('{path}'), which hold one array."
            )
        arrays, chosen = {None: _load_npy(path)}, None
    elif ext == ".npz":
        arrays = _read_npz(path)
        chosen = _choose_key(arrays, key, path)
    else:
        arrays = _read_mat(path)
        chosen = _choose_key(arrays, key, path)

    raw = arrays[chosen]
    if isinstance(raw, SpikeDataError):
        raise raw
    name = chosen or "spikes"
    spikes = _to_spikes(raw, name, path, neurons_first=neurons_first, clip=clip)
    if units is not None:
        spikes = _select_neurons(spikes, units, path)
    extras = {
        k: v
        for k, v in arrays.items()
        if k != chosen and isinstance(v, np.ndarray) and v.dtype.kind in "biufU"
    }
    return SpikeRecording(
        spikes,
        kind="raster" if spikes.ndim == 2 else "windows",
        source=path,
        key=chosen,
        bin_width=bin_width,
        extras=extras,
    )


# --------------------------------------------------------------------------- helpers


def _load_npy(path: str) -> np.ndarray:
    """The array of a ``.npy`` file: memory-mapped read-only when the file is larger than
    :data:`MMAP_MIN_BYTES`, else read into memory; the reader explains a file that cannot be
    mapped (pickled objects, truncated or not a ``.npy`` file)."""
    if os.path.getsize(path) > MMAP_MIN_BYTES and _head(path).startswith(_NPY_MAGIC):
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError):
            pass
    return _read_npy(path)


def _check_bin_width(bin_width: Any) -> float:
    from spikegan_tf.data.spiketimes import POSITIVE_SECONDS

    check_param("bin_width", bin_width, POSITIVE_SECONDS)
    return float(bin_width)


def _choose_key(arrays: dict[str | None, Any], key: str | None, path: str) -> str:
    names = [k for k in arrays if k is not None]
    if key is not None:
        if key not in arrays:
            raise SpikeDataError(
                f"Key '{key}' not found in file '{path}'. Keys present: {', '.join(names)}."
            )
        return key
    if DEFAULT_KEY in arrays:
        return DEFAULT_KEY
    if len(names) == 1:
        return names[0]
    raise SpikeDataError(
        f"File '{path}' holds several arrays and no key was given: pass one of "
        f"{', '.join(names)} as the key (--key). Without a key, the array named "
        f"'{DEFAULT_KEY}' is used, else the only array."
    )


def _to_spikes(
    raw: np.ndarray, name: str, path: str, *, neurons_first: bool, clip: bool
) -> np.ndarray:
    arr = raw if isinstance(raw, np.memmap) else np.asarray(raw)  # a memmap is checked in place
    if arr.dtype.kind in "biuf" and arr.ndim not in (2, 3):
        hint = ""
        if arr.ndim == 1:
            hint = " A single neuron's raster must be stored as (n_time_bins, 1)."
        raise SpikeDataError(
            f"`{name}` must have 2 dimensions (a raster: time bins x neurons) or 3 "
            f"(windows: samples x neurons x bins). Received shape {arr.shape} "
            f"({arr.ndim} dimensions) in file '{path}'.{hint}"
        )
    if clip and arr.dtype.kind in "iuf" and arr.size:
        arr = _clip_counts(arr, name, path)
    spikes = check_binary(arr, name, ndim=(2, 3), source=path)
    if neurons_first:
        if spikes.ndim != 2:
            raise SpikeDataError(
                f"`neurons_first` applies to 2-D rasters, but `{name}` in file '{path}' holds "
                f"3-D windows {spikes.shape} (samples, neurons, bins)."
            )
        spikes = np.ascontiguousarray(spikes.T)
    return spikes


def _clip_counts(arr: np.ndarray, name: str, path: str) -> np.ndarray:
    """Turn counts (non-negative integers) into 0/1; leave anything else to check_binary."""
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        return arr
    if (arr < 0).any() or (arr != np.round(arr)).any():
        return arr
    return (arr > 0).astype(np.uint8)


def _select_neurons(spikes: np.ndarray, units: Sequence[int], path: str) -> np.ndarray:
    idx = np.asarray(list(units))
    n = spikes.shape[1]
    if idx.size == 0 or idx.dtype.kind not in "iu":
        raise ConfigError(
            f"`units` must be a non-empty list of neuron indices. Received {list(units)!r}."
        )
    if idx.min() < 0 or idx.max() >= n:
        raise ConfigError(
            f"`units` must be neuron indices in [0, {n - 1}] for file '{path}' ({n} neurons). "
            f"Received {idx.tolist()}."
        )
    return np.ascontiguousarray(np.take(spikes, idx, axis=1))


def recording_conditions(recording: SpikeRecording, condition_key: str | None = None,
                         covariate_key: str | None = None) -> dict[str, np.ndarray] | None:
    """The condition arrays stored beside the spikes in the same file, by key.

    ``condition_key`` names the labels (one per window, or per time bin of a
    raster), ``covariate_key`` the covariates (``(n, n_bins[, C])`` for windows,
    ``(n_time_bins[, C])`` for a raster). A MATLAB column or row vector of
    labels is flattened. Returns the ``conditions`` argument of
    :func:`spikegan_tf.data.splits.prepare_data` (None when no key is given).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.npz")
    >>> np.savez(p, spikes=np.zeros((4, 2, 8), np.uint8), stim=[1, 2, 1, 2])
    >>> recording_conditions(load_spikes(p), "stim")["labels"].tolist()
    [1, 2, 1, 2]
    >>> recording_conditions(load_spikes(p), "speed")
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.SpikeDataError: Key 'speed' (--condition-key) not found in file '...x.npz'. Keys present: spikes, stim.
    """
    if condition_key is None and covariate_key is None:
        return None
    present = [k for k in (recording.key, *recording.extras) if k is not None]
    out: dict[str, np.ndarray] = {}
    for name, key, flag in (("labels", condition_key, "--condition-key"),
                            ("covariates", covariate_key, "--covariate-key")):
        if key is None:
            continue
        if key not in recording.extras:
            raise SpikeDataError(f"Key '{key}' ({flag}) not found in file '{recording.source}'. "
                                 f"Keys present: {', '.join(present)}.")
        arr = np.asarray(recording.extras[key])
        if name == "labels" and arr.ndim == 2 and 1 in arr.shape:
            arr = arr.ravel()
        out[name] = arr
    return out

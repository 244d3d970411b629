"""Validation of spike arrays and scalar arguments at the public boundary.

The package has one spike layout everywhere:

* **windows** are ``(n_samples, n_neurons, n_bins)``, values 0/1, stored as ``uint8``;
* **rasters** are ``(n_time_bins, n_neurons)``, values 0/1, stored as ``uint8``.

Public functions validate once, here, and internal code trusts the result.
Error messages name the argument, what was expected and what was received,
and the file the data came from when there is one.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from spikegan_tf.errors import SpikeDataError
from spikegan_tf.params import Integer, check_param

__all__ = [
    "release_pages",
    "check_binary",
    "check_windows",
    "check_raster",
    "check_seed",
    "check_positive_int",
    "csv_row_problem",
    "format_values",
    "silent_neurons_message",
    "where",
]

_MAX_VALUES_SHOWN = 10


def where(source: str | None) -> str:
    """Return ``" in file '<source>'"`` or ``""`` for use at the end of messages."""
    return f" in file '{source}'" if source else ""


def format_values(values: np.ndarray) -> str:
    """Format distinct values as ``{0, 1, 3}``, shortened when there are many.

    Examples
    --------
    >>> import numpy as np
    >>> format_values(np.array([3, 0, 1, 1]))
    '{0, 1, 3}'
    """
    uniq = np.unique(np.asarray(values).ravel())
    shown = []
    for v in uniq[:_MAX_VALUES_SHOWN]:
        v = v.item() if hasattr(v, "item") else v
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        shown.append(repr(v) if isinstance(v, str) else str(v))
    text = "{" + ", ".join(shown)
    if uniq.size > _MAX_VALUES_SHOWN:
        text += f", ... ({uniq.size} distinct values)"
    return text + "}"


def check_binary(
    x: Any,
    name: str = "spikes",
    *,
    ndim: int | tuple[int, ...] | None = None,
    source: str | None = None,
) -> np.ndarray:
    """Check that ``x`` is a non-empty array of 0/1 values and return it as ``uint8``.

    The values are checked in chunks of about 64 MiB along the first axis, so the check
    needs no array-sized temporaries: a ``numpy.memmap`` larger than the memory is read
    once, chunk by chunk, never copied, and the pages of a shared or read-only map are
    released after each chunk.

    Parameters
    ----------
    x : array_like
        Candidate spike array (bool, integer or float holding 0/1).
    name : str
        Argument name used in error messages.
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    source : str, optional
        File the array came from, quoted in error messages.

    Returns
    -------
    numpy.ndarray
        The same values as ``uint8``. No copy when ``x`` already is ``uint8`` (a
        ``numpy.memmap`` stays one) and none for ``bool``, whose bytes are viewed as
        ``uint8``; other dtypes are converted.

    Raises
    ------
    SpikeDataError
        For complex, object or string arrays, wrong dimensions, empty arrays,
        NaN/inf, negative, fractional or non-binary values.

    Examples
    --------
    >>> check_binary([[0, 1], [1, 0]], ndim=2).dtype
    dtype('uint8')
    >>> mask = np.array([True, False])
    >>> np.shares_memory(check_binary(mask), mask)
    True
    >>> check_binary([0, 1, 3])
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.SpikeDataError: `spikes` must be binary (0/1). Received values {0, 1, 3}. ...
    """
    loc = where(source)
    try:
        # a memmap stays one (its pages can then be released); other subclasses become arrays
        arr = x if isinstance(x, np.memmap) else np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise SpikeDataError(
            f"`{name}` must be an array of 0/1 values. Could not convert it{loc}: {exc}"
        ) from None
    kind = arr.dtype.kind
    if kind == "c":
        raise SpikeDataError(
            f"`{name}` must be real-valued 0/1 spikes. Received a complex array "
            f"(dtype {arr.dtype}){loc}."
        )
    if kind in "OUSVMm":
        raise SpikeDataError(
            f"`{name}` must be a numeric array of 0/1 values. Received dtype "
            f"{arr.dtype}{loc}."
        )
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise SpikeDataError(
                f"`{name}` must have {want} dimensions. Received shape {arr.shape} "
                f"({arr.ndim} dimensions){loc}."
            )
    if arr.size == 0:
        raise SpikeDataError(f"`{name}` must not be empty. Received shape {arr.shape}{loc}.")
    if kind == "b":
        # bool is one byte, 0 or 1 -- unless written byte by byte: those are normalised
        view = arr.view(np.uint8)
        return view if _all_chunks(view, _at_most_one) else arr.astype(np.uint8)
    if kind == "f" and not _all_chunks(arr, _finite):
        n_nan = n_inf = 0
        for chunk in _chunks(arr):
            n_nan += int(np.count_nonzero(np.isnan(chunk)))
            n_inf += int(np.count_nonzero(np.isinf(chunk)))
        raise SpikeDataError(
            f"`{name}` must be finite 0/1 values. Received {n_nan} NaN and "
            f"{n_inf} infinite values{loc}."
        )
    test = _zero_or_one if kind == "f" else _at_most_one if kind == "u" else _in_zero_one
    if not _all_chunks(arr, test):
        raise SpikeDataError(_not_binary(arr, name, kind, loc))
    return arr.astype(np.uint8, copy=False)


# values are checked this many bytes of the array at a time
_CHECK_CHUNK_BYTES = 1 << 26


def _at_most_one(chunk: np.ndarray) -> bool:
    return bool(chunk.max() <= 1)


def _in_zero_one(chunk: np.ndarray) -> bool:
    return bool(chunk.min() >= 0 and chunk.max() <= 1)


def _finite(chunk: np.ndarray) -> bool:
    return bool(np.isfinite(chunk).all())


def _zero_or_one(chunk: np.ndarray) -> bool:
    return bool(((chunk == 0) | (chunk == 1)).all())


def _chunks(arr: np.ndarray) -> Iterator[np.ndarray]:
    """Consecutive views of ``arr`` of at most about ``_CHECK_CHUNK_BYTES`` bytes, in order
    (slices along the first axis; rows larger than that are cut in turn); the pages of a
    memory map are released after each.

    Examples
    --------
    >>> [c.shape for c in _chunks(np.zeros((5, 2)))]
    [(5, 2)]
    """
    if arr.ndim == 0 or arr.nbytes <= _CHECK_CHUNK_BYTES:
        yield arr
        release_pages(arr)
        return
    row = arr.nbytes // arr.shape[0]
    if row > _CHECK_CHUNK_BYTES:
        for k in range(arr.shape[0]):
            yield from _chunks(arr[k])
        return
    per = _CHECK_CHUNK_BYTES // row
    for k0 in range(0, arr.shape[0], per):
        chunk = arr[k0:k0 + per]
        yield chunk
        release_pages(chunk)


def _all_chunks(arr: np.ndarray, test: Callable[[np.ndarray], bool]) -> bool:
    """``test`` holds for every chunk of ``arr`` (stops at the first that fails)."""
    return all(test(chunk) for chunk in _chunks(arr))


def _not_binary(arr: np.ndarray, name: str, kind: str, loc: str) -> str:
    """The message for finite values other than 0/1: the distinct values seen (collected
    chunk by chunk), negative or fractional ones named, a hint for counts."""
    seen: np.ndarray | None = None
    for chunk in _chunks(arr):
        u = np.unique(chunk)
        seen = u if seen is None else np.union1d(seen, u)
    assert seen is not None
    bad = seen[(seen != 0) & (seen != 1)]
    values = format_values(seen)
    if (bad < 0).any():
        detail = f"Received negative values; values seen: {values}"
    elif kind == "f" and (bad != np.round(bad)).any():
        detail = f"Received fractional values; values seen: {values}"
    else:
        detail = f"Received values {values}"
    hint = ""
    if (bad > 1).any() and kind in "iuf" and not (bad < 0).any():
        hint = (" Counts above 1 mean more than one spike per bin: use a smaller bin width or "
                "clip explicitly.")
    return f"`{name}` must be binary (0/1). {detail}{loc}.{hint}"


def _mapping(a: Any) -> mmap.mmap | None:
    """The shared (or read-only) memory map under ``a``, if any: the pages of a private
    copy-on-write map (``mode="c"``) may hold changes and are never released."""
    shared = False
    while a is not None:
        if isinstance(a, mmap.mmap):
            return a if shared else None
        if isinstance(a, np.memmap):
            shared = a.mode != "c"
        a = getattr(a, "base", None)
    return None


def release_pages(a: np.ndarray) -> None:
    """Drop the pages of a shared memory map under ``a`` from this process's resident memory.

    The data stay in the file (and the page cache); the next access maps them again.
    Without this, every page of a memory-mapped input that was read once stays in the
    resident set. Nothing happens for arrays in memory or private (``mode="c"``) maps.
    """
    mm = _mapping(a)
    if mm is None or a.size == 0 or not hasattr(mm, "madvise"):
        return
    try:
        base = np.frombuffer(mm, dtype=np.uint8).ctypes.data
        lo = hi = a.__array_interface__["data"][0]
        for n, st in zip(a.shape, a.strides, strict=True):
            if st < 0:
                lo += (n - 1) * st
            else:
                hi += (n - 1) * st
        start = (lo - base) // mmap.PAGESIZE * mmap.PAGESIZE
        end = min(hi + a.itemsize - base, len(mm))
        if 0 <= start < end:
            mm.madvise(mmap.MADV_DONTNEED, start, end - start)
    except (OSError, ValueError, BufferError):  # pragma: no cover - platform dependent
        pass


def check_windows(x: Any, name: str = "spikes", *, source: str | None = None) -> np.ndarray:
    """Validate windows ``(n_samples, n_neurons, n_bins)`` of 0/1 values.

    Examples
    --------
    >>> import numpy as np
    >>> check_windows(np.zeros((4, 3, 8))).shape
    (4, 3, 8)
    """
    arr = check_binary(x, name, ndim=3, source=source)
    return arr


def check_raster(x: Any, name: str = "raster", *, source: str | None = None) -> np.ndarray:
    """Validate a raster ``(n_time_bins, n_neurons)`` of 0/1 values.

    Examples
    --------
    >>> import numpy as np
    >>> check_raster(np.eye(3)).dtype
    dtype('uint8')
    """
    return check_binary(x, name, ndim=2, source=source)


def check_seed(seed: Any, name: str = "seed") -> int | None:
    """Return ``seed`` as a non-negative ``int`` (or ``None``), else raise.

    Examples
    --------
    >>> check_seed(3)
    3
    """
    check_param(name, seed, [Integer(min=0), None])
    return None if seed is None else int(seed)


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as ``int`` if it is an integer ``>= minimum``, else raise.

    Examples
    --------
    >>> check_positive_int(32, "n_bins")
    32
    """
    check_param(name, value, Integer(min=minimum))
    return int(value)


def silent_neurons_message(rates: Any, what: str = "the training data",
                           source: str | None = None) -> str | None:
    """A one-line warning about neurons that never spike, or ``None`` if all of them do.

    ``rates`` are the firing probabilities per neuron.

    Examples
    --------
    >>> silent_neurons_message([0.1, 0.0, 0.2, 0.0])
    '2 of 4 neurons never spike in the training data (neurons 1, 3): a model learns to keep them silent; drop them if they are dead channels.'
    >>> silent_neurons_message([0.0, 0.0])
    'All 2 neurons are silent in the training data: there is no spike to learn from (check the file, the key and the layout).'
    >>> silent_neurons_message([0.5]) is None
    True
    """
    rates = np.asarray(rates, dtype=np.float64).ravel()
    silent = np.flatnonzero(rates == 0)
    loc = where(source)
    if silent.size == 0:
        return None
    if silent.size == rates.size:
        return (f"All {rates.size} neurons are silent in {what}{loc}: there is no spike to "
                "learn from (check the file, the key and the layout).")
    shown = ", ".join(str(i) for i in silent[:_MAX_VALUES_SHOWN])
    if silent.size > _MAX_VALUES_SHOWN:
        shown += ", ..."
    return (f"{silent.size} of {rates.size} neurons never spike in {what}{loc} "
            f"(neurons {shown}): a model learns to keep them silent; drop them if they are "
            "dead channels.")


def csv_row_problem(lines: list[str], first: int = 0,
                    columns: tuple[str, ...] = ("time", "unit")) -> str | None:
    """Describe the first row of a numeric CSV that does not parse, or return ``None``.

    ``lines`` are the file's lines, ``first`` the index of the first data line
    (after a header). Lines are numbered from 1 as an editor shows them, and the
    column is named, so the message points at the cell to fix.

    Examples
    --------
    >>> csv_row_problem(["time,unit", "0.1,1", "", "0.2,x"], first=1)
    "line 4, column 2 (unit): 'x' is not a number"
    >>> csv_row_problem(["0.1,1", "0.2"])
    'line 2 has 1 value where line 1 has 2'
    >>> csv_row_problem(["0.1,1"]) is None
    True
    """
    width = None
    width_line = None
    for number, line in enumerate(lines[first:], start=first + 1):
        if not line.strip():
            continue
        cells = line.split(",")
        for k, cell in enumerate(cells):
            try:
                float(cell)
            except ValueError:
                name = f" ({columns[k]})" if k < len(columns) and len(cells) <= len(columns) else ""
                return f"line {number}, column {k + 1}{name}: {cell.strip()!r} is not a number"
        if width is None:
            width, width_line = len(cells), number
        elif len(cells) != width:
            return (f"line {number} has {len(cells)} value{'s' if len(cells) != 1 else ''} "
                    f"where line {width_line} has {width}")
    return None

"""Validation of spike arrays and scalar arguments at the public boundary.

The package has one spike layout everywhere:

* **windows** are ``(n_samples, n_neurons, n_bins)``, values 0/1, stored as ``uint8``;
* **rasters** are ``(n_time_bins, n_neurons)``, values 0/1, stored as ``uint8``.

Public functions validate once, here, and internal code trusts the result.
Error messages name the argument, what was expected and what was received,
and the file the data came from when there is one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spikegan_tf.errors import SpikeDataError
from spikegan_tf.params import Integer, check_param

__all__ = [
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
        The same values as ``uint8`` (no copy when ``x`` already is ``uint8``).

    Raises
    ------
    SpikeDataError
        For complex, object or string arrays, wrong dimensions, empty arrays,
        NaN/inf, negative, fractional or non-binary values.

    Examples
    --------
    >>> check_binary([[0, 1], [1, 0]], ndim=2).dtype
    dtype('uint8')
    >>> check_binary([0, 1, 3])
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.SpikeDataError: `spikes` must be binary (0/1). Received values {0, 1, 3}. ...
    """
    loc = where(source)
    try:
        arr = np.asarray(x)
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
        return arr.astype(np.uint8, copy=False)
    if kind == "f":
        finite = np.isfinite(arr)
        if not finite.all():
            bad = arr[~finite]
            n_nan = int(np.isnan(bad).sum())
            n_inf = int(bad.size - n_nan)
            raise SpikeDataError(
                f"`{name}` must be finite 0/1 values. Received {n_nan} NaN and "
                f"{n_inf} infinite values{loc}."
            )
    ok = (arr == 0) | (arr == 1)
    if not ok.all():
        bad = arr[~ok]
        seen = np.concatenate([np.unique(arr[ok]), np.unique(bad)])
        values = format_values(seen)
        if (bad < 0).any():
            detail = f"Received negative values; values seen: {values}"
        elif kind == "f" and (bad != np.round(bad)).any():
            detail = f"Received fractional values; values seen: {values}"
        else:
            detail = f"Received values {values}"
        hint = ""
        if (bad > 1).any() and kind in "iuf" and not (bad < 0).any():
            hint = " Counts above 1 mean more than one spike per bin: use a smaller bin width or clip explicitly."
        raise SpikeDataError(f"`{name}` must be binary (0/1). {detail}{loc}.{hint}")
    return arr.astype(np.uint8, copy=False)


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

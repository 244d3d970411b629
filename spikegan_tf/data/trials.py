"""Conditions from a trials table: a CSV with one row per window (or per time bin).

The table has a header row naming its columns, then one row per window of the
spike file, in the file's order (one row per time bin when the file holds a
raster). One column holds each row's label (``--condition-key``), one or more
numeric columns its covariates (``--covariate-key speed,contrast``). A window's
covariates are scalars per trial: constant over the window's bins.

Read with the standard library's :mod:`csv` (no pandas). Every problem raises
:class:`~spikegan_tf.errors.SpikeDataError` (a bad argument
:class:`~spikegan_tf.errors.ConfigError`) in one line naming the table.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from spikegan_tf.errors import ConfigError, SpikeDataError

__all__ = ["read_trials_table", "table_conditions", "broadcast_over_bins"]

_INTEGER = re.compile(r"[+-]?[0-9]+")


def read_trials_table(path: str, condition_column: str | None = None,
                      covariate_columns: str | Sequence[str] | None = None
                      ) -> dict[str, np.ndarray]:
    """Labels and covariates, one per data row, from the columns of a CSV trials table.

    Parameters
    ----------
    path : str
        CSV file: a header row naming the columns, then one row per trial
        (empty lines are skipped).
    condition_column : str, optional
        Column of labels. They stay strings unless every one is an integer.
    covariate_columns : str or sequence of str, optional
        Numeric columns (a comma-separated string or a list), one covariate each.

    Returns
    -------
    dict
        ``"labels"``: ``(n_rows,)`` int64 or str; ``"covariates"``:
        ``(n_rows, n_covariates)`` float32. Only the keys asked for.

    Raises
    ------
    SpikeDataError
        The file is missing or unreadable, has no header or no data row, a row
        has too few or too many values, a named column is missing, a label is
        empty, or a covariate is empty, not a number or NaN/infinite.
    ConfigError
        Neither column is given.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "trials.csv")
    >>> _ = open(p, "w").write("stimulus,speed,contrast\\n3,0.5,1\\n1,2.0,0\\n3,1.5,1\\n")
    >>> t = read_trials_table(p, "stimulus", "speed,contrast")
    >>> t["labels"].tolist(), t["covariates"].tolist()
    ([3, 1, 3], [[0.5, 1.0], [2.0, 0.0], [1.5, 1.0]])
    >>> read_trials_table(p, "trial_type")
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.SpikeDataError: Column 'trial_type' (--condition-key) not found in trials table '...trials.csv'. Columns present: stimulus, speed, contrast.
    """
    covariates = _covariate_names(covariate_columns)
    if condition_column is None and not covariates:
        raise ConfigError(f"Name the columns of trials table '{path}' to read: a label column "
                          "(--condition-key) and/or covariate columns (--covariate-key).")
    header, rows = _read_rows(path)
    out: dict[str, np.ndarray] = {}
    if condition_column is not None:
        j = _column_index(header, condition_column, "--condition-key", path)
        out["labels"] = _labels([(line, cells[j]) for line, cells in rows], condition_column,
                                path)
    if covariates:
        cols = [_column_index(header, name, "--covariate-key", path) for name in covariates]
        out["covariates"] = np.array(
            [[_number(cells[j], name, row, line, path) for j, name in zip(cols, covariates,
                                                                          strict=True)]
             for row, (line, cells) in enumerate(rows, start=1)], np.float32)
    return out


def table_conditions(path: str, recording: Any, condition_column: str | None = None,
                     covariate_columns: str | Sequence[str] | None = None, *,
                     classes: Sequence[Any] | None = None) -> dict[str, np.ndarray]:
    """The ``conditions`` of :func:`~spikegan_tf.data.splits.prepare_data` from a trials table.

    The table must have one row per window of ``recording`` (windows file) or
    one per time bin (raster). For windows, each row's covariates are
    broadcast over the window's bins: ``(n, n_bins, n_covariates)``; for a
    raster they stay ``(n_time_bins, n_covariates)``.

    Parameters
    ----------
    path : str
        The CSV trials table (see :func:`read_trials_table`).
    recording : SpikeRecording
        What :func:`~spikegan_tf.data.load_spikes` returned.
    condition_column, covariate_columns : optional
        As in :func:`read_trials_table`.
    classes : sequence, optional
        A trained model's classes: a label outside them is an error naming the table.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from spikegan_tf.data import SpikeRecording
    >>> p = os.path.join(tempfile.mkdtemp(), "trials.csv")
    >>> _ = open(p, "w").write("stimulus,speed\\nleft,0.5\\nright,2\\n")
    >>> rec = SpikeRecording(np.zeros((2, 3, 4), np.uint8), kind="windows")
    >>> c = table_conditions(p, rec, "stimulus", "speed")
    >>> c["labels"].tolist(), c["covariates"].shape, c["covariates"][1, :, 0].tolist()
    (['left', 'right'], (2, 4, 1), [2.0, 2.0, 2.0, 2.0])
    >>> table_conditions(p, SpikeRecording(np.zeros((3, 3, 4), np.uint8), kind="windows"), "stimulus")
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.SpikeDataError: Trials table '...trials.csv' has 2 rows but the spikes hold 3 windows. Expected one row per window, in the order of the windows.
    """
    table = read_trials_table(path, condition_column, covariate_columns)
    spikes = recording.spikes
    raster = recording.kind == "raster"
    n_rows, n = len(next(iter(table.values()))), spikes.shape[0]
    if n_rows != n:
        what = "time bins" if raster else "windows"
        held = (f"the spike file '{recording.source}' holds" if recording.source
                else "the spikes hold")
        raise SpikeDataError(f"Trials table '{path}' has {n_rows} rows but {held} {n} {what}. "
                             f"Expected one row per {what[:-1]}, in the order of the {what}.")
    if classes is not None and "labels" in table:
        from spikegan_tf.data.conditions import encode_labels

        encode_labels(table["labels"], classes, name=condition_column, source=path)
    if "covariates" in table and not raster:
        table["covariates"] = broadcast_over_bins(table["covariates"], spikes.shape[2])
    return table


def broadcast_over_bins(covariates: Any, n_bins: int) -> np.ndarray:
    """Per-trial covariates ``(n, C)`` repeated over a window's bins: ``(n, n_bins, C)``.

    Examples
    --------
    >>> broadcast_over_bins([[1.0, 2.0]], 3).tolist()
    [[[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]]]
    """
    cov = np.asarray(covariates, np.float32)
    return np.repeat(cov[:, None, :], n_bins, axis=1)


def _covariate_names(columns: str | Sequence[str] | None) -> list[str]:
    if columns is None:
        return []
    names = [c.strip() for c in (columns.split(",") if isinstance(columns, str) else columns)]
    if not all(names):
        raise ConfigError(f"`--covariate-key` must name columns separated by commas. "
                          f"Received {columns!r} (an empty name).")
    return names


def _read_rows(path: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the ``(line number, cells)`` of each non-empty data row."""
    rows: list[tuple[int, list[str]]] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            for cells in reader:
                if cells:
                    rows.append((reader.line_num, [c.strip() for c in cells]))
    except OSError as exc:
        raise SpikeDataError(f"Cannot read trials table '{path}': "
                             f"{exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise SpikeDataError(f"Trials table '{path}' is not a text CSV file (it is binary). "
                             "Expected a header row, then one row per trial.") from None
    except csv.Error as exc:
        raise SpikeDataError(f"Trials table '{path}' is not a valid CSV file: {exc}.") from None
    if len(rows) < 2:
        what = "is empty" if not rows else "has a header but no data row"
        raise SpikeDataError(f"Trials table '{path}' {what}. Expected a header row naming the "
                             "columns, then one row per trial.")
    (header_line, header), data = rows[0], rows[1:]
    for line, cells in data:
        if len(cells) != len(header):
            raise SpikeDataError(f"Trials table '{path}' has {len(cells)} values on line {line} "
                                 f"where its header (line {header_line}) has {len(header)} "
                                 "columns. Expected one value per column in every row.")
    return header, data


def _column_index(header: list[str], name: str, flag: str, path: str) -> int:
    if name not in header:
        raise SpikeDataError(f"Column '{name}' ({flag}) not found in trials table '{path}'. "
                             f"Columns present: {', '.join(header)}.")
    if header.count(name) > 1:
        raise SpikeDataError(f"Trials table '{path}' has {header.count(name)} columns named "
                             f"'{name}' ({flag}). Expected one.")
    return header.index(name)


def _labels(cells: list[tuple[int, str]], column: str, path: str) -> np.ndarray:
    """Ints when every label is an integer, else strings; an empty or NaN label is an error."""
    for row, (line, text) in enumerate(cells, start=1):
        if not text or text.lower().lstrip("+-") == "nan":
            what = "is empty" if not text else f"holds {text!r}"
            raise SpikeDataError(f"Column '{column}' (--condition-key) of trials table '{path}' "
                                 f"{what} in data row {row} (line {line}). Expected a label "
                                 "(an integer or a name) in every row.")
    texts = [text for _, text in cells]
    if all(_INTEGER.fullmatch(t) for t in texts):
        return np.array([int(t) for t in texts], np.int64)
    return np.array(texts, dtype=str)


def _number(text: str, column: str, row: int, line: int, path: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is not None and math.isfinite(value):
        return value
    what = ("is empty" if not text else f"holds {text!r}, which is not a number" if value is None
            else f"holds {text!r}, which is NaN or infinite")
    raise SpikeDataError(f"Column '{column}' (--covariate-key) of trials table '{path}' {what} "
                         f"in data row {row} (line {line}). Expected a finite number in every "
                         "row.")

"""Conditions of spike windows: a categorical label and/or continuous covariates per window.

Layout, aligned with the windows ``(n_samples, n_neurons, n_bins)``:

* ``labels``: ``(n_samples,)`` class indices ``0 .. n_classes - 1``; the user's
  original label values (ints or strings: stimulus ids, trial types) are kept
  in ``classes`` (sorted), and index ``i`` means ``classes[i]``;
* ``covariates``: ``(n_samples, n_bins, n_covariates)`` float32, one value per
  bin (stimulus intensity, running speed, hand velocity).

A raster ``(n_time_bins, n_neurons)`` takes per-bin conditions: labels
``(n_time_bins,)`` and covariates ``(n_time_bins, n_covariates)``; its windows
(:func:`raster_windows_with_conditions`) keep those whose label is constant
over the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spikegan_tf.errors import SpikeDataError
from spikegan_tf.validation import where

__all__ = ["Conditions", "make_conditions", "raster_windows_with_conditions", "encode_labels",
           "condition_arrays", "check_bin_labels"]


def _label_values(values: np.ndarray) -> list[Any]:
    """JSON-friendly Python values (int, float or str) of a 1-D label array."""
    if values.dtype.kind in "iu":
        return [int(v) for v in values]
    if values.dtype.kind == "b":
        return [int(v) for v in values]
    if values.dtype.kind == "f":
        return [int(v) if float(v).is_integer() else float(v) for v in values]
    return [str(v) for v in values]


def encode_labels(values: Any, classes: Sequence[Any], *, name: str = "labels",
                  source: str | None = None) -> np.ndarray:
    """Class indices of label ``values`` among ``classes`` (an unknown value is an error).

    Examples
    --------
    >>> encode_labels([30, 10, 30], [10, 20, 30]).tolist()
    [2, 0, 2]
    >>> encode_labels(["a", "q"], ["a", "b"])
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.SpikeDataError: `labels` holds the label 'q', which is not one of the classes ['a', 'b'].
    """
    values = np.asarray(values)
    if values.ndim != 1:
        raise SpikeDataError(f"`{name}` must be 1-D (one label per window){where(source)}. "
                             f"Received shape {values.shape}.")
    known = {v: i for i, v in enumerate(_label_values(np.asarray(classes)))}
    out = np.empty(len(values), np.int64)
    for j, v in enumerate(_label_values(values)):
        if v not in known:
            raise SpikeDataError(f"`{name}` holds the label {v!r}, which is not one of the "
                                 f"classes {list(known)}{where(source)}.")
        out[j] = known[v]
    return out


@dataclass(frozen=True, eq=False)
class Conditions:
    """Per-window conditions: class indices and/or covariates (see the module docstring).

    Build it with :func:`make_conditions`, which validates.

    Examples
    --------
    >>> c = make_conditions(3, 4, labels=["b", "a", "b"])
    >>> c.labels.tolist(), c.classes, c.n_classes, c.n_covariates
    ([1, 0, 1], ('a', 'b'), 2, 0)
    >>> c.one_hot().tolist()
    [[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
    """

    labels: np.ndarray | None
    covariates: np.ndarray | None
    classes: tuple[Any, ...] = ()

    def __len__(self) -> int:
        return len(self.labels) if self.labels is not None else len(self.covariates)

    @property
    def n_classes(self) -> int:
        """Number of classes (0 without labels)."""
        return len(self.classes) if self.labels is not None else 0

    @property
    def n_covariates(self) -> int:
        """Covariates per bin (0 without covariates)."""
        return 0 if self.covariates is None else int(self.covariates.shape[-1])

    def take(self, indices: Any) -> Conditions:
        """The conditions of windows ``indices``."""
        idx = np.asarray(indices)
        return Conditions(None if self.labels is None else self.labels[idx],
                          None if self.covariates is None else self.covariates[idx],
                          self.classes)

    def one_hot(self) -> np.ndarray:
        """Labels as float32 one-hot rows ``(n, n_classes)`` (the networks' label input)."""
        out = np.zeros((len(self.labels), self.n_classes), np.float32)
        out[np.arange(len(self.labels)), self.labels] = 1.0
        return out

    def model_inputs(self) -> list[np.ndarray]:
        """The networks' condition inputs, in order: one-hot labels, then covariates."""
        out = []
        if self.labels is not None:
            out.append(self.one_hot())
        if self.covariates is not None:
            out.append(self.covariates)
        return out

    def info(self) -> dict[str, Any]:
        """What a run records (``config.json``): the classes and the number of covariates."""
        return {"classes": list(self.classes) if self.labels is not None else None,
                "n_covariates": self.n_covariates}


def _check_covariates(covariates: Any, n_samples: int, n_bins: int, *, per_bin: bool,
                      name: str, source: str | None) -> np.ndarray:
    cov = np.asarray(covariates)
    if cov.dtype.kind not in "iufb":
        raise SpikeDataError(f"`{name}` must be numeric{where(source)}. "
                             f"Received dtype {cov.dtype}.")
    lead = (n_samples,) if per_bin else (n_samples, n_bins)
    if cov.ndim == len(lead):
        cov = cov[..., None]
    if cov.ndim != len(lead) + 1 or cov.shape[:-1] != lead:
        want = ("(n_time_bins, n_covariates) = " if per_bin else
                "(n_samples, n_bins, n_covariates) = ") + f"{lead + ('C',)}"
        raise SpikeDataError(f"`{name}` must have shape {want}, aligned with the spikes"
                             f"{where(source)}. Received shape {cov.shape}.")
    cov = cov.astype(np.float32)
    bad = ~np.isfinite(cov)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise SpikeDataError(f"`{name}` holds {int(bad.sum())} NaN or infinite values (first "
                             f"at index {first}){where(source)}. Expected finite numbers.")
    return cov


def make_conditions(n_samples: int, n_bins: int, *, labels: Any = None, covariates: Any = None,
                    classes: Sequence[Any] | None = None, source: str | None = None,
                    label_name: str = "labels", covariate_name: str = "covariates"
                    ) -> Conditions | None:
    """Validate per-window labels and/or covariates against ``n_samples`` windows of ``n_bins``.

    Parameters
    ----------
    n_samples, n_bins : int
        The windows' count and length.
    labels : array_like, optional
        ``(n_samples,)`` label values (ints or strings).
    covariates : array_like, optional
        ``(n_samples, n_bins, n_covariates)``, or ``(n_samples, n_bins)`` for one.
    classes : sequence, optional
        The known classes (a trained model's); default: the sorted distinct labels.
    source : str, optional
        File the conditions came from (named in errors).
    label_name, covariate_name : str
        How errors name the two arrays (e.g. the file's keys).

    Returns
    -------
    Conditions or None
        None when neither is given.

    Examples
    --------
    >>> import numpy as np
    >>> make_conditions(2, 3, covariates=np.zeros((2, 3))).covariates.shape
    (2, 3, 1)
    >>> make_conditions(2, 3, labels=[0, 1, 1])
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.SpikeDataError: `labels` has 3 labels for 2 windows. Expected one label per window.
    """
    if labels is None and covariates is None:
        return None
    lab, cls = None, ()
    if labels is not None:
        values = np.asarray(labels)
        if values.ndim != 1:
            raise SpikeDataError(f"`{label_name}` must be 1-D (one label per window)"
                                 f"{where(source)}. Received shape {values.shape}.")
        if len(values) != n_samples:
            raise SpikeDataError(f"`{label_name}` has {len(values)} labels for {n_samples} "
                                 f"windows{where(source)}. Expected one label per window.")
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            raise SpikeDataError(f"`{label_name}` holds NaN or infinite labels{where(source)}. "
                                 "Expected class values.")
        if values.dtype.kind not in "iufbUS":
            raise SpikeDataError(f"`{label_name}` must hold integers or strings{where(source)}. "
                                 f"Received dtype {values.dtype}.")
        if classes is None:
            classes = np.unique(values)
        cls = tuple(_label_values(np.asarray(classes)))
        lab = encode_labels(values, cls, name=label_name, source=source)
    cov = None
    if covariates is not None:
        cov = _check_covariates(covariates, n_samples, n_bins, per_bin=False,
                                name=covariate_name, source=source)
    return Conditions(lab, cov, cls)


def check_bin_labels(labels: Any, n_time: int, source: str | None = None) -> np.ndarray:
    """A raster's labels, checked to be one per time bin.

    Examples
    --------
    >>> check_bin_labels([1, 2], 3)
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.SpikeDataError: `labels` of a raster must have one label per time bin (3,). Received shape (2,).
    """
    values = np.asarray(labels)
    if values.ndim != 1 or len(values) != n_time:
        raise SpikeDataError(f"`labels` of a raster must have one label per time bin "
                             f"({n_time},){where(source)}. Received shape {values.shape}.")
    return values


def raster_windows_with_conditions(raster: np.ndarray, n_bins: int, stride: int, *,
                                   labels: Any = None, covariates: Any = None,
                                   classes: Sequence[Any] | None = None,
                                   source: str | None = None
                                   ) -> tuple[np.ndarray, Conditions]:
    """Windows of a raster and their conditions, from per-bin labels and covariates.

    Window ``i`` covers bins ``i * stride .. i * stride + n_bins - 1``; windows
    whose label changes inside them are dropped (a window has one label).

    Examples
    --------
    >>> import numpy as np
    >>> raster = np.zeros((6, 2), np.uint8)
    >>> w, c = raster_windows_with_conditions(raster, 2, 1, labels=[0, 0, 0, 1, 1, 1])
    >>> w.shape, c.labels.tolist()
    ((4, 2, 2), [0, 0, 1, 1])
    """
    from spikegan_tf.data.windows import window_view

    n_time = raster.shape[0]
    starts = np.arange(0, n_time - n_bins + 1, stride)
    keep = np.ones(len(starts), bool)
    lab = None
    if labels is not None:
        values = check_bin_labels(labels, n_time, source)
        codes = np.unique(values, return_inverse=True)[1].ravel()
        change = np.concatenate([[0], np.cumsum(codes[1:] != codes[:-1])])
        keep = change[starts] == change[starts + n_bins - 1]
        lab = values[starts[keep]]
        if not keep.any():
            raise SpikeDataError(f"No window of {n_bins} bins has a constant label{where(source)}: "
                                 "the label changes faster than one window.")
    windows = np.ascontiguousarray(window_view(raster, n_bins, stride)[keep])
    cov = None
    if covariates is not None:
        per_bin = _check_covariates(covariates, n_time, n_bins, per_bin=True, name="covariates",
                                    source=source)
        rows = starts[keep][:, None] + np.arange(n_bins)[None, :]
        cov = per_bin[rows]
    cond = make_conditions(len(windows), n_bins, labels=lab, covariates=cov, classes=classes,
                           source=source)
    return windows, cond


def condition_arrays(conditions: Any) -> tuple[Any, Any]:
    """``(labels, covariates)`` from what a user passes as ``conditions=``.

    Accepted: a :class:`Conditions` (its class values), a dict with ``"labels"``
    and/or ``"covariates"``, a 1-D array (labels) or a float array of 2 or
    more dimensions (covariates).

    Examples
    --------
    >>> import numpy as np
    >>> condition_arrays([3, 1])[0].tolist(), condition_arrays({"covariates": np.zeros((2, 4))})[0]
    ([3, 1], None)
    """
    if conditions is None:
        return None, None
    if isinstance(conditions, Conditions):
        labels = (None if conditions.labels is None
                  else np.asarray(conditions.classes, dtype=object)[conditions.labels])
        if labels is not None:
            labels = np.asarray(labels.tolist())
        return labels, conditions.covariates
    if isinstance(conditions, dict):
        unknown = sorted(set(conditions) - {"labels", "covariates"})
        if unknown:
            raise SpikeDataError(f"`conditions` has unknown keys {unknown}. Expected 'labels' "
                                 "and/or 'covariates'.")
        return conditions.get("labels"), conditions.get("covariates")
    arr = np.asarray(conditions)
    if arr.ndim == 1:
        return arr, None
    if arr.dtype.kind in "fiu" and arr.ndim >= 2:
        return None, arr
    raise SpikeDataError("`conditions` must be labels (1-D), covariates (n, n_bins[, C]), a dict "
                         f"with 'labels'/'covariates' or a Conditions. Received {arr.dtype} "
                         f"of shape {arr.shape}.")

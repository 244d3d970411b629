"""Training data: validated spikes split, leak-free, into a training and a validation part.

:func:`prepare_data` is what ``Trainer.fit`` and ``SpikeGAN.fit`` take; a raster
is split in time (with a gap of one window) and stays a raster that the
trainer windows on the fly; windows are split by sample.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spikegan_tf.data.conditions import (
    Conditions,
    _check_covariates,
    check_bin_labels,
    condition_arrays,
    make_conditions,
    raster_windows_with_conditions,
)
from spikegan_tf.data.source import WindowedSpikes, windowed_spikes
from spikegan_tf.data.windows import (
    n_windows,
    split_indices,
    split_raster,
    window_view,
)
from spikegan_tf.errors import SpikeDataError
from spikegan_tf.params import Real, check_param
from spikegan_tf.validation import (
    check_positive_int,
    check_seed,
    silent_neurons_message,
    where,
)

__all__ = ["TrainingData", "prepare_data"]


@dataclass(frozen=True, eq=False)
class TrainingData:
    """Training and validation data ready for :meth:`Trainer.fit`.

    ``train`` is a :class:`~spikegan_tf.data.WindowedSpikes`: windows
    ``(n, n_neurons, n_bins)``, or a raster ``(time_bins, n_neurons)`` that the
    trainer windows on the fly (start indices ``0, stride, 2 stride, ...``);
    ``val`` holds validation windows or is ``None``; ``info`` is the ``data``
    section of ``config.json``. Build it with :func:`prepare_data`.
    """

    train: WindowedSpikes
    val: np.ndarray | None
    info: dict[str, Any] = field(default_factory=dict)
    conditions: Conditions | None = None
    val_conditions: Conditions | None = None

    def class_rates(self) -> np.ndarray:
        """Each label class's per-neuron firing probability in the training windows.

        ``(n_classes, n_neurons)``; a class without training windows gets the
        overall rates.
        """
        cond, windows = self.conditions, self.train.spikes
        overall = self.train.neuron_rates()
        out = np.tile(overall, (cond.n_classes, 1))
        for c in range(cond.n_classes):
            sel = cond.labels == c
            if sel.any():
                out[c] = windows[sel].mean(axis=(0, 2), dtype=np.float64)
        return out

    @property
    def conditional(self) -> bool:
        """Whether the windows carry conditions (labels and/or covariates)."""
        return self.conditions is not None

    @property
    def is_raster(self) -> bool:
        """Whether ``train`` is a raster (windowed on the fly)."""
        return self.train.kind == "raster"

    @property
    def n_bins(self) -> int:
        """Bins per window."""
        return self.train.n_bins

    @property
    def stride(self) -> int:
        """Bins between the training raster's window starts (1 for windows)."""
        return self.train.stride

    @property
    def n_neurons(self) -> int:
        """Neurons per window."""
        return self.train.n_neurons

    @property
    def n_train(self) -> int:
        """Number of distinct training windows."""
        return self.train.n_windows


def prepare_data(spikes: Any, n_bins: int | None = None, *, val_fraction: float = 0.1,
                 stride: int = 1, seed: int = 0, source: str | None = None,
                 key: str | None = None, bin_width: float | None = None,
                 conditions: Any = None, classes: Any = None) -> TrainingData:
    """Validate spikes and split them into training and validation data.

    A raster ``(time_bins, n_neurons)`` is split **in time** (the last
    ``val_fraction`` of the recording validates, with an ``n_bins`` gap so that
    no window straddles both parts); the training part stays a raster that the
    trainer windows on the fly, and the validation part is cut into windows
    with ``stride``. Windows ``(n, n_neurons, n_bins)`` are split **by sample**
    (seeded random split).

    Parameters
    ----------
    spikes : array_like or SpikeRecording
        Raster or windows of 0/1 values, or what
        :func:`spikegan_tf.data.load_spikes` returns (its source, key and bin
        width are recorded unless given here).
    n_bins : int, optional
        Window length; required for a raster, checked against windows.
    val_fraction : float
        Fraction held out for validation, in ``[0, 1)``.
    stride : int
        Step between window starts in a raster.
    seed : int
        Seed of the split of windows.
    source, key, bin_width : optional
        Where the data came from, recorded in ``config.json``.
    conditions : optional
        Per-window labels ``(n,)`` and/or covariates ``(n, n_bins, C)`` (a
        dict ``{"labels": ..., "covariates": ...}``, an array or a
        :class:`~spikegan_tf.data.conditions.Conditions`); for a raster, per
        bin (``(T,)`` / ``(T, C)``): the raster is split in time as usual and
        each part cut into windows of constant label. They are split with
        the windows, so the validation conditions stay aligned.
    classes : sequence, optional
        The label classes (default: the sorted distinct labels).

    Examples
    --------
    >>> import numpy as np
    >>> raster = (np.random.default_rng(0).random((1000, 4)) < 0.2).astype("uint8")
    >>> data = prepare_data(raster, 8, val_fraction=0.2)
    >>> data.n_neurons, data.train.spikes.shape, data.n_train, data.val.shape
    (4, (794, 4), 787, (191, 4, 8))
    """
    stride = check_positive_int(stride, "stride")
    seed = check_seed(seed) or 0
    check_param("val_fraction", val_fraction, Real(min=0, max=1, max_open=True))
    spec = windowed_spikes(spikes, n_bins=n_bins, stride=stride, name="spikes", source=source,
                           stride_for_windows="ignore")
    source = spec.source
    key = spec.key if key is None else key
    bin_width = spec.bin_width if bin_width is None else bin_width
    kind, n_bins = spec.kind, spec.n_bins
    cond = cond_val = None
    labels, covariates = condition_arrays(conditions)
    if conditions is not None and kind == "raster":
        train, val, cond, cond_val = _split_conditioned_raster(
            spec.spikes, n_bins, stride, val_fraction, labels, covariates, classes, source)
        kind = "windows"
    elif kind == "raster":
        raster = spec.spikes
        if val_fraction > 0:
            train, val_raster = split_raster(raster, (1.0 - val_fraction, val_fraction),
                                             gap=n_bins)
        else:
            train, val_raster = raster, None
        if train.shape[0] < n_bins:
            raise SpikeDataError(
                f"The training part of the raster has {train.shape[0]} time bins, fewer than "
                f"one window of n_bins={n_bins}{where(source)}. Use a longer recording, "
                "fewer bins or a smaller --val-fraction.")
        val = None
        if val_raster is not None and val_raster.shape[0] >= n_bins:
            val = np.ascontiguousarray(window_view(val_raster, n_bins, stride))
    else:
        windows = spec.spikes
        if conditions is not None:
            cond = make_conditions(len(windows), n_bins, labels=labels, covariates=covariates,
                                   classes=classes,
                                   source=None if source is None else str(source))
        train, val = windows, None
        if val_fraction > 0 and len(windows) >= 2:
            # split_windows' split, with the indices kept for the conditions
            idx_train, idx_val = split_indices(len(windows), (1.0 - val_fraction, val_fraction),
                                               seed=seed)
            train, val = windows[idx_train], windows[idx_val]
            if cond is not None:
                cond, cond_val = cond.take(idx_train), cond.take(idx_val)
    if kind == "windows":
        if len(train) == 0:
            raise SpikeDataError(f"No training windows left after holding out "
                                 f"val_fraction={val_fraction}{where(source)}.")
        if val is not None and len(val) == 0:
            val = None
    train = np.ascontiguousarray(train)
    count = n_windows(len(train), n_bins, stride) if kind == "raster" else len(train)
    data = TrainingData(train=WindowedSpikes(kind, train, n_bins, stride if kind == "raster"
                                             else 1, count, spec.source, key, bin_width),
                        val=val, conditions=cond,
                        val_conditions=None if val is None else cond_val)
    rates = data.train.neuron_rates()
    info: dict[str, Any] = {
        "kind": kind,
        "n_neurons": data.n_neurons,
        "n_bins": n_bins,
        "stride": stride if kind == "raster" else None,
        "val_fraction": float(val_fraction),
        "n_train": data.n_train,
        "n_val": 0 if val is None else int(len(val)),
        "firing_probability": {"mean": float(rates.mean()), "min": float(rates.min()),
                               "max": float(rates.max())},
        "source": _resolved(source),
        "key": key,
        "bin_width": bin_width,
    }
    if spec.kind == "raster":
        info["n_time_bins"] = int(spec.spikes.shape[0])
    if cond is not None:
        info["conditions"] = cond.info()
    info["silent_neurons"] = np.flatnonzero(rates == 0).tolist()
    # per neuron: what `spikegan sample --calibrate` shifts the generator's rates to
    info["neuron_rates"] = [float(r) for r in rates]
    silent = silent_neurons_message(rates, source=None if source is None else str(source))
    if silent:
        warnings.warn(silent, UserWarning, stacklevel=2)
    return dataclasses.replace(data, info=info)


def _split_conditioned_raster(raster: np.ndarray, n_bins: int, stride: int, val_fraction: float,
                              labels: Any, covariates: Any, classes: Any, source: Any
                              ) -> tuple[np.ndarray, np.ndarray | None, Conditions,
                                         Conditions | None]:
    """A conditioned raster split in time (gap of one window), each part cut into windows."""
    src = None if source is None else str(source)
    n_time = raster.shape[0]
    if labels is not None:
        labels = check_bin_labels(labels, n_time, src)
        classes = np.unique(labels) if classes is None else classes
    if covariates is not None:
        covariates = _check_covariates(covariates, n_time, n_bins, per_bin=True,
                                       name="covariates", source=src)
    rows = np.arange(n_time)[:, None]
    parts = (split_raster(rows, (1.0 - val_fraction, val_fraction), gap=n_bins)
             if val_fraction > 0 else [rows])
    out: list[Any] = [None, None, None, None]
    for i, part in enumerate(parts):
        idx = part[:, 0]
        if len(idx) < n_bins:
            continue
        windows, cond = raster_windows_with_conditions(
            raster[idx], n_bins, stride, labels=None if labels is None else labels[idx],
            covariates=None if covariates is None else covariates[idx], classes=classes,
            source=src)
        out[i], out[2 + i] = windows, cond
    if out[0] is None:
        raise SpikeDataError(f"The training part of the raster has fewer than one window of "
                             f"n_bins={n_bins}{where(src)}.")
    return out[0], out[1], out[2], out[3]


def _resolved(source: Any) -> str | None:
    """The absolute path of a data file (so a run can be resumed from anywhere)."""
    if source is None:
        return None
    text = str(source)
    return os.path.abspath(text) if os.path.isfile(text) else text



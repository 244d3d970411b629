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

from spikegan_tf.data.source import WindowedSpikes, windowed_spikes
from spikegan_tf.data.windows import n_windows, split_raster, split_windows, window_view
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
                 key: str | None = None, bin_width: float | None = None) -> TrainingData:
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
    if kind == "raster":
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
        if val_fraction > 0 and len(windows) >= 2:
            train, val = split_windows(windows, (1.0 - val_fraction, val_fraction), seed=seed)
        else:
            train, val = windows, None
        if len(train) == 0:
            raise SpikeDataError(f"No training windows left after holding out "
                                 f"val_fraction={val_fraction}{where(source)}.")
        if val is not None and len(val) == 0:
            val = None
    train = np.ascontiguousarray(train)
    count = n_windows(len(train), n_bins, stride) if kind == "raster" else len(train)
    data = TrainingData(train=WindowedSpikes(kind, train, n_bins, stride if kind == "raster"
                                             else 1, count, spec.source, key, bin_width),
                        val=val)
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
    if kind == "raster":
        info["n_time_bins"] = int(spec.spikes.shape[0])
    info["silent_neurons"] = np.flatnonzero(rates == 0).tolist()
    # per neuron: what `spikegan sample --calibrate` shifts the generator's rates to
    info["neuron_rates"] = [float(r) for r in rates]
    silent = silent_neurons_message(rates, source=None if source is None else str(source))
    if silent:
        warnings.warn(silent, UserWarning, stacklevel=2)
    return dataclasses.replace(data, info=info)


def _resolved(source: Any) -> str | None:
    """The absolute path of a data file (so a run can be resumed from anywhere)."""
    if source is None:
        return None
    text = str(source)
    return os.path.abspath(text) if os.path.isfile(text) else text



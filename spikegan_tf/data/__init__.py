"""Loading, windowing and splitting spike data; the ``tf.data`` input pipeline.

Layout everywhere: rasters ``(n_time_bins, n_neurons)`` and windows
``(n_samples, n_neurons, n_bins)``, ``uint8`` 0/1.

* :func:`load_spikes` reads ``.npy``, ``.npz``, ``.mat`` (v5 and v7.3), ``.csv``
  spike times and ``.nwb`` Units tables into a :class:`SpikeRecording`;
* :func:`read_trials_table` reads labels and covariates from the columns of a
  CSV trials table (one row per window);
* :func:`raster_from_spike_times` bins spike times;
* :func:`window_view`, :func:`n_windows`, :func:`split_raster`,
  :func:`split_windows` cut windows and leak-free splits (numpy only);
* :func:`windowed_spikes` validates windows, or a raster plus ``n_bins`` and
  ``stride``, into a :class:`WindowedSpikes`;
* :func:`window_dataset` is the ``tf.data`` pipeline (imports TensorFlow on
  first use only).
"""

from __future__ import annotations

from spikegan_tf._lazy import lazy_names
from spikegan_tf.data.io import DEFAULT_KEY, SUPPORTED_EXTENSIONS, SpikeRecording, load_spikes
from spikegan_tf.data.source import WindowedSpikes, as_windows, neuron_rates, windowed_spikes
from spikegan_tf.data.spiketimes import raster_from_spike_times, read_csv_spike_times
from spikegan_tf.data.trials import read_trials_table
from spikegan_tf.data.windows import n_windows, split_raster, split_windows, window_view

__all__ = [
    "DEFAULT_KEY",
    "SUPPORTED_EXTENSIONS",
    "SpikeRecording",
    "load_spikes",
    "raster_from_spike_times",
    "read_csv_spike_times",
    "read_trials_table",
    "n_windows",
    "split_raster",
    "split_windows",
    "window_view",
    "WindowedSpikes",
    "windowed_spikes",
    "as_windows",
    "neuron_rates",
    "window_dataset",
]


# window_dataset imports TensorFlow: only when asked for
__getattr__ = lazy_names(__name__, {"window_dataset": "spikegan_tf.data.pipeline"})[0]

"""windowed_spikes: windows, or a raster plus n_bins/stride, validated once."""

from __future__ import annotations

import numpy as np
import pytest

from spikegan_tf.data import SpikeRecording, WindowedSpikes, n_windows, windowed_spikes
from spikegan_tf.errors import ConfigError, SpikeDataError, WindowingError


def test_raster_is_described_not_copied():
    raster = np.zeros((100, 3), np.uint8)
    w = windowed_spikes(raster, n_bins=8, stride=4)
    assert isinstance(w, WindowedSpikes)
    assert (w.kind, w.n_bins, w.stride, w.n_windows, w.n_neurons) == ("raster", 8, 4, 24, 3)
    assert w.n_windows == n_windows(100, 8, 4)
    assert w.spikes is raster and w.source is None and w.key is None


def test_raster_default_stride_is_one_and_values_become_uint8():
    w = windowed_spikes(np.eye(10, 3, dtype=bool), n_bins=10)
    assert (w.stride, w.n_windows) == (1, 1)
    assert w.spikes.dtype == np.uint8
    assert windowed_spikes(np.zeros((10, 3)), n_bins=4, stride=None).stride == 1


def test_windows_keep_their_bins():
    windows = np.zeros((5, 3, 8), np.float32)
    w = windowed_spikes(windows)
    assert (w.kind, w.n_bins, w.stride, w.n_windows, w.n_neurons) == ("windows", 8, 1, 5, 3)
    assert w.spikes.dtype == np.uint8 and w.spikes.shape == (5, 3, 8)
    assert windowed_spikes(windows, n_bins=8, stride=1).n_bins == 8


def test_recording_is_unwrapped_with_where_it_came_from():
    rec = SpikeRecording(np.zeros((50, 2), np.uint8), kind="raster", source="rec.npz",
                         key="spikes", bin_width=0.02)
    w = windowed_spikes(rec, n_bins=8)
    assert (w.kind, w.source, w.key, w.bin_width) == ("raster", "rec.npz", "spikes", 0.02)
    assert windowed_spikes(rec, n_bins=8, source="other.npy").source == "other.npy"
    bad = SpikeRecording(np.full((50, 2), 2, np.uint8), kind="raster", source="rec.npz")
    with pytest.raises(SpikeDataError, match="`data` must be binary.* in file 'rec.npz'"):
        windowed_spikes(bad, n_bins=8)


def test_any_object_with_spikes_and_a_path_is_unwrapped():
    class Loaded:
        spikes = np.zeros((4, 2, 3), np.uint8)
        path = "dir/file.npy"

    w = windowed_spikes(Loaded())
    assert (w.kind, w.source, w.key, w.bin_width) == ("windows", "dir/file.npy", None, None)


def test_raster_without_n_bins():
    with pytest.raises(WindowingError) as info:
        windowed_spikes(np.zeros((100, 3), np.uint8), name="spikes", source="r.npy")
    assert str(info.value) == (
        "`n_bins` is required when `spikes` is a raster (time_bins, neurons); received a "
        "raster of shape (100, 3) in file 'r.npy': pass `n_bins` (and `stride`) to cut it "
        "into windows."
    )
    # callers catch either kind of error
    assert isinstance(info.value, SpikeDataError) and isinstance(info.value, ConfigError)


def test_n_bins_disagreeing_with_windows():
    with pytest.raises(WindowingError) as info:
        windowed_spikes(np.zeros((4, 3, 8), np.uint8), n_bins=16, name="windows")
    assert str(info.value) == (
        "`n_bins` disagrees with `windows`: n_bins=16 was requested, but `windows` holds "
        "windows of 8 bins (shape (4, 3, 8) = (n_samples, n_neurons, n_bins)). Leave "
        "`n_bins` out for windows."
    )


def test_stride_given_for_windows():
    windows = np.zeros((3, 2, 4), np.uint8)
    with pytest.raises(WindowingError) as info:
        windowed_spikes(windows, stride=2)
    assert str(info.value) == (
        "`stride` applies only to a raster; `data` holds windows (3, 2, 4) (n_samples, "
        "n_neurons, n_bins). Received stride=2; leave `stride` out for windows."
    )
    # callers that pass one stride for any input may ignore it for windows
    w = windowed_spikes(windows, stride=2, stride_for_windows="ignore")
    assert (w.kind, w.stride) == ("windows", 1)
    with pytest.raises(ConfigError, match="`stride_for_windows` must be 'reject' or 'ignore'"):
        windowed_spikes(windows, stride_for_windows="warn")


def test_raster_shorter_than_one_window():
    with pytest.raises(WindowingError) as info:
        windowed_spikes(np.zeros((5, 3), np.uint8), n_bins=8, name="spikes")
    assert str(info.value) == (
        "`spikes` has 5 time bins, fewer than one window of n_bins=8: the raster (shape "
        "(5, 3)) is too short. Use a smaller `n_bins` or a longer recording."
    )


@pytest.mark.parametrize("shape, dims", [((5,), "1 dimension"), ((2, 2, 2, 2), "4 dimensions")])
def test_neither_raster_nor_windows(shape, dims):
    with pytest.raises(SpikeDataError) as info:
        windowed_spikes(np.zeros(shape), n_bins=2, source="x.npy")
    assert str(info.value) == (
        "`data` must be a raster (time_bins, n_neurons) or windows (n_samples, n_neurons, "
        f"n_bins). Received shape {shape} ({dims}) in file 'x.npy'; give windows (3-D) or a "
        "raster (2-D)."
    )


@pytest.mark.parametrize("data", [np.full((20, 3), 2), np.full((2, 3, 4), 2)])
def test_non_binary_values(data):
    with pytest.raises(SpikeDataError, match=r"`spikes` must be binary \(0/1\). Received values "
                                             r"\{2\}"):
        windowed_spikes(data, n_bins=4 if data.ndim == 2 else None, name="spikes")


def test_ragged_input_gets_the_validators_message():
    with pytest.raises(SpikeDataError, match="`data` must be an array of 0/1 values"):
        windowed_spikes([[0, 1], [1]], n_bins=1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_bins=0), r"`n_bins` must be an integer >= 1. Received 0"),
    (dict(n_bins=2.5), r"`n_bins` must be an integer >= 1. Received 2.5"),
    (dict(n_bins=4, stride=0), r"`stride` must be an integer >= 1. Received 0"),
])
def test_bad_n_bins_or_stride(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        windowed_spikes(np.zeros((10, 2), np.uint8), **kwargs)

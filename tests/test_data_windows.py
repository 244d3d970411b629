"""Windows, leak-free splits (property-based) and the on-the-fly tf.data pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikegan_tf.data import n_windows, split_raster, split_windows, window_view
from spikegan_tf.errors import ConfigError, SpikeDataError


def test_window_view_is_a_read_only_view_in_the_package_layout():
    raster = (np.arange(30).reshape(10, 3) % 4 == 0).astype(np.uint8)
    w = window_view(raster, 4, stride=3)
    assert w.shape == (3, 3, 4) == (n_windows(10, 4, 3), 3, 4)
    for i in range(3):
        np.testing.assert_array_equal(w[i], raster[3 * i : 3 * i + 4].T)
    assert np.shares_memory(w, raster)
    assert not w.flags.writeable


def test_n_windows_counts():
    assert n_windows(10, 4) == 7
    assert n_windows(10, 4, 3) == 3
    assert n_windows(10, 10) == 1
    assert n_windows(9, 10) == 0


def test_too_few_bins_for_one_window():
    with pytest.raises(SpikeDataError, match="has 5 time bins, fewer than one window of n_bins=8"):
        window_view(np.zeros((5, 2), np.uint8), 8)
    with pytest.raises(SpikeDataError, match="must have 2 dimensions"):
        window_view(np.zeros((5, 2, 2), np.uint8), 2)
    with pytest.raises(ConfigError, match="`stride` must be an integer >= 1"):
        window_view(np.zeros((5, 2), np.uint8), 2, stride=0)


@settings(max_examples=150, deadline=None)
@given(
    n_time=st.integers(1, 400),
    weights=st.lists(st.integers(1, 10), min_size=1, max_size=4),
    n_bins=st.integers(1, 20),
    gap=st.one_of(st.none(), st.integers(0, 25)),
)
def test_splits_never_share_a_bin_and_respect_the_gap(n_time, weights, n_bins, gap):
    fractions = np.array(weights, float) / sum(weights)
    raster = np.arange(n_time)[:, None]  # each row holds its own bin index
    eff_gap = n_bins if gap is None else gap
    try:
        blocks = split_raster(raster, fractions, gap=gap, n_bins=n_bins)
    except SpikeDataError as exc:  # only when the raster really is too short
        assert "too few to split" in str(exc)
        usable = n_time - eff_gap * (len(weights) - 1)
        edges = np.rint(np.cumsum(fractions) * max(usable, 0))
        sizes = np.diff(np.concatenate([[0], edges[:-1], [max(usable, 0)]]))
        assert usable <= 0 or sizes.min() < n_bins
        return
    assert len(blocks) == len(weights)
    bins = [b[:, 0] for b in blocks]
    for b in bins:
        assert len(b) >= n_bins  # at least one window per block
        np.testing.assert_array_equal(b, np.arange(b[0], b[0] + len(b)))  # contiguous
    for prev, nxt in zip(bins, bins[1:], strict=False):
        assert nxt[0] - prev[-1] - 1 == eff_gap  # exactly `gap` bins dropped, in order
    # no window of one split shares a bin with a window of another split
    window_bins = [set(window_view(b[:, None], n_bins)[:, 0, :].ravel().tolist()) for b in bins]
    for i in range(len(window_bins)):
        for j in range(i + 1, len(window_bins)):
            assert not window_bins[i] & window_bins[j]
    assert sum(map(len, bins)) == n_time - eff_gap * (len(weights) - 1)


def test_split_raster_sizes_and_errors():
    raster = np.zeros((1000, 2), np.uint8)
    train, val, test = split_raster(raster, n_bins=32)
    # 1000 - 2 gaps of 32 = 936 kept bins, cut at round(0.8 * 936) = 749 and round(0.9 * 936) = 842
    assert (len(train), len(val), len(test)) == (749, 93, 94)
    with pytest.raises(ConfigError, match="`fractions` must be numbers that sum to 1"):
        split_raster(raster, (0.5, 0.4), gap=0)
    with pytest.raises(ConfigError, match="`fractions` must be positive numbers"):
        split_raster(raster, (1.2, -0.2), gap=0)
    with pytest.raises(ConfigError, match="needs `gap`"):
        split_raster(raster, (0.5, 0.5))
    with pytest.raises(SpikeDataError, match="shortest block would have 7 bins, fewer than one "
                       "window of 32"):
        split_raster(np.zeros((100, 2)), (0.9, 0.1), n_bins=32)  # 68 kept: 61 + 7


def test_split_windows_is_a_seeded_partition():
    w = np.arange(50).reshape(50, 1, 1) * np.ones((1, 2, 3), int)
    parts = split_windows(w, (0.6, 0.2, 0.2), seed=7)
    assert [len(p) for p in parts] == [30, 10, 10]
    ids = np.concatenate([p[:, 0, 0] for p in parts])
    assert sorted(ids.tolist()) == list(range(50))
    again = split_windows(w, (0.6, 0.2, 0.2), seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))
    other = split_windows(w, (0.6, 0.2, 0.2), seed=8)
    assert not np.array_equal(parts[0], other[0])
    with pytest.raises(SpikeDataError, match="a split would be empty"):
        split_windows(w[:2], (0.5, 0.3, 0.2), seed=0)


# ----------------------------------------------------------------------------- tf.data


def _epoch(ds):
    return np.concatenate([b.numpy() for b in ds])


def test_window_dataset_in_order_matches_window_view(rng):
    from spikegan_tf.data import window_dataset

    raster = (rng.random((60, 3)) < 0.3).astype(np.uint8)
    ds = window_dataset(raster, 8, 5, stride=2, seed=0, shuffle=False, repeat=False,
                        drop_remainder=False)
    out = _epoch(ds)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, window_view(raster, 8, stride=2).astype(np.float32))


def test_window_dataset_shuffle_is_seeded_and_complete(rng):
    from spikegan_tf.data import window_dataset

    raster = np.zeros((40, 1), np.uint8)
    raster[np.arange(0, 40, 1) % 5 == 0] = 1
    raster = np.concatenate([raster, (np.arange(40)[:, None] % 2).astype(np.uint8)], axis=1)
    # identify each window by the index of its first bin: encode bins in a 6-bit code
    code = ((np.arange(40)[:, None] >> np.arange(6)) & 1).astype(np.uint8)
    raster = np.concatenate([raster, code], axis=1)
    n = n_windows(40, 4)

    def starts(seed):
        ds = window_dataset(raster, 4, 6, seed=seed, repeat=False, drop_remainder=False)
        first_bin_code = _epoch(ds)[:, 2:, 0].astype(int)
        return (first_bin_code << np.arange(6)).sum(axis=1).tolist()

    a, b, c = starts(3), starts(3), starts(4)
    assert sorted(a) == list(range(n))  # one epoch = every window exactly once
    assert a == b  # same seed, same order
    assert a != c and a != list(range(n))


def test_window_dataset_repeats_in_full_batches_and_accepts_windows(rng):
    from spikegan_tf.data import window_dataset

    raster = (rng.random((20, 4)) < 0.5).astype(np.uint8)
    ds = window_dataset(raster, 8, 5, seed=1)
    assert tuple(ds.element_spec.shape) == (5, 4, 8)
    batches = list(ds.take(7))  # 13 windows per pass, repeated forever
    assert all(tuple(b.shape) == (5, 4, 8) for b in batches)

    windows = (rng.random((9, 4, 6)) < 0.5).astype(np.uint8)
    ds = window_dataset(windows, None, 3, seed=0, shuffle=False, repeat=False)
    np.testing.assert_array_equal(_epoch(ds), windows.astype(np.float32))


def test_window_dataset_errors():
    from spikegan_tf.data import window_dataset

    with pytest.raises(SpikeDataError, match="fewer than one window of n_bins=8"):
        window_dataset(np.zeros((5, 2), np.uint8), 8, 2, seed=0)
    with pytest.raises(SpikeDataError, match="Only 3 windows, fewer than one batch of 4"):
        window_dataset(np.zeros((10, 2), np.uint8), 8, 4, seed=0)
    with pytest.raises(SpikeDataError, match="n_bins=8 was requested, but `raster` holds windows of 6 bins"):
        window_dataset(np.zeros((10, 2, 6), np.uint8), 8, 4, seed=0)
    with pytest.raises(SpikeDataError, match="must be binary"):
        window_dataset(np.full((10, 2), 2), 4, 2, seed=0)

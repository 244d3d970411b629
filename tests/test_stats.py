"""Statistics: hand-counted tiny arrays, independent oracles, invariances, NaN handling."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from spikegan_tf import statistics as S
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.statistics.result import _ARRAY_FIELDS, _SCALAR_FIELDS

# ---------------------------------------------------------------------------
# helpers: independent (slow, obvious) implementations
# ---------------------------------------------------------------------------


def concat(windows):
    """(n, N, T) -> (N, n*T), windows side by side."""
    n, N, T = windows.shape
    return windows.transpose(1, 0, 2).reshape(N, n * T).astype(float)


def lag_cov_oracle(windows, lag, ddof=1):
    n, N, T = windows.shape
    out = np.empty((N, N))
    for i in range(N):
        for j in range(N):
            a = windows[:, i, : T - lag].ravel().astype(float)
            b = windows[:, j, lag:].ravel().astype(float)
            out[i, j] = np.cov(a, b, ddof=ddof)[0, 1]
    return out


def acg_oracle(windows, L):
    """Pad every neuron row with L zeros, slide over the spikes (the reference algorithm)."""
    ac = np.zeros(2 * L + 1)
    for w in windows:
        for row in w:
            padded = np.concatenate([np.zeros(L), row, np.zeros(L)])
            for t in np.flatnonzero(padded):
                ac += padded[t - L : t + L + 1]
    return ac


def isi_oracle(windows):
    T = windows.shape[2]
    counts = np.zeros(T)
    for w in windows:
        for row in w:
            for d in np.diff(np.flatnonzero(row)):
                counts[d] += 1
    return counts


def word_oracle(windows, group, b):
    n, N, T = windows.shape
    G = len(group)
    counts = np.zeros(1 << (G * b))
    for w in windows:
        for t in range(T - b + 1):
            code = 0
            for d in range(b):
                for j, g in enumerate(group):
                    code += int(w[g, t + d]) << (d * G + j)
            counts[code] += 1
    return counts / counts.sum()


def random_windows(rng, n=40, N=5, T=9, p=0.3):
    return (rng.random((n, N, T)) < p).astype(np.uint8)


# ---------------------------------------------------------------------------
# hand-counted tiny arrays
# ---------------------------------------------------------------------------

# two windows, two neurons, four bins
TINY = np.array(
    [
        [[1, 0, 1, 1], [0, 1, 0, 0]],
        [[0, 0, 1, 0], [1, 1, 0, 1]],
    ],
    dtype=np.uint8,
)


def test_tiny_first_order():
    # neuron 0 spikes 4 times in 8 bins, neuron 1 also 4 times
    np.testing.assert_array_equal(S.firing_probability(TINY), [0.5, 0.5])
    np.testing.assert_array_equal(S.time_course(TINY), [[0.5, 0, 1, 0.5], [0.5, 1, 0, 0.5]])


def test_tiny_spike_count_distribution():
    # population counts per bin: w0 = 1,1,1,1 ; w1 = 1,1,1,1 -> every bin has K=1
    np.testing.assert_array_equal(S.spike_count_distribution(TINY), [0, 1, 0])
    x = np.array([[[1, 1, 0], [1, 0, 0], [1, 0, 0]]])  # K = 3, 1, 0
    np.testing.assert_allclose(S.spike_count_distribution(x), [1 / 3, 1 / 3, 0, 1 / 3])


def test_tiny_covariance_by_hand():
    # neuron 0 over 8 bins: 1 0 1 1 0 0 1 0 ; neuron 1: 0 1 0 0 1 1 0 1 = 1 - neuron 0
    # mean 0.5 each, var (ddof=0) 0.25, cov -0.25
    np.testing.assert_allclose(S.covariance(TINY, ddof=0), [[0.25, -0.25], [-0.25, 0.25]])
    np.testing.assert_allclose(S.covariance(TINY), np.array([[2, -2], [-2, 2]]) / 7)
    np.testing.assert_allclose(S.correlation(TINY), [[1, -1], [-1, 1]])


def test_tiny_lagged_covariance_by_hand():
    # lag-1 pairs inside windows: (t, t+1) for t = 0..2 in both windows, 6 pairs
    # neuron 0 left : 1 0 1 | 0 0 1  (mean 1/2); neuron 1 right: 1 0 0 | 1 0 1 (mean 1/2)
    # products x0(t) x1(t+1): 1 0 0 | 0 0 1 -> sum 2; cov(ddof=0) = 2/6 - 1/4 = 1/12
    lc = S.lagged_covariance(TINY, 1, ddof=0)
    assert lc.shape == (1, 2, 2)
    assert lc[0, 0, 1] == pytest.approx(1 / 12)
    # neuron 0 with itself: left 1 0 1 | 0 0 1, right 0 1 1 | 0 1 0 (mean 1/2)
    # products 0 0 1 | 0 0 0 -> 1/6 - 1/4 = -1/12
    assert lc[0, 0, 0] == pytest.approx(-1 / 12)


def test_tiny_autocorrelogram_by_hand():
    # neuron 0 window 0: 1 0 1 1 -> lag1 pairs (2,3) = 1, lag2 pairs (0,2) = 1, lag3 (0,3) = 1
    # neuron 1 window 0: 0 1 0 0 -> none; neuron 0 window 1: 0 0 1 0 -> none
    # neuron 1 window 1: 1 1 0 1 -> lag1 (0,1) = 1, lag2 (1,3) = 1, lag3 (0,3) = 1
    # lag 0 = 8 spikes
    counts = S.autocorrelogram(TINY, 3, normalize="counts")
    np.testing.assert_array_equal(counts, [2, 2, 2, 8, 2, 2, 2])
    np.testing.assert_allclose(S.autocorrelogram(TINY, 3), [0.25, 0.25, 0.25, 0, 0.25, 0.25, 0.25])


def test_tiny_isi_by_hand():
    # intervals: w0 n0: 2,1 ; w1 n1: 1,2 ; single spikes give none
    np.testing.assert_array_equal(S.isi_distribution(TINY, normalize=False), [0, 2, 2, 0])
    np.testing.assert_allclose(S.isi_distribution(TINY), [0, 0.5, 0.5, 0])


def test_tiny_words_by_hand():
    # words of (neuron 0, neuron 1) per bin; code = x0 + 2 x1
    # w0: 1,2,1,1 ; w1: 2,2,1,2 -> P(1) = 4/8, P(2) = 4/8
    np.testing.assert_allclose(S.word_probabilities(TINY, [0, 1]), [0, 0.5, 0.5, 0])
    # reversed group order swaps the bits (TINY's neuron 1 is 1 - neuron 0, which makes both
    # orders agree there, so use an array where they differ): neuron 0 1 1 1 0, neuron 1 0 0 1 0
    x = np.array([[[1, 1, 1, 0], [0, 0, 1, 0]]], dtype=np.uint8)
    np.testing.assert_allclose(S.word_probabilities(x, [0, 1]), [1 / 4, 2 / 4, 0, 1 / 4])
    np.testing.assert_allclose(S.word_probabilities(x, [1, 0]), [1 / 4, 0, 2 / 4, 1 / 4])
    # two-bin words of neuron 0 alone: code = x0(t) + 2 x0(t+1)
    # w0: (1,0)=1 (0,1)=2 (1,1)=3 ; w1: (0,0)=0 (0,1)=2 (1,0)=1 -> 1/6, 2/6, 2/6, 1/6
    np.testing.assert_allclose(S.word_probabilities(TINY, [0], 2), [1 / 6, 2 / 6, 2 / 6, 1 / 6])


def test_tiny_spike_count_correlation_by_hand():
    # spike counts per window: neuron 0: 3, 1 ; neuron 1: 1, 3 -> correlation -1
    np.testing.assert_allclose(S.spike_count_correlation(TINY), [[1, -1], [-1, 1]])


def test_tiny_entropy_by_hand():
    x = np.array([[[1, 0]], [[0, 1]], [[1, 0]], [[0, 0]]])  # P = 1/2, 1/4, 1/4
    assert S.entropy(x) == pytest.approx(1.5)
    # Miller-Madow: + (3 - 1) / (2 * 4 * ln 2)
    assert S.entropy(x, "miller_madow") == pytest.approx(1.5 + 2 / (8 * np.log(2)))


# ---------------------------------------------------------------------------
# independent computations on random data
# ---------------------------------------------------------------------------


def test_against_numpy_and_scipy(rng):
    w = random_windows(rng, n=60, N=6, T=10, p=0.25)
    st_ = S.compute_statistics(w, max_lag=4, word_neurons=[1, 3, 4], word_bins=2)
    C = concat(w)
    np.testing.assert_allclose(st_.firing_probability, C.mean(axis=1))
    np.testing.assert_allclose(st_.time_course, w.mean(axis=0))
    np.testing.assert_allclose(st_.covariance, np.cov(C))
    np.testing.assert_allclose(st_.correlation, np.corrcoef(C))
    np.testing.assert_allclose(S.covariance(w, ddof=0), np.cov(C, ddof=0))
    for lag in range(1, 5):
        np.testing.assert_allclose(st_.lagged_covariance[lag - 1], lag_cov_oracle(w, lag),
                                   atol=1e-15)
    np.testing.assert_allclose(st_.autocorrelogram_counts, acg_oracle(w, 4))
    hist = np.histogram(C.sum(axis=0), bins=np.arange(6 + 2) - 0.5)[0]
    np.testing.assert_allclose(st_.spike_count_distribution, hist / C.shape[1])
    isi = isi_oracle(w)
    np.testing.assert_allclose(st_.isi_distribution, isi / isi.sum())
    np.testing.assert_allclose(st_.words, word_oracle(w, [1, 3, 4], 1))
    np.testing.assert_allclose(st_.multibin_words, word_oracle(w, [1, 3, 4], 2))
    np.testing.assert_allclose(st_.spike_count_correlation, np.corrcoef(w.sum(axis=2).T))
    assert st_.word_entropy == pytest.approx(scipy.stats.entropy(st_.words, base=2))


def test_entropy_against_scipy(rng):
    w = random_windows(rng, n=300, N=3, T=4, p=0.3)
    _, counts = np.unique(w.reshape(300, -1), axis=0, return_counts=True)
    h = scipy.stats.entropy(counts, base=2)
    assert S.entropy(w) == pytest.approx(h)
    st_ = S.compute_statistics(w)
    assert st_.entropy == pytest.approx(h)
    assert st_.entropy_miller_madow == pytest.approx(h + (len(counts) - 1) / (600 * np.log(2)))
    # whole-window entropy is skipped (NaN) for large windows
    assert np.isnan(S.compute_statistics(random_windows(rng, N=9, T=8)).entropy)


def test_reference_normalisation_and_single_functions(rng):
    w = random_windows(rng)
    counts = S.autocorrelogram(w, 5, normalize="counts")
    ref = S.autocorrelogram(w, 5)
    expected = counts / counts.max()
    expected[5] = 0
    np.testing.assert_allclose(ref, expected)
    np.testing.assert_allclose(counts, counts[::-1])  # symmetric
    assert counts[5] == w.sum()  # lag 0 counts the spikes
    full = S.compute_statistics(w, max_lag=5)
    np.testing.assert_array_equal(full.autocorrelogram, ref)
    np.testing.assert_array_equal(S.lagged_covariance(w, 5), full.lagged_covariance)
    np.testing.assert_array_equal(S.firing_probability(w), full.firing_probability)
    np.testing.assert_array_equal(S.spike_count_correlation(w), full.spike_count_correlation)


# ---------------------------------------------------------------------------
# raster mode == explicit windows (bit for bit), both product methods
# ---------------------------------------------------------------------------


def assert_same_statistics(a, b):
    for name in _ARRAY_FIELDS + _SCALAR_FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.n_windows == b.n_windows and a.word_neurons == b.word_neurons


@pytest.mark.parametrize("n_bins,stride", [(8, 1), (8, 3), (8, 8), (6, 11)])
def test_raster_mode_equals_explicit_windows(rng, n_bins, stride):
    raster = (rng.random((311, 5)) < 0.3).astype(np.uint8)
    windows = np.ascontiguousarray(sliding_window_view(raster, n_bins, axis=0)[::stride])
    kw = dict(max_lag=3, word_neurons=[0, 2, 4], word_bins=2)
    from_raster = S.compute_statistics(raster, n_bins=n_bins, stride=stride, block_rows=37, **kw)
    from_windows = S.compute_statistics(windows, block_rows=50, **kw)
    assert from_raster.n_windows == len(windows)
    assert_same_statistics(from_raster, from_windows)
    # ... and the single functions take rasters too
    np.testing.assert_array_equal(
        S.time_course(raster, n_bins=n_bins, stride=stride), windows.mean(axis=0)
    )
    np.testing.assert_array_equal(
        S.isi_distribution(raster, n_bins=n_bins, stride=stride, normalize=False),
        isi_oracle(windows),
    )


@pytest.mark.parametrize("p", [0.02, 0.6])  # sparse and dense: "auto" picks each method once
def test_product_methods_agree_with_each_other_and_an_oracle(rng, p):
    raster = (rng.random((400, 6)) < p).astype(np.uint8)
    kw = dict(n_bins=12, stride=2, max_lag=5, block_rows=64)
    pairs = S.compute_statistics(raster, lag_method="pairs", **kw)
    dense = S.compute_statistics(raster, lag_method="dense", **kw)
    assert_same_statistics(pairs, dense)
    assert_same_statistics(S.compute_statistics(raster, lag_method="auto", **kw), pairs)
    windows = np.ascontiguousarray(sliding_window_view(raster, 12, axis=0)[::2])
    for lag in range(1, 6):
        np.testing.assert_allclose(pairs.lagged_covariance[lag - 1], lag_cov_oracle(windows, lag),
                                   atol=1e-15)
    np.testing.assert_allclose(pairs.covariance, np.cov(concat(windows)), atol=1e-15)
    np.testing.assert_array_equal(pairs.autocorrelogram_counts, acg_oracle(windows, 5))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    time_bins=st.integers(4, 60),
    n_neurons=st.integers(1, 4),
    n_bins=st.integers(2, 8),
    stride=st.integers(1, 10),
    p=st.floats(0.0, 1.0),
)
def test_raster_mode_property(seed, time_bins, n_neurons, n_bins, stride, p):
    if n_bins > time_bins:
        n_bins = time_bins
    raster = (np.random.default_rng(seed).random((time_bins, n_neurons)) < p).astype(np.uint8)
    windows = np.ascontiguousarray(sliding_window_view(raster, n_bins, axis=0)[::stride])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # silent data give NaN on purpose
        a = S.compute_statistics(raster, n_bins=n_bins, stride=stride, block_rows=7)
        b = S.compute_statistics(windows)
    assert_same_statistics(a, b)
    np.testing.assert_allclose(a.time_course, windows.mean(axis=0))


# ---------------------------------------------------------------------------
# invariances
# ---------------------------------------------------------------------------


def test_permuting_neurons_permutes_matrices(rng):
    w = random_windows(rng, n=50, N=6, T=8)
    perm = rng.permutation(6)
    a = S.compute_statistics(w, max_lag=3, word_neurons=[0, 1, 2], word_bins=1)
    inv = np.argsort(perm)  # neuron k of the permuted data is neuron perm[k]
    b = S.compute_statistics(w[:, perm], max_lag=3, word_neurons=list(inv[[0, 1, 2]]),
                             word_bins=1)
    ix = np.ix_(perm, perm)
    np.testing.assert_allclose(b.firing_probability, a.firing_probability[perm])
    np.testing.assert_allclose(b.time_course, a.time_course[perm])
    np.testing.assert_allclose(b.covariance, a.covariance[ix])
    np.testing.assert_allclose(b.correlation, a.correlation[ix])
    np.testing.assert_allclose(b.lagged_covariance, a.lagged_covariance[:, perm][:, :, perm])
    np.testing.assert_allclose(b.spike_count_correlation, a.spike_count_correlation[ix])
    # population-level statistics do not change
    np.testing.assert_array_equal(b.spike_count_distribution, a.spike_count_distribution)
    np.testing.assert_array_equal(b.autocorrelogram_counts, a.autocorrelogram_counts)
    np.testing.assert_array_equal(b.isi_distribution, a.isi_distribution)
    assert b.word_entropy == pytest.approx(a.word_entropy)


def test_shuffling_windows_changes_nothing(rng):
    w = random_windows(rng, n=70, N=4, T=8)
    a = S.compute_statistics(w, max_lag=4)
    b = S.compute_statistics(w[rng.permutation(70)], max_lag=4)
    assert_same_statistics(a, b)


# ---------------------------------------------------------------------------
# silent neurons and empty data: NaN with a warning, never a crash
# ---------------------------------------------------------------------------


def test_silent_neuron_gives_nan_with_warning(rng):
    w = random_windows(rng, n=30, N=4, T=8)
    w[:, 2] = 0
    with pytest.warns(RuntimeWarning, match=r"Neurons: \[2\]"):
        st_ = S.compute_statistics(w, max_lag=2)
    assert np.isnan(st_.correlation[2]).all() and np.isnan(st_.correlation[:, 2]).all()
    assert not np.isnan(np.delete(np.delete(st_.correlation, 2, 0), 2, 1)).any()
    assert np.isnan(st_.spike_count_correlation[2]).all()
    # covariances and rates are well defined (zero)
    assert st_.firing_probability[2] == 0
    np.testing.assert_array_equal(st_.covariance[2], 0)
    np.testing.assert_array_equal(st_.lagged_covariance[:, 2], 0)
    with pytest.warns(RuntimeWarning, match="zero variance"):
        S.correlation(w)


def test_all_silent_data(rng):
    w = np.zeros((5, 3, 6), dtype=np.uint8)
    with pytest.warns(RuntimeWarning):
        st_ = S.compute_statistics(w, max_lag=2)
    assert np.isnan(st_.autocorrelogram).all()
    assert np.isnan(st_.isi_distribution).all()
    np.testing.assert_array_equal(st_.autocorrelogram_counts, 0)
    np.testing.assert_array_equal(st_.spike_count_distribution, [1, 0, 0, 0])
    assert st_.entropy == 0.0


# ---------------------------------------------------------------------------
# input errors
# ---------------------------------------------------------------------------


def test_clear_errors(rng):
    raster = (rng.random((50, 3)) < 0.3).astype(np.uint8)
    with pytest.raises(SpikeDataError, match="pass `n_bins`"):
        S.compute_statistics(raster)
    with pytest.raises(SpikeDataError, match="too short"):
        S.compute_statistics(raster, n_bins=51)
    with pytest.raises(SpikeDataError, match="must be binary"):
        S.firing_probability(np.full((2, 3, 4), 2))
    with pytest.raises(SpikeDataError, match="holds windows of 4 bins"):
        S.compute_statistics(np.zeros((2, 3, 4)), n_bins=5)
    w = random_windows(rng, N=4, T=6)
    with pytest.raises(ConfigError, match="max_lag"):
        S.compute_statistics(w, max_lag=6)
    with pytest.raises(ConfigError, match=r"\[0, 4\)"):
        S.word_probabilities(w, [0, 4])
    with pytest.raises(ConfigError, match="must not repeat"):
        S.word_probabilities(w, [1, 1])
    with pytest.raises(ConfigError, match="at most 20"):
        S.compute_statistics(random_windows(rng, N=12, T=6), word_neurons=range(11), word_bins=2)
    with pytest.raises(ConfigError, match="n_neurons \\* n_bins <= 64"):
        S.entropy(random_windows(rng, N=9, T=8))
    with pytest.raises(ConfigError, match="normalize"):
        S.autocorrelogram(w, 2, normalize="max")


# ---------------------------------------------------------------------------
# Statistics container
# ---------------------------------------------------------------------------


def test_statistics_save_load_and_read_only(rng, tmp_path):
    w = random_windows(rng, n=20, N=3, T=6)
    st_ = S.compute_statistics(w, max_lag=2)
    with pytest.raises(ValueError):
        st_.covariance[0, 0] = 1.0
    st_.save(tmp_path / "s.npz")
    back = S.Statistics.load(tmp_path / "s.npz")
    assert_same_statistics(st_, back)
    assert back.params() == st_.params()
    np.savez(tmp_path / "bad.npz", x=np.zeros(2))
    with pytest.raises(SpikeDataError, match="missing"):
        S.Statistics.load(tmp_path / "bad.npz")


def test_default_word_group_is_most_active(rng):
    w = random_windows(rng, n=200, N=14, T=5, p=0.05)
    w[:, [3, 11], :3] = 1  # the two most active
    st_ = S.compute_statistics(w, word_bins=2)
    assert len(st_.word_neurons) == 10
    assert {3, 11} <= set(st_.word_neurons)
    assert st_.words.size == 2**10 and st_.multibin_words.size == 2**20


@pytest.mark.parametrize("n_bins, stride", [(5, 1), (4, 3)])
def test_window_count_variance_of_a_raster_is_that_of_its_windows(n_bins, stride):
    from spikegan_tf.data.windows import window_view
    from spikegan_tf.statistics import window_count_variance

    raster = (np.random.default_rng(4).random((50, 6)) < 0.3).astype(np.uint8)
    windows = window_view(raster, n_bins, stride)
    expected = float(np.var([w.sum() for w in windows]))
    assert window_count_variance(raster, n_bins=n_bins, stride=stride) == pytest.approx(expected)
    assert window_count_variance(np.ascontiguousarray(windows)) == pytest.approx(expected)
    assert expected > 0
    mean = np.mean([w.sum() for w in windows])
    assert window_count_variance(raster, n_bins=n_bins, stride=stride,
                                 relative=True) == pytest.approx(expected / mean ** 2)
    assert np.isnan(window_count_variance(np.zeros((3, 2, 4), np.uint8), relative=True))


def test_window_count_variance_of_parts_pools_the_parts_of_every_window():
    from spikegan_tf.data.windows import window_view
    from spikegan_tf.errors import ConfigError
    from spikegan_tf.statistics import window_count_variance

    raster = (np.random.default_rng(5).random((60, 4)) < 0.3).astype(np.uint8)
    windows = np.ascontiguousarray(window_view(raster, 6, 2))  # 28 windows of 6 bins
    counts = [w[:, a:a + 2].sum() for w in windows for a in (0, 2, 4)]
    expected = float(np.var(counts))
    assert window_count_variance(windows, parts=3) == pytest.approx(expected)
    assert window_count_variance(raster, n_bins=6, stride=2, parts=3) == pytest.approx(expected)
    assert window_count_variance(windows, parts=3, relative=True) == pytest.approx(
        expected / np.mean(counts) ** 2)
    assert expected != pytest.approx(window_count_variance(windows))
    with pytest.raises(ConfigError, match="`parts` must divide the windows' 6 bins. Received 4"):
        window_count_variance(windows, parts=4)

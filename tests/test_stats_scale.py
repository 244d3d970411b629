"""Statistics at scale: the pair-window subsample, threads, memory-mapped input, fast paths."""

from __future__ import annotations

import mmap
import warnings

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from spikegan_tf import statistics as S
from spikegan_tf import validation
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.statistics import stream
from spikegan_tf.statistics.result import _ARRAY_FIELDS, _SCALAR_FIELDS
from spikegan_tf.statistics.spikes import _gap_counts, _spike_positions

PAIR_FIELDS = ("covariance", "correlation", "lagged_covariance")


def assert_same(a, b, fields=_ARRAY_FIELDS + _SCALAR_FIELDS):
    for name in fields:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def windows(rng, n=60, N=7, T=10, p=0.2):
    return (rng.random((n, N, T)) < p).astype(np.uint8)


# ---------------------------------------------------------------------------
# pair_windows: the pairwise statistics of a subsample, the rest of all windows
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("k", [60, 61, 1000])
def test_pair_windows_of_all_windows_is_the_full_computation(rng, k):
    w = windows(rng)
    full = S.compute_statistics(w, max_lag=4)
    sub = S.compute_statistics(w, max_lag=4, pair_windows=k)
    assert_same(sub, full)
    assert sub.n_pair_windows == full.n_pair_windows == full.n_windows == 60


@pytest.mark.parametrize("k", [1, 7, 59])
def test_pair_windows_subsample_of_windows(rng, k):
    w = windows(rng)
    kw = dict(max_lag=4, word_neurons=[0, 3, 5], word_bins=2)
    chosen = np.arange(k) * 60 // k  # the documented choice: evenly spaced
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # one window: silent neurons
        sub = S.compute_statistics(w, pair_windows=k, **kw)
        of_chosen = S.compute_statistics(w[chosen], **kw)
    assert_same(sub, of_chosen, PAIR_FIELDS)
    rest = tuple(f for f in _ARRAY_FIELDS + _SCALAR_FIELDS if f not in PAIR_FIELDS)
    assert_same(sub, S.compute_statistics(w, **kw), rest)
    assert (sub.n_windows, sub.n_pair_windows) == (60, k)


def test_pair_windows_subsample_of_a_raster(rng):
    raster = (rng.random((400, 5)) < 0.2).astype(np.uint8)
    kw = dict(max_lag=3, word_neurons=[1, 2], word_bins=2)
    sub = S.compute_statistics(raster, n_bins=12, stride=3, pair_windows=20, block_rows=50, **kw)
    all_windows = np.ascontiguousarray(sliding_window_view(raster, 12, axis=0)[::3])
    n = len(all_windows)
    chosen = all_windows[np.arange(20) * n // 20]
    assert_same(sub, S.compute_statistics(chosen, **kw), PAIR_FIELDS)
    rest = tuple(f for f in _ARRAY_FIELDS + _SCALAR_FIELDS if f not in PAIR_FIELDS)
    assert_same(sub, S.compute_statistics(all_windows, **kw), rest)
    assert (sub.n_windows, sub.n_pair_windows) == (n, 20)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_pair_windows_is_validated(rng, bad):
    with pytest.raises(ConfigError) as err:
        S.compute_statistics(windows(rng), pair_windows=bad)
    assert str(err.value).startswith("`pair_windows` must be an integer >= 1 or None. Received")
    assert "\n" not in str(err.value)


def test_threads_is_validated(rng):
    with pytest.raises(ConfigError, match=r"^`threads` must be an integer >= 1 or None\. "
                                          r"Received 0\.$"):
        S.compute_statistics(windows(rng), threads=0)


def test_n_pair_windows_is_saved_and_old_files_load(rng, tmp_path):
    st_ = S.compute_statistics(windows(rng), max_lag=2, pair_windows=9)
    st_.save(tmp_path / "s.npz")
    back = S.Statistics.load(tmp_path / "s.npz")
    assert_same(back, st_)
    assert (back.n_windows, back.n_pair_windows) == (60, 9)
    with np.load(tmp_path / "s.npz") as z:  # a file written before n_pair_windows existed
        old = {k: z[k] for k in z.files if k != "n_pair_windows"}
    np.savez(tmp_path / "old.npz", **old)
    assert S.Statistics.load(tmp_path / "old.npz").n_pair_windows == 60


# ---------------------------------------------------------------------------
# methods and threads change nothing
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.03, 0.5])
def test_methods_and_threads_agree_on_windows(rng, p):
    w = windows(rng, n=90, N=6, T=9, p=p)
    ref = S.compute_statistics(w, max_lag=5, lag_method="dense", threads=1, block_rows=40)
    for method in ("pairs", "auto"):
        for threads in (1, 3):
            got = S.compute_statistics(w, max_lag=5, lag_method=method, threads=threads,
                                       block_rows=40)
            assert_same(got, ref)
    sub = S.compute_statistics(w, max_lag=5, threads=1, block_rows=40, pair_windows=50)
    for threads in (2, 3):  # the subsample's products run beside the other sums
        got = S.compute_statistics(w, max_lag=5, threads=threads, block_rows=40,
                                   pair_windows=50)
        assert_same(got, sub)


# ---------------------------------------------------------------------------
# memory-mapped input: checked in chunks, identical results
# ---------------------------------------------------------------------------


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(stream, "_CHUNKED_CHECK_BYTES", 1000)
    monkeypatch.setattr(stream, "_CHECK_CHUNK_BYTES", 700)


def test_memmap_windows_give_the_same_statistics(rng, tmp_path, small_chunks):
    w = windows(rng, n=80)
    np.save(tmp_path / "w.npy", w)
    mm = np.load(tmp_path / "w.npy", mmap_mode="r")
    kw = dict(max_lag=3, block_rows=100)
    assert_same(S.compute_statistics(mm, pair_windows=30, **kw),
                S.compute_statistics(w, pair_windows=30, **kw))
    assert_same(S.compute_statistics(w.astype(bool), **kw), S.compute_statistics(w, **kw))
    np.testing.assert_array_equal(mm, w)  # the pages released were only unmapped


def test_chunked_check_rejects_a_late_bad_value(rng, small_chunks):
    w = windows(rng, n=80)
    w[77, 2, 3] = 2
    with pytest.raises(SpikeDataError, match=r"^`data` must be binary \(0/1\)\. Received values"):
        S.compute_statistics(w)
    with pytest.raises(SpikeDataError, match="holds windows of 10 bins"):
        S.compute_statistics(windows(rng, n=80), n_bins=9)


def test_only_shared_read_maps_are_released(tmp_path):
    np.save(tmp_path / "w.npy", np.zeros((4, 3, 8), np.uint8))
    for mode, released in (("r", True), ("r+", True), ("c", False)):
        mm = np.load(tmp_path / "w.npy", mmap_mode=mode)
        found = validation._mapping(np.asarray(mm)[1:3])
        assert isinstance(found, mmap.mmap) if released else found is None, mode
    new = np.memmap(tmp_path / "new.bin", np.uint8, mode="w+", shape=(4, 3, 8))
    assert isinstance(validation._mapping(new[2:]), mmap.mmap)
    assert validation._mapping(np.zeros(3)) is None


# ---------------------------------------------------------------------------
# helpers against numpy
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 5, 7), (2, 4, 8), (1, 1, 1), (5, 3, 13)])
@pytest.mark.parametrize("p", [0.0, 0.1, 1.0])
def test_spike_positions_are_flatnonzero(rng, shape, p):
    x = (rng.random(shape) < p).astype(np.uint8)
    got = _spike_positions(x)
    np.testing.assert_array_equal(got, np.flatnonzero(x))
    assert got.dtype == np.int64


def test_gap_counts_against_a_loop(rng):
    group = np.sort(rng.integers(0, 6, 200))
    pos = np.concatenate([np.sort(rng.choice(50, np.sum(group == g), replace=False))
                          for g in range(6)])
    want_all, want_next = np.zeros(8), np.zeros(8)
    for p in range(pos.size):
        for q in range(p + 1, pos.size):
            d = pos[q] - pos[p]
            if group[q] == group[p] and d <= 7:
                want_all[d] += 1
                want_next[d] += q == p + 1
    np.testing.assert_array_equal(_gap_counts(group, pos, 7), want_all)
    np.testing.assert_array_equal(_gap_counts(group, pos, 7, consecutive=True), want_next)


# ---------------------------------------------------------------------------
# figures: 0.5 M neuron pairs are binned, not drawn as markers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_neurons", [150, pytest.param(1024, marks=pytest.mark.slow)])
def test_comparison_figure_bins_many_pairs(rng, tmp_path, monkeypatch, n_neurons):
    # 150 neurons: 22,350 pairs, past the 20,000 of the markers (1,024 neurons: ~3 s)
    pytest.importorskip("matplotlib")
    from matplotlib.collections import PathCollection, PolyCollection
    from matplotlib.figure import Figure

    from spikegan_tf.evaluation.compare import compare
    from spikegan_tf.evaluation.figures import plot_comparison

    saved = []
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: saved.append(self))
    kw = dict(max_lag=1, word_neurons=[0, 1], word_bins=1)
    ref, model, floor = (S.compute_statistics(windows(rng, n=20, N=n_neurons, T=6, p=0.3), **kw)
                         for _ in range(3))
    plot_comparison(compare(ref, {"model": model}, floor), tmp_path / "f.png")
    (fig,) = saved
    panels = {ax.get_title(): ax for ax in fig.axes}
    for title in ("covariance (single bin)", "lag-1 cross-covariance",
                  "spike-count correlation (window)"):
        ax = panels[title]
        assert any(isinstance(c, PolyCollection) for c in ax.collections), title
        assert not any(isinstance(c, PathCollection) for c in ax.collections), title
        assert len(ax.get_lines()) == 3  # the model's and the floor's medians, identity
    rates = panels["firing probability"]  # one point per neuron: markers, as before
    sizes = [len(c.get_offsets()) for c in rates.collections if isinstance(c, PathCollection)]
    assert sizes == [n_neurons, n_neurons]

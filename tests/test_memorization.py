"""Memorisation check: exact nearest-neighbour Hamming distances and copy fractions."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import spikegan_tf.evaluation.memorization as M
from spikegan_tf.errors import SpikeDataError


def brute_force(queries, reference):
    q = queries.reshape(len(queries), 1, -1).astype(int)
    r = reference.reshape(1, len(reference), -1).astype(int)
    d = np.abs(q - r).sum(axis=2)
    return d.min(axis=1), d.argmin(axis=1)


def test_hand_counted():
    ref = np.array([[[1, 0, 0], [0, 0, 1]], [[0, 1, 1], [0, 0, 0]]])
    queries = np.array(
        [
            [[1, 0, 0], [0, 0, 1]],  # copy of window 0
            [[0, 1, 0], [0, 0, 0]],  # 1 bin from window 1, 3 from window 0
            [[1, 1, 1], [1, 1, 1]],  # 4 from window 0, 4 from window 1 -> first
        ]
    )
    for method in ("index", "dense"):
        d, k = M.nearest_distances(queries, ref, method=method)
        assert d.tolist() == [0, 1, 4]
        assert k.tolist() == [0, 1, 0]


@pytest.mark.parametrize("method", ["index", "dense", "auto"])
@pytest.mark.parametrize("n_bins,stride", [(6, 1), (6, 4), (5, 9)])
def test_against_brute_force(rng, method, n_bins, stride):
    raster = (rng.random((400, 5)) < 0.2).astype(np.uint8)
    windows = np.ascontiguousarray(sliding_window_view(raster, n_bins, axis=0)[::stride])
    queries = (rng.random((30, 5, n_bins)) < 0.2).astype(np.uint8)
    queries[:4] = windows[[0, 3, len(windows) // 2, -1]]
    d0, k0 = brute_force(queries, windows)
    for ref, kw in ((raster, {"n_bins": n_bins, "stride": stride}), (windows, {})):
        d, k = M.nearest_distances(queries, ref, method=method, **kw)
        np.testing.assert_array_equal(d, d0)
        np.testing.assert_array_equal(k, k0)
    assert (d0[:4] == 0).all()


def test_small_batches_give_the_same_answer(rng, monkeypatch):
    raster = (rng.random((300, 4)) < 0.3).astype(np.uint8)
    queries = (rng.random((25, 4, 7)) < 0.3).astype(np.uint8)
    expected = M.nearest_distances(queries, raster, n_bins=7, method="index")
    monkeypatch.setattr(M, "_MAX_PAIRS", 5)
    monkeypatch.setattr(M, "_MAX_BATCH_CELLS", 10)
    got = M.nearest_distances(queries, raster, n_bins=7, method="index")
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_memorization_copies_vs_held_out(rng):
    raster = (rng.random((3000, 6)) < 0.15).astype(np.uint8)
    train, test = raster[:2400], raster[2400:]
    train_w = sliding_window_view(train, 8, axis=0)
    copies = np.ascontiguousarray(train_w[rng.choice(len(train_w), 100, replace=False)])
    r = M.memorization(copies, train, test, n_bins=8, n_queries=50, seed=3)
    assert r.copy_fraction == 1.0
    assert (r.generated_distances == 0).all()
    assert r.held_out_copy_fraction < 0.5
    assert r.held_out_distances.mean() > 1
    assert r.n_train == len(train_w) and r.n_bits == 48
    assert len(r.generated_indices) == 50 and len(r.held_out_indices) == 50
    # the nearest training window really is at that distance
    k = r.held_out_nearest[0]
    q = sliding_window_view(test, 8, axis=0)[r.held_out_indices[0]]
    assert np.abs(q.astype(int) - train_w[k]).sum() == r.held_out_distances[0]
    summary = r.summary()
    assert summary["generated"]["exact_copy_fraction"] == 1.0
    assert summary["held_out"]["n"] == 50


def test_subsample_is_seeded(rng):
    train = (rng.random((500, 3, 5)) < 0.3).astype(np.uint8)
    gen = (rng.random((200, 3, 5)) < 0.3).astype(np.uint8)
    a = M.memorization(gen, train, n_queries=20, seed=7)
    b = M.memorization(gen, train, n_queries=20, seed=7)
    c = M.memorization(gen, train, n_queries=20, seed=8)
    np.testing.assert_array_equal(a.generated_indices, b.generated_indices)
    assert not np.array_equal(a.generated_indices, c.generated_indices)
    assert a.held_out_distances is None and a.held_out_copy_fraction is None
    full = M.memorization(gen, train, n_queries=None)
    assert len(full.generated_distances) == 200
    np.testing.assert_array_equal(full.generated_distances, brute_force(gen, train)[0])


def test_shape_mismatch_is_a_clear_error(rng):
    train = (rng.random((50, 3, 5)) < 0.3).astype(np.uint8)
    with pytest.raises(SpikeDataError, match="4 neurons x 5 bins.*3 x 5"):
        M.memorization(np.zeros((4, 4, 5)), train)
    with pytest.raises(SpikeDataError, match="pass `n_bins`"):
        M.memorization(np.zeros((4, 3, 5)), np.zeros((100, 3)))

"""Shared baseline interface: data handling, model files, errors; the independent model."""

from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pytest

from spikegan_tf import baselines
from spikegan_tf.baselines import (
    DichotomizedGaussian,
    IndependentBernoulli,
    KPairwiseMaxEnt,
    load,
)
from spikegan_tf.baselines._moments import lagged_moments, prepare, rates, rates_per_bin
from spikegan_tf.errors import ConfigError, SpikeDataError


def _all_windows(n: int, t: int) -> np.ndarray:
    """Every binary window (2**(n*t), n, t)."""
    codes = np.arange(2 ** (n * t))
    bits = (codes[:, None] >> np.arange(n * t)) & 1
    return bits.reshape(-1, n, t).astype(np.uint8)


@pytest.fixture
def raster(rng) -> np.ndarray:
    base = rng.random((3000, 1)) < 0.3
    return ((rng.random((3000, 4)) < 0.15) | (base & (rng.random((3000, 4)) < 0.5))).astype(
        np.uint8
    )


# ------------------------------------------------------------------- moments
def test_prepare_raster_keeps_only_bins_its_windows_cover():
    r = np.zeros((10, 2), np.uint8)
    d = prepare(r, n_bins=4, stride=3)  # windows start at 0, 3 and 6
    assert (d.kind, d.n_windows, d.spikes.shape[0]) == ("raster", 3, 10)
    d = prepare(np.zeros((11, 2), np.uint8), n_bins=4, stride=3)
    assert d.n_windows == 3 and d.spikes.shape[0] == 10  # bin 10 is in no window


def test_lagged_moments_match_brute_force_for_windows_and_raster(rng):
    w = (rng.random((7, 3, 5)) < 0.4).astype(np.uint8)
    got = lagged_moments(prepare(w), 4)
    for lag in range(5):
        pairs = [np.outer(w[k, :, t], w[k, :, t + lag]) for k in range(7) for t in range(5 - lag)]
        np.testing.assert_allclose(got[lag], np.mean(pairs, axis=0), atol=1e-12)
    r = (rng.random((50, 3)) < 0.4).astype(np.uint8)
    got = lagged_moments(prepare(r, n_bins=6), 3)
    for lag in range(4):
        expect = np.mean([np.outer(r[t], r[t + lag]) for t in range(50 - lag)], axis=0)
        np.testing.assert_allclose(got[lag], expect, atol=1e-12)


def test_rates_per_bin_of_raster_windows_by_hand():
    r = np.array([[1], [0], [1], [1], [0]], np.uint8)  # windows of 2, stride 2: [1,0], [1,1]
    d = prepare(r, n_bins=2, stride=2)
    np.testing.assert_allclose(rates_per_bin(d), [[1.0, 0.5]])
    np.testing.assert_allclose(rates(d), [0.75])  # the 4 covered bins


# ---------------------------------------------------------------- independent
def test_independent_probabilities_by_hand():
    w = np.array([[[1, 0, 0]], [[1, 1, 0]]], np.uint8)  # 1 neuron, 3 bins
    m = IndependentBernoulli().fit(w)
    np.testing.assert_allclose(m.p_, [[0.5, 0.5, 0.5]])
    m = IndependentBernoulli(per_bin=True).fit(w)
    np.testing.assert_allclose(m.p_, [[1.0, 0.5, 0.0]])
    # impossible windows get log-probability -inf, possible ones their product
    lp = m.log_prob(np.array([[[1, 1, 0]], [[0, 0, 0]]], np.uint8))
    assert lp[0] == pytest.approx(np.log(0.5)) and lp[1] == -np.inf
    s = m.sample(200, seed=0)
    assert s[:, 0, 0].all() and not s[:, 0, 2].any()


@pytest.mark.parametrize("per_bin", [False, True])
def test_independent_log_prob_sums_to_one(rng, per_bin):
    w = (rng.random((50, 2, 3)) < 0.3).astype(np.uint8)
    m = IndependentBernoulli(per_bin=per_bin).fit(w)
    total = np.exp(m.log_prob(_all_windows(2, 3))).sum()
    assert total == pytest.approx(1.0, abs=1e-12)


def test_independent_samples_have_the_fitted_rates(raster):
    m = IndependentBernoulli().fit(raster, n_bins=8)
    s = m.sample(5000, seed=3)
    assert s.dtype == np.uint8 and s.shape == (5000, 4, 8) and set(np.unique(s)) <= {0, 1}
    p = m.p_[:, 0]
    se = np.sqrt(p * (1 - p) / (5000 * 8))
    assert np.all(np.abs(s.mean(axis=(0, 2)) - p) < 5 * se)


# -------------------------------------------------------------- model files
def _fitted(kind: str, raster: np.ndarray):
    if kind == "independent":
        return IndependentBernoulli().fit(raster, n_bins=6)
    if kind == "dg":
        return DichotomizedGaussian(max_lag=None).fit(raster, n_bins=6)
    return KPairwiseMaxEnt().fit(raster, n_bins=6, seed=0)


@pytest.mark.parametrize("kind", ["independent", "dg", "kpairwise"])
def test_save_load_round_trip_gives_identical_samples(tmp_path, raster, kind):
    m = _fitted(kind, raster)
    path = m.save(tmp_path / f"{kind}.npz")
    again = load(path)
    assert type(again) is type(m) and again.kind == kind
    assert again.get_options() == m.get_options()
    assert again.fit_report_ == m.fit_report_
    np.testing.assert_array_equal(again.sample(64, seed=11), m.sample(64, seed=11))
    assert not np.array_equal(m.sample(64, seed=11), m.sample(64, seed=12))
    # plain numeric arrays + a JSON string: readable without pickle
    with np.load(path, allow_pickle=False) as npz:
        assert all(npz[k].dtype.kind in "fiub" for k in npz.files if k != "metadata")
        meta = json.loads(str(npz["metadata"]))
    assert meta["kind"] == kind and meta["n_neurons"] == 4 and meta["n_bins"] == 6
    # the class-specific loader checks the kind
    assert type(type(m).load(path)) is type(m)


def test_loading_a_file_of_another_kind_or_no_model_fails_clearly(tmp_path, raster):
    path = IndependentBernoulli().fit(raster, n_bins=4).save(tmp_path / "ind.npz")
    with pytest.raises(ConfigError, match="IndependentBernoulli.*not a DichotomizedGaussian"):
        DichotomizedGaussian.load(path)
    np.save(tmp_path / "x.npy", raster)
    with pytest.raises(ConfigError, match="single .npy array"):
        load(tmp_path / "x.npy")
    np.savez(tmp_path / "plain.npz", data=raster)
    with pytest.raises(ConfigError, match="no 'metadata'"):
        load(tmp_path / "plain.npz")
    (tmp_path / "junk.npz").write_text("hello")
    with pytest.raises(ConfigError, match="not a .npz"):
        load(tmp_path / "junk.npz")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


def test_tampered_model_files_are_rejected(tmp_path, raster):
    m = DichotomizedGaussian(max_lag=1).fit(raster, n_bins=4)
    with np.load(m.save(tmp_path / "dg.npz")) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays["metadata"]))
    bad = dict(arrays, gamma=arrays["gamma"][:2])
    np.savez(tmp_path / "shape.npz", **bad)
    with pytest.raises(ConfigError, match="gamma.*shape"):
        load(tmp_path / "shape.npz")
    for change, pattern in (({"kind": "nope"}, "unknown kind 'nope'"),
                            ({"format_version": 99}, "format version 99")):
        np.savez(tmp_path / "meta.npz", **dict(arrays, metadata=json.dumps({**meta, **change})))
        with pytest.raises(ConfigError, match=pattern):
            load(tmp_path / "meta.npz")
    objects = dict(arrays, gamma=np.array([None, 1.0], dtype=object))
    np.savez(tmp_path / "pickled.npz", **objects)
    with pytest.raises(ConfigError):  # never unpickled
        load(tmp_path / "pickled.npz")


def test_fit_report_is_frozen(raster):
    m = IndependentBernoulli().fit(raster, n_bins=5, stride=2)
    rep = m.fit_report_
    assert (rep.kind, rep.n_neurons, rep.n_bins, rep.stride, rep.data_kind) == (
        "independent", 4, 5, 2, "raster")
    assert rep.n_windows == (3000 - 5) // 2 + 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        rep.n_bins = 3


def test_samples_are_a_prefix_of_longer_draws(raster):
    """Chunked sampling: 10 windows with a seed are the first 10 of 9000 (independent, DG)."""
    for m in (IndependentBernoulli().fit(raster, n_bins=8),
              DichotomizedGaussian().fit(raster, n_bins=8)):
        long = m.sample(9000, seed=5)
        np.testing.assert_array_equal(m.sample(10, seed=5), long[:10])


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("cls", [IndependentBernoulli, DichotomizedGaussian, KPairwiseMaxEnt])
def test_bad_data_is_rejected_with_clear_errors(cls, raster):
    m = cls()
    with pytest.raises(SpikeDataError, match=r"`data` must be binary.*\{0, 1, 3\}"):
        m.fit(np.array([[0, 1], [3, 1]]), n_bins=1)
    with pytest.raises(SpikeDataError, match="windows .* or a raster"):
        m.fit(np.zeros(5), n_bins=1)
    with pytest.raises(ConfigError, match="`n_bins` is required"):
        m.fit(raster)
    with pytest.raises(ConfigError, match="disagrees"):
        m.fit(np.zeros((3, 2, 4), np.uint8), n_bins=5)
    with pytest.raises(ConfigError, match="`stride` applies only to a raster"):
        m.fit(np.zeros((3, 2, 4), np.uint8), stride=2)
    with pytest.raises(SpikeDataError, match="fewer than one window"):
        m.fit(raster[:3], n_bins=4)
    with pytest.raises(ConfigError, match="`seed`"):
        m.fit(raster, n_bins=4, seed=-1)
    with pytest.raises(ConfigError, match="not fitted"):
        m.sample(3)


def test_bad_sampling_and_log_prob_arguments(raster):
    m = IndependentBernoulli().fit(raster, n_bins=4)
    with pytest.raises(ConfigError, match="n_samples"):
        m.sample(0)
    with pytest.raises(SpikeDataError, match=r"shape \(n, 4, 4\)"):
        m.log_prob(np.zeros((2, 3, 4), np.uint8))
    with pytest.raises(ConfigError, match="per_bin"):
        IndependentBernoulli(per_bin="yes")


def test_spike_recording_objects_are_accepted(raster):
    from spikegan_tf.data import SpikeRecording

    rec = SpikeRecording(raster, kind="raster", source="x.mat")
    a = IndependentBernoulli().fit(rec, n_bins=4)
    np.testing.assert_allclose(a.p_[:, 0], raster.mean(axis=0))


def test_package_exports_and_model_table():
    assert set(baselines.MODELS) == {"independent", "dg", "kpairwise"}
    for name in ("Baseline", "FitReport", "load", "DichotomizedGaussian", "KPairwiseMaxEnt"):
        assert hasattr(baselines, name)
    # every model shares the interface
    for cls in baselines.MODELS.values():
        for meth in ("fit", "sample", "save", "load", "log_prob"):
            assert callable(getattr(cls, meth))
    assert list(itertools.islice(baselines.MODELS, 1)) == ["independent"]

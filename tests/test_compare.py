"""compare(): every metric against a direct computation; settings, labels and output formats."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats
from numpy.lib.stride_tricks import sliding_window_view

from spikegan_tf import statistics as S
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.evaluation.compare import STATISTICS, ComparisonResult, compare


@pytest.fixture
def data(rng):
    raster = (rng.random((900, 5)) < 0.2).astype(np.uint8)
    train, test = raster[:600], raster[600:]
    model_a = (rng.random((150, 5, 8)) < 0.25).astype(np.uint8)
    model_b = (rng.random((150, 5, 8)) < 0.2).astype(np.uint8)
    return train, test, model_a, model_b


def offdiag(m):
    return m[~np.eye(len(m), dtype=bool)]


def test_metrics_match_direct_computation(data):
    train, test, a, b = data
    res = compare(train, {"a": a, "b": b}, test, n_bins=8, max_lag=3, word_neurons=[0, 1, 2])
    ref = S.compute_statistics(train, n_bins=8, max_lag=3, word_neurons=[0, 1, 2])
    sa = S.compute_statistics(a, max_lag=3, word_neurons=[0, 1, 2])
    floor = S.compute_statistics(test, n_bins=8, max_lag=3, word_neurons=[0, 1, 2])

    m = res.metrics["a"]["firing_probability"]
    diff = np.abs(sa.firing_probability - ref.firing_probability)
    assert m.mae == pytest.approx(diff.mean())
    assert m.sae == pytest.approx(diff.sum())
    assert m.pearson_r == pytest.approx(
        scipy.stats.pearsonr(ref.firing_probability, sa.firing_probability)[0])
    floor_mae = np.abs(floor.firing_probability - ref.firing_probability).mean()
    assert m.ratio_to_floor == pytest.approx(diff.mean() / floor_mae)
    assert res.metrics["held-out"]["firing_probability"].ratio_to_floor == pytest.approx(1.0)
    assert res.metrics["held-out"]["firing_probability"].mae == pytest.approx(floor_mae)

    cov = res.metrics["a"]["covariance"]
    d = np.abs(offdiag(sa.covariance) - offdiag(ref.covariance))
    assert cov.mae == pytest.approx(d.mean()) and cov.n_entries == 20
    assert cov.sae == pytest.approx(d.sum())  # the reference code's nansum over off-diagonal
    lag1 = res.metrics["a"]["lag1_covariance"]
    assert lag1.mae == pytest.approx(
        np.abs(sa.lagged_covariance[0] - ref.lagged_covariance[0]).mean())
    assert lag1.n_entries == 25

    acg = res.metrics["a"]["autocorrelogram"]
    d = np.abs(sa.autocorrelogram - ref.autocorrelogram)
    assert acg.mae == pytest.approx(d[4:].mean())  # lags 1..3
    assert acg.sae == pytest.approx(d.sum())  # the reference code: lags -3..3

    pk = res.metrics["a"]["spike_count_distribution"]
    p, q = ref.spike_count_distribution, sa.spike_count_distribution
    assert pk.mae == pytest.approx(np.abs(p - q).mean())
    assert pk.kl == pytest.approx(scipy.stats.entropy(p, q, base=2))
    assert pk.js == pytest.approx(scipy.spatial.distance.jensenshannon(p, q, base=2) ** 2)
    words = res.metrics["a"]["words"]
    assert words.js == pytest.approx(
        scipy.spatial.distance.jensenshannon(ref.words, sa.words, base=2) ** 2)
    assert res.metrics["a"]["covariance"].kl is None  # not a distribution


def test_identical_candidate_has_zero_error(data):
    train, test, _, _ = data
    windows = np.ascontiguousarray(sliding_window_view(train, 8, axis=0))
    res = compare(train, {"copy": windows}, test, n_bins=8, max_lag=2)
    for name, m in res.metrics["copy"].items():
        assert m.mae == 0, name
        assert m.ratio_to_floor == 0 or math.isnan(m.ratio_to_floor), name
        if STATISTICS[name][1]:
            assert m.js == pytest.approx(0, abs=1e-12) and m.kl == pytest.approx(0, abs=1e-12)
    assert res.metrics["copy"]["covariance"].pearson_r == pytest.approx(1.0)


def test_precomputed_statistics_and_settings(data):
    train, test, a, _ = data
    ref = S.compute_statistics(train, n_bins=8, max_lag=3)
    from_stats = compare(ref, {"a": S.compute_statistics(a, max_lag=3,
                                                        word_neurons=ref.word_neurons)})
    from_arrays = compare(train, {"a": a}, n_bins=8, max_lag=3)
    assert from_stats.metrics["a"]["covariance"].mae == from_arrays.metrics["a"]["covariance"].mae
    # candidates are computed with the reference's settings (word group included)
    assert from_arrays.statistics["a"].word_neurons == from_arrays.statistics["reference"].word_neurons
    with pytest.raises(ConfigError, match="max_lag: reference 3 vs 2"):
        compare(ref, {"a": S.compute_statistics(a, max_lag=2, word_neurons=ref.word_neurons)})
    with pytest.raises(SpikeDataError, match="4 neurons x 8 bins.*5 neurons x 8 bins"):
        compare(ref, {"a": a[:, :4]})
    with pytest.raises(ConfigError, match="labels must be unique"):
        compare(ref, {"reference": a})
    with pytest.raises(ConfigError, match="Unknown statistics"):
        compare(ref, {"a": a}, statistics=("rates",))
    with pytest.raises(ConfigError, match="at least one"):
        compare(ref, {})
    with pytest.raises(ConfigError, match="not a path"):
        compare(ref, {"a": "samples.npy"})
    single = compare(ref, a)  # one array: labelled "candidate"
    assert single.labels == ("candidate",) and single.noise_floor_label is None
    assert math.isnan(single.metrics["candidate"]["firing_probability"].ratio_to_floor)


def test_nan_entries_are_left_out(data, rng):
    train, test, a, _ = data
    a = a.copy()
    a[:, 1] = 0  # a silent neuron: its correlations are NaN
    with pytest.warns(RuntimeWarning):
        res = compare(train, {"a": a}, test, n_bins=8, max_lag=2)
    m = res.metrics["a"]["correlation"]
    assert m.n_entries == 20 - 8 and math.isfinite(m.mae)


def test_outputs_json_and_markdown(data, tmp_path):
    train, test, a, b = data
    never = np.zeros_like(a)  # never fires: KL(reference || it) is infinite
    with pytest.warns(RuntimeWarning):
        res = compare(train, {"a": a, "never": never}, test, n_bins=8, max_lag=2,
                      notes=["a note"])
    assert isinstance(res, ComparisonResult)
    d = res.to_dict()
    assert d["candidates"] == ["a", "never"] and d["noise_floor"] == "held-out"
    entry = d["results"]["a"]["lag1_covariance"]
    assert set(entry) == {"mae", "sae", "pearson_r", "ratio_to_floor", "n_entries"}
    pk = d["results"]["never"]["spike_count_distribution"]
    assert pk["kl"] is None and pk["kl_infinite"] is True
    assert d["results"]["never"]["correlation"]["mae"] is None  # all NaN -> null
    path = res.to_json(tmp_path / "r.json")
    back = json.loads(path.read_text())  # strict JSON: no NaN/Infinity tokens
    assert back["results"]["a"]["firing_probability"]["mae"] == pytest.approx(
        res.metrics["a"]["firing_probability"].mae)
    assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()
    md = res.to_markdown()
    ratio = res.metrics["a"]["covariance"].ratio_to_floor
    assert f"({ratio:.2f}x)" in md
    assert "| statistic | a | never | held-out |" in md
    assert "- a note" in md and "inf" in md

"""Instruments for continuous spike trains: the slow-states dataset and the seam test."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikegan_tf import statistics as stats
from spikegan_tf.cli import main
from spikegan_tf.data import load_spikes
from spikegan_tf.data.states import expected_lagged_covariance, states
from spikegan_tf.errors import ConfigError
from spikegan_tf.evaluation.seams import (
    boundary_starts,
    null_phases_of,
    seam_classifier_auc,
    seam_report,
)
from spikegan_tf.params import ParamError


@pytest.fixture(scope="module")
def sim():
    return states(240_000, 8, dwell=100, seed=3)


def _pieces(raster: np.ndarray, length: int, seed: int) -> np.ndarray:
    """The raster cut into pieces of ``length`` bins, shuffled and joined: seams everywhere."""
    n = raster.shape[0] // length
    pieces = raster[: n * length].reshape(n, length, -1)
    return pieces[np.random.default_rng(seed).permutation(n)].reshape(n * length, -1)


def test_states_lagged_covariance_matches_the_exact_one_beyond_a_window(sim):
    truth = sim.ground_truth["expected_lagged_covariance"]
    got = stats.lagged_covariance(sim.spikes, n_bins=65, max_lag=64)
    assert got.shape == truth.shape == (64, 8, 8)
    for lag in (1, 32, 64):  # mean over the 64 pairs: the statistic the seam breaks
        assert got[lag - 1].mean() == pytest.approx(truth[lag - 1].mean(), rel=0.12)
    # the structure decays as (1 - 2 / dwell) ** lag
    assert truth[63].mean() / truth[0].mean() == pytest.approx(0.98 ** 63)
    np.testing.assert_allclose(sim.spikes.mean(0), sim.ground_truth["expected_rates"],
                               atol=0.006)
    s = sim.ground_truth["states"]
    assert len(s) / (np.count_nonzero(np.diff(s)) + 1) == pytest.approx(100, rel=0.1)


def test_states_oracle_and_arguments():
    c = expected_lagged_covariance(np.array([0.1, 0.2]), np.array([0.3, 0.2]), 10, 3)
    np.testing.assert_allclose(c[:, 0, 0], 0.2 ** 2 / 4 * np.array([0.8, 0.64, 0.512]))
    assert (c[:, 1] == 0).all()  # a neuron whose rate does not follow the state
    a, b = states(3000, 4, seed=5), states(3000, 4, seed=5)
    assert np.array_equal(a.spikes, b.spikes) and a.spikes.dtype == np.uint8
    assert a.n_neurons == 4 and "raster" in a.metadata()["layout"]
    for kwargs, name in [({"dwell": 2}, "`dwell`"), ({"low": 0.2, "high": 0.1}, "`low`"),
                         ({"high": 1.0}, "`high`"), ({"spread": 1.0}, "`spread`")]:
        with pytest.raises(ConfigError, match=name):
            states(100, 2, **kwargs)


def test_boundary_starts_split_every_window_once():
    straddle, within = boundary_starts(1000, 32, 12, offset=5)
    assert len(straddle) + len(within) == 1000 - 12 + 1
    boundaries = np.arange(5 + 32, 1000, 32)
    for s in straddle:
        assert ((boundaries > s) & (boundaries < s + 12)).any()
    for s in within:
        assert not ((boundaries > s) & (boundaries < s + 12)).any()


def test_seam_report_sees_joined_pieces_and_not_a_continuous_raster(sim):
    ref, gen = sim.spikes[:80_000], sim.spikes[80_000:]
    smooth = seam_report(gen, ref, 32, n_bins=16, seed=0)
    assert 0.45 < smooth.auc < 0.56
    # both sets have the same size and layout, so the same sampling noise; the
    # autocorrelogram is the noisiest statistic of a slow process
    assert all(0.8 < r < 1.6 for r in smooth.ratio.values()), smooth.ratio
    joined = seam_report(_pieces(gen, 32, seed=1), ref, 32, n_bins=16, seed=0)
    assert joined.auc > 0.62
    assert joined.ratio["autocorrelogram"] > 3
    assert "seam classifier AUC" in "\n".join(joined.lines())
    with pytest.raises(ConfigError, match="`n_bins` must be at most segment_length / 2 \\+ 1 = 9"):
        seam_report(gen, ref, 16, n_bins=10)
    with pytest.raises(ConfigError, match="`half_width` must be at most"):
        seam_classifier_auc(gen, 16, half_width=9)


def test_null_phases_are_evenly_spaced_with_the_real_boundaries():
    """With phase 0 (the real boundaries), evenly spaced phases over half a piece (a phase and
    the one half a piece later compare the same two window sets): a shift of the raster by
    one spacing moves each to the next, so a seamless raster's real boundaries rank uniformly."""
    for length, k in [(256, 16), (256, 32), (128, 8), (100, 4), (96, 5), (32, 16)]:
        phases = null_phases_of(length, k)
        assert 0 < len(phases) <= k and len(phases) >= k / 2
        gaps = np.diff(np.r_[0, phases, length // 2])
        assert gaps.min() == gaps.max() == length // 2 // (len(phases) + 1), (length, k, phases)
    assert null_phases_of(256, 16).tolist() == list(range(8, 128, 8))  # 15 of them
    assert null_phases_of(14, 2).tolist() == [2, 5]  # no divisor of 7 fits: rounded
    assert null_phases_of(256, 0).size == 0 and null_phases_of(3, 4).size == 0


def test_seam_report_null_flags_the_seams_of_joined_pieces_only(sim):
    ref, gen = sim.spikes[:40_000], sim.spikes[40_000:100_000]
    smooth = seam_report(gen, ref, 128, n_bins=16, seed=0, null_phases=8)
    assert smooth.null_phases == tuple(range(8, 64, 8)) and len(smooth.null_auc) == 7
    joined = seam_report(_pieces(gen, 128, seed=1), ref, 128, n_bins=16, seed=0, null_phases=8)
    # the classifier sees the seams beyond all 7 pseudo-boundaries; the smooth raster's
    # real boundaries are one phase among the others
    assert joined.beyond_null()["auc"] and joined.p_values()["auc"] == 1 / 8, joined.lines()
    assert not smooth.beyond_null()["auc"] and smooth.p_values()["auc"] > 1 / 8
    assert not any(smooth.beyond_null().values()), smooth.lines()
    assert "SEAM" in "\n".join(joined.lines()) and "SEAM" not in "\n".join(smooth.lines())
    # the boundary's own ratios do not depend on the null
    plain = seam_report(gen, ref, 128, n_bins=16, seed=0)
    assert plain.ratio == smooth.ratio and plain.beyond_null() == {}
    with pytest.raises(ParamError, match="`null_phases` must be a non-negative integer"):
        seam_report(gen, ref, 128, n_bins=16, null_phases=-1)


def test_cli_simulate_states_and_evaluate_with_the_seam_test(sim, tmp_path, capsys):
    data = tmp_path / "states.npz"
    assert main(["simulate", "states", "--time-bins", "60000", "--neurons", "6", "--seed", "1",
                 "--out", str(data)]) == 0
    rec = load_spikes(data)
    assert rec.kind == "raster" and rec.spikes.shape == (60_000, 6)
    np.save(tmp_path / "real.npy", rec.spikes[:20_000])
    np.save(tmp_path / "joined.npy", _pieces(rec.spikes[20_000:], 32, seed=0))
    out = tmp_path / "eval"
    assert main(["evaluate", "--real", str(tmp_path / "real.npy"), "--bins", "16",
                 "--generated", str(tmp_path / "joined.npy"), "--seam-length", "32",
                 "--no-figures", "--n-memorization", "100", "--out", str(out)]) == 0
    report = json.loads((out / "seams.json").read_text())["joined"]
    assert report["segment_length"] == 32 and report["auc"] > 0.55
    printed = capsys.readouterr().out
    assert "seam classifier AUC" in printed
    # --seam-null 16 on 32-bin pieces: 15 pseudo-boundaries, one a bin
    assert report["null_phases"] == list(range(1, 16))
    # with a held-out raster, the same test on it at the same boundaries: its own noise
    np.save(tmp_path / "held.npy", rec.spikes[40_000:])
    assert main(["evaluate", "--real", str(tmp_path / "real.npy"), "--bins", "16",
                 "--generated", str(tmp_path / "joined.npy"), "--seam-length", "32",
                 "--noise-floor", str(tmp_path / "held.npy"), "--no-figures",
                 "--n-memorization", "100", "--out", str(tmp_path / "e1")]) == 0
    both = json.loads((tmp_path / "e1" / "seams.json").read_text())
    assert both["joined"] == report  # the generated raster's test is unchanged
    held = both["held-out data at the same boundaries"]
    assert held["segment_length"] == 32 and held["auc"] < report["auc"]
    assert "held-out data at the same boundaries: seam test" in capsys.readouterr().out
    np.save(tmp_path / "windows.npy", np.zeros((10, 6, 16), np.uint8))
    assert main(["evaluate", "--real", str(tmp_path / "real.npy"), "--bins", "16",
                 "--generated", str(tmp_path / "windows.npy"), "--seam-length", "32",
                 "--out", str(tmp_path / "e2")]) == 2
    assert "every --generated file must be a raster" in capsys.readouterr().err

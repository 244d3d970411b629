"""Dichotomized Gaussian: orthant inversion, nearest correlation, recovery of a known DG."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr
from scipy.stats import multivariate_normal

from spikegan_tf.baselines import DichotomizedGaussian
from spikegan_tf.baselines._gaussian import (
    block_toeplitz,
    extend_stationary,
    nearest_correlation,
    toeplitz_blocks,
)
from spikegan_tf.baselines._orthant import bivariate_normal_cdf, invert_orthant, orthant_mixture
from spikegan_tf.errors import ConfigError


# ------------------------------------------------------------ orthant maths
def test_bivariate_cdf_matches_scipy_including_edge_cases(rng):
    h = np.r_[rng.uniform(-3, 2, 30), 0.0, 0.0, -1.0, 0.7]
    k = np.r_[rng.uniform(-3, 2, 30), 0.0, -0.5, 0.0, 0.7]
    r = np.r_[rng.uniform(-0.98, 0.98, 30), 0.4, -0.3, 0.6, 0.999]
    want = [multivariate_normal.cdf([a, b], cov=[[1, c], [c, 1]])
            for a, b, c in zip(h, k, r, strict=True)]
    np.testing.assert_allclose(bivariate_normal_cdf(h, k, r), want, atol=1e-9)
    # infinite thresholds (silent / always-on neurons) are limits, not NaN
    got = bivariate_normal_cdf([-np.inf, np.inf, 0.3], [0.5, 0.5, np.inf], [0.2, 0.2, 0.2])
    np.testing.assert_allclose(got, [0.0, ndtr(0.5), ndtr(0.3)])


def test_invert_orthant_round_trip_and_limits(rng):
    n = 5000
    h, k = rng.uniform(-2.5, 0.5, n), rng.uniform(-2.5, 0.5, n)
    rho = rng.uniform(-0.8, 0.95, n)
    m = bivariate_normal_cdf(h, k, rho)
    got, low, high = invert_orthant(h, k, m)
    ok = m > 1e-9  # below that the orthant probability is flat in rho
    assert not (low[ok] | high[ok]).any()
    np.testing.assert_allclose(bivariate_normal_cdf(h, k, got)[ok], m[ok], atol=1e-13)
    np.testing.assert_allclose(got[ok & (rho < 0.9)], rho[ok & (rho < 0.9)], atol=1e-6)
    # never together -> -1, always together -> +1, no NaN
    got, low, high = invert_orthant([-1.5, -1.5], [-1.2, -1.5], [0.0, ndtr(-1.5)])
    np.testing.assert_array_equal(got, [-1.0, 1.0])
    assert low.tolist() == [True, False] and high.tolist() == [False, True]


def test_invert_orthant_over_state_mixtures_round_trips_and_reduces_to_one_state(rng):
    n = 2000
    h, k = rng.uniform(-2.5, 0.5, (n, 2)), rng.uniform(-2.5, 0.5, (n, 3))
    w = rng.random((n, 2, 3))
    w /= w.sum(axis=(1, 2), keepdims=True)
    rho = rng.uniform(-0.8, 0.9, n)
    m, slope = orthant_mixture(h, k, w, rho)
    # the mixture is the weighted sum of the single-state orthant probabilities
    direct = sum(w[:, a, b] * bivariate_normal_cdf(h[:, a], k[:, b], rho)
                 for a in range(2) for b in range(3))
    np.testing.assert_allclose(m, direct, rtol=1e-12)
    eps = 1e-6  # and its slope is the derivative in rho
    up, _ = orthant_mixture(h, k, w, rho + eps)
    down, _ = orthant_mixture(h, k, w, rho - eps)
    np.testing.assert_allclose(slope, (up - down) / (2 * eps), rtol=1e-5, atol=1e-9)
    got, low, high = invert_orthant(h, k, m, weights=w)
    assert not (low | high).any()
    np.testing.assert_allclose(orthant_mixture(h, k, w, got)[0], m, atol=1e-13)
    np.testing.assert_allclose(got, rho, atol=1e-6)
    # one state with weight 1 is the plain inversion
    one, _, _ = invert_orthant(h[:, :1], k[:, :1], m, weights=np.ones((n, 1, 1)))
    np.testing.assert_array_equal(one, invert_orthant(h[:, 0], k[:, 0], m)[0])
    # beyond the mixed limits: -1 / +1, never NaN
    got, low, high = invert_orthant(h[:2], k[:2], [0.0, 1.0], weights=w[:2])
    np.testing.assert_array_equal(got, [-1.0, 1.0])
    assert low.tolist() == [True, False] and high.tolist() == [False, True]


# ------------------------------------------------------- nearest correlation
def test_nearest_correlation_reproduces_highams_example():
    # Higham (2002), section 4: the nearest correlation matrix to this A
    a = np.array([[[1.0, 1, 0], [1, 1, 1], [0, 1, 1]]])
    got, rep = nearest_correlation(a, floor=1e-12, tol=1e-10, max_iter=2000)
    want = np.array([[1, 0.7607, 0.1573], [0.7607, 1, 0.7607], [0.1573, 0.7607, 1]])
    np.testing.assert_allclose(got[0], want, atol=1e-4)
    assert rep.method == "higham" and rep.converged
    assert rep.min_eigenvalue_before == pytest.approx(1 - np.sqrt(2))
    assert rep.frobenius_change == pytest.approx(np.linalg.norm(got[0] - a[0]))


def test_nearest_correlation_keeps_block_toeplitz_and_floor(rng):
    n, lags = 3, 3
    blocks = rng.uniform(-0.9, 0.9, (lags, n, n))
    blocks[0] = (blocks[0] + blocks[0].T) / 2
    np.fill_diagonal(blocks[0], 1.0)
    before = np.linalg.eigvalsh(block_toeplitz(blocks))[0]
    assert before < 0
    for method in ("higham", "clip"):
        got, rep = nearest_correlation(blocks, floor=1e-3, method=method)
        full = block_toeplitz(got)
        np.testing.assert_allclose(toeplitz_blocks(full, n), got, atol=1e-12)  # stationary
        np.testing.assert_allclose(np.diag(full), 1.0)
        assert np.linalg.eigvalsh(full)[0] >= 0.5e-3
        assert rep.min_eigenvalue_before == pytest.approx(before)
        assert rep.max_abs_change == pytest.approx(np.abs(full - block_toeplitz(blocks)).max())
    # an already valid matrix is left alone
    ok = np.array([np.eye(n), 0.3 * np.eye(n)])
    got, rep = nearest_correlation(ok)
    assert rep.method == "none" and rep.frobenius_change == 0 and got is ok


def test_max_entropy_extension_of_an_ar1_and_positive_definiteness(rng):
    got = extend_stationary(np.array([[[1.0]], [[0.6]]]), 5)
    np.testing.assert_allclose(got[:, 0, 0], 0.6 ** np.arange(5))
    raw = rng.uniform(-0.5, 0.5, (3, 4, 4))
    raw[0] = (raw[0] + raw[0].T) / 2
    np.fill_diagonal(raw[0], 1.0)
    blocks, _ = nearest_correlation(raw, floor=1e-2)
    ext = extend_stationary(blocks, 12)
    np.testing.assert_array_equal(ext[:3], blocks)
    assert np.linalg.eigvalsh(block_toeplitz(ext))[0] > 0


# ------------------------------------------------------- recovery of a known DG
def _known_dg(n=4, t=3):
    """A spatio-temporal DG with a positive definite block-Toeplitz latent matrix."""
    spatial = np.array([[1.0, 0.4, -0.2, 0.1], [0.4, 1.0, 0.3, 0.0],
                        [-0.2, 0.3, 1.0, 0.25], [0.1, 0.0, 0.25, 1.0]])[:n, :n]
    lead = np.zeros((n, n))
    lead[0, 1], lead[2, 3] = 0.3, -0.15  # neuron 0 leads neuron 1
    blocks = np.array([spatial, 0.5 * spatial + lead, 0.2 * spatial][:t])
    assert np.linalg.eigvalsh(block_toeplitz(blocks))[0] > 0.05
    model = DichotomizedGaussian(max_lag=None)
    model.n_neurons_, model.n_bins_ = n, t
    model._set_params({"gamma": np.array([-1.0, -0.6, -1.3, -0.8])[:n], "latent": blocks})
    return model


def _per_window_stats(w: np.ndarray) -> np.ndarray:
    """Per-window averages of x_i(t) and x_i(t) x_j(t + l): i.i.d. across windows."""
    n, nn, t = w.shape
    x = w.astype(np.float64)
    cols = [x.mean(axis=2)]
    for lag in range(t):
        prod = np.einsum("wit,wjt->wij", x[:, :, : t - lag], x[:, :, lag:]) / (t - lag)
        cols.append(prod.reshape(n, -1))
    return np.concatenate(cols, axis=1)


def _exact_stats(model: DichotomizedGaussian) -> np.ndarray:
    p, second = model.moments()
    return np.concatenate([p, second.reshape(-1)])


def test_dg_fitted_to_samples_of_a_known_dg_recovers_its_moments_within_sampling_error():
    truth = _known_dg()
    w = truth.sample(40000, seed=1)
    fit = DichotomizedGaussian(max_lag=None, n_states=1).fit(w)
    per_window = _per_window_stats(w)
    se = per_window.std(axis=0) / np.sqrt(len(w))
    diff = _exact_stats(fit) - _exact_stats(truth)
    z = np.abs(diff) / np.maximum(se, 1e-12)
    assert z.max() < 5.0, z.max()
    # ... and the latent parameters themselves, to a tolerance set by that error
    np.testing.assert_allclose(fit.gamma_, truth.gamma_, atol=0.03)
    np.testing.assert_allclose(fit.latent_, truth.latent_, atol=0.06)
    assert fit.fit_report_.repair.method == "none"  # a true DG needs no repair
    # samples of the fit reproduce the truth's lag-1 cross moments (temporal structure)
    s = fit.sample(40000, seed=2)
    lag1 = np.einsum("wit,wjt->ij", s[:, :, :-1].astype(float), s[:, :, 1:].astype(float))
    lag1 /= 40000 * 2
    np.testing.assert_allclose(lag1, truth.moments()[1][1], atol=0.01)


def test_spatial_only_dg_has_independent_bins(rng):
    truth = _known_dg()
    w = truth.sample(20000, seed=3)
    fit = DichotomizedGaussian(spatial_only=True, n_states=1).fit(w)
    assert fit.latent_.shape == (1, 4, 4) and fit.fit_report_.max_lag == 0
    np.testing.assert_allclose(fit.latent_[0], truth.latent_[0], atol=0.06)
    s = fit.sample(20000, seed=4).astype(float)
    p = s.mean(axis=(0, 2))
    lag1 = np.einsum("wit,wjt->ij", s[:, :, :-1], s[:, :, 1:]) / (20000 * 2)
    np.testing.assert_allclose(lag1, np.outer(p, p), atol=0.01)


def test_never_cofiring_pairs_and_silent_neurons_are_handled_without_nan(rng):
    n_bins = 4
    common = rng.random((20000, 1)) < 0.2
    r = (common & (rng.random((20000, 4)) < 0.6)).astype(np.uint8)
    r[:, 1] = r[:, 0] == 0  # neuron 1 fires exactly when neuron 0 does not...
    r[:, 1] &= rng.random(20000) < 0.1  # ...and rarely: never together with neuron 0
    r[:, 3] = 0  # a silent neuron
    m = DichotomizedGaussian(max_lag=1).fit(r, n_bins=n_bins)
    rep = m.fit_report_
    assert rep.n_at_lower >= 1 and rep.n_silent_neurons == 1
    assert np.isfinite(m.latent_).all() and m.gamma_[3] == -np.inf
    assert rep.repair.min_eigenvalue_after > 0
    s = m.sample(5000, seed=0)
    assert not s[:, 3].any()
    together = (s[:, 0] & s[:, 1]).mean()
    assert together < 0.002  # suppressed, as in the data (0)
    assert "never co-firing" in rep.summary()


def test_non_positive_definite_targets_are_repaired_and_reported():
    # three neurons: 0~1 and 0~2 strongly together, 1 and 2 never together
    rng = np.random.default_rng(0)
    a = rng.random(30000) < 0.3
    b = rng.random(30000) < 0.5
    r = np.stack([a, a & b, a & ~b], axis=1).astype(np.uint8)
    m = DichotomizedGaussian(spatial_only=True).fit(r, n_bins=2)
    rep = m.fit_report_.repair
    assert rep.method == "higham" and rep.min_eigenvalue_before < 0
    assert rep.min_eigenvalue_after >= 0.5 * rep.eigenvalue_floor
    assert rep.frobenius_change > 0 and rep.max_abs_change > 0 and rep.n_changed >= 1
    assert np.linalg.eigvalsh(m.latent_[0])[0] > 0
    assert "repair (higham" in m.fit_report_.summary()
    m.sample(10, seed=0)  # Cholesky works


def test_dg_log_prob_is_not_offered_and_options_are_validated():
    m = _known_dg()
    with pytest.raises(NotImplementedError, match="orthant integral"):
        m.log_prob(np.zeros((1, 4, 3), np.uint8))
    with pytest.raises(ConfigError, match="eigenvalue_floor"):
        DichotomizedGaussian(eigenvalue_floor=0)
    with pytest.raises(ConfigError, match="repair"):
        DichotomizedGaussian(repair="nearest")
    with pytest.raises(ConfigError, match="max_lag"):
        DichotomizedGaussian(max_lag=-1)


def test_default_dg_fits_lags_up_to_two_and_continues_the_rest():
    truth = _known_dg()
    w = truth.sample(3000, seed=1)
    w = np.concatenate([w, w[:, :, :1]], axis=2)  # 4 bins
    m = DichotomizedGaussian().fit(w)
    assert m.fit_report_.max_lag == 2 and m.latent_.shape == (4, 4, 4)
    assert len(m.fit_report_.moment_mae_by_lag) == 4


# -------------------------------------------------- latent population states
def _known_state_dg(n=4, t=3):
    """A DG whose thresholds follow a 2-state Markov chain (quiet / active)."""
    model = _known_dg(n, t)
    model._set_params({
        "gamma": model.gamma_, "latent": model.latent_,
        "state_gamma": np.array([[-1.8, -1.5, -2.0, -1.6], [-0.6, -0.2, -0.9, -0.4]])[:, :n],
        "state_init": np.array([0.6, 0.4]),
        "state_transition": np.array([[0.8, 0.2], [0.3, 0.7]]),
    })
    return model


def test_state_dg_moments_are_those_of_its_samples():
    """``moments()`` mixes the states with the chain's joint law: checked by Monte Carlo."""
    model = _known_state_dg()
    w = model.sample(60000, seed=7)
    per_window = _per_window_stats(w)
    se = per_window.std(axis=0) / np.sqrt(len(w))
    z = np.abs(per_window.mean(axis=0) - _exact_stats(model)) / np.maximum(se, 1e-12)
    assert z.max() < 5.0, z.max()
    # the states matter: a stationary DG with the same latent matrix has other moments
    p_states, _ = model.moments()
    np.testing.assert_allclose(p_states, 0.6 * ndtr(model.state_gamma_[0])
                               + 0.4 * ndtr(model.state_gamma_[1]), rtol=1e-12)
    # ... and the first n windows of a seed are those of any longer draw
    np.testing.assert_array_equal(model.sample(7, seed=7), w[:7])


def test_state_dg_fit_reproduces_the_data_moments_within_sampling_error():
    truth = _known_state_dg()
    w = truth.sample(40000, seed=1)
    fit = DichotomizedGaussian(max_lag=None, n_states=2, state_window=3).fit(w)
    assert fit.state_gamma_.shape == (2, 4) and fit.fit_report_.n_states == 2
    per_window = _per_window_stats(w)
    se = per_window.std(axis=0) / np.sqrt(len(w))
    z = np.abs(_exact_stats(fit) - per_window.mean(axis=0)) / np.maximum(se, 1e-12)
    assert z.max() < 3.0, z.max()  # every fitted moment matched (no repair needed)
    assert fit.fit_report_.repair.method == "none"
    np.testing.assert_allclose(fit.state_transition_.sum(axis=1), 1.0)
    np.testing.assert_allclose(fit.state_init_ @ fit.state_transition_, fit.state_init_,
                               atol=1e-12)  # stationary
    rep = fit.fit_report_
    assert rep.state_firing_probability[0] < rep.state_firing_probability[1]
    assert "2 latent population states" in rep.summary()


def _switching_population(n_bins_total, seed):
    """Independent neurons whose rate switches between a quiet and an active state."""
    rng = np.random.default_rng(seed)
    flips = rng.random(n_bins_total) < 1 / 40  # mean dwell 40 bins
    state = np.cumsum(flips) % 2
    p = np.where(state[:, None] == 1, 0.25, 0.01)
    return (rng.random((n_bins_total, 12)) < p).astype(np.uint8)


def test_states_reproduce_the_spike_count_distribution_a_stationary_dg_cannot():
    train, test = _switching_population(60000, 0), _switching_population(60000, 1)

    def pk(x):  # P(K) of single bins of windows (n, N, T)
        return np.bincount(x.sum(axis=1).ravel(), minlength=13)[:13] / (x.shape[0] * x.shape[2])

    truth = np.bincount(test.sum(axis=1), minlength=13) / len(test)
    floor = np.abs(np.bincount(train.sum(axis=1), minlength=13) / len(train) - truth).mean()
    err = {}
    for m in (1, 2):
        model = DichotomizedGaussian(n_states=m, state_window=4).fit(train, n_bins=16, seed=0)
        err[m] = np.abs(pk(model.sample(8000, seed=1)) - truth).mean()
    assert err[2] < 2.5 * floor < err[1], (err, floor)


def test_state_options_edge_cases_and_file_round_trip(tmp_path):
    with pytest.raises(ConfigError, match="n_states"):
        DichotomizedGaussian(n_states=0)
    with pytest.raises(ConfigError, match="state_window"):
        DichotomizedGaussian(state_window=True)
    # a constant population count has one state: the classic model, no crash
    flat = np.zeros((400, 3), np.uint8)
    flat[::2, 0] = 1
    flat[1::2, 1] = 1
    m = DichotomizedGaussian().fit(flat, n_bins=4)
    assert m.state_gamma_ is None and m.fit_report_.n_states == 1
    # spatial-only states are drawn independently per bin: bins stay independent
    w = _switching_population(40000, 2)
    sp = DichotomizedGaussian(spatial_only=True).fit(w, n_bins=8)
    np.testing.assert_allclose(sp.state_transition_, np.tile(sp.state_init_, (2, 1)))
    s = sp.sample(20000, seed=4).astype(float)
    p = s.mean(axis=(0, 2))
    lag1 = np.einsum("wit,wjt->ij", s[:, :, :-1], s[:, :, 1:]) / (20000 * 7)
    np.testing.assert_allclose(lag1, np.outer(p, p), atol=0.004)
    # the states travel with the model file; a damaged chain is refused
    from spikegan_tf.baselines import load

    path = sp.save(tmp_path / "dg.npz")
    np.testing.assert_array_equal(load(path).sample(50, seed=3), sp.sample(50, seed=3))
    with np.load(path, allow_pickle=False) as npz:
        arrays = dict(npz)
    arrays["state_transition"] = arrays["state_transition"] * 2
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(Exception, match="state_transition"):
        load(tmp_path / "bad.npz")
    # a model file from before the states (no state arrays, no option) loads as stationary
    import json

    old = DichotomizedGaussian(n_states=1).fit(w, n_bins=8)
    path = old.save(tmp_path / "old.npz")
    with np.load(path, allow_pickle=False) as npz:
        arrays = dict(npz)
    meta = json.loads(str(arrays["metadata"]))
    for key in ("n_states", "state_window"):
        meta["options"].pop(key)
    arrays["metadata"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "old2.npz", **arrays)
    again = load(tmp_path / "old2.npz")
    assert again.n_states == 1 and again.state_gamma_ is None
    np.testing.assert_array_equal(again.sample(20, seed=1), old.sample(20, seed=1))

"""k-pairwise maximum entropy: exact normalisation, parameter recovery, Gibbs sampler."""

from __future__ import annotations

import numpy as np
import pytest

from spikegan_tf.baselines import KPairwiseMaxEnt
from spikegan_tf.baselines.kpairwise_fit import (
    _all_patterns,
    _GibbsChains,
    _initial_parameters,
    _poisson_binomial,
    pattern_moments,
)
from spikegan_tf.errors import ConfigError


def _model(h, j, v) -> KPairwiseMaxEnt:
    m = KPairwiseMaxEnt()
    n = len(h)
    m.n_neurons_, m.n_bins_ = n, 1
    j = np.triu(np.asarray(j, float), 1)
    m._set_params({"h": np.asarray(h, float), "J": j + j.T, "V": np.asarray(v, float),
                   "rates": np.full(n, 0.3)})
    return m


def _known(n=6, seed=0) -> KPairwiseMaxEnt:
    rng = np.random.default_rng(seed)
    h = rng.normal(-0.8, 0.4, n)
    j = rng.normal(0.0, 0.5, (n, n))
    v = np.r_[0.0, 0.3 * rng.standard_normal(n)]
    return _model(h, j, v)


def _exact_distribution(m: KPairwiseMaxEnt) -> np.ndarray:
    e, log_z = m._exact_table()
    return np.exp(e - log_z)


def _canonical_vector(m: KPairwiseMaxEnt) -> np.ndarray:
    h, j, v = m.canonical_parameters()
    iu = np.triu_indices(len(h), 1)
    return np.concatenate([h, j[iu], v[3:]])


def _canonical_features(n: int) -> np.ndarray:
    """Sufficient statistics of the canonical parametrisation for all patterns."""
    x = _all_patterns(n).astype(float)
    iu = np.triu_indices(n, 1)
    k = x.sum(axis=1).astype(int)
    onehot = (k[:, None] == np.arange(3, n + 1)[None, :]).astype(float)
    return np.concatenate([x, x[:, iu[0]] * x[:, iu[1]], onehot], axis=1)


def test_log_prob_sums_to_one_over_all_patterns_and_windows():
    m = _known(5)
    single = _all_patterns(5)[:, :, None]  # (32, 5, 1)
    assert np.exp(m.log_prob(single)).sum() == pytest.approx(1.0, abs=1e-12)
    m.n_bins_ = 2  # windows of 2 independent bins: 1024 windows
    pairs = np.stack(np.meshgrid(np.arange(32), np.arange(32), indexing="ij"), -1).reshape(-1, 2)
    allx = _all_patterns(5)
    windows = np.stack([allx[pairs[:, 0]], allx[pairs[:, 1]]], axis=2)
    lp = m.log_prob(windows)
    assert np.exp(lp).sum() == pytest.approx(1.0, abs=1e-12)
    # log P(window) = sum of the bins' log-probabilities
    m.n_bins_ = 1
    lp1 = m.log_prob(single)
    np.testing.assert_allclose(lp, lp1[pairs[:, 0]] + lp1[pairs[:, 1]], atol=1e-12)


def test_canonical_gauge_keeps_every_pattern_probability():
    m = _known(5)
    x = _all_patterns(5)
    h, j, v = m.canonical_parameters()
    c = _model(h, j, v)
    assert v[1] == v[2] == 0.0
    np.testing.assert_allclose(c.energy(x) - c.log_partition(), m.energy(x) - m.log_partition(),
                               atol=1e-12)


def test_exact_fit_recovers_the_parameters_of_a_known_model_within_sampling_error():
    truth = _known(6)
    n_samples = 100_000
    x = truth.sample(n_samples, seed=1)  # exact sampling by enumeration, (n, 6, 1)
    fit = KPairwiseMaxEnt(l2=0.0).fit(x)
    rep = fit.fit_report_
    assert rep.method == "exact" and rep.converged
    assert max(rep.rate_max_error, rep.cov_max_error, rep.count_max_error) < 1e-6
    # standard errors of the maximum-likelihood estimate: inverse Fisher information
    f = _canonical_features(6)
    p = _exact_distribution(truth)
    mean = p @ f
    fisher = (f - mean).T @ ((f - mean) * p[:, None])
    se = np.sqrt(np.diag(np.linalg.inv(fisher)) / n_samples)
    z = (_canonical_vector(fit) - _canonical_vector(truth)) / se
    assert np.abs(z).max() < 5.0, np.abs(z).max()


def test_monte_carlo_fit_matches_the_data_moments():
    truth = _known(6, seed=2)
    x = truth.sample(60_000, seed=3)
    mc = KPairwiseMaxEnt(method="mc", l2=0.0, n_iterations=400, n_chains=1024).fit(x, seed=0)
    exact = KPairwiseMaxEnt(l2=0.0).fit(x)
    assert mc.fit_report_.method == "mc" and mc.fit_report_.n_chains == 1024
    # exact moments of the MC-fitted model (enumeration) against the data's
    mu, c2, pk = pattern_moments(x[:, :, 0])
    p = _exact_distribution(mc)
    allx = _all_patterns(6).astype(float)
    k = allx.sum(axis=1).astype(int)
    assert np.abs(p @ allx - mu).max() < 0.01
    assert np.abs((allx * p[:, None]).T @ allx - c2).max() < 0.01
    assert np.abs(np.bincount(k, weights=p, minlength=7) - pk).max() < 0.01
    # and its distribution is close to the exact maximum-likelihood fit's
    tv = 0.5 * np.abs(p - _exact_distribution(exact)).sum()
    assert tv < 0.01
    assert len(mc.fit_report_.rate_error_history) == 400


def test_gibbs_chains_sample_the_model_distribution():
    m = _known(5, seed=4)
    chains = _GibbsChains(np.random.default_rng(0), np.full(5, 0.3), 20000)
    chains.run(m.h_, m.J_, m.V_, 30)
    codes = (chains.x.T.astype(int) << np.arange(5)).sum(axis=1)
    emp = np.bincount(codes, minlength=32) / 20000
    tv = 0.5 * np.abs(emp - _exact_distribution(m)).sum()
    assert tv < 0.03  # sampling noise of 20000 draws over 32 patterns is ~0.02


def test_large_population_sampling_uses_gibbs_and_bins_are_independent():
    n = 20  # > 16: no enumeration
    h = np.full(n, -1.5)
    j = np.zeros((n, n))
    j[0, 1] = 2.0  # neurons 0 and 1 strongly coupled
    v = np.zeros(n + 1)
    m = _model(h, j, v)
    m.n_bins_ = 4
    m.burn_in, m.thin = 20, 2
    s = m.sample(3000, seed=0).astype(float)
    assert s.shape == (3000, 20, 4)
    with pytest.raises(NotImplementedError, match="N <= 16"):
        m.log_prob(s[:1].astype(np.uint8))
    p_ind = 1 / (1 + np.exp(1.5))
    assert abs(s[:, 5:].mean() - p_ind) < 0.01  # uncoupled neurons: sigmoid(h)
    c01 = (s[:, 0] * s[:, 1]).mean() - s[:, 0].mean() * s[:, 1].mean()
    assert c01 > 0.03  # the coupling shows within a bin...
    lag = (s[:, 0, :-1] * s[:, 1, 1:]).mean() - s[:, 0].mean() * s[:, 1].mean()
    assert abs(lag) < 0.01  # ...and not across bins: independent draws per bin


def test_initial_model_matches_the_count_distribution():
    rng = np.random.default_rng(5)
    common = rng.random((50000, 1)) < 0.3
    x = ((rng.random((50000, 6)) < 0.1) | (common & (rng.random((50000, 6)) < 0.5)))
    x = x.astype(np.uint8)
    mu, _, pk = pattern_moments(x)
    h, j, v = _initial_parameters(mu, pk, len(x))
    assert not j.any() and v[0] == 0
    p = _exact_distribution(_model(h, np.zeros((6, 6)), v))
    k = _all_patterns(6).sum(axis=1)
    np.testing.assert_allclose(np.bincount(k, weights=p), pk, atol=2e-4)
    # the independent model's P(K) is the Poisson-binomial distribution
    np.testing.assert_allclose(_poisson_binomial(np.array([0.5, 0.5])), [0.25, 0.5, 0.25])


def test_never_cofiring_pairs_stay_finite_with_l2():
    rng = np.random.default_rng(6)
    x = (rng.random((20000, 5)) < 0.2).astype(np.uint8)
    x[x[:, 0] == 1, 1] = 0  # 0 and 1 never fire together
    fit = KPairwiseMaxEnt(l2=1e-3).fit(x, n_bins=1)
    assert np.isfinite(fit.J_).all() and fit.J_[0, 1] < -2
    p = _exact_distribution(fit)
    both = (_all_patterns(5)[:, 0] & _all_patterns(5)[:, 1]).astype(bool)
    assert p[both].sum() < 5e-3


def test_kpairwise_options_are_validated():
    with pytest.raises(ConfigError, match="method"):
        KPairwiseMaxEnt(method="pl")
    with pytest.raises(ConfigError, match="l2"):
        KPairwiseMaxEnt(l2=-1)
    with pytest.raises(ConfigError, match="n_chains"):
        KPairwiseMaxEnt(n_chains=1)
    with pytest.raises(ConfigError, match="N <= 16"):
        KPairwiseMaxEnt(method="exact").fit(np.zeros((10, 17), np.uint8), n_bins=1)

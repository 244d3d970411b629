"""`simulate.tuned` and `spikegan simulate tuned`: a stimulus-tuned population with exact
ground truth.

The statistical tests compare sample moments with the ground truth within 5 standard
errors. Windows are independent given their stimulus (bins within a window are not: the
trace and the noise factors are slow), so each standard error is that of a mean over the
windows of a per-window average -- the binomial standard error, corrected for the
dependence between bins. Each test also shows that it has the power to fail: a wrong
oracle (the tuning of another stimulus, the covariances of another stimulus, the opposite
gain) is rejected.
"""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
from scipy.special import expit

from spikegan_tf.cli import main
from spikegan_tf.data.simulate import tuned
from spikegan_tf.errors import ConfigError
from spikegan_tf.params import ParamError, RuleError

# the module (the package attribute `tuned` is the function)
tuned_mod = importlib.import_module("spikegan_tf.data.simulate.tuned")

N, T, S = 8, 16, 4  # neurons, bins, stimuli of the statistical tests
Z = 5.0  # tolerance in standard errors


@pytest.fixture(scope="module")
def sim():
    # a small chunk so that the statistics cover the chunked simulation (188 chunks)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tuned_mod, "_CHUNK_ELEMENTS", 1 << 14)
        return tuned(24_000, N, T, n_stimuli=S, max_lag=3, seed=11)


def _by_stimulus(sim, s):
    mask = sim.ground_truth["labels"] == s
    x = sim.spikes[mask].astype(np.float64)  # (W, N, T)
    c = sim.ground_truth["covariates"][mask, :, 0].astype(np.float64)  # (W, T)
    return x, c


def _z(per_window: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """|mean - expected| / standard error, the mean over windows (axis 0)."""
    se = per_window.std(axis=0, ddof=1) / np.sqrt(per_window.shape[0])
    return np.abs(per_window.mean(axis=0) - expected) / se


def _window_cov(x, p, lag=0):
    """Per-window average over bins of (x_i(t) - p_i)(x_j(t + lag) - p_j): (W, N, N)."""
    d = x - p[None, :, None]
    a, b = d[:, :, : T - lag], d[:, :, lag:]
    return np.einsum("wit,wjt->wij", a, b) / (T - lag)


# ----------------------------------------------------------------------------- basics


def test_shapes_dtypes_values_and_metadata(sim):
    gt = sim.ground_truth
    assert sim.dataset == "tuned"
    assert sim.spikes.dtype == np.uint8 and sim.spikes.shape == (24_000, N, T)
    assert set(np.unique(sim.spikes)) == {0, 1}
    assert gt["labels"].dtype == np.int64 and gt["labels"].shape == (24_000,)
    assert np.bincount(gt["labels"]).tolist() == [6000] * S  # balanced
    assert gt["covariates"].dtype == np.float32 and gt["covariates"].shape == (24_000, T, 1)
    assert np.isfinite(gt["covariates"]).all()
    # the trace is zero-mean, unit-variance
    assert abs(gt["covariates"].mean()) < 0.02 and abs(gt["covariates"].var() - 1) < 0.02
    shapes = {"tuning": (S, N), "stimulus_angles": (S,), "preferred_angles": (N,),
              "covariate_gain": (N,), "baselines": (N,), "amplitudes": (N,),
              "noise_correlations": (S, N, N), "noise_covariances": (S, N, N),
              "lagged_covariances": (S, 3, N, N), "loadings": (S, N, 4),
              "factor_angles": (4,), "input_means": (S, N), "covariate_tuning": (S, N, 25),
              "covariate_grid": (25,)}
    for key, shape in shapes.items():
        assert gt[key].shape == shape, key
    np.testing.assert_allclose(gt["stimulus_angles"], 2 * np.pi * np.arange(S) / S)
    # sparse, realistic rates; the tuning varies clearly with the stimulus
    assert 0.003 < gt["tuning"].min() and gt["tuning"].max() < 0.3
    assert (gt["tuning"].max(0) / gt["tuning"].min(0) > 1.5).all()
    corr = gt["noise_correlations"]
    np.testing.assert_allclose(np.diagonal(corr, axis1=1, axis2=2), 1.0)
    np.testing.assert_allclose(corr, np.swapaxes(corr, 1, 2))
    sd = np.sqrt(np.diagonal(gt["noise_covariances"], axis1=1, axis2=2))
    np.testing.assert_allclose(corr * sd[:, :, None] * sd[:, None, :], gt["noise_covariances"])
    json.dumps(sim.params)  # JSON-serialisable
    assert sim.params["n_stimuli"] == S and sim.params["seed"] == 11


def test_same_seed_same_data_other_seed_other_data():
    a = tuned(300, 6, 8, n_stimuli=3, seed=5)
    b = tuned(300, 6, 8, n_stimuli=3, seed=5)
    c = tuned(300, 6, 8, n_stimuli=3, seed=6)
    assert np.array_equal(a.spikes, b.spikes)
    for key in a.ground_truth:
        assert np.array_equal(a.ground_truth[key], b.ground_truth[key]), key
    assert not np.array_equal(a.spikes, c.spikes)
    assert not np.array_equal(a.ground_truth["labels"], c.ground_truth["labels"])
    assert not np.array_equal(a.ground_truth["tuning"], c.ground_truth["tuning"])
    # the population does not depend on the number of samples
    d = tuned(50, 6, 8, n_stimuli=3, seed=5)
    assert np.array_equal(d.ground_truth["tuning"], a.ground_truth["tuning"])
    # population_seed: fresh windows of the same population; seed=k is population_seed=k
    e = tuned(300, 6, 8, n_stimuli=3, seed=6, population_seed=5)
    assert np.array_equal(e.ground_truth["loadings"], a.ground_truth["loadings"])
    assert np.array_equal(e.ground_truth["tuning"], a.ground_truth["tuning"])
    assert not np.array_equal(e.spikes, a.spikes)
    for key in ("labels", "covariates"):  # the windows' own draws are those of seed 6
        assert np.array_equal(e.ground_truth[key], c.ground_truth[key])
    assert np.array_equal(tuned(300, 6, 8, n_stimuli=3, seed=5, population_seed=5).spikes,
                          a.spikes)


def test_unbalanced_stimuli_are_uniform_draws():
    sim = tuned(4000, 3, 4, n_stimuli=4, balanced=False, seed=2)
    counts = np.bincount(sim.ground_truth["labels"], minlength=4)
    assert counts.sum() == 4000 and len(set(counts.tolist())) > 1
    se = np.sqrt(4000 * 0.25 * 0.75)
    assert (np.abs(counts - 1000) < Z * se).all()


# ----------------------------------------------------------------------------- statistics


def test_rates_match_the_tuning(sim):
    tuning = sim.ground_truth["tuning"]
    wrong = np.roll(tuning, 1, axis=0)  # the tuning of the neighbouring stimulus
    worst_wrong = []
    for s in range(S):
        x, _ = _by_stimulus(sim, s)
        per_window = x.mean(axis=2)  # (W, N)
        assert _z(per_window, tuning[s]).max() < Z, s
        worst_wrong.append(_z(per_window, wrong[s]).max())
    assert min(worst_wrong) > 3 * Z  # power: the wrong stimulus is rejected


def test_same_bin_covariances_match(sim):
    cov = sim.ground_truth["noise_covariances"]
    p = sim.ground_truth["tuning"]
    iu = np.triu_indices(N, 1)
    for s in range(S):
        x, _ = _by_stimulus(sim, s)
        per_window = _window_cov(x, p[s])
        assert _z(per_window, cov[s]).max() < Z, s
        # power: correlations are clearly non-zero, and differ between stimuli
        assert _z(per_window, np.zeros_like(cov[s]))[iu].max() > 2 * Z
        other = cov[(s + S // 2) % S]
        assert _z(per_window, other)[iu].max() > 4 * Z


def test_lagged_covariances_match(sim):
    lagged = sim.ground_truth["lagged_covariances"]
    p = sim.ground_truth["tuning"]
    for s in range(S):
        x, _ = _by_stimulus(sim, s)
        for lag in (1, 2, 3):
            per_window = _window_cov(x, p[s], lag)
            assert _z(per_window, lagged[s, lag - 1]).max() < Z, (s, lag)
    # power: lag-1 autocovariances are clearly positive (slow inputs)
    assert _z(_window_cov(x, p[S - 1], 1), 0.0).max() > 2 * Z


def _expected_covariate_product(mean, var, gain):
    """E[x(t) c(t) | s] = g E[sigmoid'(u)] (Stein), by 200-node Gauss-Hermite."""
    z, w = np.polynomial.hermite_e.hermegauss(200)
    w = w / w.sum()
    q = expit(mean[:, None] + np.sqrt(var)[:, None] * z)
    return gain * ((q * (1 - q)) @ w)


def test_rates_follow_the_trace_with_the_sign_of_the_gain(sim):
    gt = sim.ground_truth
    gain = gt["covariate_gain"]
    var = gain**2 + (gt["loadings"] ** 2).sum(-1)  # (S, N)
    assert (gain > 0).any() and (gain < 0).any()
    for s in range(S):
        x, c = _by_stimulus(sim, s)
        per_window = np.einsum("wnt,wt->wn", x, c) / T  # cov(x_n(t), c(t)): E[c] = 0
        expected = _expected_covariate_product(gt["input_means"][s], var[s], gain)
        assert _z(per_window, expected).max() < Z, s
        assert (np.sign(per_window.mean(0)) == np.sign(gain)).all(), s
        assert _z(per_window, -expected).min() > Z  # power: the opposite sign is rejected


# ----------------------------------------------------------------------------- exactness


def test_ground_truth_is_the_documented_formula_integrated(sim, monkeypatch):
    """Monte Carlo of the generative formula (written out here) against the quadrature."""
    gt = sim.ground_truth
    theta, phi, psi = gt["stimulus_angles"], gt["preferred_angles"], gt["factor_angles"]
    # the stored parameters are those of the documented formula
    rate = expit(gt["baselines"])
    assert (np.abs(rate / 0.04 - 1) <= 0.5 + 1e-12).all()
    mean = gt["baselines"] + gt["amplitudes"] * np.cos(theta[:, None] - phi)
    np.testing.assert_allclose(gt["input_means"], mean)
    loadings = (1.0 * np.exp(np.cos(phi[:, None] - psi) - 1)[None]
                * np.exp(np.cos(theta[:, None] - psi) - 1)[:, None, :])
    np.testing.assert_allclose(gt["loadings"], loadings)
    rho_c, rho_e = np.exp(-1 / 4.0), np.exp(-1 / 4.0)
    assert gt["trace_ar_coefficient"] == pytest.approx(rho_c)
    assert gt["noise_ar_coefficient"] == pytest.approx(rho_e)

    rng = np.random.default_rng(0)
    m = 150_000
    g = gt["covariate_gain"]
    for s in (0, 1):
        # (c, eta) at t and t + 1, stationary AR(1)
        c0, e0 = rng.standard_normal(m), rng.standard_normal((m, 4))
        c1 = rho_c * c0 + np.sqrt(1 - rho_c**2) * rng.standard_normal(m)
        e1 = rho_e * e0 + np.sqrt(1 - rho_e**2) * rng.standard_normal((m, 4))
        q0 = expit(mean[s] + c0[:, None] * g + e0 @ loadings[s].T)  # (m, N)
        q1 = expit(mean[s] + c1[:, None] * g + e1 @ loadings[s].T)
        assert _z(q0, gt["tuning"][s]).max() < Z
        assert _z(q0, expit(mean[s])).max() > 4 * Z  # power: the shared input matters
        p = gt["tuning"][s]
        pair = (q0 - p)[:, :, None] * (q0 - p)[:, None, :]
        off = ~np.eye(N, dtype=bool)
        assert _z(pair, gt["noise_covariances"][s])[off].max() < Z
        lag1 = (q0 - p)[:, :, None] * (q1 - p)[:, None, :]
        assert _z(lag1, gt["lagged_covariances"][s, 0]).max() < Z
        # P(spike | s, c(t) = 1.5): grid point 18 of linspace(-3, 3, 25)
        assert gt["covariate_grid"][18] == pytest.approx(1.5)
        qc = expit(mean[s] + 1.5 * g + e0 @ loadings[s].T)
        assert _z(qc, gt["covariate_tuning"][s, :, 18]).max() < Z


def test_pair_quadrature_against_adaptive_integration(monkeypatch):
    from scipy.integrate import dblquad

    mean = np.array([-3.0, -1.0, 0.5])
    var = np.array([4.0, 2.25, 0.5])
    cross = np.array([[4.0, 2.5, -0.8], [1.2, 2.0, 0.6], [-0.8, 0.9, 0.5]])  # not symmetric
    got = tuned_mod._pair_moments(mean, var, cross)
    for i, j in [(0, 1), (1, 0), (0, 2), (2, 1), (1, 1)]:
        cov = np.array([[var[i], cross[i, j]], [cross[i, j], var[j]]])
        chol = np.linalg.cholesky(cov)

        def f(b, a, i=i, j=j, chol=chol):
            return (expit(mean[i] + chol[0, 0] * a) * expit(mean[j] + chol[1, 0] * a
                                                             + chol[1, 1] * b)
                    * np.exp(-(a * a + b * b) / 2) / (2 * np.pi))

        ref = dblquad(f, -10, 10, -10, 10, epsabs=1e-12, epsrel=1e-11)[0]
        assert got[i, j] == pytest.approx(ref, abs=1e-9), (i, j)
    # blocking over rows gives the same numbers
    monkeypatch.setattr(tuned_mod, "_QUAD_BLOCK", 1)
    np.testing.assert_allclose(tuned_mod._pair_moments(mean, var, cross), got, rtol=1e-13)


def test_without_shared_input_neurons_are_independent():
    sim = tuned(10, 5, 8, n_stimuli=2, covariate_gain=0, n_factors=0, max_lag=2, seed=0)
    gt = sim.ground_truth
    p = expit(gt["input_means"])
    np.testing.assert_allclose(gt["tuning"], p, rtol=1e-12)
    for s in range(2):
        np.testing.assert_allclose(gt["noise_covariances"][s], np.diag(p[s] * (1 - p[s])),
                                   atol=1e-15)
    np.testing.assert_allclose(gt["lagged_covariances"], 0.0, atol=1e-15)


def test_defaults_are_decodable_but_not_perfectly():
    """A Bernoulli naive-Bayes decoder with the true tuning, on one 32-bin window."""
    sim = tuned(2000, seed=3)
    gt = sim.ground_truth
    counts = sim.spikes.sum(axis=2).astype(np.float64)  # (W, 40)
    p = gt["tuning"]
    loglik = counts @ np.log(p).T + (32 - counts) @ np.log1p(-p).T  # (W, 8)
    accuracy = (loglik.argmax(axis=1) == gt["labels"]).mean()
    assert 0.6 < accuracy < 0.98
    assert 0.003 < p.min() and p.max() < 0.25
    iu = np.triu_indices(40, 1)
    assert np.percentile(gt["noise_correlations"][:, iu[0], iu[1]], 99) > 0.05


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("kwargs, exc, message", [
    ({"n_stimuli": 0}, ParamError, "`n_stimuli` must be an integer >= 1. Received 0."),
    ({"noise_std": -1.0}, ParamError, "`noise_std` must be a number >= 0. Received -1.0."),
    ({"firing_rate": 0.0}, ParamError, "`firing_rate` must be a probability in (0, 1]"),
    ({"balanced": 1}, ParamError, "`balanced` must be True or False. Received 1 (int)."),
    ({"n_factors": 1.5}, ParamError, "`n_factors` must be a non-negative integer"),
    ({"max_lag": 8}, RuleError, "`max_lag` (8) must be smaller than `n_bins` (8)."),
    ({"firing_rate": 0.7}, RuleError, "`firing_rate` * (1 + `spread`) must be < 1"),
    ({"population_seed": -2}, ParamError, "`population_seed` must be a non-negative integer"),
])
def test_bad_arguments_name_the_argument(kwargs, exc, message):
    with pytest.raises(exc) as info:
        tuned(10, 4, 8, seed=0, **kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, ConfigError)


# ----------------------------------------------------------------------------- files, CLI


def test_save_round_trip(tmp_path):
    sim = tuned(60, 5, 8, n_stimuli=3, seed=4)
    path = sim.save(tmp_path / "t.npz")
    with np.load(path, allow_pickle=False) as f:
        assert np.array_equal(f["spikes"], sim.spikes)
        for key in ("labels", "covariates", "tuning", "noise_correlations",
                    "noise_covariances", "preferred_angles", "covariate_gain"):
            assert f[key].dtype == sim.ground_truth[key].dtype, key
            assert np.array_equal(f[key], sim.ground_truth[key]), key
        meta = json.loads(str(f["metadata"]))
    assert meta["dataset"] == "tuned" and meta["params"] == sim.params
    assert meta["layout"] == "spikes: (n_samples, n_neurons, n_bins) uint8"


def test_cli_writes_the_file(tmp_path, capsys):
    out = tmp_path / "t.npz"
    status = main(["simulate", "tuned", "--neurons", "6", "--bins", "8", "--samples", "40",
                   "--stimuli", "3", "--seed", "2", "--factors", "2", "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert status == 0, err
    assert f"wrote 40 samples of tuned (6 neurons x 8 bins, 3 stimuli, seed 2) to {out}" in stdout
    expected = tuned(40, 6, 8, n_stimuli=3, n_factors=2, seed=2)
    with np.load(out) as f:
        assert np.array_equal(f["spikes"], expected.spikes)
        assert np.array_equal(f["labels"], expected.ground_truth["labels"])
        assert f["covariates"].shape == (40, 8, 1)
        assert json.loads(str(f["metadata"]))["params"]["n_factors"] == 2


@pytest.mark.parametrize("argv, expected", [
    (["--stimuli", "0"], "`--stimuli` must be an integer >= 1. Received 0."),
    (["--bins", "8", "--max-lag", "8"], "`--max-lag` (8) must be smaller than `--bins` (8)."),
    (["--firing-rate", "0.8"], "`--firing-rate` * (1 + `--spread`) must be < 1"),
    (["--noise-std", "-1"], "`--noise-std` must be a number >= 0. Received -1."),
])
def test_cli_rejects_a_bad_argument_with_one_line(tmp_path, capsys, argv, expected):
    out = tmp_path / "t.npz"
    status = main(["simulate", "tuned", "--samples", "10", *argv, "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert status == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spikegan simulate: error: "), err
    assert expected in lines[0]
    assert not out.exists()

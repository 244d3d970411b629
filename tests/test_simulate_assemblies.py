"""`simulate.assemblies` and `spikegan simulate assemblies`: overlapping assemblies firing
sequences, with exact ground truth.

Oracles: the exact firing probabilities and lagged covariances of the ground truth (sample
moments within 5 standard errors; windows are independent, so each standard error is that
of a mean over windows of a per-window average), the exact reconstruction of every spike
from the onsets when there is no background and participation is 1, and a brute-force
dead-time loop. Each statistical test also rejects a wrong oracle, to show it can fail.
"""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest

from spikegan_tf.cli import main
from spikegan_tf.data.simulate import assemblies, assembly_covariance
from spikegan_tf.errors import ConfigError
from spikegan_tf.params import ParamError, RuleError

# the module (the package attribute `assemblies` is the function)
asm_mod = importlib.import_module("spikegan_tf.data.simulate.assemblies")

N, T, A, S, L = 12, 16, 3, 6, 3  # neurons, bins, assemblies, members, sequence length
W = 20_000  # windows of the statistical tests
Z = 5.0  # tolerance in standard errors
SMALL = dict(n_assemblies=A, assembly_size=S, sequence_length=L, activation_rate=0.04,
             participation=0.7, background_rate=0.04, rate_log_sd=0.5)


@pytest.fixture(scope="module")
def sim():
    # a small chunk so that the statistics cover the chunked simulation (~230 chunks)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(asm_mod, "_CHUNK_ELEMENTS", 1 << 10)
        return assemblies(W, N, T, **SMALL, seed=3)


def _z(per_window: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """|mean - expected| / standard error, the mean over windows (axis 0)."""
    se = per_window.std(axis=0, ddof=1) / np.sqrt(per_window.shape[0])
    return np.abs(per_window.mean(axis=0) - expected) / se


def _window_cov(x: np.ndarray, p: np.ndarray, lag: int) -> np.ndarray:
    """Per-window average over bins of (x_i(t) - p_i)(x_j(t + lag) - p_j): (W, N, N)."""
    d = x - p[None, :, None]
    n_bins = x.shape[2]
    return np.einsum("wit,wjt->wij", d[:, :, : n_bins - lag], d[:, :, lag:]) / (n_bins - lag)


# ----------------------------------------------------------------------------- basics


def test_shapes_dtypes_values_and_structure(sim):
    gt = sim.ground_truth
    assert sim.dataset == "assemblies"
    assert sim.spikes.dtype == np.uint8 and sim.spikes.shape == (W, N, T)
    assert set(np.unique(sim.spikes)) == {0, 1}
    shapes = {"membership": (A, N), "member_lags": (A, N), "activation_rates": (A,),
              "participation": (), "refractory_period": (), "background_rates": (N,),
              "drive_rates": (N,), "expected_rates": (N,), "expected_covariance": (N, N)}
    for key, shape in shapes.items():
        assert gt[key].shape == shape, key
    assert gt["membership"].dtype == np.bool_ and gt["expected_covariance"].dtype == np.float32
    # every assembly: S members, lags -1 exactly off the membership, S / L members per lag
    m, lags = gt["membership"], gt["member_lags"]
    assert (m.sum(axis=1) == S).all()
    assert ((lags >= 0) == m).all()
    for a in range(A):
        assert np.bincount(lags[a][m[a]], minlength=L).tolist() == [S // L] * L
    # activation rates within +-50 % of the mean; realistic sparse rates
    assert ((0.02 <= gt["activation_rates"]) & (gt["activation_rates"] <= 0.06)).all()
    p, b, member = gt["expected_rates"], gt["background_rates"], m.any(axis=0)
    assert (p[member] > b[member]).all()
    np.testing.assert_allclose(p[~member], b[~member], rtol=1e-12)
    np.testing.assert_array_equal(p, gt["drive_rates"])  # no refractory period
    cov = gt["expected_covariance"]
    np.testing.assert_allclose(cov, cov.T)
    np.testing.assert_allclose(np.diag(cov), p * (1 - p), rtol=1e-6)
    # onsets: in range, sorted by (sample, bin, assembly)
    on = gt["onsets"]
    assert on.dtype == np.int32 and on.shape[1] == 3
    assert on[:, 0].min() >= 0 and on[:, 0].max() < W
    assert on[:, 1].min() >= 0 and on[:, 1].max() < A
    assert on[:, 2].min() == -(L - 1) and on[:, 2].max() == T - 1
    order = np.lexsort((on[:, 1], on[:, 2], on[:, 0]))
    assert (order == np.arange(len(on))).all()
    # about W * (T + L - 1) * sum(pi_a) onsets
    expected = W * (T + L - 1) * gt["activation_rates"].sum()
    assert abs(len(on) - expected) < Z * np.sqrt(expected)
    json.dumps(sim.params)
    assert sim.params["n_assemblies"] == A and sim.params["seed"] == 3


def test_same_seed_same_data_other_seed_other_data():
    kw = dict(SMALL, seed=5)
    a, b = assemblies(300, N, T, **kw), assemblies(300, N, T, **kw)
    c = assemblies(300, N, T, **dict(kw, seed=6))
    assert np.array_equal(a.spikes, b.spikes)
    for key in a.ground_truth:
        assert np.array_equal(a.ground_truth[key], b.ground_truth[key]), key
    assert not np.array_equal(a.spikes, c.spikes)
    assert not np.array_equal(a.ground_truth["membership"], c.ground_truth["membership"])
    # the population does not depend on the number of samples
    d = assemblies(50, N, T, **kw)
    assert np.array_equal(d.ground_truth["expected_covariance"],
                          a.ground_truth["expected_covariance"])
    # population_seed: fresh windows of the same population; seed=k is population_seed=k
    e = assemblies(300, N, T, **dict(kw, seed=6), population_seed=5)
    for key in ("membership", "member_lags", "expected_rates", "expected_covariance"):
        assert np.array_equal(e.ground_truth[key], a.ground_truth[key]), key
    assert not np.array_equal(e.spikes, a.spikes)
    assert np.array_equal(assemblies(300, N, T, **kw, population_seed=5).spikes, a.spikes)


def test_spikes_are_exactly_the_sequences_of_the_onsets():
    """No background, participation 1: every spike is a member at onset + lag, and back."""
    sim = assemblies(400, 30, 12, n_assemblies=5, assembly_size=8, sequence_length=6,
                     activation_rate=0.03, participation=1.0, background_rate=0.0, seed=1)
    gt = sim.ground_truth
    rebuilt = np.zeros_like(sim.spikes)
    for w, a, s in gt["onsets"]:
        members = np.flatnonzero(gt["membership"][a])
        t = s + gt["member_lags"][a, members]
        ok = (t >= 0) & (t < 12)
        rebuilt[w, members[ok], t[ok]] = 1
    np.testing.assert_array_equal(sim.spikes, rebuilt)
    assert (gt["onsets"][:, 2] < 0).any()  # sequences from before the window show up
    assert sim.spikes.any()


# ----------------------------------------------------------------------------- statistics


def test_rates_match_the_exact_firing_probabilities(sim):
    gt = sim.ground_truth
    x = sim.spikes.astype(np.float64)
    p = gt["expected_rates"]
    z = _z(x.mean(axis=2), p)
    assert z.max() < Z, z
    # stationary in every bin, the edges included (onsets before the window)
    for t in (0, 1, T - 1):
        assert _z(x[:, :, t].sum(axis=1), p.sum()) < Z, t
    # power: the background rates (assemblies ignored) are rejected
    assert _z(x.mean(axis=2), gt["background_rates"]).max() > 3 * Z


def test_lagged_covariances_match_the_exact_ones(sim):
    gt = sim.ground_truth
    x = sim.spikes.astype(np.float64)
    p = gt["expected_rates"]
    m = gt["membership"].astype(int)
    co_members = ((m.T @ m) > 0) | np.eye(N, dtype=bool)
    for lag in range(L + 1):
        exact = assembly_covariance(gt, lag)
        if lag == 0:
            np.testing.assert_allclose(exact, gt["expected_covariance"], rtol=1e-6, atol=1e-9)
        if lag == L:  # beyond the sequence: no covariance at all
            assert not exact.any()
        assert (exact[~co_members] == 0).all()  # only through a shared assembly
        c = _window_cov(x, p, lag)
        z = _z(c, exact)
        assert z.max() < Z, (lag, z.max())
        if lag == 1:
            assert (exact > 1e-3).sum() >= A * (L - 1) * (S // L) ** 2 // 2  # power exists
            # power: ignoring the lags (every member at lag 0) is rejected
            wrong = dict(gt, member_lags=np.where(gt["member_lags"] >= 0, 0, -1))
            assert _z(c, assembly_covariance(wrong, lag)).max() > 3 * Z


def test_assembly_covariance_pairs_negative_lags_and_refractory():
    gt = assemblies(10, N, T, **SMALL, seed=2).ground_truth
    i, j = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    for lag in (-2, -1, 0, 1, 2, 5):
        full = assembly_covariance(gt, lag)
        np.testing.assert_allclose(assembly_covariance(gt, lag, (i.ravel(), j.ravel())),
                                   full.ravel())
        np.testing.assert_allclose(full, assembly_covariance(gt, -lag).T)
        if lag:
            assert not np.diag(full).any()
    # a closed form: two members of one assembly only, at lag difference 1
    lags = gt["member_lags"]
    pi, q, p = gt["activation_rates"], 0.7, gt["expected_rates"]
    for a in range(A):
        for ii in np.flatnonzero(lags[a] == 0):
            for jj in np.flatnonzero(lags[a] == 1):
                shared = [b for b in range(A) if lags[b, ii] >= 0 and lags[b, jj] >= 0
                          and lags[b, jj] - lags[b, ii] == 1]
                ratio = np.prod([(1 - pi[b] * q * (2 - q)) / (1 - pi[b] * q) ** 2
                                 for b in shared])
                assert assembly_covariance(gt, 1, ([ii], [jj]))[0] == pytest.approx(
                    (1 - p[ii]) * (1 - p[jj]) * (ratio - 1), rel=1e-12)
    refr = assemblies(10, N, T, **SMALL, refractory_period=1, seed=2).ground_truth
    assert "expected_covariance" not in refr
    with pytest.raises(ConfigError, match="refractory"):
        assembly_covariance(refr, 1)


# ----------------------------------------------------------------------------- refractory


def _dead_time_loop(keys: np.ndarray, length: int, dead: int) -> np.ndarray:
    kept, last_row, last_t = [], -1, None
    for key in keys:
        row, t = divmod(int(key), length)
        if row != last_row or t - last_t > dead:
            kept.append(key)
            last_row, last_t = row, t
    return np.array(kept, np.int64)


def test_refractory_matches_a_brute_force_loop():
    rng = np.random.default_rng(0)
    length, dead = 40, 3
    grid = rng.random((50, length)) < 0.3
    grid[:, :dead] = False  # no draw of the initial state: deterministic
    keys = np.flatnonzero(grid).astype(np.int64)
    out = asm_mod._refractory(rng, keys, length, dead, np.full(5, 0.3))
    np.testing.assert_array_equal(out, _dead_time_loop(keys, length, dead))


@pytest.mark.parametrize("burn_in", [0, asm_mod._BURN_IN])
def test_refractory_period_rates_are_exact(monkeypatch, burn_in):
    # without the burn-in, the first bins test the stationary start of each neuron
    monkeypatch.setattr(asm_mod, "_BURN_IN", burn_in)
    d = 2
    sim = assemblies(8000, 10, 20, n_assemblies=3, assembly_size=5, sequence_length=4,
                     activation_rate=0.05, participation=0.8, background_rate=0.1,
                     rate_log_sd=0.3, refractory_period=d, seed=4)
    gt = sim.ground_truth
    x = sim.spikes
    # no two spikes of a neuron within d bins
    for lag in range(1, d + 1):
        assert not (x[:, :, lag:] & x[:, :, :-lag]).any(), lag
    h, p = gt["drive_rates"], gt["expected_rates"]
    np.testing.assert_allclose(p, h / (1 + d * h))
    xf = x.astype(np.float64)
    assert _z(xf.mean(axis=2), p).max() < Z
    for t in (0, 1, 19):  # the stationary start: exact in the first bins too
        assert _z(xf[:, :, t].sum(axis=1), p.sum()) < Z, t
    assert _z(xf.mean(axis=2), h).max() > 3 * Z  # power: the drive rates are rejected


def test_bernoulli_successes_rows_of_zero_hazard_and_frequencies():
    rng = np.random.default_rng(1)
    p = np.array([0.0, 0.5, 0.0, 1e-3, 0.2, 0.0])
    keys = asm_mod._bernoulli_successes(rng, -np.log1p(-p), 4000, 25)
    assert (np.diff(keys) > 0).all()
    grid = np.zeros(4000 * 6 * 25, np.uint8)
    grid[keys] = 1
    freq = grid.reshape(4000, 6, 25).mean(axis=(0, 2))
    se = np.sqrt(p * (1 - p) / (4000 * 25))
    assert (freq[p == 0] == 0).all()
    assert (np.abs(freq - p)[p > 0] < Z * se[p > 0]).all(), freq


# ----------------------------------------------------------------------------- errors and CLI


@pytest.mark.parametrize("kwargs, error, text", [
    (dict(n_assemblies=-1), ParamError, "`n_assemblies` must be a non-negative integer"),
    (dict(assembly_size=13), RuleError, "`assembly_size` (13) must be at most `n_neurons`"),
    (dict(sequence_length=17), RuleError, "`sequence_length` (17) must be at most `n_bins`"),
    (dict(activation_rate=0.7), RuleError, "`activation_rate` * (1 + `spread`) must be < 1"),
    (dict(participation=1.5), ParamError, "`participation` must be a probability in [0, 1]"),
    (dict(background_rate=0.6), ParamError, "`background_rate` must be a probability in"),
    (dict(rate_log_sd=-1), ParamError, "`rate_log_sd` must be in [0, 5]"),
    (dict(refractory_period=1.5), ParamError, "`refractory_period` must be a non-negative"),
    (dict(seed=-1), ParamError, "`seed` must be a non-negative integer or None"),
])
def test_bad_arguments_name_the_argument(kwargs, error, text):
    with pytest.raises(error) as info:
        assemblies(10, N, T, **{**SMALL, "seed": 0, **kwargs})
    assert text in str(info.value)
    assert "\n" not in str(info.value)


def test_cli_writes_the_file(tmp_path, capsys):
    out = tmp_path / "a.npz"
    status = main(["simulate", "assemblies", "--neurons", "40", "--bins", "16", "--samples",
                   "30", "--assemblies", "4", "--assembly-size", "10", "--sequence-length",
                   "4", "--seed", "2", "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert status == 0, err
    assert (f"wrote 30 samples of assemblies (40 neurons x 16 bins, 4 assemblies of 10, "
            f"seed 2) to {out}") in stdout
    expected = assemblies(30, 40, 16, n_assemblies=4, assembly_size=10, sequence_length=4,
                          seed=2)
    with np.load(out) as f:
        assert np.array_equal(f["spikes"], expected.spikes)
        for key, value in expected.ground_truth.items():
            assert np.array_equal(f[key], value), key
        meta = json.loads(str(f["metadata"]))
        assert meta["dataset"] == "assemblies" and meta["params"]["assembly_size"] == 10
        # the covariance function works on the file too
        np.testing.assert_allclose(assembly_covariance(f, 0), f["expected_covariance"],
                                   rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("argv, expected", [
    (["--assemblies", "-1"], "`--assemblies` must be an integer >= 0. Received -1."),
    (["--neurons", "20"], "`--assembly-size` (50) must be at most `--neurons` (20)."),
    (["--bins", "4"], "`--sequence-length` (8) must be at most `--bins` (4)."),
    (["--activation-rate", "0.7"], "`--activation-rate` * (1 + `--spread`) must be < 1"),
    (["--background-rate", "0.6"], "`--background-rate` must be a probability in [0, 0.5]"),
])
def test_cli_rejects_a_bad_argument_with_one_line(tmp_path, capsys, argv, expected):
    out = tmp_path / "a.npz"
    status = main(["simulate", "assemblies", "--samples", "10", *argv, "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert status == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spikegan simulate: error: "), err
    assert expected in lines[0]
    assert not out.exists()

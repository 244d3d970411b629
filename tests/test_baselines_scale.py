"""The baselines at scale: the DG's fast paths agree with their reference, k-pairwise refuses.

Each fast path of the dichotomized Gaussian (autoregressive sampling, the repair's
Anderson mixing through a Gram matrix, the one-sided eigenvalue projection,
block-by-block block-Toeplitz matrices, the model moments in blocks) is checked
against a direct implementation on a small problem.
"""

from __future__ import annotations

import numpy as np
import pytest

from spikegan_tf.baselines import DichotomizedGaussian, KPairwiseMaxEnt
from spikegan_tf.baselines import _gaussian as gaussian
from spikegan_tf.baselines import dichotomized_gaussian as dgm
from spikegan_tf.baselines import kpairwise as kpm
from spikegan_tf.baselines._gaussian import (
    _project_floor,
    autoregressive_form,
    block_toeplitz,
    extend_stationary,
    nearest_correlation,
    toeplitz_blocks,
)
from spikegan_tf.baselines._orthant import orthant_mixture
from spikegan_tf.baselines.kpairwise_fit import MAX_NEURONS, check_population
from spikegan_tf.cli import main
from spikegan_tf.params import ParamError


def _data(n_neurons=10, n_bins=9, n=600, seed=0):
    """Windows with same-bin and lagged correlations (a shared, slowly varying drive)."""
    rng = np.random.default_rng(seed)
    drive = rng.random((n, 1, n_bins + 2)) < 0.3
    drive = drive[..., :-2] | drive[..., 1:-1] | drive[..., 2:]
    p = np.where(drive, 0.35, 0.08) * rng.uniform(0.5, 1.5, (1, n_neurons, 1))
    return (rng.random((n, n_neurons, n_bins)) < p).astype(np.uint8)


# ------------------------------------------------------------------ sampling
@pytest.mark.parametrize("n_states", [1, 2])
def test_autoregressive_sampling_equals_the_whole_window_cholesky(n_states):
    w = _data()
    model = DichotomizedGaussian(max_lag=2, n_states=n_states).fit(w)
    n, t = 10, 9
    head, coef, innovation = model._sampling_factors()
    assert head.shape == (3 * n, 3 * n) and coef.shape == (2 * n, n)
    eps = np.random.default_rng(1).standard_normal((500, n * t)).astype(np.float32)
    fast = dgm._latent_draws(eps, head, coef, innovation, n, out=np.empty_like(eps))
    upper = np.linalg.cholesky(block_toeplitz(model.latent_)).T  # the reference path
    dense = eps.astype(np.float64) @ upper
    np.testing.assert_allclose(fast, dense, atol=2e-5)
    # ... so the windows are those of the dense path, but for float32 rounding at the threshold
    if n_states == 1:
        x = model.sample(500, seed=2)
        rng = np.random.default_rng(2)
        eps2 = rng.standard_normal((500, n * t), dtype=np.float32).astype(np.float64)
        ref = (eps2 @ upper < np.tile(model.gamma_, t)).reshape(500, t, n).transpose(0, 2, 1)
        assert (x != ref).mean() < 1e-3


def test_lags_that_are_not_the_continuation_use_the_whole_window():
    n, t = 3, 4
    blocks = np.array([np.eye(n), 0.3 * np.eye(n), 0.2 * np.eye(n), 0.05 * np.eye(n)])
    assert autoregressive_form(blocks, 1) is None  # lag 2 is not 0.3 ** 2
    head, coef, _ = autoregressive_form(extend_stationary(blocks[:2], t), 1)
    assert head.shape == (2 * n, 2 * n) and coef.shape == (n, n)
    model = DichotomizedGaussian(max_lag=1)
    model.n_neurons_, model.n_bins_ = n, t
    model._set_params({"gamma": np.zeros(n), "latent": blocks})
    head, coef, _ = model._sampling_factors()
    assert head.shape == (n * t, n * t) and coef.size == 0
    x = model.sample(20000, seed=0).astype(float)
    lag2 = (x[:, :, :-2] * x[:, :, 2:]).mean()
    want = 0.25 + np.arcsin(0.2) / (2 * np.pi)  # the hand-set lag 2, not the continuation
    assert abs(lag2 - want) < 0.01


def test_sampling_never_forms_the_whole_window_matrix(monkeypatch):
    real = gaussian.block_toeplitz

    def guarded(blocks):
        assert blocks.shape[0] <= 3, "the (N*T, N*T) matrix was built"
        return real(blocks)

    monkeypatch.setattr(gaussian, "block_toeplitz", guarded)
    model = DichotomizedGaussian().fit(_data(n_neurons=12, n_bins=16))
    x = model.sample(3000, seed=0)
    assert x.shape == (3000, 12, 16)
    p = x.mean(axis=(0, 2))
    np.testing.assert_allclose(p, _data(n_neurons=12, n_bins=16).mean(axis=(0, 2)), atol=0.02)


# -------------------------------------------------------------------- repair
def _dykstra(blocks, floor, n_iter=20000, tol=1e-11):
    """Plain Dykstra alternating projections (no acceleration): the reference repair."""
    n = blocks.shape[1]
    a = block_toeplitz(blocks)
    y, corr = a.copy(), np.zeros_like(a)
    for _ in range(n_iter):
        r = y - corr
        w, v = np.linalg.eigh(r)
        x = (v * np.maximum(w, floor)) @ v.T
        corr = x - r
        b = toeplitz_blocks(x, n)
        np.fill_diagonal(b[0], 1.0)
        y_new = block_toeplitz(b)
        if np.linalg.norm(y_new - y) < tol:
            return b
        y = y_new
    raise AssertionError("reference did not converge")


def test_repair_matches_plain_dykstra_projections(rng):
    blocks = rng.uniform(-0.6, 0.6, (3, 5, 5))
    blocks[0] = (blocks[0] + blocks[0].T) / 2
    np.fill_diagonal(blocks[0], 1.0)
    assert np.linalg.eigvalsh(block_toeplitz(blocks))[0] < 0
    got, rep = nearest_correlation(blocks, floor=1e-3, tol=1e-10, max_iter=2000)
    assert rep.converged and rep.iterations < 200
    np.testing.assert_allclose(got, _dykstra(blocks, 1e-3), atol=1e-6)


def test_eigenvalue_projection_from_either_side_of_the_spectrum(rng):
    for n_negative in (2, 9):  # fewer, then more, low eigenvalues than half
        v = np.linalg.qr(rng.standard_normal((12, 12)))[0]
        w = np.r_[-rng.random(n_negative), rng.random(12 - n_negative) + 0.1]
        mat = (v * w) @ v.T
        want = (v * np.maximum(w, 0.05)) @ v.T
        np.testing.assert_allclose(_project_floor(mat, 0.05), want, atol=1e-12)


def test_block_toeplitz_matches_its_definition(rng):
    blocks = rng.standard_normal((4, 3, 3))
    full = block_toeplitz(blocks)
    for t in range(4):
        for s in range(4):
            want = blocks[s - t] if s >= t else blocks[t - s].T
            np.testing.assert_array_equal(full[3 * t: 3 * t + 3, 3 * s: 3 * s + 3], want)


# ------------------------------------------------------------- model moments
def test_model_moments_in_blocks_equal_all_pairs_at_once(monkeypatch):
    model = DichotomizedGaussian(max_lag=2, n_states=2).fit(_data())
    monkeypatch.setattr(dgm, "_MOMENT_VALUES", 7)  # blocks of one neuron
    p, second = model.moments()
    # the reference: every (lag, i, j) in one orthant_mixture call
    n, n_lags = 10, model.latent_.shape[0]
    g, joint = model._state_law(model.gamma_, n_lags)
    lag, i, j = (a.ravel() for a in np.meshgrid(np.arange(n_lags), np.arange(n), np.arange(n),
                                                indexing="ij"))
    r = np.clip(model.latent_[lag, i, j], -1 + 1e-15, 1 - 1e-15)
    want, _ = orthant_mixture(g[:, i].T, g[:, j].T, joint[lag], r)
    want = want.reshape(n_lags, n, n)
    want[0][np.diag_indices(n)] = p
    np.testing.assert_allclose(second, want, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- k-pairwise
def test_kpairwise_refuses_populations_above_its_limit_before_any_work(monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("work was done before the refusal")

    monkeypatch.setattr(kpm, "patterns", no_work)
    x = np.zeros((3, MAX_NEURONS + 1, 2), np.uint8)
    with pytest.raises(ParamError) as info:
        KPairwiseMaxEnt().fit(x)
    msg = str(info.value)
    assert info.value.param == "n_neurons" and info.value.received == MAX_NEURONS + 1
    assert "\n" not in msg and f"at most {MAX_NEURONS}" in msg
    assert "O(N^2)" in msg and "DichotomizedGaussian" in msg
    check_population(MAX_NEURONS)  # the limit itself is allowed


def test_kpairwise_refusal_is_one_line_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "big.npz"
    np.savez(path, spikes=np.zeros((4, MAX_NEURONS + 1, 3), np.uint8))
    status = main(["baseline", "fit", "kpairwise", "--data", str(path),
                   "--out", str(tmp_path / "kp.npz")])
    err = capsys.readouterr().err.strip()
    assert status != 0 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"at most {MAX_NEURONS}" in err and "DichotomizedGaussian" in err

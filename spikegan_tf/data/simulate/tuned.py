"""A population tuned to a stimulus: discrete stimuli, a continuous stimulus trace and
stimulus-dependent noise correlations, with the exact tuning and correlations as ground truth.

The data set of a *conditional* Spike-GAN (condition: the stimulus id of each window,
``labels``; covariate: the trace, ``covariates``). Each window shows one of
``n_stimuli`` stimuli at angles ``theta_s = 2 pi s / n_stimuli`` and carries a
continuous trace ``c(t)``. Neuron ``n`` fires in bin ``t`` with probability::

    sigmoid(u_n(t)),   u_n(t) = b_n + A_n cos(theta_s - phi_n)          (tuning)
                              + g_n c(t)                                (the trace)
                              + sum_k L[s, n, k] eta_k(t)               (shared noise)

and, given ``u``, neurons and bins are independent. ``c`` and the ``eta_k`` are
independent zero-mean unit-variance stationary AR(1) processes drawn fresh for each
window (``corr(c(t), c(t + l)) = exp(-l / time_constant)``, likewise for ``eta`` with
``noise_time_constant``; a time constant of 0 is white noise). The loadings of the
``n_factors`` noise factors depend on the stimulus: factor ``k`` has an angle
``psi_k``, loads on the neurons preferring angles near it and is strongest when the
stimulus is near it::

    L[s, n, k] = noise_std * exp(cos(phi_n - psi_k) - 1)
                           * exp(noise_modulation * (cos(theta_s - psi_k) - 1))

so which pairs are correlated changes with the stimulus. The trace gains ``g_n`` have
random signs, so the trace makes some pairs anti-correlated. "Noise" correlations are
conditioned on the discrete stimulus only: the trace, drawn fresh for each window, is a
shared input like the factors and contributes ``g_i g_j`` to the input covariance.

Given the stimulus the total input ``u`` is Gaussian, which makes the ground truth
exact: firing probabilities are one-dimensional and pair moments two-dimensional
Gaussian integrals of the sigmoid, computed by quadrature to ~1e-9 (not Monte Carlo).
"""

from __future__ import annotations

import math

import numpy as np

from spikegan_tf.data.simulate.base import (
    _CHUNK_ELEMENTS,
    SimulatedData,
    _draw_around,
    _prob,
    _spread,
)
from spikegan_tf.params import Boolean, Integer, Real, RuleError, check_param
from spikegan_tf.validation import check_positive_int, check_seed

__all__ = ["tuned", "COVARIATE_GRID"]


# values of c(t) at which ``covariate_tuning`` is tabulated
COVARIATE_GRID = np.linspace(-3.0, 3.0, 25)
# elements of the (rows, N, nodes, nodes) arrays of the pair quadrature, per block
_QUAD_BLOCK = 1 << 22


def _sigmoid(x: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(x)


def _normal_nodes(sd_max: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ``E[f(Z)]``, ``Z ~ N(0, 1)``, for ``f(z) = sigmoid(m + s z)``.

    The trapezoidal rule on ``[-8.5, 8.5]``: for an integrand analytic in a strip it
    converges geometrically (faster than Gauss-Hermite here), and the poles of the
    sigmoid lie ``pi / s`` off the real axis, so a step ``0.8 / sd_max`` keeps the
    error below 1e-9 for any ``s <= sd_max`` (26 nodes for ``sd_max <= 1``).
    """
    h = min(0.7, 0.8 / sd_max) if sd_max > 0 else 0.7
    x = np.linspace(-8.5, 8.5, int(math.ceil(17.0 / h)) + 1)
    w = np.exp(-0.5 * x * x)
    return x, w / w.sum()


def _rho(time_constant: float) -> float:
    return math.exp(-1.0 / time_constant) if time_constant > 0 else 0.0


def _expected_rates(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``E[sigmoid(mean + sd Z)]``, elementwise."""
    x, w = _normal_nodes(float(np.max(sd, initial=0.0)))
    return _sigmoid(mean[..., None] + sd[..., None] * x) @ w


def _pair_moments(mean: np.ndarray, var: np.ndarray, cross: np.ndarray) -> np.ndarray:
    """``E[sigmoid(u_i) sigmoid(v_j)]`` for Gaussian ``u_i``, ``v_j``: ``(N, N)``.

    ``u_i`` and ``v_j`` have means ``mean[i]``, ``mean[j]``, variances ``var[i]``,
    ``var[j]`` and covariance ``cross[i, j]``. Writing ``u_i = mean_i + sd_i Z1`` and
    ``v_j = mean_j + beta Z1 + gamma Z2`` (``beta = cross / sd_i``,
    ``gamma**2 = var_j - beta**2``), it is a product rule in ``Z1, Z2``.
    """
    n = mean.shape[0]
    sd = np.sqrt(var)
    x, w = _normal_nodes(float(sd.max()))
    outer = _sigmoid(mean[:, None] + sd[:, None] * x)  # (N, q): sigmoid(u_i) at Z1 = x_a
    out = np.empty((n, n))
    rows = max(1, _QUAD_BLOCK // (n * x.size * x.size))
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = np.where(sd[lo:hi, None] > 0, cross[lo:hi] / sd[lo:hi, None], 0.0)
        gamma = np.sqrt(np.maximum(var[None, :] - beta**2, 0.0))
        # (rows, N, a, b): v_j at Z1 = x_a, Z2 = x_b
        v = (mean[None, :, None, None] + beta[:, :, None, None] * x[:, None]
             + gamma[:, :, None, None] * x)
        inner = _sigmoid(v) @ w  # (rows, N, a): E[sigmoid(v_j) | Z1 = x_a]
        out[lo:hi] = np.einsum("ia,ija,a->ij", outer[lo:hi], inner, w)
    return out


def _ground_truth(mean: np.ndarray, gain: np.ndarray, loadings: np.ndarray, rho_c: float,
                  rho_eta: float, max_lag: int) -> dict[str, np.ndarray]:
    """Exact per-stimulus statistics of the spikes (see :func:`tuned`)."""
    n_stim, n = mean.shape
    rates = np.empty((n_stim, n))
    cov = np.empty((n_stim, n, n))
    lagged = np.empty((n_stim, max_lag, n, n))
    grid_tuning = np.empty((n_stim, n, COVARIATE_GRID.size))
    gg = np.outer(gain, gain)
    for s in range(n_stim):
        ll = loadings[s] @ loadings[s].T
        var = gain**2 + np.diag(ll)
        rates[s] = _expected_rates(mean[s], np.sqrt(var))
        p = rates[s]
        for lag in range(max_lag + 1):
            cross = rho_c**lag * gg + rho_eta**lag * ll
            c = _pair_moments(mean[s], var, cross) - np.outer(p, p)
            if lag == 0:
                c[np.diag_indices(n)] = p * (1.0 - p)  # x**2 = x
                cov[s] = (c + c.T) / 2.0
            else:
                lagged[s, lag - 1] = c
        # P(spike | s, c(t) = c): the noise factors remain, sd sqrt(diag(ll))
        grid_tuning[s] = _expected_rates(
            mean[s][:, None] + gain[:, None] * COVARIATE_GRID,
            np.broadcast_to(np.sqrt(np.diag(ll))[:, None], (n, COVARIATE_GRID.size)))
    sd = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / (sd[:, :, None] * sd[:, None, :])
    return {"tuning": rates, "noise_covariances": cov, "noise_correlations": corr,
            "lagged_covariances": lagged, "covariate_tuning": grid_tuning}


def _ar1(rng: np.random.Generator, shape: tuple[int, ...], n_bins: int,
         rho: float) -> np.ndarray:
    """Stationary unit-variance AR(1) series ``(shape[0], n_bins, *shape[1:])``."""
    z = rng.standard_normal((n_bins,) + shape)
    if rho > 0:
        s = math.sqrt(1.0 - rho * rho)
        for t in range(1, n_bins):
            z[t] = rho * z[t - 1] + s * z[t]
    return np.moveaxis(z, 0, 1)


def tuned(
    n_samples: int,
    n_neurons: int = 40,
    n_bins: int = 32,
    *,
    n_stimuli: int = 8,
    firing_rate: float = 0.04,
    tuning_strength: float = 0.8,
    covariate_gain: float = 0.5,
    time_constant: float = 4.0,
    n_factors: int = 4,
    noise_std: float = 1.0,
    noise_modulation: float = 1.0,
    noise_time_constant: float = 4.0,
    spread: float = 0.5,
    balanced: bool = True,
    max_lag: int = 1,
    population_seed: int | None = None,
    seed: int | None,
) -> SimulatedData:
    """A population tuned to discrete stimuli and a continuous trace (see the module docstring).

    Parameters
    ----------
    n_samples, n_neurons, n_bins : int
        Output shape ``(n_samples, n_neurons, n_bins)``.
    n_stimuli : int
        Number of discrete stimuli, at angles ``2 pi s / n_stimuli``.
    firing_rate : float
        Mean baseline firing probability ``sigmoid(b_n)`` (the probability at
        ``cos(theta_s - phi_n) = 0`` without trace and noise input); drawn per neuron
        within ``+-spread`` (relative) of it. The actual probabilities are the
        ground truth ``tuning``.
    tuning_strength : float
        Mean tuning amplitude ``A_n`` (logit units; von-Mises-like tuning of
        concentration ``A_n`` at low rates); drawn within ``+-spread``.
    covariate_gain : float
        Mean absolute gain ``|g_n|`` of the trace (logit units per unit of ``c``);
        drawn within ``+-spread``, random signs. 0: no effect of the trace.
    time_constant : float
        Correlation time of the trace in bins (0: white).
    n_factors : int
        Number of shared noise factors (0: noise correlations from the trace only).
    noise_std : float
        Scale of the factor loadings (logit units).
    noise_modulation : float
        How strongly a factor's loadings depend on the stimulus (0: not at all).
    noise_time_constant : float
        Correlation time of the noise factors in bins (0: white).
    spread : float
        Relative half-width of the per-neuron draws, in ``[0, 1)``.
    balanced : bool
        Each stimulus in ``n_samples // n_stimuli`` or one more windows, in random
        order (else each window's stimulus is drawn uniformly).
    max_lag : int
        Lags of the ground-truth ``lagged_covariances`` (``< n_bins``).
    population_seed : int, optional
        Seed of the population (preferred angles, gains, baselines, loadings);
        default ``seed``. Same ``population_seed``, another ``seed``: fresh windows
        from the same population and ground truth (held-out data).
    seed : int or None
        Seed of the windows (and of the population unless ``population_seed``).

    Returns
    -------
    SimulatedData
        ``spikes`` uint8 ``(n_samples, n_neurons, n_bins)``; ``ground_truth``
        (float64 unless stated; *given the stimulus* means averaged over the trace
        and the noise factors, which are thus part of the "noise"):

        - ``labels`` int64 ``(n_samples,)``: stimulus of each window, ``0..n_stimuli-1``;
        - ``covariates`` float32 ``(n_samples, n_bins, 1)``: the trace ``c(t)`` of
          each window (the simulation used these float32 values);
        - ``tuning`` ``(n_stimuli, n_neurons)``: exact firing probability per bin
          given the stimulus;
        - ``noise_covariances`` ``(n_stimuli, n_neurons, n_neurons)``: exact
          same-bin covariance ``cov(x_i(t), x_j(t) | s)`` of the spikes (diagonal
          ``p (1 - p)``); ``noise_correlations``: the same as Pearson correlation
          coefficients (diagonal 1);
        - ``lagged_covariances`` ``(n_stimuli, max_lag, n_neurons, n_neurons)``:
          ``cov(x_i(t), x_j(t + l) | s)`` for ``l = 1..max_lag``;
        - ``covariate_tuning`` ``(n_stimuli, n_neurons, 25)``: firing probability
          given the stimulus and ``c(t) = covariate_grid``; ``covariate_grid`` ``(25,)``;
        - the parameters: ``stimulus_angles`` ``(n_stimuli,)``, ``preferred_angles``,
          ``baselines`` (``b_n``), ``amplitudes`` (``A_n``), ``covariate_gain``
          (``g_n``), all ``(n_neurons,)``; ``factor_angles`` ``(n_factors,)``;
          ``loadings`` ``(n_stimuli, n_neurons, n_factors)``; ``input_means``
          ``(n_stimuli, n_neurons)`` (mean of ``u``); ``trace_ar_coefficient`` and
          ``noise_ar_coefficient`` (0-d: the AR(1) coefficients, ``exp(-1 / time
          constant)``).

    Examples
    --------
    >>> sim = tuned(400, 10, 16, n_stimuli=4, seed=0)
    >>> sim.spikes.shape, sim.ground_truth["covariates"].shape
    ((400, 10, 16), (400, 16, 1))
    >>> np.bincount(sim.ground_truth["labels"]).tolist()   # balanced
    [100, 100, 100, 100]
    >>> tuning = sim.ground_truth["tuning"]   # (stimuli, neurons), exact
    >>> tuning.shape, bool(((0.005 < tuning) & (tuning < 0.3)).all())
    ((4, 10), True)

    Fresh windows from the same population (a held-out set with the same ground truth):

    >>> held_out = tuned(400, 10, 16, n_stimuli=4, seed=1, population_seed=0)
    >>> bool(np.array_equal(held_out.ground_truth["tuning"], tuning))
    True
    >>> bool(np.array_equal(held_out.spikes, sim.spikes))
    False
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    n_neurons = check_positive_int(n_neurons, "n_neurons")
    n_bins = check_positive_int(n_bins, "n_bins")
    n_stimuli = check_positive_int(n_stimuli, "n_stimuli")
    firing_rate = _prob(firing_rate, "firing_rate")
    for name, value in (("tuning_strength", tuning_strength), ("covariate_gain", covariate_gain),
                        ("time_constant", time_constant), ("noise_std", noise_std),
                        ("noise_modulation", noise_modulation),
                        ("noise_time_constant", noise_time_constant)):
        check_param(name, value, Real(min=0))
    n_factors = check_positive_int(n_factors, "n_factors", minimum=0)
    spread = _spread(spread)
    check_param("balanced", balanced, Boolean())
    check_param("max_lag", max_lag, Integer(min=0))
    seed = check_seed(seed)
    population_seed = check_seed(population_seed, "population_seed")
    if firing_rate * (1 + spread) >= 1:
        raise RuleError(f"{{firing_rate}} * (1 + {{spread}}) must be < 1 so that every "
                        f"baseline is a probability below 1. Received {firing_rate} and "
                        f"{spread}.", ("firing_rate", "spread"))
    if max_lag >= n_bins:
        raise RuleError(f"{{max_lag}} ({max_lag}) must be smaller than {{n_bins}} ({n_bins}).",
                        ("max_lag", "n_bins"))

    # population and windows from independent streams: the population does not depend
    # on n_samples, and population_seed fixes it while seed draws fresh windows
    pop_ss, win_ss = np.random.SeedSequence(seed).spawn(2)
    if population_seed is not None:
        pop_ss = np.random.SeedSequence(population_seed).spawn(2)[0]
    pop_rng, rng = np.random.default_rng(pop_ss), np.random.default_rng(win_ss)

    theta = 2.0 * np.pi * np.arange(n_stimuli) / n_stimuli
    # preferred angles cover the circle evenly, in random order
    phi = 2.0 * np.pi * (pop_rng.permutation(n_neurons) + pop_rng.random(n_neurons)) / n_neurons
    base_rates = _draw_around(pop_rng, firing_rate, spread, n_neurons)
    baselines = np.log(base_rates) - np.log1p(-base_rates)
    amplitudes = _draw_around(pop_rng, tuning_strength, spread, n_neurons)
    signs = np.where(pop_rng.random(n_neurons) < 0.5, -1.0, 1.0)
    gain = signs * _draw_around(pop_rng, covariate_gain, spread, n_neurons)
    psi = 2.0 * np.pi * (np.arange(n_factors) + pop_rng.random(n_factors)) / max(n_factors, 1)
    loadings = (noise_std * np.exp(np.cos(phi[:, None] - psi) - 1.0)[None]
                * np.exp(noise_modulation * (np.cos(theta[:, None] - psi) - 1.0))[:, None, :])
    mean = baselines + amplitudes * np.cos(theta[:, None] - phi)  # (n_stimuli, n_neurons)
    rho_c, rho_eta = _rho(time_constant), _rho(noise_time_constant)

    if balanced:
        labels = rng.permutation(np.arange(n_samples) % n_stimuli)
    else:
        labels = rng.integers(0, n_stimuli, n_samples)
    labels = labels.astype(np.int64)
    spikes = np.empty((n_samples, n_neurons, n_bins), np.uint8)
    covariates = np.empty((n_samples, n_bins, 1), np.float32)
    chunk = max(1, _CHUNK_ELEMENTS // (n_neurons * n_bins))
    for lo in range(0, n_samples, chunk):
        m = min(chunk, n_samples - lo)
        lab = labels[lo : lo + m]
        trace = _ar1(rng, (m,), n_bins, rho_c).astype(np.float32)  # (m, T)
        covariates[lo : lo + m, :, 0] = trace
        u = mean[lab][:, None, :] + trace[:, :, None] * gain  # (m, T, N)
        if n_factors:
            eta = _ar1(rng, (m, n_factors), n_bins, rho_eta)  # (m, T, K)
            u += np.einsum("mtk,mnk->mtn", eta, loadings[lab])
        spk = rng.random(u.shape, dtype=np.float32) < _sigmoid(u).astype(np.float32)
        spikes[lo : lo + m] = spk.transpose(0, 2, 1)

    params = {
        "n_samples": n_samples,
        "n_neurons": n_neurons,
        "n_bins": n_bins,
        "n_stimuli": n_stimuli,
        "firing_rate": firing_rate,
        "tuning_strength": float(tuning_strength),
        "covariate_gain": float(covariate_gain),
        "time_constant": float(time_constant),
        "n_factors": n_factors,
        "noise_std": float(noise_std),
        "noise_modulation": float(noise_modulation),
        "noise_time_constant": float(noise_time_constant),
        "spread": spread,
        "balanced": bool(balanced),
        "max_lag": int(max_lag),
        "population_seed": population_seed,
        "seed": seed,
    }
    truth = {
        "labels": labels,
        "covariates": covariates,
        **_ground_truth(mean, gain, loadings, rho_c, rho_eta, int(max_lag)),
        "covariate_grid": COVARIATE_GRID.copy(),
        "stimulus_angles": theta,
        "preferred_angles": phi,
        "baselines": baselines,
        "amplitudes": amplitudes,
        "covariate_gain": gain,
        "factor_angles": psi,
        "loadings": loadings,
        "input_means": mean,
        "trace_ar_coefficient": np.array(rho_c),
        "noise_ar_coefficient": np.array(rho_eta),
    }
    return SimulatedData(spikes, "tuned", params, truth)

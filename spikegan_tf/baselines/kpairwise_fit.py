"""Fitting the k-pairwise model: the data's pattern moments, Gibbs chains for the Monte-Carlo
fit, initial parameters, final errors and the fit report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from spikegan_tf.baselines.base import FitReport

__all__ = ["KPairwiseFitReport", "pattern_moments", "EXACT_MAX_NEURONS", "MAX_NEURONS",
           "check_population"]


#: largest population whose 2**N patterns are enumerated (exact fit, log_prob, sampling)
EXACT_MAX_NEURONS = 16
#: largest population fitted at all: a Monte-Carlo iteration costs O(N^2) per chain and
#: sweep (measured on one core: 0.06 CPU-s at 128 neurons, 0.2 at 256, 0.7-0.9 at 512
#: with the default 4096 chains and 2 sweeps), so the default 3000 iterations take about
#: 10 CPU-minutes at 256 neurons and 40 at 512 (benchmarks/bench_baselines_scale.py)
MAX_NEURONS = 256
_SAMPLE_CHAINS = 8192


def check_population(n_neurons: int) -> None:
    """Refuse to fit a k-pairwise model to more than :data:`MAX_NEURONS` neurons.

    Raises
    ------
    spikegan_tf.params.ParamError
        Naming ``n_neurons``, the limit, why, and what to fit instead.

    Examples
    --------
    >>> check_population(50)
    >>> try:
    ...     check_population(512)
    ... except ValueError as exc:
    ...     print(exc.param, "|", exc)  # doctest: +ELLIPSIS
    n_neurons | `n_neurons` must be at most 256 for KPairwiseMaxEnt ... Received 512.
    """
    if n_neurons > MAX_NEURONS:
        from spikegan_tf.params import ParamError

        raise ParamError(
            "n_neurons",
            f"at most {MAX_NEURONS} for KPairwiseMaxEnt (its Monte-Carlo fit costs O(N^2) "
            "per Gibbs chain and sweep: about 40 CPU-minutes at 512 neurons); fit "
            "DichotomizedGaussian to larger populations",
            int(n_neurons),
        )


@dataclass(frozen=True)
class KPairwiseFitReport(FitReport):
    """Fit report of :class:`KPairwiseMaxEnt`.

    Errors compare the fitted model's moments with the data's: firing rates
    ``E[x_i]``, covariances ``E[x_i x_j] - E[x_i] E[x_j]`` (i < j) and the
    spike-count distribution ``P(K)``. For an exact fit the model's moments are
    exact; for a Monte-Carlo fit they are estimated from ``n_final_samples``
    Gibbs samples, so they include that Monte-Carlo noise.

    Attributes
    ----------
    method : {"exact", "mc"}
        Enumeration of all ``2**N`` patterns (L-BFGS), or Monte-Carlo gradients.
    n_iterations : int
        Optimiser iterations (L-BFGS steps or stochastic-gradient steps).
    converged : bool
        Exact: L-BFGS met its tolerance. MC: every final error is within 3 standard
        errors of the data's sampling noise plus the Monte-Carlo noise.
    n_chains : int
        Persistent Gibbs chains (0 for exact).
    l2 : float
        L2 penalty on couplings and count potential.
    rate_error_history, pair_error_history, count_error_history : tuple of float
        Largest absolute error of the rates, the pairwise moments ``E[x_i x_j]`` and
        ``P(K)`` at each iteration (MC: estimated from the chains of that iteration).
    rate_mae, cov_mae, count_mae : float
        Final mean absolute errors.
    rate_max_error, cov_max_error, count_max_error : float
        Final largest absolute errors.
    rate_noise, cov_noise, count_noise : float
        Mean standard error of the same data moments (binomial, independent bins):
        the scale of errors a perfect fit would still show against new data.
    max_abs_z : float
        Largest final error in units of its standard error (data + Monte Carlo).
    n_final_samples : int
        Patterns used for the final moments (0 for exact).
    """

    method: str = "exact"
    n_iterations: int = 0
    converged: bool = False
    n_chains: int = 0
    l2: float = 0.0
    rate_error_history: tuple[float, ...] = ()
    pair_error_history: tuple[float, ...] = ()
    count_error_history: tuple[float, ...] = ()
    rate_mae: float = float("nan")
    cov_mae: float = float("nan")
    count_mae: float = float("nan")
    rate_max_error: float = float("nan")
    cov_max_error: float = float("nan")
    count_max_error: float = float("nan")
    rate_noise: float = float("nan")
    cov_noise: float = float("nan")
    count_noise: float = float("nan")
    max_abs_z: float = float("nan")
    n_final_samples: int = 0

    def summary(self) -> str:
        lines = [super().summary()]
        how = (
            f"{self.method} fit, {self.n_iterations} iterations"
            + (f", {self.n_chains} Gibbs chains" if self.method == "mc" else "")
            + f", l2={self.l2:g}, " + ("converged" if self.converged else "NOT converged")
        )
        lines.append(how)
        lines.append(
            f"final MAE (data noise): rates {self.rate_mae:.2e} ({self.rate_noise:.2e}), "
            f"covariances {self.cov_mae:.2e} ({self.cov_noise:.2e}), P(K) "
            f"{self.count_mae:.2e} ({self.count_noise:.2e}); max |z| {self.max_abs_z:.2f}"
        )
        return "\n".join(lines)


def pattern_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rates ``(N,)``, second moments ``E[x_i x_j]`` ``(N, N)`` and ``P(K)`` ``(N+1,)``.

    Parameters
    ----------
    x : numpy.ndarray
        Single-bin patterns ``(n, N)`` of 0/1.

    Examples
    --------
    >>> import numpy as np
    >>> mu, c2, pk = pattern_moments(np.array([[1, 1], [0, 1]], np.uint8))
    >>> mu, c2[0, 1], pk
    (array([0.5, 1. ]), np.float64(0.5), array([0. , 0.5, 0.5]))
    """
    n, n_neurons = x.shape
    mu = x.mean(axis=0, dtype=np.float64)
    k = x.sum(axis=1, dtype=np.int64)
    pk = np.bincount(k, minlength=n_neurons + 1)[: n_neurons + 1] / n
    c2 = np.zeros((n_neurons, n_neurons))
    block = max(1, 2**22 // max(n_neurons, 1))
    for start in range(0, n, block):  # float32 blocks hold exact integer counts
        xb = x[start : start + block].astype(np.float32)
        c2 += xb.T @ xb
    return mu, c2 / n, pk


def _poisson_binomial(p: np.ndarray) -> np.ndarray:
    """Distribution of the number of successes of independent Bernoulli(p_i)."""
    dist = np.zeros(p.size + 1)
    dist[0] = 1.0
    for q in p:
        dist[1:] = dist[1:] * (1 - q) + dist[:-1] * q
        dist[0] *= 1 - q
    return dist


def _all_patterns(n: int) -> np.ndarray:
    codes = np.arange(2**n, dtype=np.int64)
    return ((codes[:, None] >> np.arange(n)) & 1).astype(np.uint8)


class _GibbsChains:
    """Many Gibbs chains of a k-pairwise model, updated in parallel (numpy).

    State ``x`` is ``(N, M)`` float32 (neuron-major: one row per neuron is
    contiguous over chains), ``k`` the population counts ``(M,)``. One sweep
    updates every neuron once, in a fixed order, in all chains at once:
    ``P(x_i = 1 | rest) = sigmoid(h_i + J_i . x + V(K_rest + 1) - V(K_rest))``.
    """

    def __init__(self, rng: np.random.Generator, rates: np.ndarray, m: int) -> None:
        self.rng = rng
        n = rates.size
        p = np.clip(rates, 1e-6, 1 - 1e-6).astype(np.float32)
        self.x = (rng.random((n, m), dtype=np.float32) < p[:, None]).astype(np.float32)
        self.k = self.x.sum(axis=0).astype(np.intp)

    def run(self, h, j, v, sweeps: int, collect: bool = False):
        x, k, rng = self.x, self.k, self.rng
        n, m = x.shape
        hf = h.astype(np.float32)
        jf = np.ascontiguousarray(j, dtype=np.float32)
        dv = np.diff(v).astype(np.float32)  # V(K+1) - V(K), K = 0..N-1
        if collect:
            s1 = np.zeros(n)
            s2 = np.zeros((n, n))
            sk = np.zeros(n + 1)
        a = np.empty(m, dtype=np.float32)
        for _ in range(sweeps):
            # logistic noise: x_i = 1 iff a_i > log(u / (1 - u))
            u = rng.random((n, m), dtype=np.float32)
            with np.errstate(divide="ignore"):  # u == 0 gives -inf: always spike
                noise = np.log(u) - np.log1p(-u)
            for i in range(n):
                np.dot(jf[i], x, out=a)
                a += hf[i]
                xi = x[i]
                km = k - xi.astype(np.intp)
                a += dv[km]
                new = (a > noise[i]).astype(np.float32)
                k += (new - xi).astype(np.intp)
                x[i] = new
            if collect:
                s1 += x.sum(axis=1)
                s2 += x @ x.T
                sk += np.bincount(k, minlength=n + 1)[: n + 1]
        if collect:
            total = sweeps * m
            return s1 / total, s2 / total, sk / total
        return None


def _initial_parameters(mu: np.ndarray, pk: np.ndarray, n_data: int):
    """Independent fields, J = 0, V = log(P_data(K) / P_indep(K)) (smoothed)."""
    n = mu.size
    eps = 0.5 / n_data
    p = np.clip(mu, eps, 1 - eps)
    h = np.log(p) - np.log1p(-p)
    p_ind = _poisson_binomial(p)
    alpha = 0.5  # pseudo-counts, spread like the independent model (unseen K stay rare)
    p_data = (pk * n_data + alpha * (n + 1) * p_ind) / (n_data + alpha * (n + 1))
    with np.errstate(divide="ignore"):
        v = np.log(p_data) - np.log(np.maximum(p_ind, 1e-300))
    v = np.clip(v - v[0], -50.0, 50.0)
    v[0] = 0.0
    return h, np.zeros((n, n)), v


def _final_errors(mu, c2, pk, model, n_data: int, n_mc: int) -> dict[str, Any]:
    mu_m, c2_m, pk_m = model
    n = mu.size
    iu = np.triu_indices(n, 1)
    cov_d = c2[iu] - mu[iu[0]] * mu[iu[1]]
    cov_m = c2_m[iu] - mu_m[iu[0]] * mu_m[iu[1]]

    def se(p, count):
        return np.sqrt(np.clip(p * (1 - p), 0, None) / count) if count else np.zeros_like(p)

    se_r = se(mu, n_data)
    se_c = se(c2[iu], n_data)
    se_k = se(pk, n_data)
    z_parts = []
    for d, m_, s_d, p_m in ((mu, mu_m, se_r, mu_m), (c2[iu], c2_m[iu], se_c, c2_m[iu]),
                            (pk, pk_m, se_k, pk_m)):
        s = np.sqrt(s_d**2 + se(p_m, n_mc) ** 2 + (1.0 / max(n_data, 1)) ** 2)
        z_parts.append(np.abs(d - m_) / s)
    z = np.concatenate(z_parts)

    def mean(a):
        return float(np.mean(a)) if a.size else 0.0

    def amax(a):
        return float(np.max(a)) if a.size else 0.0

    return {
        "rate_mae": mean(np.abs(mu - mu_m)),
        "cov_mae": mean(np.abs(cov_d - cov_m)),
        "count_mae": mean(np.abs(pk - pk_m)),
        "rate_max_error": amax(np.abs(mu - mu_m)),
        "cov_max_error": amax(np.abs(cov_d - cov_m)),
        "count_max_error": amax(np.abs(pk - pk_m)),
        "rate_noise": mean(se_r),
        "cov_noise": mean(se_c),
        "count_noise": mean(se_k),
        "max_abs_z": amax(z),
    }


def _rounded(values: list[float]) -> tuple[float, ...]:
    return tuple(float(f"{v:.4g}") for v in values)

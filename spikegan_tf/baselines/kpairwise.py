"""k-pairwise maximum-entropy model (Tkacik et al. 2014) of single-bin patterns."""


from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from scipy.special import logsumexp

from spikegan_tf._progress import Progress
from spikegan_tf.baselines._moments import patterns
from spikegan_tf.baselines.base import Baseline
from spikegan_tf.baselines.kpairwise_fit import (
    _SAMPLE_CHAINS,
    EXACT_MAX_NEURONS,
    MAX_NEURONS,
    KPairwiseFitReport,
    _all_patterns,
    _final_errors,
    _GibbsChains,
    _initial_parameters,
    _rounded,
    check_population,
    pattern_moments,
)
from spikegan_tf.data import WindowedSpikes
from spikegan_tf.errors import ConfigError
from spikegan_tf.params import Integer, Options, Real, validate_params

__all__ = ["KPairwiseMaxEnt", "KPairwiseFitReport", "pattern_moments", "MAX_NEURONS"]


class KPairwiseMaxEnt(Baseline):
    """Maximum-entropy model with fields, pairwise couplings and a count potential.

    ``P(x) = exp(h.x + 1/2 x^T J x + V(K)) / Z`` for one time bin's pattern
    ``x`` of ``N`` neurons, ``K = sum_i x_i`` (Tkacik et al. 2014); it matches
    the firing rates, the pairwise moments and the distribution of ``K``.
    ``J`` is symmetric with a zero diagonal and ``V(0) = 0``.

    **Windows are made of independent draws per bin**, as in the paper's
    baseline: the model has no temporal correlations, so lagged covariances of
    its samples are zero.

    Fitting maximises the likelihood. For ``N <= 16`` (``method="exact"``, the
    default there) all ``2**N`` patterns are enumerated and L-BFGS uses exact
    gradients; ``log_prob`` and sampling are then exact as well. Otherwise
    (``method="mc"``) the gradient's model moments come from many persistent
    Gibbs chains run in parallel (vectorised over chains), with steps
    preconditioned by the moments' Bernoulli variances, a decaying learning rate
    and Polyak averaging of the last half of the iterates. The initial model has
    the independent model's fields, ``J = 0`` and ``V`` set to the log-ratio of
    the data's ``P(K)`` to the independent model's, so it already matches
    ``P(K)``. An L2 penalty ``l2 / 2 * (|J|^2 + |V|^2)`` keeps couplings of pairs
    that never fire together (and counts never seen) finite.

    **Size limit.** A Monte-Carlo iteration costs ``O(N^2)`` per chain and sweep
    (about 0.2 CPU-seconds at 256 neurons, 0.8 at 512), so populations of more than
    :data:`MAX_NEURONS` (256) neurons are refused before any work, with a
    :class:`~spikegan_tf.params.ParamError` naming ``n_neurons``; fit a
    :class:`~spikegan_tf.baselines.DichotomizedGaussian` to them.

    Parameters
    ----------
    method : {"auto", "exact", "mc"}
        ``"auto"``: exact for ``N <= 16``, Monte Carlo otherwise.
    l2 : float
        L2 penalty on ``J`` and ``V`` (in units of the mean log-likelihood per bin).
    n_iterations : int
        Monte-Carlo gradient steps (exact: L-BFGS iteration limit).
    n_chains : int
        Persistent Gibbs chains of the Monte-Carlo fit.
    learning_rate : float
        Initial step size of the Monte-Carlo fit (in natural-gradient units).
    sweeps_per_iteration : int
        Gibbs sweeps (over all neurons) between two gradient steps.
    n_final_samples : int
        Patterns drawn to measure the final moment errors of a Monte-Carlo fit.
    burn_in, thin : int
        Gibbs sweeps before the first sample and between two samples of
        :meth:`sample` (for ``N > 16``).
    verbose : int
        1: print the fit's progress with an ETA on stderr (a Monte-Carlo fit
        of 50 neurons takes minutes); 0: silent. Not saved with the model.

    Attributes
    ----------
    h_, J_, V_ : numpy.ndarray
        Fields ``(N,)``, couplings ``(N, N)`` and count potential ``(N + 1,)``.
    rates_ : numpy.ndarray
        Data firing rates (start of the sampling chains).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> raster = (rng.random((4000, 4)) < 0.3).astype(np.uint8)
    >>> m = KPairwiseMaxEnt().fit(raster, n_bins=5)
    >>> m.fit_report_.method, m.sample(2, seed=0).shape
    ('exact', (2, 4, 5))
    >>> all_x = np.array([[[(c >> i) & 1] for i in range(4)] for c in range(16)], np.uint8)
    >>> m1 = KPairwiseMaxEnt().fit(raster, n_bins=1)
    >>> round(float(np.exp(m1.log_prob(all_x)).sum()), 10)
    1.0
    """

    kind = "kpairwise"
    report_class = KPairwiseFitReport
    #: What each option accepts (checked by :func:`spikegan_tf.params.validate_params`).
    _constraints: ClassVar[dict[str, Any]] = {
        "method": Options("auto", "exact", "mc"),
        "l2": Real(min=0),
        "n_iterations": Integer(min=1),
        "n_chains": Integer(min=2),
        "learning_rate": Real(min=0, min_open=True),
        "sweeps_per_iteration": Integer(min=1),
        "n_final_samples": Integer(min=1),
        "burn_in": Integer(min=0),
        "thin": Integer(min=1),
        "verbose": Integer(min=0),
    }

    def __init__(
        self,
        *,
        method: str = "auto",
        l2: float = 1e-5,
        n_iterations: int = 3000,
        n_chains: int = 4096,
        learning_rate: float = 0.5,
        sweeps_per_iteration: int = 2,
        n_final_samples: int = 400_000,
        burn_in: int = 100,
        thin: int = 4,
        verbose: int = 0,
    ) -> None:
        super().__init__()
        validate_params(self._constraints, dict(
            method=method, l2=l2, n_iterations=n_iterations, n_chains=n_chains,
            learning_rate=learning_rate, sweeps_per_iteration=sweeps_per_iteration,
            n_final_samples=n_final_samples, burn_in=burn_in, thin=thin, verbose=verbose))
        self.method = method
        self.l2, self.learning_rate = float(l2), float(learning_rate)
        self.n_iterations, self.n_chains = int(n_iterations), int(n_chains)
        self.sweeps_per_iteration = int(sweeps_per_iteration)
        self.n_final_samples, self.burn_in = int(n_final_samples), int(burn_in)
        self.thin, self.verbose = int(thin), int(verbose)
        self.h_: np.ndarray | None = None
        self.J_: np.ndarray | None = None
        self.V_: np.ndarray | None = None
        self.rates_: np.ndarray | None = None
        self._table: tuple[np.ndarray, np.ndarray] | None = None

    def get_options(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "l2": self.l2,
            "n_iterations": self.n_iterations,
            "n_chains": self.n_chains,
            "learning_rate": self.learning_rate,
            "sweeps_per_iteration": self.sweeps_per_iteration,
            "n_final_samples": self.n_final_samples,
            "burn_in": self.burn_in,
            "thin": self.thin,
        }

    # ------------------------------------------------------------ energies
    def energy(self, x: np.ndarray) -> np.ndarray:
        """Unnormalised log-probability ``h.x + 1/2 x^T J x + V(K)`` of patterns ``(n, N)``."""
        self._check_fitted("energy")
        xf = np.asarray(x, dtype=np.float64)
        k = np.asarray(x, dtype=np.int64).sum(axis=1)
        return xf @ self.h_ + 0.5 * np.einsum("ni,ij,nj->n", xf, self.J_, xf) + self.V_[k]

    def log_partition(self) -> float:
        """``log Z`` by enumeration (``N <= 16`` only)."""
        return self._exact_table()[1]

    def canonical_parameters(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(h, J, V)`` in the gauge ``V(0) = V(1) = V(2) = 0``.

        ``V(K)`` linear and quadratic in ``K`` duplicates fields and couplings
        (``K (K-1) / 2 = sum_{i<j} x_i x_j``); moving those parts into ``h`` and
        ``J`` gives the unique representative used to compare two fits.
        """
        self._check_fitted("canonical_parameters")
        n = self.n_neurons_
        v = self.V_ - self.V_[0]
        a = v[1] if n >= 1 else 0.0
        b = (v[2] - 2 * v[1]) if n >= 2 else 0.0
        k = np.arange(n + 1)
        v_c = v - a * k - b * k * (k - 1) / 2
        j_c = self.J_ + b * (1 - np.eye(n))
        return self.h_ + a, j_c, v_c

    def _exact_table(self) -> tuple[np.ndarray, float]:
        if self.n_neurons_ > EXACT_MAX_NEURONS:
            raise NotImplementedError(
                f"exact enumeration needs N <= {EXACT_MAX_NEURONS} neurons; this model has "
                f"{self.n_neurons_} (2**{self.n_neurons_} patterns)."
            )
        if self._table is None:
            e = self.energy(_all_patterns(self.n_neurons_))
            self._table = (e, float(logsumexp(e)))
        return self._table

    # ----------------------------------------------------------------- fit
    def _fit(self, d: WindowedSpikes, seed: int | None) -> dict[str, Any]:
        check_population(d.n_neurons)  # before any work
        x = patterns(d)
        n, n_neurons = x.shape
        mu, c2, pk = pattern_moments(x)
        method = self.method
        if method == "auto":
            method = "exact" if n_neurons <= EXACT_MAX_NEURONS else "mc"
        if method == "exact" and n_neurons > EXACT_MAX_NEURONS:
            raise ConfigError(
                f"method='exact' enumerates 2**N patterns and allows N <= "
                f"{EXACT_MAX_NEURONS}; the data have N={n_neurons}. Use method='mc'."
            )
        self.n_neurons_ = n_neurons
        self.rates_ = mu
        self._table = None
        h, j, v = _initial_parameters(mu, pk, n)
        if method == "exact":
            details = self._fit_exact(mu, c2, pk, h, j, v)
        else:
            details = self._fit_mc(mu, c2, pk, n, h, j, v, np.random.default_rng(seed))
        err = _final_errors(mu, c2, pk, details.pop("_model_moments"), n,
                            details.get("n_final_samples", 0))
        details.update(err)
        if method == "mc":
            details["converged"] = bool(err["max_abs_z"] <= 3.0 + math.sqrt(2 * math.log(
                max(n_neurons * (n_neurons + 3) // 2, 2))))
        return details

    def _fit_exact(self, mu, c2, pk, h, j, v) -> dict[str, Any]:
        from scipy.optimize import minimize

        n = mu.size
        allx = _all_patterns(n)
        xf = allx.astype(np.float64)
        kk = allx.sum(axis=1).astype(np.int64)
        iu = np.triu_indices(n, 1)
        n_pairs = iu[0].size
        pair_feat = xf[:, iu[0]] * xf[:, iu[1]]  # (2**n, pairs)
        data = np.concatenate([mu, c2[iu], pk[1:]])
        l2 = self.l2
        hist: list[tuple[float, float, float]] = []

        def unpack(theta):
            hh = theta[:n]
            jj = np.zeros((n, n))
            jj[iu] = theta[n : n + n_pairs]
            jj = jj + jj.T
            vv = np.concatenate([[0.0], theta[n + n_pairs :]])
            return hh, jj, vv

        def objective(theta):
            hh, _, vv = unpack(theta)
            e = xf @ hh + pair_feat @ theta[n : n + n_pairs] + vv[kk]
            log_z = logsumexp(e)
            w = np.exp(e - log_z)
            model = np.concatenate([w @ xf, w @ pair_feat,
                                    np.bincount(kk, weights=w, minlength=n + 1)[1:]])
            reg = theta[n:]
            f = -(theta @ data) + log_z + 0.5 * l2 * (reg @ reg)
            grad = model - data
            grad[n:] += l2 * reg
            hist.append((
                float(np.abs(model[:n] - data[:n]).max()),
                float(np.abs(model[n : n + n_pairs] - data[n : n + n_pairs]).max())
                if n_pairs else 0.0,
                float(np.abs(model[n + n_pairs :] - data[n + n_pairs :]).max()),
            ))
            return f, grad

        theta0 = np.concatenate([h, j[iu], v[1:]])
        max_iter = max(self.n_iterations, 1)
        progress = Progress(f"kpairwise fit (exact, {n} neurons; stops when converged)",
                            max_iter, "iterations", enabled=self.verbose > 0)
        done = [0]

        def callback(*_: Any) -> None:
            done[0] += 1
            progress.update(done[0])

        res = minimize(objective, theta0, jac=True, method="L-BFGS-B", callback=callback,
                       options={"maxiter": max_iter, "gtol": 1e-10,
                                "ftol": 1e-15, "maxcor": 30})
        progress.total = max(done[0], 1)  # converged early: the work was all done
        progress.close()
        self.h_, self.J_, self.V_ = unpack(res.x)
        self._table = None
        e, log_z = self._exact_table()
        w = np.exp(e - log_z)
        model = (w @ xf, (xf * w[:, None]).T @ xf, np.bincount(kk, weights=w, minlength=n + 1))
        return {
            "method": "exact",
            "n_iterations": int(res.nit),
            "converged": bool(res.success),
            "n_chains": 0,
            "l2": l2,
            "rate_error_history": tuple(r[0] for r in hist),
            "pair_error_history": tuple(r[1] for r in hist),
            "count_error_history": tuple(r[2] for r in hist),
            "_model_moments": model,
        }

    def _fit_mc(self, mu, c2, pk, n_data, h, j, v, rng) -> dict[str, Any]:
        n = mu.size
        m = self.n_chains
        chains = _GibbsChains(rng, mu, m)
        chains.run(h, j, v, 20)
        off = ~np.eye(n, dtype=bool)
        floor = 1.0 / (m * self.sweeps_per_iteration)
        var_h = np.maximum(mu * (1 - mu), floor)
        var_j = np.maximum(c2 * (1 - c2), floor)
        var_v = np.maximum(pk * (1 - pk), floor)
        n_iter = self.n_iterations
        avg_from = n_iter // 2
        sums = [np.zeros_like(h), np.zeros_like(j), np.zeros_like(v)]
        n_avg = 0
        hist_r, hist_p, hist_k = [], [], []
        decay = max(n_iter / 10.0, 1.0)
        progress = Progress(f"kpairwise fit (Monte Carlo, {n} neurons, {m} chains)", n_iter,
                            "iterations", enabled=self.verbose > 0)
        for it in range(n_iter):
            mu_m, c2_m, pk_m = chains.run(h, j, v, self.sweeps_per_iteration, collect=True)
            hist_r.append(float(np.abs(mu_m - mu).max()))
            hist_p.append(float(np.abs(c2_m - c2)[off].max()) if n > 1 else 0.0)
            hist_k.append(float(np.abs(pk_m - pk).max()))
            lr = self.learning_rate / (1.0 + it / decay)
            # natural-gradient-like steps: moment error / Bernoulli variance (model side
            # included so that rare moments the model overshoots move fast)
            step_h = (mu - mu_m) / np.maximum(var_h, mu_m * (1 - mu_m))
            step_j = (c2 - c2_m - self.l2 * j) / np.maximum(var_j, c2_m * (1 - c2_m))
            step_v = (pk - pk_m - self.l2 * v) / np.maximum(var_v, pk_m * (1 - pk_m))
            h = h + lr * np.clip(step_h, -1.0, 1.0)
            j = j + lr * np.clip(np.where(off, step_j, 0.0), -1.0, 1.0)
            j = 0.5 * (j + j.T)
            v = v + lr * np.clip(step_v, -1.0, 1.0)
            v[0] = 0.0
            if it >= avg_from:
                sums[0] += h
                sums[1] += j
                sums[2] += v
                n_avg += 1
            progress.update(it + 1)
        progress.close()
        self.h_, self.J_, self.V_ = (s / n_avg for s in sums)
        if self.verbose > 0:
            print(f"kpairwise fit: drawing {self.n_final_samples} patterns to measure the "
                  "fitted moments", file=sys.stderr, flush=True)
        final = self._draw_patterns(self.n_final_samples, rng)
        return {
            "method": "mc",
            "n_iterations": n_iter,
            "converged": False,
            "n_chains": m,
            "l2": self.l2,
            "rate_error_history": _rounded(hist_r),
            "pair_error_history": _rounded(hist_p),
            "count_error_history": _rounded(hist_k),
            "n_final_samples": int(final.shape[0]),
            "_model_moments": pattern_moments(final),
        }

    # ------------------------------------------------------------- sampling
    def _draw_patterns(self, n_patterns: int, rng: np.random.Generator) -> np.ndarray:
        """``n_patterns`` independent-ish single-bin patterns ``(n, N)`` uint8."""
        n = self.n_neurons_
        if n <= EXACT_MAX_NEURONS:
            e, log_z = self._exact_table()
            p = np.exp(e - log_z)
            codes = rng.choice(p.size, size=n_patterns, p=p / p.sum())
            return ((codes[:, None] >> np.arange(n)) & 1).astype(np.uint8)
        m = min(n_patterns, _SAMPLE_CHAINS)
        chains = _GibbsChains(rng, self.rates_, m)
        chains.run(self.h_, self.J_, self.V_, self.burn_in)
        out = np.empty((n_patterns, n), dtype=np.uint8)
        for start in range(0, n_patterns, m):
            chains.run(self.h_, self.J_, self.V_, self.thin)
            stop = min(start + m, n_patterns)
            out[start:stop] = chains.x[:, : stop - start].T
        return out

    def _sample_into(self, out: np.ndarray, rng: np.random.Generator) -> None:
        n_samples, n, n_bins = out.shape
        # consecutive bins of one window come from different chains (independent draws)
        x = self._draw_patterns(n_samples * n_bins, rng)
        out[...] = x.reshape(n_samples, n_bins, n).transpose(0, 2, 1)

    def _log_prob(self, windows: np.ndarray) -> np.ndarray:
        if self.n_neurons_ > EXACT_MAX_NEURONS:
            raise NotImplementedError(
                f"KPairwiseMaxEnt.log_prob is exact only for N <= {EXACT_MAX_NEURONS} neurons "
                f"(the partition function sums 2**N patterns); this model has N="
                f"{self.n_neurons_}."
            )
        e, log_z = self._exact_table()
        n_samples, n, n_bins = windows.shape
        codes = (windows.astype(np.int64) << np.arange(n)[None, :, None]).sum(axis=1)
        return (e[codes] - log_z).sum(axis=1)

    # ----------------------------------------------------------------- I/O
    def _get_params(self) -> dict[str, np.ndarray]:
        return {"h": self.h_, "J": self.J_, "V": self.V_, "rates": self.rates_}

    def _set_params(self, arrays: Mapping[str, np.ndarray]) -> None:
        n = self.n_neurons_
        h = self._require(arrays, "h", (n,))
        j = self._require(arrays, "J", (n, n))
        v = self._require(arrays, "V", (n + 1,))
        rates = self._require(arrays, "rates", (n,))
        if not (np.isfinite(h).all() and np.isfinite(j).all() and np.isfinite(v).all()):
            raise ValueError("parameters must be finite")
        if not np.allclose(j, j.T) or np.any(np.diag(j) != 0):
            raise ValueError("array 'J' must be symmetric with a zero diagonal")
        self.h_, self.J_, self.V_, self.rates_ = h, j, v, rates
        self._table = None

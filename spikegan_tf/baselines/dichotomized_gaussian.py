"""Dichotomized Gaussian (Macke et al. 2009) with lagged correlations (Lyamzin et al. 2010)."""


from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from scipy.special import ndtr, ndtri

from spikegan_tf.baselines._gaussian import (
    autoregressive_form,
    extend_stationary,
    nearest_correlation,
)
from spikegan_tf.baselines._moments import lagged_moments, rates
from spikegan_tf.baselines._orthant import bivariate_normal_cdf, invert_orthant
from spikegan_tf.baselines.base import Baseline
from spikegan_tf.baselines.dg_fit import (
    DGFitReport,
    _assemble,
    _draw_states,
    _fit_states,
    _pair_index,
    _state_joint,
)
from spikegan_tf.data import WindowedSpikes
from spikegan_tf.params import Boolean, Integer, Options, Real, validate_params

__all__ = ["DichotomizedGaussian", "DGFitReport"]


_CHUNK_ELEMENTS = 2**22  # latent values per sampling chunk (16 MiB of float32)
_N_GROUPS = 8  # column groups of the triangular sampling product
_MOMENT_VALUES = 2**20  # orthant probabilities per block of the model's moments


class DichotomizedGaussian(Baseline):
    """Thresholded latent Gaussian matching rates and (lagged) pairwise correlations.

    By default with two latent population states (quiet and active), which also
    reproduces the population spike-count distribution of stimulus-driven
    recordings; ``n_states=1`` is the classic stationary model.

    A latent Gaussian vector ``z`` with unit variances is drawn for every window
    and a neuron spikes in a bin when ``z < gamma``: ``gamma_i = Phi^-1(p_i)``
    reproduces the firing probabilities and the latent correlation of each pair
    of (neuron, bin) variables is chosen, by inverting the bivariate normal
    orthant probability, to reproduce ``E[x_i(t) x_j(t + l)]`` (Macke et al.
    2009). With lags (Lyamzin et al. 2010) the latent process is stationary: its
    ``(N*T, N*T)`` correlation matrix is block-Toeplitz, built from the lag blocks
    ``latent_[l] = corr(z(t), z(t + l))``.

    Lags ``0..max_lag`` are fitted to the data. A pair that never fires together
    gets the most negative correlation (-1). When the fitted latent matrix is not
    positive definite (on real recordings it rarely is: estimation noise of
    low-rate pairs and dependencies no Gaussian can produce), it is replaced by
    the nearest block-Toeplitz correlation matrix whose eigenvalues are at least
    ``eigenvalue_floor`` (Higham's alternating projections, Anderson-accelerated);
    ``fit_report_.repair`` records how much that changed. Lags beyond ``max_lag``
    (up to the window length) are the maximum-entropy continuation of the fitted
    ones (the vector autoregression of order ``max_lag`` they define), which keeps
    the whole window's latent matrix positive definite. ``max_lag=n_bins - 1``
    fits every lag of the window, at a repair cost that grows with the cube of
    ``N * (max_lag + 1)``.

    **Latent population states** (``n_states > 1``). A stationary DG matches rates
    and pairwise correlations but fixes everything else; on stimulus-driven
    recordings, whose population alternates between quiet and active periods, its
    population spike-count distribution ``P(K)`` is far off (8.8x the test-vs-train
    noise floor on the salamander retina, against 1.0x with two states). With
    ``n_states`` states, every bin carries a hidden state ``s(t)`` that follows a
    stationary Markov chain; the thresholds depend on it, ``x_i(t) = [z_i(t) <
    gamma_i[s(t)]]``, while the latent Gaussian process and its correlations are
    shared. The fit labels every training bin by quantiles of the population count
    smoothed over ``state_window`` bins, estimates the chain's transition matrix
    and the firing probabilities per state from those labels, then solves each
    latent correlation so that the *mixture* over the two bins' states reproduces
    ``E[x_i(t) x_j(t + l)]`` (so rates, covariances and fitted lags stay matched,
    and the slow common drive supplies the higher-order structure). This is the
    spirit of Lyamzin et al.'s time-varying DG with the stimulus-locked rates
    replaced by a latent process, so that new windows can be drawn. With windows
    as training data, states are labelled and transitions counted inside each
    window; with ``spatial_only``, states are drawn independently per bin.

    The likelihood of a window is an ``N*T``-dimensional Gaussian orthant integral,
    so ``log_prob`` is not offered.

    **Scale** (``N`` neurons, ``T`` bins, ``L = max_lag + 1`` fitted lags). Nothing is
    approximated for speed: every same-bin and lagged pair is solved, the repair runs
    to the same tolerance, and samples follow the model's exact law.

    * Latent correlations: ``N (N - 1) / 2 + (L - 1) N^2``, solved all at once by a
      vectorised, bracketed Newton iteration on the bivariate normal orthant
      probability (Owen's T function); ``O(N^2 L)``.
    * Repair: one ``(N L, N L)`` eigendecomposition per iteration, ``O((N L)^3)``;
      it dominates at scale (about 50 iterations of 1 CPU-second at 512 neurons and
      ``L = 3`` on simulated data). ``repair="clip"`` needs one.
    * Report: the model's exact second moments at every lag of the window, ``O(N^2
      T)`` orthant probabilities, in blocks of bounded memory.
    * Sampling: the latent process of the window is the vector autoregression of
      order ``max_lag`` of its fitted lags (the later lags are its continuation), so
      only the ``(N L, N L)`` matrix of the first ``L`` bins is factorised; each
      later bin is ``z(t) = sum_j A_j z(t - j) + C e(t)``. That costs ``O(T L N^2)``
      per window, never forms the ``(N T, N T)`` matrix (2 GiB at 512 neurons x 32
      bins) and gives the same values as its Cholesky factor would, draw for draw.
      With ``max_lag=None`` (every lag fitted) the whole window is factorised,
      ``O((N T)^3)``: keep ``max_lag`` small for large populations.

    At 512 neurons (``benchmarks/bench_baselines_scale.py``, one core) the default
    fit took 92 CPU-seconds on 32-bin windows (two thirds in the repair) and 139 on
    64-bin windows; sampling drew about 800 and 300 windows a second.

    Parameters
    ----------
    spatial_only : bool
        Match single-bin correlations only; bins are then independent draws.
    max_lag : int, optional
        Largest lag fitted (default 2; clipped to ``n_bins - 1``; 0 = no temporal
        correlations, like ``spatial_only``).
    eigenvalue_floor : float
        Smallest eigenvalue of the repaired latent correlation matrix.
    repair : {"higham", "clip"}
        Nearest correlation matrix by alternating projections (default) or one
        eigenvalue clipping with rescaling.
    max_repair_iterations : int
        Iteration limit of the alternating projections.
    n_states : int
        Latent population states (default 2, which captures the quiet/active
        alternation of stimulus-driven recordings; 1 is the classic stationary DG of
        Macke et al.).
    state_window : int
        Bins over which the population count is averaged to label the states
        (default 16).

    Attributes
    ----------
    gamma_ : numpy.ndarray
        Thresholds ``(neurons,)`` (``-inf`` for a neuron that never fired).
    latent_ : numpy.ndarray
        Latent correlation lag blocks ``(n_bins, neurons, neurons)`` (``(1, N, N)`` if
        ``spatial_only``); ``latent_[0]`` has a unit diagonal.
    state_gamma_ : numpy.ndarray or None
        Thresholds per state ``(n_states, neurons)``, or None for one state.
    state_init_ : numpy.ndarray or None
        Stationary state probabilities ``(n_states,)`` (the first bin's draw).
    state_transition_ : numpy.ndarray or None
        Markov transition matrix ``(n_states, n_states)``, rows summing to 1.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> raster = (rng.random((5000, 3)) < 0.2).astype(np.uint8)
    >>> dg = DichotomizedGaussian().fit(raster, n_bins=4)
    >>> dg.latent_.shape, dg.sample(10, seed=1).shape
    ((4, 3, 3), (10, 3, 4))
    >>> dg.state_gamma_.shape, dg.state_transition_.sum(axis=1).round(12).tolist()
    ((2, 3), [1.0, 1.0])
    >>> DichotomizedGaussian(n_states=1).fit(raster, n_bins=4).state_gamma_ is None
    True
    """

    kind = "dg"
    report_class = DGFitReport
    log_prob_unavailable = (
        "the probability of a window under a dichotomized Gaussian is an "
        "(neurons x bins)-dimensional Gaussian orthant integral, which is intractable; "
        "compare samples instead (spikegan_tf.statistics)"
    )

    #: What each option accepts (checked by :func:`spikegan_tf.params.validate_params`).
    _constraints: ClassVar[dict[str, Any]] = {
        "spatial_only": Boolean(),
        "max_lag": [Integer(min=0), None],
        "eigenvalue_floor": Real(min=0, max=1, min_open=True, max_open=True),
        "repair": Options("higham", "clip"),
        "max_repair_iterations": Integer(min=1),
        "n_states": Integer(min=1),
        "state_window": Integer(min=1),
    }

    def __init__(
        self,
        *,
        spatial_only: bool = False,
        max_lag: int | None = 2,
        eigenvalue_floor: float = 1e-4,
        repair: str = "higham",
        max_repair_iterations: int = 200,
        n_states: int = 2,
        state_window: int = 16,
    ) -> None:
        super().__init__()
        validate_params(self._constraints, dict(
            spatial_only=spatial_only, max_lag=max_lag, eigenvalue_floor=eigenvalue_floor,
            repair=repair, max_repair_iterations=max_repair_iterations, n_states=n_states,
            state_window=state_window))
        floor = float(eigenvalue_floor)
        self.n_states = int(n_states)
        self.state_window = int(state_window)
        self.spatial_only = bool(spatial_only)
        self.max_lag = None if max_lag is None else int(max_lag)
        self.eigenvalue_floor = floor
        self.repair = repair
        self.max_repair_iterations = int(max_repair_iterations)
        self.gamma_: np.ndarray | None = None
        self.latent_: np.ndarray | None = None
        self.state_gamma_: np.ndarray | None = None
        self.state_init_: np.ndarray | None = None
        self.state_transition_: np.ndarray | None = None
        self._factor: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def get_options(self) -> dict[str, Any]:
        return {
            "spatial_only": self.spatial_only,
            "max_lag": self.max_lag,
            "eigenvalue_floor": self.eigenvalue_floor,
            "repair": self.repair,
            "max_repair_iterations": self.max_repair_iterations,
            "n_states": self.n_states,
            "state_window": self.state_window,
        }

    # ----------------------------------------------------------------- fit
    def _fit(self, d: WindowedSpikes, seed: int | None) -> dict[str, Any]:
        n = d.n_neurons
        n_lags = 1 if self.spatial_only else d.n_bins
        max_lag = 0 if self.spatial_only else min(
            d.n_bins - 1, d.n_bins - 1 if self.max_lag is None else self.max_lag
        )
        p = rates(d)
        gamma = ndtri(p)
        moments = lagged_moments(d, n_lags - 1)
        states = _fit_states(d, self.n_states, self.state_window, self.spatial_only)
        self.state_gamma_ = self.state_init_ = self.state_transition_ = None
        if states is not None:
            self.state_gamma_ = states.gamma
            self.state_init_ = states.init
            self.state_transition_ = states.transition
        lag, i, j = _pair_index(n, max_lag + 1)
        live = np.isfinite(gamma)
        solve = live[i] & live[j]
        rho = np.zeros(lag.size)
        at_lower = np.zeros(lag.size, dtype=bool)
        at_upper = np.zeros(lag.size, dtype=bool)
        if solve.any():
            s = np.flatnonzero(solve)
            g, joint = self._state_law(gamma, max_lag + 1)
            # a neuron silent (or saturated) in one state: +-40 is exact in float64
            g = np.clip(g, -40.0, 40.0)
            rho[s], at_lower[s], at_upper[s] = invert_orthant(
                g[:, i[s]].T, g[:, j[s]].T, moments[lag[s], i[s], j[s]], weights=joint[lag[s]]
            )
        fitted = _assemble(n, max_lag + 1, lag, i, j, rho)
        repaired, report = nearest_correlation(
            fitted,
            floor=self.eigenvalue_floor,
            method=self.repair,
            max_iter=self.max_repair_iterations,
        )
        latent = extend_stationary(repaired, n_lags)
        self.gamma_, self.latent_, self._factor = gamma, latent, None
        # how well the final model reproduces the data's second moments, lag by lag
        _, implied = self._model_moments()
        err = np.abs(implied - moments)
        mae = [err[0][np.triu_indices(n, 1)].mean() if n > 1 else 0.0]
        mae += [err[lg].mean() for lg in range(1, n_lags)]
        info: dict[str, Any] = {
            "spatial_only": self.spatial_only,
            "max_lag": int(max_lag),
            "n_latent_pairs": int(lag.size),
            "n_at_lower": int(at_lower.sum()),
            "n_at_upper": int(at_upper.sum()),
            "n_silent_neurons": int((~live).sum()),
            "repair": report,
            "moment_mae_by_lag": tuple(float(f"{v:.4g}") for v in np.nan_to_num(mae)),
        }
        if states is not None:
            stay = np.diag(states.transition)
            info.update(
                n_states=int(states.init.size),
                state_occupancy=tuple(float(f"{v:.4g}") for v in states.occupancy),
                state_firing_probability=tuple(
                    float(f"{v:.4g}") for v in ndtr(states.gamma).mean(axis=1)
                ),
                state_mean_dwell_bins=tuple(
                    float(f"{v:.4g}") for v in 1.0 / np.maximum(1.0 - stay, 1e-12)
                ),
            )
        return info

    # -------------------------------------------------------------- moments
    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Exact firing probabilities and lagged second moments of the fitted model.

        With latent states, both are mixtures over the states of the bins involved,
        weighted by the Markov chain's joint state probabilities.

        Returns
        -------
        p : numpy.ndarray
            ``(neurons,)`` firing probabilities.
        second : numpy.ndarray
            ``(n_lags, neurons, neurons)`` ``E[x_i(t) x_j(t + l)]`` (``n_lags`` is 1
            when ``spatial_only``, else ``n_bins``), diagonal of lag 0 = ``p``.
        """
        self._check_fitted("moments")
        return self._model_moments()

    def _state_law(self, gamma: np.ndarray, n_lags: int) -> tuple[np.ndarray, np.ndarray]:
        """Thresholds per state ``(M, N)`` and joint state law ``(n_lags, M, M)``.

        Without latent states: one state with the thresholds ``gamma``.
        """
        if self.state_gamma_ is None:
            return gamma[None, :], np.ones((n_lags, 1, 1))
        return self.state_gamma_, _state_joint(self.state_init_, self.state_transition_, n_lags)

    def _model_moments(self) -> tuple[np.ndarray, np.ndarray]:
        n, n_lags = self.gamma_.size, self.latent_.shape[0]
        g, joint = self._state_law(self.gamma_, n_lags)
        m = g.shape[0]
        h_all = g[:, None, :, None]  # (M, 1, N, 1): neuron i in state a
        k = g[None, :, None, :]  # (1, M, 1, N): neuron j in state b
        second = np.empty((n_lags, n, n))
        rows = max(1, _MOMENT_VALUES // (n * m * m))  # neurons i per block
        for lag in range(n_lags):  # a lag and a block of neurons at a time: bounded memory
            for a in range(0, n, rows):
                b = min(a + rows, n)
                with np.errstate(invalid="ignore"):
                    r = np.clip(self.latent_[lag, a:b], -1 + 1e-15, 1 - 1e-15)
                    cdf = bivariate_normal_cdf(h_all[:, :, a:b], k, r)  # (M, M, B, N)
                second[lag, a:b] = np.einsum("ab,abij->ij", joint[lag], cdf)
        p = (joint[0].sum(axis=1)[:, None] * ndtr(g)).sum(axis=0)
        second[0][np.diag_indices(n)] = p
        return p, second

    # ------------------------------------------------------------- sampling
    def _ar_order(self) -> int:
        """Lags of ``latent_`` that were fitted; later ones are their VAR continuation."""
        n_lags = self.latent_.shape[0]
        if self.spatial_only or self.max_lag is None:
            return n_lags - 1
        return min(self.max_lag, n_lags - 1)

    def _sampling_factors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """float32 ``(head, coef, innovation)`` of :func:`_latent_draws` (computed once)."""
        if self._factor is None:
            from spikegan_tf.errors import SpikeGANError

            try:
                form = autoregressive_form(self.latent_, self._ar_order())
                if form is None:  # lags set by hand, not the continuation: whole window
                    form = autoregressive_form(self.latent_, self.latent_.shape[0] - 1)
            except np.linalg.LinAlgError:
                raise SpikeGANError(
                    "The latent correlation matrix of this DichotomizedGaussian is not "
                    "positive definite; refit it (the fit repairs it) or raise "
                    "`eigenvalue_floor`."
                ) from None
            self._factor = tuple(np.ascontiguousarray(f, dtype=np.float32) for f in form)
        return self._factor

    def _sample_into(self, out: np.ndarray, rng: np.random.Generator) -> None:
        n_samples, n, n_bins = out.shape
        n_lags = self.latent_.shape[0]
        draws = n_bins // n_lags  # latent vectors per window (1, or n_bins if spatial_only)
        dim = n_lags * n
        factors = self._sampling_factors()
        if self.state_gamma_ is None:
            thresh = np.tile(self.gamma_.astype(np.float32), n_lags)
        else:
            state_thresh = self.state_gamma_.astype(np.float32)
            # a stream of its own, so that n windows are the first n of any longer draw
            state_rng = rng.spawn(1)[0]
            init_cdf = np.cumsum(self.state_init_)
            step_cdf = np.cumsum(self.state_transition_, axis=1)
        chunk = max(1, _CHUNK_ELEMENTS // (n * n_bins))
        z = np.empty((chunk * draws, dim), dtype=np.float32)
        for start in range(0, n_samples, chunk):
            stop = min(start + chunk, n_samples)
            rows = (stop - start) * draws
            eps = rng.standard_normal((rows, dim), dtype=np.float32)
            zc = z[:rows]
            _latent_draws(eps, *factors, n, out=zc)
            if self.state_gamma_ is None:
                spikes = zc < thresh
            else:
                states = _draw_states(state_rng, rows, n_lags, init_cdf, step_cdf)
                spikes = zc.reshape(rows, n_lags, n) < state_thresh[states]
            out[start:stop] = spikes.reshape(stop - start, n_bins, n).transpose(0, 2, 1)

    # ----------------------------------------------------------------- I/O
    def _get_params(self) -> dict[str, np.ndarray]:
        params = {"gamma": self.gamma_, "latent": self.latent_}
        if self.state_gamma_ is not None:
            params.update(state_gamma=self.state_gamma_, state_init=self.state_init_,
                          state_transition=self.state_transition_)
        return params

    def _set_params(self, arrays: Mapping[str, np.ndarray]) -> None:
        n, t = self.n_neurons_, self.n_bins_
        n_lags = 1 if self.spatial_only else t
        gamma = self._require(arrays, "gamma", (n,))
        latent = self._require(arrays, "latent", (n_lags, n, n))
        if not np.isfinite(latent).all() or np.abs(latent).max() > 1 + 1e-9:
            raise ValueError("array 'latent' must hold correlations in [-1, 1]")
        if not np.allclose(np.diag(latent[0]), 1.0):
            raise ValueError("array 'latent' must have a unit diagonal at lag 0")
        state_gamma = state_init = state_transition = None
        if "state_init" in arrays:
            m = int(np.asarray(arrays["state_init"]).size)
            state_init = self._require(arrays, "state_init", (m,))
            state_gamma = self._require(arrays, "state_gamma", (m, n))
            state_transition = self._require(arrays, "state_transition", (m, m))
            for name, probs in (("state_init", state_init[None]),
                                ("state_transition", state_transition)):
                if (not np.isfinite(probs).all() or (probs < 0).any()
                        or not np.allclose(probs.sum(axis=1), 1.0)):
                    raise ValueError(f"array {name!r} must hold probabilities summing to 1")
        self.gamma_, self.latent_, self._factor = gamma, latent, None
        if state_init is None:  # e.g. a file written before states existed: stationary
            self.n_states = 1
        self.state_gamma_ = state_gamma
        self.state_init_ = state_init
        self.state_transition_ = state_transition


def _latent_draws(
    eps: np.ndarray, head: np.ndarray, coef: np.ndarray, innovation: np.ndarray,
    n: int, *, out: np.ndarray,
) -> np.ndarray:
    """Latent rows ``(rows, T*N)`` (time-major) from standard normal ``eps`` of that shape.

    The first bins are ``eps @ head`` (``head`` upper triangular: its zero blocks are
    skipped); each later bin is the autoregression
    ``z(t) = [z(t - p) .. z(t - 1)] @ coef + e(t) @ innovation``
    (:func:`~spikegan_tf.baselines._gaussian.autoregressive_form`): ``O(T p N^2)``
    per window instead of ``O(T^2 N^2)`` for the whole-window factor, which is never
    formed.
    """
    width = head.shape[0]
    n_head = width // n  # bins of the head
    groups = np.linspace(0, n_head, min(_N_GROUPS, n_head) + 1).round().astype(int) * n
    for a, b in zip(groups[:-1], groups[1:], strict=True):
        np.matmul(eps[:, :b], head[:b, a:b], out=out[:, a:b])
    span = coef.shape[0]
    tmp = np.empty((eps.shape[0], n), dtype=out.dtype) if out.shape[1] > width else None
    for t0 in range(width, out.shape[1], n):
        step = out[:, t0 : t0 + n]
        if span:
            np.matmul(out[:, t0 - span : t0], coef, out=step)
            np.matmul(eps[:, t0 : t0 + n], innovation, out=tmp)
            step += tmp
        else:
            np.matmul(eps[:, t0 : t0 + n], innovation, out=step)
    return out

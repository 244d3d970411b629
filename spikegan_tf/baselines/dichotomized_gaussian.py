"""Dichotomized Gaussian (Macke et al. 2009) with lagged correlations (Lyamzin et al. 2010)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy.special import ndtr, ndtri

from spikegan_tf.baselines._gaussian import (
    RepairReport,
    bivariate_normal_cdf,
    block_toeplitz,
    extend_stationary,
    invert_orthant,
    nearest_correlation,
)
from spikegan_tf.baselines._moments import FitData, lagged_moments, rates
from spikegan_tf.baselines.base import Baseline, FitReport
from spikegan_tf.errors import ConfigError

__all__ = ["DichotomizedGaussian", "DGFitReport"]

_CHUNK_ELEMENTS = 2**22  # latent values per sampling chunk (16 MiB of float32)
_N_GROUPS = 8  # column groups of the triangular sampling product


@dataclass(frozen=True)
class DGFitReport(FitReport):
    """Fit report of :class:`DichotomizedGaussian`.

    Attributes
    ----------
    spatial_only : bool
        Whether only single-bin correlations were fitted.
    max_lag : int
        Largest lag whose latent correlations were fitted; later lags of the window
        follow the maximum-entropy (autoregressive) continuation.
    n_latent_pairs : int
        Distinct latent correlations solved for (pairs x lags).
    n_at_lower, n_at_upper : int
        Pairs whose target second moment was at or below (above) what any latent
        correlation reaches (e.g. never firing together): set to -1 (+1) before repair.
    n_silent_neurons : int
        Neurons that never (or always) fired: their correlations are left at 0.
    repair : RepairReport
        How the latent correlation matrix of lags ``0..max_lag`` was made positive
        definite.
    moment_mae_by_lag : tuple of float
        Mean absolute error of the fitted model's second moments
        ``E[x_i(t) x_j(t + l)]`` against the data, per lag, after the repair
        (0 up to solver precision where no repair was needed).
    """

    spatial_only: bool = False
    max_lag: int = 0
    n_latent_pairs: int = 0
    n_at_lower: int = 0
    n_at_upper: int = 0
    n_silent_neurons: int = 0
    repair: RepairReport | None = None
    moment_mae_by_lag: tuple[float, ...] = ()

    _nested: ClassVar[dict[str, type]] = {"repair": RepairReport}

    def summary(self) -> str:
        lines = [super().summary()]
        lines.append(
            f"latent correlations: lags 0..{self.max_lag} fitted"
            + ("" if self.spatial_only else " (later lags: maximum-entropy continuation)")
            + f", {self.n_latent_pairs} (pairs x lags), "
            f"{self.n_at_lower} at the lower limit (never co-firing), {self.n_at_upper} at "
            f"the upper limit, {self.n_silent_neurons} silent neurons"
        )
        r = self.repair
        if r is not None and r.method != "none":
            lines.append(
                f"repair ({r.method}, floor {r.eigenvalue_floor:g}): min eigenvalue "
                f"{r.min_eigenvalue_before:.3g} -> {r.min_eigenvalue_after:.3g}, Frobenius "
                f"change {r.frobenius_change:.3g} ({100 * r.relative_frobenius_change:.2f}% of "
                f"the off-diagonal), max change {r.max_abs_change:.3g}, {r.n_changed} "
                f"correlations moved > 1e-3, {r.iterations} iterations"
                + ("" if r.converged else " (NOT converged)")
            )
        elif r is not None:
            lines.append(
                f"latent matrix positive definite (min eigenvalue {r.min_eigenvalue_before:.3g}); "
                "no repair"
            )
        if self.moment_mae_by_lag:
            shown = ", ".join(f"{v:.2g}" for v in self.moment_mae_by_lag[:4])
            lines.append(f"second-moment MAE vs data by lag 0..: {shown}")
        return "\n".join(lines)


class DichotomizedGaussian(Baseline):
    """Thresholded latent Gaussian matching rates and (lagged) pairwise correlations.

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

    The likelihood of a window is an ``N*T``-dimensional Gaussian orthant integral,
    so ``log_prob`` is not offered.

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

    Attributes
    ----------
    gamma_ : numpy.ndarray
        Thresholds ``(neurons,)`` (``-inf`` for a neuron that never fired).
    latent_ : numpy.ndarray
        Latent correlation lag blocks ``(n_bins, neurons, neurons)`` (``(1, N, N)`` if
        ``spatial_only``); ``latent_[0]`` has a unit diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> raster = (rng.random((5000, 3)) < 0.2).astype(np.uint8)
    >>> dg = DichotomizedGaussian().fit(raster, n_bins=4)
    >>> dg.latent_.shape, dg.sample(10, seed=1).shape
    ((4, 3, 3), (10, 3, 4))
    """

    kind = "dg"
    report_class = DGFitReport
    log_prob_unavailable = (
        "the probability of a window under a dichotomized Gaussian is an "
        "(neurons x bins)-dimensional Gaussian orthant integral, which is intractable; "
        "compare samples instead (spikegan_tf.stats)"
    )

    def __init__(
        self,
        *,
        spatial_only: bool = False,
        max_lag: int | None = 2,
        eigenvalue_floor: float = 1e-4,
        repair: str = "higham",
        max_repair_iterations: int = 200,
    ) -> None:
        super().__init__()
        if not isinstance(spatial_only, bool | np.bool_):
            raise ConfigError(f"`spatial_only` must be True or False. Received {spatial_only!r}.")
        floor = float(eigenvalue_floor)
        if not 0.0 < floor < 1.0:
            raise ConfigError(
                f"`eigenvalue_floor` must be in (0, 1). Received {eigenvalue_floor!r}."
            )
        if repair not in ("higham", "clip"):
            raise ConfigError(f"`repair` must be 'higham' or 'clip'. Received {repair!r}.")
        if isinstance(max_repair_iterations, bool) or not isinstance(
            max_repair_iterations, int | np.integer
        ) or max_repair_iterations < 1:
            raise ConfigError(
                "`max_repair_iterations` must be an integer >= 1. "
                f"Received {max_repair_iterations!r}."
            )
        if max_lag is not None and (
            isinstance(max_lag, bool) or not isinstance(max_lag, int | np.integer) or max_lag < 0
        ):
            raise ConfigError(f"`max_lag` must be an integer >= 0 or None. Received {max_lag!r}.")
        self.spatial_only = bool(spatial_only)
        self.max_lag = None if max_lag is None else int(max_lag)
        self.eigenvalue_floor = floor
        self.repair = repair
        self.max_repair_iterations = int(max_repair_iterations)
        self.gamma_: np.ndarray | None = None
        self.latent_: np.ndarray | None = None
        self._factor: np.ndarray | None = None

    def get_options(self) -> dict[str, Any]:
        return {
            "spatial_only": self.spatial_only,
            "max_lag": self.max_lag,
            "eigenvalue_floor": self.eigenvalue_floor,
            "repair": self.repair,
            "max_repair_iterations": self.max_repair_iterations,
        }

    # ----------------------------------------------------------------- fit
    def _fit(self, d: FitData, seed: int | None) -> dict[str, Any]:
        n = d.n_neurons
        n_lags = 1 if self.spatial_only else d.n_bins
        max_lag = 0 if self.spatial_only else min(
            d.n_bins - 1, d.n_bins - 1 if self.max_lag is None else self.max_lag
        )
        p = rates(d)
        gamma = ndtri(p)
        moments = lagged_moments(d, n_lags - 1)
        lag, i, j = _pair_index(n, max_lag + 1)
        live = np.isfinite(gamma)
        solve = live[i] & live[j]
        rho = np.zeros(lag.size)
        at_lower = np.zeros(lag.size, dtype=bool)
        at_upper = np.zeros(lag.size, dtype=bool)
        if solve.any():
            s = np.flatnonzero(solve)
            rho[s], at_lower[s], at_upper[s] = invert_orthant(
                gamma[i[s]], gamma[j[s]], moments[lag[s], i[s], j[s]]
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
        lag_a, i_a, j_a = _pair_index(n, n_lags)
        implied = bivariate_normal_cdf(
            gamma[i_a], gamma[j_a], np.clip(latent[lag_a, i_a, j_a], -1, 1)
        )
        err = np.abs(implied - moments[lag_a, i_a, j_a])
        mae = np.bincount(lag_a, weights=err, minlength=n_lags) / np.bincount(
            lag_a, minlength=n_lags
        )
        return {
            "spatial_only": self.spatial_only,
            "max_lag": int(max_lag),
            "n_latent_pairs": int(lag.size),
            "n_at_lower": int(at_lower.sum()),
            "n_at_upper": int(at_upper.sum()),
            "n_silent_neurons": int((~live).sum()),
            "repair": report,
            "moment_mae_by_lag": tuple(float(f"{v:.4g}") for v in mae),
        }

    # -------------------------------------------------------------- moments
    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Exact firing probabilities and lagged second moments of the fitted model.

        Returns
        -------
        p : numpy.ndarray
            ``(neurons,)`` firing probabilities ``Phi(gamma)``.
        second : numpy.ndarray
            ``(n_lags, neurons, neurons)`` ``E[x_i(t) x_j(t + l)]`` (``n_lags`` is 1
            when ``spatial_only``, else ``n_bins``), diagonal of lag 0 = ``p``.
        """
        self._check_fitted("moments")
        n, n_lags = self.n_neurons_, self.latent_.shape[0]
        g = self.gamma_
        lag, i, j = np.meshgrid(np.arange(n_lags), np.arange(n), np.arange(n), indexing="ij")
        with np.errstate(invalid="ignore"):
            r = np.clip(self.latent_, -1 + 1e-15, 1 - 1e-15)
            second = bivariate_normal_cdf(g[i], g[j], r)
        p = ndtr(g)
        second[0][np.diag_indices(n)] = p
        return p, second

    # ------------------------------------------------------------- sampling
    def _upper_factor(self) -> np.ndarray:
        if self._factor is None:
            from spikegan_tf.errors import SpikeGANError

            full = block_toeplitz(self.latent_)
            try:
                lower = np.linalg.cholesky(full)
            except np.linalg.LinAlgError:
                raise SpikeGANError(
                    "The latent correlation matrix of this DichotomizedGaussian is not "
                    "positive definite; refit it (the fit repairs it) or raise "
                    "`eigenvalue_floor`."
                ) from None
            self._factor = np.ascontiguousarray(lower.T, dtype=np.float32)
        return self._factor

    def _sample_into(self, out: np.ndarray, rng: np.random.Generator) -> None:
        n_samples, n, n_bins = out.shape
        n_lags = self.latent_.shape[0]
        draws = n_bins // n_lags  # latent vectors per window (1, or n_bins if spatial_only)
        dim = n_lags * n
        upper = self._upper_factor()
        thresh = np.tile(self.gamma_.astype(np.float32), n_lags)
        groups = np.linspace(0, n_lags, min(_N_GROUPS, n_lags) + 1).round().astype(int) * n
        chunk = max(1, _CHUNK_ELEMENTS // (n * n_bins))
        z = np.empty((chunk * draws, dim), dtype=np.float32)
        for start in range(0, n_samples, chunk):
            stop = min(start + chunk, n_samples)
            rows = (stop - start) * draws
            eps = rng.standard_normal((rows, dim), dtype=np.float32)
            zc = z[:rows]
            # z = eps @ upper with upper triangular: skip the zero blocks
            for a, b in zip(groups[:-1], groups[1:], strict=True):
                np.matmul(eps[:, :b], upper[:b, a:b], out=zc[:, a:b])
            spikes = (zc < thresh).reshape(stop - start, n_bins, n)
            out[start:stop] = spikes.transpose(0, 2, 1)

    # ----------------------------------------------------------------- I/O
    def _get_params(self) -> dict[str, np.ndarray]:
        return {"gamma": self.gamma_, "latent": self.latent_}

    def _set_params(self, arrays: Mapping[str, np.ndarray]) -> None:
        n, t = self.n_neurons_, self.n_bins_
        n_lags = 1 if self.spatial_only else t
        gamma = self._require(arrays, "gamma", (n,))
        latent = self._require(arrays, "latent", (n_lags, n, n))
        if not np.isfinite(latent).all() or np.abs(latent).max() > 1 + 1e-9:
            raise ValueError("array 'latent' must hold correlations in [-1, 1]")
        if not np.allclose(np.diag(latent[0]), 1.0):
            raise ValueError("array 'latent' must have a unit diagonal at lag 0")
        self.gamma_, self.latent_, self._factor = gamma, latent, None


def _pair_index(n: int, n_lags: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lag, i, j) of the distinct latent correlations: i < j at lag 0, all at lags > 0."""
    iu, ju = np.triu_indices(n, 1)
    lags = [np.zeros(iu.size, dtype=np.intp)]
    ii, jj = [iu], [ju]
    if n_lags > 1:
        gi, gj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        for lag in range(1, n_lags):
            lags.append(np.full(n * n, lag, dtype=np.intp))
            ii.append(gi.ravel())
            jj.append(gj.ravel())
    return np.concatenate(lags), np.concatenate(ii), np.concatenate(jj)


def _assemble(
    n: int, n_lags: int, lag: np.ndarray, i: np.ndarray, j: np.ndarray, rho: np.ndarray
) -> np.ndarray:
    blocks = np.zeros((n_lags, n, n))
    blocks[lag, i, j] = rho
    blocks[0] = blocks[0] + blocks[0].T
    blocks[0][np.diag_indices(n)] = 1.0
    return blocks

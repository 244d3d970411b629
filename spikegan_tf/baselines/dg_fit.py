"""Fitting the dichotomized Gaussian: latent population states from labelled training bins
(their Markov chain and joint laws) and the fit report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import ndtri

from spikegan_tf.baselines._gaussian import RepairReport
from spikegan_tf.baselines.base import FitReport
from spikegan_tf.data import WindowedSpikes

__all__ = ["DGFitReport"]


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
    n_states : int
        Latent population states used (1: the classic stationary DG; can be fewer
        than requested when the smoothed population count has too many ties).
    state_occupancy : tuple of float
        Fraction of bins in each state, from the quietest to the most active.
    state_firing_probability : tuple of float
        Mean firing probability of a neuron in each state.
    state_mean_dwell_bins : tuple of float
        Mean time spent in each state before leaving it, in bins (``1 / (1 - A_aa)``).
    """

    spatial_only: bool = False
    max_lag: int = 0
    n_latent_pairs: int = 0
    n_at_lower: int = 0
    n_at_upper: int = 0
    n_silent_neurons: int = 0
    repair: RepairReport | None = None
    moment_mae_by_lag: tuple[float, ...] = ()
    n_states: int = 1
    state_occupancy: tuple[float, ...] = ()
    state_firing_probability: tuple[float, ...] = ()
    state_mean_dwell_bins: tuple[float, ...] = ()

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
        if self.n_states > 1:
            lines.append(
                f"{self.n_states} latent population states: occupancy "
                + ", ".join(f"{v:.2f}" for v in self.state_occupancy)
                + "; firing probability "
                + ", ".join(f"{v:.3g}" for v in self.state_firing_probability)
                + "; mean dwell (bins) "
                + ", ".join(f"{v:.1f}" for v in self.state_mean_dwell_bins)
            )
        if self.moment_mae_by_lag:
            shown = ", ".join(f"{v:.2g}" for v in self.moment_mae_by_lag[:4])
            lines.append(f"second-moment MAE vs data by lag 0..: {shown}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _States:
    """Latent population states estimated from labelled training bins."""

    gamma: np.ndarray  # (M, N) thresholds per state
    init: np.ndarray  # (M,) stationary probabilities
    transition: np.ndarray  # (M, M) Markov transition matrix
    occupancy: np.ndarray  # (M,) fraction of training bins per state


def _fit_states(d: WindowedSpikes, n_states: int, window: int, spatial_only: bool) -> _States | None:
    """Label bins by quantiles of the smoothed population count; None if one state."""
    if n_states == 1:
        return None
    from scipy.ndimage import uniform_filter1d

    x = d.spikes if d.kind == "raster" else d.spikes.transpose(0, 2, 1)  # (..., time, N)
    count = x.sum(axis=-1, dtype=np.float64)  # (T,) or (n, bins)
    smooth = uniform_filter1d(count, size=min(window, count.shape[-1]), axis=-1,
                              mode="nearest")
    edges = np.unique(np.quantile(smooth, np.linspace(0, 1, n_states + 1)[1:-1]))
    labels = np.searchsorted(edges, smooth, side="right")
    used, labels = np.unique(labels, return_inverse=True)
    labels = labels.reshape(smooth.shape)
    m = used.size
    if m == 1:
        return None
    flat_x = x.reshape(-1, x.shape[-1])
    flat_l = labels.ravel()
    occupancy = np.bincount(flat_l, minlength=m) / flat_l.size
    p = np.stack([flat_x[flat_l == a].mean(axis=0, dtype=np.float64) for a in range(m)])
    if spatial_only:
        transition = np.tile(occupancy, (m, 1))
    else:
        counts = np.zeros((m, m))
        np.add.at(counts, (labels[..., :-1].ravel(), labels[..., 1:].ravel()), 1.0)
        rows = counts.sum(axis=1, keepdims=True)
        transition = np.where(rows > 0, counts / np.maximum(rows, 1.0), occupancy[None, :])
    init = _stationary(transition)
    # the chain's stationary law differs from the label frequencies by boundary
    # effects (window edges): rescale each neuron's per-state rates so that the
    # model's marginal firing probability is exactly the data's
    marginal = flat_x.mean(axis=0, dtype=np.float64)
    mixed = init @ p
    scale = np.divide(marginal, mixed, out=np.ones_like(mixed), where=mixed > 0)
    p = np.clip(p * scale, 0.0, 1.0)
    return _States(gamma=ndtri(p), init=init, transition=transition, occupancy=occupancy)


def _stationary(transition: np.ndarray) -> np.ndarray:
    """Stationary distribution of a Markov transition matrix (rows sum to 1)."""
    m = transition.shape[0]
    # solve pi (A - I) = 0 with sum(pi) = 1 in the least-squares sense
    a = np.vstack([transition.T - np.eye(m), np.ones((1, m))])
    b = np.zeros(m + 1)
    b[-1] = 1.0
    pi = np.clip(np.linalg.lstsq(a, b, rcond=None)[0], 0.0, None)
    return pi / pi.sum()


def _state_joint(init: np.ndarray, transition: np.ndarray, n_lags: int) -> np.ndarray:
    """``(n_lags, M, M)`` joint probabilities ``P(s(t) = a, s(t + l) = b)`` of the chain."""
    out = np.empty((n_lags, init.size, init.size))
    step = np.diag(init)
    for lag in range(n_lags):
        out[lag] = step
        step = step @ transition
    return out


def _draw_states(
    rng: np.random.Generator, rows: int, n_steps: int, init_cdf: np.ndarray,
    step_cdf: np.ndarray,
) -> np.ndarray:
    """``(rows, n_steps)`` state sequences of the chain, the first from its stationary law."""
    u = rng.random((rows, n_steps))
    last = init_cdf.size - 1
    states = np.empty((rows, n_steps), dtype=np.intp)
    states[:, 0] = np.minimum(np.searchsorted(init_cdf, u[:, 0], side="right"), last)
    for t in range(1, n_steps):
        cdf = step_cdf[states[:, t - 1]]
        states[:, t] = np.minimum((u[:, t, None] >= cdf).sum(axis=1), last)
    return states


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

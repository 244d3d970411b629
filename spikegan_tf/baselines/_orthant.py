"""Orthant probabilities of the dichotomized Gaussian fit.

* :func:`bivariate_normal_cdf` -- ``P(z1 < h, z2 < k)`` of a standard bivariate normal with
  correlation ``rho``, vectorised with Owen's T function (:func:`scipy.special.owens_t`);
* :func:`invert_orthant` -- all-pairs-at-once safeguarded Newton solve of
  ``bivariate_normal_cdf(h, k, rho) = m`` for ``rho``, or of its mixture over discrete latent
  states (:func:`orthant_mixture`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, owens_t

__all__ = ["bivariate_normal_cdf", "bivariate_normal_pdf", "invert_orthant", "orthant_mixture"]


def bivariate_normal_cdf(h: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """``P(z1 < h, z2 < k)`` for a standard bivariate normal with correlation ``rho``.

    Valid for ``-1 < rho < 1``; ``h`` and ``k`` may be infinite.

    Examples
    --------
    >>> round(float(bivariate_normal_cdf(0.0, 0.0, 0.5)), 12)  # 1/4 + asin(1/2)/(2 pi)
    0.333333333333
    """
    h, k, rho = np.broadcast_arrays(
        np.asarray(h, dtype=np.float64), np.asarray(k, dtype=np.float64),
        np.asarray(rho, dtype=np.float64),
    )
    s = np.sqrt((1.0 - rho) * (1.0 + rho))
    with np.errstate(divide="ignore", invalid="ignore"):
        a_h = (k - rho * h) / (h * s)
        a_k = (h - rho * k) / (k * s)
    hk = h * k
    beta = np.where((hk < 0) | ((hk == 0) & (h + k < 0)), 0.5, 0.0)
    out = 0.5 * ndtr(h) + 0.5 * ndtr(k) - owens_t(h, a_h) - owens_t(k, a_k) - beta
    both_zero = (h == 0) & (k == 0)
    if both_zero.any():
        out = np.where(both_zero, 0.25 + np.arcsin(rho) / (2 * np.pi), out)
    inf = np.isinf(h) | np.isinf(k)
    if inf.any():  # limits: P(z1 < -inf, .) = 0 and P(z1 < inf, z2 < k) = Phi(k)
        lim = np.where((h == -np.inf) | (k == -np.inf), 0.0, np.minimum(ndtr(h), ndtr(k)))
        out = np.where(inf, lim, out)
    return np.clip(out, 0.0, 1.0)


def bivariate_normal_pdf(h: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """``d/d rho`` of :func:`bivariate_normal_cdf`: the bivariate density at ``(h, k)``."""
    one_m = (1.0 - rho) * (1.0 + rho)
    q = (h * h - 2.0 * rho * h * k + k * k) / (2.0 * one_m)
    return np.exp(-q) / (2.0 * np.pi * np.sqrt(one_m))


def orthant_mixture(
    h: np.ndarray, k: np.ndarray, weights: np.ndarray, rho: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``sum_ab w_ab P(z1 < h_a, z2 < k_b; rho)`` and its derivative in ``rho``.

    ``h`` is ``(P, A)``, ``k`` ``(P, B)``, ``weights`` ``(P, A, B)`` and ``rho``
    ``(P,)``: one latent correlation per pair, thresholds that depend on a discrete
    state of each variable (the dichotomized Gaussian with latent population
    states), weighted by the joint probability of the two states.
    """
    r = rho[:, None, None]
    hh, kk = h[:, :, None], k[:, None, :]
    value = (weights * bivariate_normal_cdf(hh, kk, r)).sum(axis=(1, 2))
    slope = (weights * bivariate_normal_pdf(hh, kk, r)).sum(axis=(1, 2))
    return value, slope


def invert_orthant(
    h: np.ndarray,
    k: np.ndarray,
    m: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    tol: float = 1e-12,
    max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve ``bivariate_normal_cdf(h, k, rho) = m`` for ``rho`` on all pairs at once.

    The orthant probability increases with ``rho`` from
    ``max(0, Phi(h) + Phi(k) - 1)`` at ``rho = -1`` to ``min(Phi(h), Phi(k))`` at
    ``rho = 1``. Targets at or beyond those limits (e.g. a pair that never fires
    together, ``m = 0``) get ``rho = -1`` or ``+1``: the most extreme achievable
    correlation, never NaN. Finite ``h``, ``k`` are assumed.

    With ``weights`` (``(P, A, B)``, each pair's summing to 1), ``h`` is ``(P, A)``
    and ``k`` ``(P, B)``: thresholds per discrete state, and the equation solved is
    ``sum_ab weights[:, a, b] * bivariate_normal_cdf(h[:, a], k[:, b], rho) = m``
    (:func:`orthant_mixture`), still increasing in ``rho``, with the limits mixed
    the same way.

    Returns
    -------
    rho : numpy.ndarray
        Latent correlations.
    at_lower, at_upper : numpy.ndarray of bool
        Pairs whose target was at or below (above) what any ``rho`` reaches.

    Examples
    --------
    >>> h = np.array([-1.0, 0.3]); k = np.array([-1.5, 0.3])
    >>> m = bivariate_normal_cdf(h, k, np.array([0.2, -0.7]))
    >>> np.round(invert_orthant(h, k, m)[0], 10)
    array([ 0.2, -0.7])
    """
    if weights is None:
        h, k, m = (np.asarray(a, dtype=np.float64).ravel() for a in np.broadcast_arrays(h, k, m))
        h, k, w = h[:, None], k[:, None], np.ones((h.size, 1, 1))
    else:
        h, k = np.asarray(h, dtype=np.float64), np.asarray(k, dtype=np.float64)
        w = np.asarray(weights, dtype=np.float64)
        m = np.asarray(m, dtype=np.float64).ravel()
    ph, pk = ndtr(h)[:, :, None], ndtr(k)[:, None, :]
    lower = (w * np.maximum(0.0, ph + pk - 1.0)).sum(axis=(1, 2))
    upper = (w * np.minimum(ph, pk)).sum(axis=(1, 2))
    at_lower = m <= lower
    at_upper = m >= upper
    rho = np.where(at_lower, -1.0, np.where(at_upper, 1.0, 0.0))
    todo = np.flatnonzero(~(at_lower | at_upper))
    if todo.size:
        hh, kk, ww, mm = h[todo], k[todo], w[todo], m[todo]
        lo = np.full(todo.size, -1.0)
        hi = np.full(todo.size, 1.0)
        # start from the linear approximation around rho = 0
        f0, slope0 = orthant_mixture(hh, kk, ww, np.zeros(todo.size))
        r = np.clip((mm - f0) / slope0, -0.99, 0.99)
        active = np.arange(todo.size)
        for _ in range(max_iter):
            ra = r[active]
            value, slope = orthant_mixture(hh[active], kk[active], ww[active], ra)
            f = value - mm[active]
            pos = f > 0
            hi[active] = np.where(pos, ra, hi[active])
            lo[active] = np.where(pos, lo[active], ra)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                step = f / slope
                new = ra - step
            lo_a, hi_a = lo[active], hi[active]
            # matched to float precision: keep rho (the curve may be flat there)
            hit = np.abs(f) <= 1e-15
            done = hit | (np.abs(step) < tol) | (hi_a - lo_a < tol)
            bad = ~done & (~np.isfinite(new) | (new <= lo_a) | (new >= hi_a))
            new = np.where(bad, 0.5 * (lo_a + hi_a), new)
            new = np.where(hit | (done & ~np.isfinite(new)), ra, new)
            r[active] = new
            active = active[~done]
            if active.size == 0:
                break
        rho[todo] = r
    return rho, at_lower, at_upper

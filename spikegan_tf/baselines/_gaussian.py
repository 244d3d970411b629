"""Correlation matrices of the dichotomized Gaussian fit.

* :func:`nearest_correlation` -- nearest (Frobenius) correlation matrix with an
  eigenvalue floor by Higham's alternating projections with Dykstra's
  correction, optionally keeping a block-Toeplitz (stationary) structure, or by
  eigenvalue clipping and rescaling;
* :func:`block_toeplitz`, :func:`toeplitz_blocks`, :func:`extend_stationary` -- the
  block-Toeplitz covariance of a stationary process and its lag blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "RepairReport",
    "nearest_correlation",
    "block_toeplitz",
    "toeplitz_blocks",
    "extend_stationary",
]


def block_toeplitz(blocks: np.ndarray) -> np.ndarray:
    """Symmetric block-Toeplitz matrix ``(T*N, T*N)`` from lag blocks ``(T, N, N)``.

    Block ``(t, s)`` (time-major order, index ``t * N + i``) is ``blocks[s - t]``
    for ``s >= t`` and ``blocks[t - s].T`` otherwise.

    Examples
    --------
    >>> b = np.array([[[1.0]], [[0.5]]])
    >>> block_toeplitz(b)
    array([[1. , 0.5],
           [0.5, 1. ]])
    """
    n_lags, n, _ = blocks.shape
    t = np.arange(n_lags)
    lag = t[None, :] - t[:, None]
    full = np.where(
        (lag >= 0)[:, :, None, None],
        blocks[np.abs(lag)],
        blocks[np.abs(lag)].transpose(0, 1, 3, 2),
    )  # (T, T, N, N)
    return full.transpose(0, 2, 1, 3).reshape(n_lags * n, n_lags * n)


def toeplitz_blocks(mat: np.ndarray, n: int) -> np.ndarray:
    """Orthogonal projection onto symmetric block-Toeplitz matrices, as lag blocks.

    Averages every block diagonal of ``mat`` (``(T*N, T*N)``) and returns the
    ``(T, N, N)`` lag blocks (the inverse of :func:`block_toeplitz` on its range).
    """
    n_lags = mat.shape[0] // n
    b = mat.reshape(n_lags, n, n_lags, n).transpose(0, 2, 1, 3)  # (T, T, N, N)
    out = np.empty((n_lags, n, n))
    t = np.arange(n_lags)
    for lag in range(n_lags):
        upper = b[t[: n_lags - lag], t[lag:]]  # blocks (t, t + lag)
        lower = b[t[lag:], t[: n_lags - lag]].transpose(0, 2, 1)  # blocks (t + lag, t)^T
        out[lag] = 0.5 * (upper.mean(axis=0) + lower.mean(axis=0))
    out[0] = 0.5 * (out[0] + out[0].T)
    return out


@dataclass(frozen=True)
class RepairReport:
    """How the latent correlation matrix was made positive definite.

    Attributes
    ----------
    method : str
        ``"none"`` (already above the floor), ``"higham"`` or ``"clip"``.
    eigenvalue_floor : float
        Smallest eigenvalue allowed.
    min_eigenvalue_before, min_eigenvalue_after : float
        Smallest eigenvalue of the latent correlation matrix before and after.
    frobenius_change : float
        Frobenius norm of (repaired - original) over the full ``(N*T)^2`` matrix.
    relative_frobenius_change : float
        ``frobenius_change`` / Frobenius norm of the off-diagonal original.
    max_abs_change : float
        Largest change of one latent correlation.
    n_changed : int
        Distinct latent correlations (pairs x lags) that moved by more than 1e-3.
    iterations : int
        Alternating-projection iterations (1 for clipping, 0 for none).
    converged : bool
        Whether the projections met their tolerance.
    """

    method: str
    eigenvalue_floor: float
    min_eigenvalue_before: float
    min_eigenvalue_after: float
    frobenius_change: float
    relative_frobenius_change: float
    max_abs_change: float
    n_changed: int
    iterations: int
    converged: bool

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RepairReport:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def _min_eig(mat: np.ndarray) -> float:
    from scipy.linalg import eigvalsh

    return float(eigvalsh(mat, subset_by_index=(0, 0), check_finite=False)[0])


def _project_floor(mat: np.ndarray, floor: float) -> np.ndarray:
    """Nearest (Frobenius) symmetric matrix with eigenvalues >= ``floor``."""
    from scipy.linalg import eigh

    w, v = eigh(mat, driver="evd", check_finite=False)
    low = w < floor
    if not low.any():
        return mat
    return mat + (v[:, low] * (floor - w[low])) @ v[:, low].T


def nearest_correlation(
    blocks: np.ndarray,
    *,
    floor: float = 1e-4,
    method: str = "higham",
    tol: float = 1e-6,
    max_iter: int = 300,
    memory: int = 5,
) -> tuple[np.ndarray, RepairReport]:
    """Repair the latent correlation lag blocks ``(L, N, N)`` so the matrix is PD.

    Parameters
    ----------
    blocks : numpy.ndarray
        Lag blocks of a symmetric block-Toeplitz matrix with unit diagonal
        (``L = 1`` for a plain correlation matrix).
    floor : float
        Eigenvalue floor of the result.
    method : {"higham", "clip"}
        ``"higham"``: Higham's (2002) alternating projections with Dykstra's
        correction between the matrices with eigenvalues >= ``floor`` and the
        block-Toeplitz matrices with unit diagonal -- the nearest such matrix in
        Frobenius norm, so the stationarity of the latent process is kept --
        accelerated by Anderson mixing of the last ``memory`` iterates (Higham &
        Strabic 2016); ``"clip"``: one eigenvalue clipping, rescaled to unit
        diagonal and averaged back to block-Toeplitz (cheaper, not nearest).
    tol : float
        Stop when the two projections differ by less than ``tol`` (relative
        Frobenius norm).

    Returns
    -------
    blocks : numpy.ndarray
        Repaired lag blocks (unchanged when already above the floor).
    report : RepairReport

    Examples
    --------
    >>> bad = np.array([[[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]]])
    >>> fixed, rep = nearest_correlation(bad, floor=1e-3)
    >>> rep.min_eigenvalue_before < 0 < rep.min_eigenvalue_after, np.allclose(np.diag(fixed[0]), 1)
    (True, True)
    """
    if method not in ("higham", "clip"):
        raise ValueError(f"method must be 'higham' or 'clip', got {method!r}")
    n_lags, n, _ = blocks.shape
    a = block_toeplitz(blocks)
    before = _min_eig(a)
    if before >= floor:
        return blocks, RepairReport(
            "none", floor, before, before, 0.0, 0.0, 0.0, 0, 0, True
        )
    eye = np.eye(n, dtype=bool)

    def affine(mat: np.ndarray) -> np.ndarray:
        b = toeplitz_blocks(mat, n)
        b[0][eye] = 1.0
        return b

    converged = False
    iterations = 0
    if method == "higham":
        # Dykstra's iteration written as the fixed point R = R + P_U(P_S(R)) - P_S(R)
        # started at R = A; Anderson mixing keeps R - A normal to U, so the fixed
        # point is still the nearest matrix (KKT conditions of the projection)
        r = a
        d_f: list[np.ndarray] = []
        d_g: list[np.ndarray] = []
        prev_f = prev_g = None
        out = blocks
        for iterations in range(1, max_iter + 1):  # noqa: B007 - reported below
            x = _project_floor(r, floor)
            out = affine(x)
            f = block_toeplitz(out) - x
            if np.linalg.norm(f) <= tol * np.linalg.norm(x):
                converged = True
                break
            g = r + f
            if prev_f is not None:
                d_f.append((f - prev_f).ravel())
                d_g.append((g - prev_g).ravel())
                if len(d_f) > memory:
                    d_f.pop(0)
                    d_g.pop(0)
            prev_f, prev_g = f, g
            if d_f:
                gamma = np.linalg.lstsq(np.array(d_f).T, f.ravel(), rcond=None)[0]
                r = g - (np.array(d_g).T @ gamma).reshape(g.shape)
            else:
                r = g
    else:
        x = _project_floor(a, floor)
        d = 1.0 / np.sqrt(np.diag(x))
        out = affine(x * d[:, None] * d[None, :])
        iterations, converged = 1, True
    repaired = block_toeplitz(out)
    after = _min_eig(repaired)
    if after < 0.5 * floor:
        # Higham's iterate sits on the unit-diagonal side and may still dip below the
        # floor when it stopped early: shift the spectrum up just enough, keep unit diagonal
        shift = floor - after
        out = out / (1.0 + shift)
        out[0][eye] = 1.0
        repaired = block_toeplitz(out)
        after = _min_eig(repaired)
    diff = repaired - a
    off = a.copy()
    np.fill_diagonal(off, 0.0)
    lag_change = np.abs(out - blocks)
    n_changed = int((lag_change[0][np.triu_indices(n, 1)] > 1e-3).sum())
    n_changed += int((lag_change[1:] > 1e-3).sum())
    return out, RepairReport(
        method=method,
        eigenvalue_floor=float(floor),
        min_eigenvalue_before=before,
        min_eigenvalue_after=after,
        frobenius_change=float(np.linalg.norm(diff)),
        relative_frobenius_change=float(np.linalg.norm(diff) / max(np.linalg.norm(off), 1e-300)),
        max_abs_change=float(np.abs(diff).max()),
        n_changed=n_changed,
        iterations=int(iterations),
        converged=bool(converged),
    )


def extend_stationary(blocks: np.ndarray, n_lags: int) -> np.ndarray:
    """Maximum-entropy continuation of lag blocks ``(p + 1, N, N)`` to ``n_lags`` lags.

    The Gaussian process of largest entropy whose lags ``0..p`` are ``blocks`` is
    the vector autoregression of order ``p`` solving the block Yule-Walker
    equations (Burg's maximum-entropy extension); its later lags follow
    ``R(k) = sum_j A_j R(k - j)``. When the ``(p + 1)``-block Toeplitz matrix is
    positive definite, so is the extended one, for any length.

    Examples
    --------
    >>> b = np.array([[[1.0]], [[0.5]]])         # AR(1) with coefficient 0.5
    >>> extend_stationary(b, 4)[:, 0, 0]
    array([1.   , 0.5  , 0.25 , 0.125])
    """
    p = blocks.shape[0] - 1
    n = blocks.shape[1]
    if n_lags <= p + 1:
        return blocks[:n_lags].copy()
    if p == 0:
        out = np.zeros((n_lags, n, n))
        out[0] = blocks[0]
        return out
    # R(k) = E[z(t + k) z(t)^T] = blocks[k].T, R(-k) = R(k).T; Yule-Walker:
    # [R(1) .. R(p)] = [A_1 .. A_p] Gamma with Gamma[j, k] = R(k - j)
    r = [blocks[0]] + [b.T for b in blocks[1:]]

    def r_at(m: int) -> np.ndarray:
        return r[m] if m >= 0 else r[-m].T

    gam = np.block([[r_at(k - j) for k in range(p)] for j in range(p)])
    rhs = np.hstack(r[1 : p + 1])
    coef = np.linalg.solve(gam.T, rhs.T).T  # A = rhs Gamma^-1, (N, p N)
    a = [coef[:, k * n : (k + 1) * n] for k in range(p)]
    for k in range(p + 1, n_lags):
        r.append(sum(a[j] @ r[k - 1 - j] for j in range(p)))
    return np.array([r[0]] + [x.T for x in r[1:]])

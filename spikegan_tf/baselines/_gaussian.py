"""Correlation matrices of the dichotomized Gaussian fit.

* :func:`nearest_correlation` -- nearest (Frobenius) correlation matrix with an
  eigenvalue floor by Higham's alternating projections with Dykstra's
  correction, optionally keeping a block-Toeplitz (stationary) structure, or by
  eigenvalue clipping and rescaling;
* :func:`block_toeplitz`, :func:`toeplitz_blocks`, :func:`extend_stationary` -- the
  block-Toeplitz covariance of a stationary process and its lag blocks;
* :func:`autoregressive_form` -- the same process as a vector autoregression (how the
  dichotomized Gaussian samples a window without factorising its whole matrix).

Cost of the repair, for ``D = N * (max_lag + 1)``: one symmetric eigendecomposition of
the ``(D, D)`` matrix per iteration (``O(D^3)``, 1536 x 1536 at 512 neurons and lags
0..2: about 1 s on one core), plus ``O(D^2)`` for the block-Toeplitz projection and the
Anderson mixing (its least-squares problem is solved through the small Gram matrix of
the last ``memory`` differences).
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
    "autoregressive_form",
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
    # filled block by block: no (T, T, N, N) temporaries (2 GB each at 512 neurons x 32 bins)
    full = np.empty((n_lags * n, n_lags * n), dtype=np.result_type(blocks.dtype, np.float64))
    for t in range(n_lags):
        for s in range(t, n_lags):
            full[t * n : (t + 1) * n, s * n : (s + 1) * n] = blocks[s - t]
            if s > t:
                full[s * n : (s + 1) * n, t * n : (t + 1) * n] = blocks[s - t].T
    return full


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
    """Nearest (Frobenius) symmetric matrix with eigenvalues >= ``floor``.

    ``V diag(max(w, floor)) V^T``, written with whichever side of the spectrum has
    fewer eigenvectors (the same matrix, in half the product at worst).
    """
    from scipy.linalg import eigh

    w, v = eigh(mat, driver="evd", check_finite=False)
    low = w < floor
    n_low = int(low.sum())
    if n_low == 0:
        return mat
    if 2 * n_low <= w.size:
        vl = v[:, :n_low]  # eigenvalues ascend: the low ones come first
        return mat + (vl * (floor - w[:n_low])) @ vl.T
    vh = v[:, n_low:]
    out = (vh * (w[n_low:] - floor)) @ vh.T
    out[np.diag_indices_from(out)] += floor
    return out


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
        # the last `memory` differences of f and of g (rows of a ring buffer) and the
        # Gram matrix of those of f: the mixing's least squares in O(memory * D^2)
        memory = max(int(memory), 0)
        d_f = np.empty((memory, a.size))
        d_g = np.empty((memory, a.size))
        gram = np.empty((memory, memory))
        n_diff = 0
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
            if prev_f is not None and memory:
                slot = n_diff % memory
                np.subtract(f.ravel(), prev_f.ravel(), out=d_f[slot])
                np.subtract(g.ravel(), prev_g.ravel(), out=d_g[slot])
                n_diff += 1
                used = min(n_diff, memory)
                gram[slot, :used] = gram[:used, slot] = d_f[:used] @ d_f[slot]
            prev_f, prev_g = f, g
            used = min(n_diff, memory)
            if used:
                # min |f - D_f^T gamma| by its normal equations (rank-safe lstsq)
                gamma = np.linalg.lstsq(gram[:used, :used], d_f[:used] @ f.ravel(),
                                        rcond=1e-13)[0]
                r = g - (gamma @ d_g[:used]).reshape(g.shape)
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
    a, r = _yule_walker(blocks)
    for k in range(p + 1, n_lags):
        r.append(sum(a[j] @ r[k - 1 - j] for j in range(p)))
    return np.array([r[0]] + [x.T for x in r[1:]])


def _yule_walker(blocks: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """VAR(p) coefficients ``[A_1 .. A_p]`` of lag blocks ``(p + 1, N, N)``, and ``R(0..p)``.

    ``R(k) = E[z(t + k) z(t)^T] = blocks[k].T``; the block Yule-Walker equations
    ``[R(1) .. R(p)] = [A_1 .. A_p] Gamma`` with ``Gamma[j, k] = R(k - j)``.
    """
    p, n = blocks.shape[0] - 1, blocks.shape[1]
    r = [blocks[0]] + [b.T for b in blocks[1:]]

    def r_at(m: int) -> np.ndarray:
        return r[m] if m >= 0 else r[-m].T

    gam = np.block([[r_at(k - j) for k in range(p)] for j in range(p)])
    rhs = np.hstack(r[1 : p + 1])
    coef = np.linalg.solve(gam.T, rhs.T).T  # A = rhs Gamma^-1, (N, p N)
    return [coef[:, k * n : (k + 1) * n] for k in range(p)], r


def autoregressive_form(
    blocks: np.ndarray, order: int, *, atol: float = 1e-9
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The stationary Gaussian process of lag blocks ``(T, N, N)`` as a VAR(``order``).

    When lags ``order + 1 .. T - 1`` of ``blocks`` are the maximum-entropy
    continuation of lags ``0..order`` (:func:`extend_stationary`, to ``atol``), the
    process is the vector autoregression ``z(t) = sum_j A_j z(t - j) + C e(t)``
    (``e`` standard normal, ``C`` the Cholesky factor of the innovation covariance
    ``R(0) - sum_j A_j R(j)^T``). A window is then drawn by factorising only the
    ``(order + 1) * N`` first bins' matrix and running the recursion, instead of
    factorising the whole ``(T*N, T*N)`` matrix. It is the same law, and with the
    same standard normal draws the same values: the lower Cholesky factor of the
    whole matrix has ``C`` on its later diagonal blocks and its rows below give
    ``sum_j A_j z(t - j)`` (the conditional mean of ``z(t)`` given its past).

    Parameters
    ----------
    blocks : numpy.ndarray
        Lag blocks ``(T, N, N)`` of a positive definite block-Toeplitz matrix.
    order : int
        Lags fitted (the VAR order ``p``); ``order >= T - 1`` is the whole window.

    Returns
    -------
    (head, coef, innovation) or None
        ``head``: upper Cholesky factor ``U`` (``U^T U`` = the matrix of the first
        ``min(order, T - 1) + 1`` bins, time-major); ``coef``: ``(p*N, N)`` with
        ``z(t) = [z(t - p) .. z(t - 1)] @ coef + e(t) @ innovation`` (rows);
        ``innovation``: ``C^T`` ``(N, N)``. ``coef`` and ``innovation`` are empty
        when the head covers the window. None when the later lags are not the
        continuation (then factorise the whole matrix).

    Raises
    ------
    numpy.linalg.LinAlgError
        When the first bins' matrix is not positive definite.

    Examples
    --------
    >>> b = extend_stationary(np.array([[[1.0]], [[0.5]]]), 4)   # AR(1), coefficient 0.5
    >>> head, coef, innovation = autoregressive_form(b, 1)
    >>> head.shape, coef.ravel().tolist(), round(float(innovation[0, 0] ** 2), 12)
    ((2, 2), [0.5], 0.75)
    >>> autoregressive_form(np.array([[[1.0]], [[0.5]], [[0.0]]]), 1) is None
    True
    """
    n_lags, n = blocks.shape[0], blocks.shape[1]
    p = min(int(order), n_lags - 1)
    head = np.linalg.cholesky(block_toeplitz(blocks[: p + 1])).T
    if p == n_lags - 1:
        return head, np.empty((0, n)), np.empty((0, n))
    if p == 0:
        if np.abs(blocks[1:]).max() > atol:
            return None
        return head, np.empty((0, n)), head.copy()
    if np.abs(extend_stationary(blocks[: p + 1], n_lags) - blocks).max() > atol:
        return None
    a, r = _yule_walker(blocks[: p + 1])
    sigma = r[0] - sum(a[j] @ r[j + 1].T for j in range(p))
    innovation = np.linalg.cholesky(0.5 * (sigma + sigma.T)).T
    coef = np.vstack([a[p - 1 - k].T for k in range(p)])  # rows of z(t - p) first
    return head, coef, innovation

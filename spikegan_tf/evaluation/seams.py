"""Seam test: does a long generated raster show where its pieces were joined?

A generator of continuous spike trains makes a raster piece by piece
(``segment_length`` bins at a time, starting at ``offset``). If the pieces do
not continue each other, every statistic that spans a boundary breaks there.
Two checks, on the generated raster alone plus real data for reference:

* **statistics**: the stride-1 windows of ``n_bins`` that straddle a
  boundary, against as many windows inside one piece, placed alike (the same
  starts shifted by half a piece, so both sets have the same size and the same
  clustering, hence the same sampling noise); each headline statistic of both
  sets is compared with the real data, and ``ratio = error(straddling) /
  error(within)`` (1.0: seams invisible to that statistic);
* **classifier**: windows of ``2 * half_width`` bins centred on a boundary
  against windows centred between boundaries, told apart by a logistic
  regression on features that span the centre (population counts per bin,
  their products across the centre, counts of each half and their product,
  same-neuron coincidences across the centre), cross-validated; the AUC is
  0.5 when the seams are invisible.

Both are noisy: on the retina's held-out split, real and seamless, the ratios
of its ~220 boundaries reach 1.25 (rates), 1.7 (P(K)) and 5.2 (autocorrelogram)
at some phases (``benchmarks/results/seam_null.json``). ``null_phases=K``
therefore repeats both checks on the raster itself at up to ``K`` pseudo-boundaries
at phases spread evenly over half a piece with the real boundaries' (:func:`null_phases_of`):
the raster's own noise, with its own rates and biases, and a test whose p-values hold,
since a seamless raster's real boundaries rank uniformly among them (on the AUC and on
how far each ratio is from 1, either way). A seam shows as a ratio
(or AUC) beyond that range; :meth:`SeamReport.beyond_null` says where.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> raster = (rng.random((20000, 5)) < 0.1).astype(np.uint8)
>>> report = seam_report(raster, raster, segment_length=32, n_bins=16, seed=0)
>>> 0.4 < report.auc < 0.6
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from spikegan_tf.errors import ConfigError
from spikegan_tf.params import Integer, check_param
from spikegan_tf.validation import check_positive_int, check_raster

__all__ = ["SeamReport", "seam_report", "seam_classifier_auc", "boundary_starts",
           "null_phases_of"]


def boundary_starts(n_time_bins: int, segment_length: int, n_bins: int, offset: int = 0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Start bins of stride-1 windows that straddle a boundary, and of those that do not.

    Boundaries lie before bins ``offset + k * segment_length`` (k >= 1).

    Examples
    --------
    >>> straddle, within = boundary_starts(12, 4, 3)
    >>> straddle.tolist(), within.tolist()
    ([2, 3, 6, 7], [0, 1, 4, 5, 8, 9])
    """
    starts = np.arange(0, n_time_bins - n_bins + 1)
    phase = (starts - offset) % segment_length
    crosses = phase + n_bins > segment_length  # a boundary falls strictly inside the window
    crosses &= starts + n_bins > offset + segment_length  # no boundary before the first piece
    return starts[crosses], starts[~crosses]


def _windows(raster: np.ndarray, starts: np.ndarray, n_bins: int) -> np.ndarray:
    idx = starts[:, None] + np.arange(n_bins)[None]
    return np.ascontiguousarray(raster[idx].transpose(0, 2, 1))  # (n, neurons, bins)


def _features(windows: np.ndarray) -> np.ndarray:
    """Features that span the centre of ``(n, neurons, 2h)`` windows."""
    h = windows.shape[2] // 2
    x = windows.astype(np.float32)
    counts = x.sum(axis=1)  # (n, 2h) population count per bin
    left, right = counts[:, :h].sum(1), counts[:, h:].sum(1)
    across = counts[:, h - 1] * counts[:, h]
    same = (x[:, :, h - 1] * x[:, :, h]).sum(1)  # same neuron in both central bins
    per_neuron = (x[:, :, :h].sum(2) * x[:, :, h:].sum(2)).sum(1)
    return np.column_stack([counts, left, right, left * right, across, same, per_neuron,
                            np.abs(left - right)])


def _logistic_scores(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                     l2: float = 1.0) -> np.ndarray:
    from scipy.optimize import minimize

    mu, sd = x_train.mean(0), x_train.std(0) + 1e-9
    a = np.column_stack([(x_train - mu) / sd, np.ones(len(x_train))])
    b = np.column_stack([(x_test - mu) / sd, np.ones(len(x_test))])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = a @ w
        p = 1.0 / (1.0 + np.exp(-z))
        nll = np.sum(np.logaddexp(0.0, z) - y_train * z) + 0.5 * l2 * np.sum(w[:-1] ** 2)
        grad = a.T @ (p - y_train) + l2 * np.r_[w[:-1], 0.0]
        return float(nll), grad

    w = minimize(loss, np.zeros(a.shape[1]), jac=True, method="L-BFGS-B").x
    return b @ w


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    from scipy.stats import rankdata

    ranks = rankdata(scores)
    pos = labels == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def seam_classifier_auc(raster: Any, segment_length: int, *, half_width: int = 8,
                        offset: int = 0, max_windows: int = 20000, seed: int = 0) -> float:
    """Cross-validated AUC of telling boundary-centred from piece-centred windows (0.5: none).

    Two-fold: each half of the windows (chosen at random) scores the other.
    """
    raster = check_raster(raster, "raster")
    segment_length = check_positive_int(segment_length, "segment_length")
    h = check_positive_int(half_width, "half_width")
    if 2 * h > segment_length:
        raise ConfigError(f"`half_width` must be at most segment_length / 2 = "
                          f"{segment_length // 2}. Received {h}.")
    t = raster.shape[0]
    seams = np.arange(offset + segment_length, t - h + 1, segment_length)
    seams = seams[seams >= h]
    mids = seams - segment_length // 2
    mids = mids[mids >= h]
    rng = np.random.default_rng(seed)
    n = min(len(seams), len(mids), max_windows // 2)
    if n < 20:
        raise ConfigError(f"The raster holds only {n} boundaries of {segment_length}-bin "
                          "pieces; the seam classifier needs at least 20.")
    seams, mids = rng.choice(seams, n, replace=False), rng.choice(mids, n, replace=False)
    x = _features(_windows(raster, np.r_[seams, mids] - h, 2 * h))
    y = np.r_[np.ones(n), np.zeros(n)]
    fold = rng.permutation(2 * n) % 2 == 0
    scores = np.empty(2 * n)
    scores[fold] = _logistic_scores(x[~fold], y[~fold], x[fold])
    scores[~fold] = _logistic_scores(x[fold], y[fold], x[~fold])
    return _auc(scores, y)


@dataclass(frozen=True)
class SeamReport:
    """What :func:`seam_report` measured."""

    segment_length: int
    n_bins: int
    n_straddling: int
    n_within: int
    error_straddling: dict[str, float]
    error_within: dict[str, float]
    ratio: dict[str, float]
    auc: float
    null_phases: tuple[int, ...] = ()
    null_ratio: dict[str, tuple[float, ...]] = field(default_factory=dict)
    null_auc: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)

    def p_values(self) -> dict[str, float]:
        """Per statistic (and ``"auc"``): ``(1 + #pseudo-boundaries at or above) / (K + 1)``.

        The share of the raster's own pseudo-boundaries that look at least as far from
        seamless as the real ones (empty without ``null_phases``): for a ratio, as far from 1
        either way (``|log ratio|``: a phase half a piece on compares the same two window sets
        the other way round, so only the two-sided measure is the same at every phase of
        :func:`null_phases_of`); for the AUC, as high. A seamless raster's real boundaries
        are one more phase like the others, so each check is at most ``q`` with probability
        about ``q``; the smallest value is ``1 / (K + 1)``. (One-sided, the ratios flagged 11
        of 63 checks on 9 retina rasters with no seams, where 2 were due; two-sided, 3:
        ``benchmarks/results/temporal_lag200/seam_null_calibration.json``.)
        """
        if not self.null_phases:
            return {}
        k = len(self.null_phases)
        out = {n: (1 + sum(abs(np.log(v)) >= abs(np.log(r)) for v in self.null_ratio[n]))
               / (k + 1) for n, r in self.ratio.items()}
        out["auc"] = (1 + sum(v >= self.auc for v in self.null_auc)) / (k + 1)
        return out

    def beyond_null(self) -> dict[str, bool]:
        """Per statistic (and ``"auc"``): is the boundary further out than every pseudo-boundary?

        Empty without ``null_phases``. With ``K`` pseudo-boundaries a seamless raster is
        flagged on a given check with probability about ``1 / (K + 1)``: read several
        checks, or many phases, before calling a seam.
        """
        k = len(self.null_phases)
        return {n: p <= 1 / (k + 1) for n, p in self.p_values().items()}

    def lines(self) -> list[str]:
        """The printed report."""
        null = bool(self.null_phases)
        out = [f"seam test: pieces of {self.segment_length} bins; {self.n_straddling} "
               f"{self.n_bins}-bin windows straddle a boundary, {self.n_within} do not",
               f"{'statistic':<26} {'straddling':>11} {'within':>11} {'ratio':>7}"
               + (f"  own noise ({len(self.null_phases)} pseudo-boundaries)" if null else "")]
        beyond = self.beyond_null()
        for name, r in self.ratio.items():
            line = (f"{name:<26} {self.error_straddling[name]:11.3g} "
                    f"{self.error_within[name]:11.3g} {r:7.2f}")
            if null:
                lo, hi = min(self.null_ratio[name]), max(self.null_ratio[name])
                line += f"  {lo:.2f}-{hi:.2f}" + ("  SEAM" if beyond[name] else "")
            out.append(line)
        line = f"seam classifier AUC {self.auc:.3f} (0.5: boundaries invisible)"
        if null:
            line += (f"; own noise {min(self.null_auc):.3f}-{max(self.null_auc):.3f}"
                     + ("  SEAM" if beyond["auc"] else ""))
        out.append(line)
        return out


def null_phases_of(segment_length: int, k: int) -> np.ndarray:
    """Up to ``k`` phases of pseudo-boundaries, evenly spaced over half a piece with the real one.

    A phase ``p`` puts pseudo-boundaries ``p`` bins after each real one; its checks compare
    the windows there with those half a piece away, so phases ``p`` and ``p + L / 2`` compare
    the same two sets (``L = segment_length``), and phase ``L / 2`` would compare the real
    boundaries again. The phases are the multiples of a spacing ``s`` that divides ``L / 2``
    (the smallest with at most ``k`` of them, if it leaves at least ``k / 2``; else
    ``L / 2 / (k + 1)``, rounded) below ``L / 2``: with the real boundaries, evenly spaced
    pairs of window sets that a seamless (stationary) raster cannot tell apart, since
    shifting it by ``s`` bins moves each pair to the next (the last to the real one, its two
    sets swapped: the same AUC, the inverse ratios). So a seamless raster's real boundaries
    rank uniformly among ``K`` pseudo-boundaries on the AUC and on ``|log ratio|``
    (:meth:`SeamReport.p_values`) and are beyond all of them with probability
    ``1 / (K + 1)`` (up to the raster's ends); pseudo-boundaries near the real ones share
    windows with them, which costs power against a real seam, not validity. (Session 20's
    phases, kept clear of the real boundaries, with one-sided ratios, flagged 17 of 126 checks
    of retina rasters that are the same whatever their chunks, where about 4 were due.)

    Examples
    --------
    >>> null_phases_of(256, 4).tolist()  # spacing 32 of the half piece
    [32, 64, 96]
    >>> null_phases_of(256, 32).tolist()[:3], len(null_phases_of(256, 32))  # spacing 4
    ([4, 8, 12], 31)
    >>> null_phases_of(100, 4).tolist()  # 50 / 5 = 10
    [10, 20, 30, 40]
    >>> null_phases_of(14, 2).tolist()  # no divisor of 7 leaves 1 or 2: 7 / 3, rounded
    [2, 5]
    """
    half = segment_length // 2
    if k <= 0 or half < 2:
        return np.zeros(0, int)
    for spacing in range(1, half):
        n = half // spacing - 1
        if half % spacing == 0 and n <= k:
            if 2 * n >= k:
                return spacing * np.arange(1, n + 1)
            break
    k = min(k, half - 1)
    return np.unique(np.round(np.arange(1, k + 1) * half / (k + 1)).astype(int))


def _ratios(raster: np.ndarray, ref: Any, segment_length: int, n_bins: int, offset: int
            ) -> tuple[int, dict[str, float], dict[str, float], dict[str, float]]:
    """Both window sets at the boundaries of ``offset``: size, errors and their ratio."""
    from spikegan_tf.evaluation.compare import HEADLINE, compare

    straddle, _ = boundary_starts(raster.shape[0], segment_length, n_bins, offset)
    within = straddle - segment_length // 2  # the same windows, centred between boundaries
    keep = within >= offset
    straddle, within = straddle[keep], within[keep]
    if len(straddle) == 0:
        raise ConfigError(f"The raster ({raster.shape[0]} bins) is too short for windows both "
                          f"across and inside {segment_length}-bin pieces.")
    res = compare(ref, {"straddling": _windows(raster, straddle, n_bins),
                        "within": _windows(raster, within, n_bins)}, statistics=HEADLINE)
    err_s = {k: float(m.mae) for k, m in res.metrics["straddling"].items()}
    err_w = {k: float(m.mae) for k, m in res.metrics["within"].items()}
    ratio = {k: err_s[k] / err_w[k] if err_w[k] > 0 else float("inf") for k in HEADLINE}
    return len(straddle), err_s, err_w, ratio


def seam_report(raster: Any, reference: Any, segment_length: int, *, n_bins: int = 32,
                offset: int = 0, half_width: int | None = None, seed: int = 0,
                null_phases: int = 0) -> SeamReport:
    """Both seam checks of a generated raster (see the module docstring).

    Parameters
    ----------
    raster : array_like
        Generated raster ``(n_time_bins, n_neurons)``.
    reference : array_like or Statistics
        Real data: a raster or windows of ``n_bins``, or their statistics (computed
        once by :func:`~spikegan_tf.evaluation.as_statistics` when several rasters are
        tested against the same data).
    segment_length : int
        Bins the generator made at a time.
    n_bins : int
        Window length of the statistics (shorter than ``segment_length``).
    offset : int
        Bin where the first piece starts.
    half_width : int, optional
        Half the classifier's window (default ``min(8, segment_length // 2)``).
    seed : int
        Seed of the classifier's subsampling and folds.
    null_phases : int
        Also repeat both checks at up to this many pseudo-boundaries
        (:func:`null_phases_of`; 0: none).
    """
    from spikegan_tf.evaluation.compare import as_statistics

    raster = check_raster(raster, "raster")
    segment_length = check_positive_int(segment_length, "segment_length")
    n_bins = check_positive_int(n_bins, "n_bins")
    if n_bins > segment_length // 2 + 1:
        raise ConfigError(f"`n_bins` must be at most segment_length / 2 + 1 = "
                          f"{segment_length // 2 + 1} so that windows fit inside one piece, "
                          f"opposite the boundary windows. Received {n_bins}.")
    check_param("null_phases", null_phases, Integer(min=0))
    ref = as_statistics(reference, n_bins=n_bins, label="reference")
    n, err_s, err_w, ratio = _ratios(raster, ref, segment_length, n_bins, offset)
    h = min(8, segment_length // 2) if half_width is None else half_width
    auc = seam_classifier_auc(raster, segment_length, half_width=h, offset=offset, seed=seed)
    phases, null_auc = [], []
    null_ratio: dict[str, list[float]] = {k: [] for k in ratio}
    for p in null_phases_of(segment_length, int(null_phases)):
        try:  # a pseudo-boundary may leave one boundary fewer than the classifier needs
            a = seam_classifier_auc(raster, segment_length, half_width=h,
                                    offset=offset + int(p), seed=seed)
        except ConfigError:
            continue
        for k, r in _ratios(raster, ref, segment_length, n_bins, offset + int(p))[3].items():
            null_ratio[k].append(r)
        phases.append(int(p))
        null_auc.append(a)
    return SeamReport(segment_length, n_bins, n, n, err_s, err_w, ratio, auc, tuple(phases),
                      {k: tuple(v) for k, v in null_ratio.items()} if phases else {},
                      tuple(null_auc))

"""What is compared, statistic by statistic (:data:`STATISTICS`, :data:`HEADLINE`), and the
error metrics of one candidate against the reference (:class:`Metric`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from spikegan_tf.errors import ConfigError
from spikegan_tf.statistics import (
    Statistics,
)

__all__ = ["STATISTICS", "HEADLINE", "Metric"]


def _offdiag(m: np.ndarray) -> np.ndarray:
    return m[~np.eye(m.shape[0], dtype=bool)]


# name -> (extract compared entries, is a probability distribution, description)
STATISTICS: dict[str, tuple[Any, bool, str]] = {
    "firing_probability": (lambda s: s.firing_probability, False,
                           "firing probability per neuron"),
    "covariance": (lambda s: _offdiag(s.covariance), False,
                   "single-bin covariances (off-diagonal)"),
    "lag1_covariance": (lambda s: s.lagged_covariance[0].ravel(), False,
                        "lag-1 cross-covariances cov(x_i(t), x_j(t+1)), all pairs"),
    "spike_count_distribution": (lambda s: s.spike_count_distribution, True,
                                 "population spike-count distribution P(K)"),
    "autocorrelogram": (lambda s: s.autocorrelogram[s.max_lag + 1:], False,
                        "normalised population autocorrelogram (reference code), lags 1..L"),
    "time_course": (lambda s: s.time_course.ravel(), False,
                    "mean firing probability of each neuron at each bin of the window"),
    "variance": (lambda s: s.variance, False, "single-bin variance per neuron"),
    "correlation": (lambda s: _offdiag(s.correlation), False,
                    "single-bin correlation coefficients (off-diagonal)"),
    "lagged_covariance": (lambda s: s.lagged_covariance.ravel(), False,
                          "lagged cross-covariances, lags 1..L, all pairs"),
    "isi_distribution": (lambda s: s.isi_distribution[1:], True,
                         "within-window inter-spike-interval distribution"),
    "spike_count_correlation": (lambda s: _offdiag(s.spike_count_correlation), False,
                                "correlations of spike counts per window (off-diagonal)"),
    "words": (lambda s: s.words, True, "single-bin activity words of the word group"),
    "multibin_words": (lambda s: s.multibin_words, True,
                       "multi-bin activity words of the word group"),
    "word_entropy": (lambda s: np.array([s.word_entropy]), False,
                     "plug-in entropy of the single-bin words (bits)"),
    "multibin_word_entropy": (lambda s: np.array([s.multibin_word_entropy]), False,
                              "plug-in entropy of the multi-bin words (bits)"),
    "entropy": (lambda s: np.array([s.entropy]), False,
                "plug-in entropy of whole windows (bits; only when N*T <= 64)"),
}

# the statistics shown first (the paper's retina figure and the README's noise floors)
HEADLINE = (
    "firing_probability",
    "covariance",
    "lag1_covariance",
    "spike_count_distribution",
    "autocorrelogram",
    "time_course",
)


def _finite(x: float | None) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return float(x)


@dataclass(frozen=True)
class Metric:
    """Errors of one statistic of one candidate against the reference."""

    mae: float
    sae: float
    pearson_r: float
    n_entries: int
    ratio_to_floor: float = float("nan")
    kl: float | None = None
    js: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; non-finite values (undefined, infinite KL) become None."""
        out = {
            "mae": _finite(self.mae),
            "sae": _finite(self.sae),
            "pearson_r": _finite(self.pearson_r),
            "ratio_to_floor": _finite(self.ratio_to_floor),
            "n_entries": self.n_entries,
        }
        if self.js is not None:
            out["kl"] = _finite(self.kl)
            out["kl_infinite"] = self.kl is not None and math.isinf(self.kl)
            out["js"] = _finite(self.js)
        return out


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _divergences(p: np.ndarray, q: np.ndarray) -> tuple[float, float]:
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import entropy

    if np.isnan(p).any() or np.isnan(q).any() or p.sum() <= 0 or q.sum() <= 0:
        return float("nan"), float("nan")
    kl = float(entropy(p, q, base=2))
    js = float(jensenshannon(p, q, base=2) ** 2)
    return kl, js


def _metric(name: str, ref: Statistics, cand: Statistics) -> Metric:
    extract, is_dist, _ = STATISTICS[name]
    a, b = extract(ref), extract(cand)
    ok = np.isfinite(a) & np.isfinite(b)
    err = np.abs(a[ok] - b[ok])
    n = int(ok.sum())
    mae = float(err.mean()) if n else float("nan")
    sae = float(err.sum()) if n else float("nan")
    if name == "autocorrelogram":
        sae *= 2.0  # the reference code sums lags -L..L; the curve is symmetric
    kl = js = None
    if is_dist:
        kl, js = _divergences(a, b)
    return Metric(mae=mae, sae=sae, pearson_r=_pearson(a[ok], b[ok]), n_entries=n, kl=kl, js=js)


def _check_comparable(ref: Statistics, other: Statistics, label: str) -> None:
    if ref.params() != other.params():
        diff = {k: (v, other.params()[k]) for k, v in ref.params().items()
                if other.params()[k] != v}
        text = ", ".join(f"{k}: reference {a} vs {b}" for k, (a, b) in diff.items())
        raise ConfigError(
            f"The statistics of '{label}' were computed with other settings than the "
            f"reference's ({text}). Recompute them with the reference's settings."
        )

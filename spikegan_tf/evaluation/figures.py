"""Figures of a comparison, in the style of the Spike-GAN paper's retina figure.

Needs matplotlib (``pip install spikegan-tf[plot]``), imported inside the
functions. Figures are drawn on their own ``Figure`` objects with the Agg
canvas: no pyplot, no global state, safe in threads and on headless machines.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf.evaluation.compare import HEADLINE, ComparisonResult

__all__ = ["plot_comparison", "plot_ratios", "require_matplotlib"]

_REF_COLOR = "black"
_FLOOR_COLOR = "0.55"
_MAX_MARKERS = 20_000  # more points than this are drawn as a 2-D histogram, not markers
_MEDIAN_BINS = 30  # bins of the reference's values in which each label's median is drawn
_MIN_BIN = 20  # points a bin needs for its median to be drawn


def require_matplotlib() -> Any:
    """Import matplotlib (Agg canvas) or raise ImportError saying how to install it."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Figures need matplotlib: pip install 'spikegan-tf[plot]'"
        ) from exc
    return Figure, FigureCanvasAgg


def _styles(result: ComparisonResult) -> dict[str, dict[str, Any]]:
    cycle = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
             "#17becf", "#bcbd22"]
    out = {label: {"color": cycle[i % len(cycle)], "ls": "-", "marker": "o"}
           for i, label in enumerate(result.labels)}
    if result.noise_floor_label:
        out[result.noise_floor_label] = {"color": _FLOOR_COLOR, "ls": "--", "marker": "s"}
    return out


def _ratio_text(result: ComparisonResult, statistic: str) -> str:
    if not result.noise_floor_label:
        return ""
    parts = []
    for label in result.labels:
        r = result.metrics[label][statistic].ratio_to_floor
        if math.isfinite(r):
            parts.append(f"{label}: {r:.2f}x floor")
    return "\n".join(parts)


def _scatter(ax, result, styles, statistic, getter, title, xlabel):
    """Each label's values against the reference's: markers, or past ``_MAX_MARKERS`` points
    (0.5 M neuron pairs of 1,024 neurons) a 2-D histogram and binned medians."""
    ref = getter(result.statistics[result.reference_label])
    # the floor first, underneath the models
    order = ([result.noise_floor_label] if result.noise_floor_label else []) + list(result.labels)
    ys = {label: getter(result.statistics[label]) for label in order}
    if ref.size > _MAX_MARKERS:
        lo, hi = _density(ax, ref, ys, result, styles)
    else:
        lo, hi = _markers(ax, ref, ys, result, styles)
    pad = 0.03 * (hi - lo if hi > lo else 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color=_REF_COLOR, lw=0.8)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("model (held-out: grey squares)", fontsize=8)
    ax.ticklabel_format(style="sci", scilimits=(-2, 3), axis="both")
    text = _ratio_text(result, statistic)
    if text:
        ax.text(0.03, 0.97, text, transform=ax.transAxes, va="top", fontsize=7,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})


def _markers(ax, ref, ys, result, styles):
    lo, hi = np.nanmin(ref), np.nanmax(ref)
    for label, y in ys.items():
        st = styles[label]
        ax.scatter(ref, y, s=float(np.clip(8000 / max(ref.size, 1), 5, 24)), color=st["color"],
                   alpha=0.45 if label in result.labels else 0.6, marker=st["marker"],
                   linewidths=0, label=label, rasterized=True)
        lo, hi = min(lo, np.nanmin(y)), max(hi, np.nanmax(y))
    return lo, hi


def _density(ax, ref, ys, result, styles):
    """2-D histogram (log counts) of the first model against the reference, and every
    label's median in equal-width bins of the reference; the axes span the 0.1-99.9 %
    quantiles of all values."""
    from matplotlib import patheffects

    step = max(1, ref.size // 100_000)  # quantiles of a regular sample are enough for axes
    finite = np.concatenate([v[::step][np.isfinite(v[::step])] for v in (ref, *ys.values())])
    lo, hi = (float(q) for q in np.quantile(finite, [0.001, 0.999])) if finite.size else (0, 0)
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    main = result.labels[0]
    ok = np.isfinite(ref) & np.isfinite(ys[main])
    if ok.any():
        ax.hexbin(ref[ok], ys[main][ok], gridsize=60, bins="log", mincnt=1, cmap="Greys",
                  extent=(lo, hi, lo, hi), linewidths=0, rasterized=True)
    groups = _bins(ref, lo, hi)
    x = np.array([np.median(ref[g]) for g in groups])
    outline = [patheffects.Stroke(linewidth=3.2, foreground="white"), patheffects.Normal()]
    for label, y in ys.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a bin of NaN only
            med = np.array([np.nanmedian(y[g]) for g in groups])
        st = styles[label]
        ax.plot(x, med, color=st["color"], ls=st["ls"], lw=1.6, marker=st["marker"], ms=3,
                label=label, path_effects=outline)
    ax.text(0.97, 0.03, f"{ref.size:,} pairs: shading {main} (log count),\nlines: medians in "
            "bins of the reference", transform=ax.transAxes, ha="right", va="bottom",
            fontsize=6, bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
    return lo, hi


def _bins(ref: np.ndarray, lo: float, hi: float) -> list[np.ndarray]:
    """Indices of ``ref`` in ``_MEDIAN_BINS`` equal-width bins of ``[lo, hi]``, the bins of
    fewer than ``_MIN_BIN`` points left out."""
    with np.errstate(invalid="ignore"):
        k = np.floor((ref - lo) / (hi - lo) * _MEDIAN_BINS)
    inside = np.flatnonzero((k >= 0) & (k <= _MEDIAN_BINS))  # False for NaN
    k = np.minimum(k[inside], _MEDIAN_BINS - 1).astype(np.int16)
    order = inside[np.argsort(k, kind="stable")]  # a counting sort of small integers
    cuts = np.concatenate([[0], np.cumsum(np.bincount(k, minlength=_MEDIAN_BINS))])
    return [order[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b - a >= _MIN_BIN]


def _lines(ax, result, styles, x, getter, title, xlabel, ylabel, statistic=None, logy=False):
    ref = result.statistics[result.reference_label]
    ax.plot(x, getter(ref), color=_REF_COLOR, lw=2.2, label=result.reference_label)
    for label in ([result.noise_floor_label] if result.noise_floor_label else []) + list(
        result.labels
    ):
        st = styles[label]
        ax.plot(x, getter(result.statistics[label]), color=st["color"], ls=st["ls"], lw=1.3,
                label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    if statistic:
        text = _ratio_text(result, statistic)
        if text:
            ax.text(0.97, 0.97, text, transform=ax.transAxes, va="top", ha="right", fontsize=7,
                    bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})


def _offdiag(m: np.ndarray) -> np.ndarray:
    return m[~np.eye(m.shape[0], dtype=bool)]


def plot_comparison(
    result: ComparisonResult,
    path: str | os.PathLike,
    *,
    examples: Mapping[str, np.ndarray] | None = None,
    title: str | None = None,
    dpi: int = 110,
) -> Path:
    """Draw the retina-style comparison figure and save it (PNG by the file suffix).

    Panels: example windows; firing probabilities, covariances, lag-1 covariances
    and spike-count correlations of every model (and the held-out noise floor,
    grey squares) against the reference; P(K); the normalised autocorrelogram;
    the population-mean time course within the window; the inter-spike-interval
    distribution. A panel of more than 20,000 points (the 0.5 M neuron pairs of
    1,024 neurons) shows a 2-D histogram of the first model against the reference
    (log counts) and every label's median in bins of the reference, not markers.

    Parameters
    ----------
    result : ComparisonResult
    path : path
        Output file.
    examples : mapping of str to array, optional
        One window ``(N, T)`` per label (reference, models, held-out) to draw;
        at most four are shown.
    title : str, optional
    dpi : int
    """
    Figure, FigureCanvasAgg = require_matplotlib()
    styles = _styles(result)
    fig = Figure(figsize=(16, 12), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    gs = fig.add_gridspec(3, 4, height_ratios=[0.8, 1, 1])
    ref_st = result.statistics[result.reference_label]
    # row 0: example windows
    shown = list((examples or {}).items())[:4]
    for col in range(4):
        ax = fig.add_subplot(gs[0, col])
        if col >= len(shown):
            ax.axis("off")
            continue
        label, window = shown[col]
        window = np.asarray(window)
        n_rows, n_cols = window.shape
        t, i = np.nonzero(window.T)
        color = styles.get(label, {"color": _REF_COLOR})["color"]
        ax.scatter(t, i, marker="|", s=18, color=color, linewidths=1.2)
        ax.set_xlim(-0.5, n_cols - 0.5)
        ax.set_ylim(-0.5, n_rows - 0.5)
        ax.set_title(f"{label}: example window", fontsize=10)
        ax.set_xlabel("bin", fontsize=8)
        ax.set_ylabel("neuron", fontsize=8)
    # row 1: scatter plots against the reference
    _scatter(fig.add_subplot(gs[1, 0]), result, styles, "firing_probability",
             lambda s: s.firing_probability, "firing probability", result.reference_label)
    _scatter(fig.add_subplot(gs[1, 1]), result, styles, "covariance",
             lambda s: _offdiag(s.covariance), "covariance (single bin)",
             result.reference_label)
    _scatter(fig.add_subplot(gs[1, 2]), result, styles, "lag1_covariance",
             lambda s: s.lagged_covariance[0].ravel(), "lag-1 cross-covariance",
             result.reference_label)
    _scatter(fig.add_subplot(gs[1, 3]), result, styles, "spike_count_correlation",
             lambda s: _offdiag(s.spike_count_correlation), "spike-count correlation (window)",
             result.reference_label)
    # row 2: curves
    K = np.arange(ref_st.n_neurons + 1)
    ax = fig.add_subplot(gs[2, 0])
    with np.errstate(divide="ignore"):
        _lines(ax, result, styles, K, lambda s: np.where(s.spike_count_distribution > 0,
                                                         s.spike_count_distribution, np.nan),
               "population spike count P(K)", "K (spikes in one bin)", "probability",
               "spike_count_distribution", logy=True)
    kmax = np.flatnonzero(ref_st.spike_count_distribution > 0)
    if kmax.size:
        ax.set_xlim(-0.5, min(ref_st.n_neurons, kmax[-1] + 3) + 0.5)
    L = ref_st.max_lag
    lags = np.arange(-L, L + 1)
    _lines(fig.add_subplot(gs[2, 1]), result, styles, lags, lambda s: s.autocorrelogram,
           "autocorrelogram (normalised)", "lag (bins)", "coincidences / spikes",
           "autocorrelogram")
    bins = np.arange(ref_st.n_bins)
    ax = fig.add_subplot(gs[2, 2])
    _lines(ax, result, styles, bins, lambda s: s.time_course.mean(axis=0),
           "mean time course in the window", "bin", "mean firing probability", "time_course")
    top = max(float(np.nanmax(s.time_course.mean(axis=0))) for s in result.statistics.values())
    if math.isfinite(top) and top > 0:
        ax.set_ylim(0, 1.5 * top)  # from zero: edge effects show, sampling noise does not
    ax = fig.add_subplot(gs[2, 3])
    _lines(ax, result, styles, bins[1:],
           lambda s: np.where(s.isi_distribution[1:] > 0, s.isi_distribution[1:], np.nan),
           "inter-spike intervals (within windows)", "interval (bins)", "probability",
           "isi_distribution", logy=True)
    handles, labels = fig.axes[-1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(6, len(labels)),
               fontsize=9, frameon=False)
    fig.suptitle(title or f"Statistics vs {result.reference_label}", fontsize=13)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def plot_ratios(
    result: ComparisonResult,
    path: str | os.PathLike,
    *,
    statistics: tuple[str, ...] | None = None,
    target: float | None = 1.5,
    dpi: int = 110,
) -> Path:
    """Bar chart of each model's error as a multiple of the noise floor's (log scale).

    Needs a result with a noise floor. ``target`` draws a dashed line (e.g. 1.5x).
    """
    if not result.noise_floor_label:
        raise ValueError("plot_ratios needs a comparison with a noise floor.")
    Figure, FigureCanvasAgg = require_matplotlib()
    names = [n for n in (statistics or HEADLINE + tuple(
        n for n in result.metrics[result.labels[0]] if n not in HEADLINE))
        if n in result.metrics[result.labels[0]]]
    styles = _styles(result)
    fig = Figure(figsize=(8, 0.18 * len(names) * (1 + 0.5 * len(result.labels)) + 1.8),
                 dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    height = 0.8 / len(result.labels)
    y = np.arange(len(names))
    for k, label in enumerate(result.labels):
        vals = np.array([result.metrics[label][n].ratio_to_floor for n in names])
        ax.barh(y - 0.4 + height * (k + 0.5), np.where(np.isfinite(vals), vals, np.nan),
                height=height, color=styles[label]["color"], label=label)
    ax.axvline(1.0, color=_FLOOR_COLOR, lw=1.5, label="noise floor (held-out data)")
    if target:
        ax.axvline(target, color=_FLOOR_COLOR, lw=1, ls="--", label=f"{target:g}x floor")
    ax.set_xscale("log")
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("mean absolute error / noise floor's (log scale)")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)),
               fontsize=8, frameon=False)
    ax.set_title(f"Errors vs {result.reference_label}, relative to held-out data", fontsize=11)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path

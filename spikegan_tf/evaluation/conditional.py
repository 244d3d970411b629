"""Evaluation of conditional generation: per condition, by decoding, by tuning curves.

A conditional generator makes windows for a given condition: a label per window
(stimulus id) and/or a covariate series ``(n_bins, n_covariates)`` per window.
Three checks, each next to what real data achieve:

* :func:`compare_by_condition`: :func:`~spikegan_tf.evaluation.compare.compare`
  run inside each condition, so every statistic of the generated windows is a
  multiple of that condition's held-out floor; :func:`covariate_groups` turns
  covariates into quantile groups when there are no labels;
* :func:`~spikegan_tf.evaluation.decoding.decoding_report`: a multinomial logistic-regression decoder
  (:class:`LogisticDecoder`, no scikit-learn) trained on real windows and tested
  on generated ones, and the reverse, against real-vs-real accuracy;
  :func:`covariate_decoding_report` does the same for covariates with ridge
  regression (R^2);
* :func:`tuning_curves` and :func:`tuning_correlation`: mean firing per class
  against a ground truth (simulated data).

:func:`conditional_markdown` writes the report section and :func:`plot_conditional`
the figure (matplotlib, imported lazily). Labels are 1-D integer arrays
``(n_samples,)``; covariates are float ``(n_samples, n_bins, n_covariates)``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf.data.source import WindowedSpikes, windowed_spikes
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.evaluation.compare import ComparisonResult, compare
from spikegan_tf.evaluation.metrics import HEADLINE
from spikegan_tf.params import Integer, Options, check_param
from spikegan_tf.statistics import DEFAULT_WORD_BINS
from spikegan_tf.validation import format_values

__all__ = ["ConditionalComparison", "compare_by_condition", "covariate_groups",
           "tuning_curves", "tuning_correlation", "conditional_markdown", "plot_conditional"]

_CHUNK = 4096  # windows read at once from a raster


# ----------------------------------------------------------------------------- checks

def _source(data: Any, name: str) -> WindowedSpikes:
    return windowed_spikes(data, name=name)


def _labels(labels: Any, n: int, name: str, windows_name: str) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise SpikeDataError(f"`{name}` must be a 1-D array of integer labels. Received shape "
                             f"{arr.shape}, dtype {arr.dtype}.")
    if arr.shape[0] != n:
        raise SpikeDataError(f"`{name}` has {arr.shape[0]} labels but `{windows_name}` has {n} "
                             "windows: give one label per window.")
    return arr.astype(np.int64, copy=False)


def _subset(labels: np.ndarray, of: np.ndarray, name: str, of_name: str) -> None:
    extra = np.setdiff1d(labels, of)
    if extra.size:
        raise ConfigError(f"`{name}` holds condition(s) {format_values(extra)} that `{of_name}` "
                          "does not: every condition needs real windows to compare with.")


def _covariates(covariates: Any, name: str, n: int | None = None,
                n_bins: int | None = None) -> np.ndarray:
    arr = np.asarray(covariates)
    if arr.ndim != 3 or arr.dtype.kind not in "iuf":
        raise SpikeDataError(f"`{name}` must be a real array (n_samples, n_bins, n_covariates). "
                             f"Received shape {arr.shape}, dtype {arr.dtype}.")
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        raise SpikeDataError(f"`{name}` must be finite. Received {int(np.isnan(arr).sum())} NaN "
                             f"and {int(np.isinf(arr).sum())} infinite values.")
    if n is not None and (arr.shape[0], arr.shape[1]) != (n, n_bins):
        raise SpikeDataError(f"`{name}` must have shape ({n}, {n_bins}, n_covariates), one "
                             f"covariate series per window. Received shape {arr.shape}.")
    return arr


def _fmt_ratio(x: float) -> str:
    return f"{x:.2f}x" if math.isfinite(x) else "n/a"


# -------------------------------------------------------------------- per condition

@dataclass(frozen=True, eq=False)
class ConditionalComparison:
    """:func:`~spikegan_tf.evaluation.compare.compare` inside each condition.

    Attributes
    ----------
    conditions : tuple of int
        The conditions compared, in increasing order.
    results : dict
        ``results[condition]`` -> :class:`~spikegan_tf.evaluation.compare.ComparisonResult`
        of the generated windows (row ``generated_label``) against the reference,
        with the held-out windows of that condition as the floor.
    skipped : dict
        ``skipped[condition]`` -> why it was not compared (too few windows).
    n_windows : dict
        ``n_windows[condition]`` -> ``(reference, held-out, generated)`` window counts,
        skipped conditions included.
    generated_label : str
    """

    conditions: tuple[int, ...]
    results: Mapping[int, ComparisonResult]
    skipped: Mapping[int, str]
    n_windows: Mapping[int, tuple[int, int, int]]
    generated_label: str = "generated"

    @property
    def statistic_names(self) -> tuple[str, ...]:
        """The statistics compared (those of the first condition)."""
        return tuple(self.results[self.conditions[0]].metrics[self.generated_label])

    def ratios(self, statistic: str) -> np.ndarray:
        """Ratio to the per-condition floor of ``statistic``, one per condition (NaN: undefined)."""
        return np.array([self.results[c].metrics[self.generated_label][statistic].ratio_to_floor
                         if statistic in self.results[c].metrics[self.generated_label]
                         else np.nan for c in self.conditions])

    def summary(self) -> dict[str, dict[str, Any]]:
        """``statistic`` -> ``median``, ``max`` ratio, ``worst_condition`` and ``n_conditions``
        (finite ratios only; NaN and None when there is none)."""
        out = {}
        for name in self.statistic_names:
            r = self.ratios(name)
            ok = np.isfinite(r)
            worst = self.conditions[int(np.flatnonzero(ok)[np.argmax(r[ok])])] if ok.any() else None
            out[name] = {"median": float(np.median(r[ok])) if ok.any() else float("nan"),
                         "max": float(r[ok].max()) if ok.any() else float("nan"),
                         "worst_condition": worst, "n_conditions": int(ok.sum())}
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: conditions, skipped ones, window counts, per-condition metrics, summary."""
        def clean(x: Any) -> Any:
            return x if not isinstance(x, float) or math.isfinite(x) else None
        return {
            "generated": self.generated_label,
            "conditions": list(self.conditions),
            "skipped": {str(c): why for c, why in self.skipped.items()},
            "n_windows": {str(c): dict(zip(("reference", "held_out", "generated"), n, strict=True))
                          for c, n in self.n_windows.items()},
            "results": {str(c): self.results[c].to_dict()["results"] for c in self.conditions},
            "summary": {k: {a: clean(b) for a, b in v.items()} for k, v in self.summary().items()},
        }


def compare_by_condition(
    reference: Any, reference_labels: Any,
    held_out: Any, held_out_labels: Any,
    generated: Any, generated_labels: Any,
    *,
    min_windows: int = 10,
    on_small: str = "skip",
    statistics: tuple[str, ...] | None = None,
    max_lag: int | None = None,
    word_neurons: Any = None,
    word_bins: int = DEFAULT_WORD_BINS,
    generated_label: str = "generated",
) -> ConditionalComparison:
    """Compare generated windows with real ones condition by condition, each with its own floor.

    For every condition (label) of the reference, :func:`~spikegan_tf.evaluation.compare.compare`
    runs on that condition's windows: the reference's, the generated ones as the candidate and
    the held-out ones as the noise floor, so each error is a multiple of what held-out real
    windows of the same condition achieve.

    Parameters
    ----------
    reference, held_out, generated : array_like or WindowedSpikes
        Windows ``(n, n_neurons, n_bins)`` (real training windows, real held-out windows,
        generated windows).
    reference_labels, held_out_labels, generated_labels : array_like of int
        One condition per window. Every held-out and generated condition must occur in
        the reference (or a :class:`~spikegan_tf.errors.ConfigError` names the others).
    min_windows : int
        Fewest windows of a condition in each of the three sets for it to be compared.
    on_small : {"skip", "raise"}
        A condition with fewer windows in any set: listed in ``skipped`` with the reason
        (default), or a one-line :class:`~spikegan_tf.errors.ConfigError`. If every
        condition is too small, the error is raised either way.
    statistics : tuple of str, optional
        Subset of :data:`~spikegan_tf.evaluation.compare.STATISTICS` (default: all).
    max_lag, word_neurons, word_bins
        Statistics settings (see :func:`~spikegan_tf.statistics.compute_statistics`); the
        defaults are resolved per condition on its reference windows (the word group: the
        condition's most active neurons).
    generated_label : str
        Row name of the generated windows.

    Returns
    -------
    ConditionalComparison

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> def windows(n):
    ...     y = np.arange(n) % 2
    ...     p = np.where(y[:, None, None] == 1, 0.4, 0.1)  # condition 1 fires more
    ...     return (rng.random((n, 3, 6)) < p).astype(np.uint8), y
    >>> (ref, yr), (held, yh), (gen, yg) = windows(200), windows(100), windows(100)
    >>> res = compare_by_condition(ref, yr, held, yh, gen, yg, max_lag=2)
    >>> res.conditions, sorted(res.summary()["firing_probability"])
    ((0, 1), ['max', 'median', 'n_conditions', 'worst_condition'])
    """
    check_param("min_windows", min_windows, Integer(min=2))
    check_param("on_small", on_small, Options("skip", "raise"))
    sets = {"reference": (reference, reference_labels), "held_out": (held_out, held_out_labels),
            "generated": (generated, generated_labels)}
    src, lab = {}, {}
    for name, (data, labels) in sets.items():
        src[name] = _source(data, name)
        lab[name] = _labels(labels, src[name].n_windows, f"{name}_labels", name)
    for name in ("held_out", "generated"):
        _subset(lab[name], lab["reference"], f"{name}_labels", "reference_labels")
    conditions, results, skipped, counts = [], {}, {}, {}
    for c in np.unique(lab["reference"]).tolist():
        idx = {k: np.flatnonzero(v == c) for k, v in lab.items()}
        counts[c] = tuple(int(idx[k].size) for k in sets)
        small = [f"{n} {k.replace('_', '-')} windows" for k, n in zip(sets, counts[c], strict=True)
                 if n < min_windows]
        if small:
            why = f"condition {c}: {', '.join(small)} (fewer than min_windows={min_windows})"
            if on_small == "raise":
                raise ConfigError(f"Too few windows in {why}; lower `min_windows` or use "
                                  "on_small='skip'.")
            skipped[c] = why
            continue
        conditions.append(c)
        results[c] = compare(
            src["reference"].take(idx["reference"]),
            {generated_label: src["generated"].take(idx["generated"])},
            src["held_out"].take(idx["held_out"]),
            max_lag=max_lag, word_neurons=word_neurons, word_bins=word_bins,
            statistics=statistics, reference_label="reference", noise_floor_label="held-out",
        )
    if not conditions:
        raise ConfigError(f"No condition has `min_windows`={min_windows} windows in all three "
                          f"sets: {'; '.join(skipped.values())}.")
    return ConditionalComparison(tuple(conditions), results, skipped, counts, generated_label)


def covariate_groups(covariates: Any, n_groups: int = 3, *, reference: Any = None,
                     covariate: int | None = None) -> np.ndarray:
    """Labels from quantile groups of each window's mean covariate (for covariate-only models).

    Each window's covariate series is averaged over its bins; the quantiles
    ``1/n_groups, ..., (n_groups-1)/n_groups`` of those means in ``reference``
    (default: ``covariates`` itself; numpy's linear interpolation) are the edges, and
    a window's group is the number of edges at or below its mean. Group the
    reference, held-out and generated windows with the same ``reference`` so that
    the groups agree. Ties can make groups unequal or empty.

    Parameters
    ----------
    covariates : array_like
        ``(n_samples, n_bins, n_covariates)``, finite.
    n_groups : int
        Number of groups (>= 2).
    reference : array_like, optional
        Covariates whose quantiles are the edges (e.g. the real training windows').
    covariate : int, optional
        Which covariate to group by; required when there are several.

    Returns
    -------
    numpy.ndarray
        int64 labels ``(n_samples,)`` in ``0 .. n_groups-1``.

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.arange(12.0).reshape(12, 1, 1)
    >>> covariate_groups(cov, 3).tolist()
    [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    >>> covariate_groups(np.array([[[2.0]], [[9.0]]]), 3, reference=cov).tolist()
    [0, 2]
    """
    check_param("n_groups", n_groups, Integer(min=2))
    cov = _covariates(covariates, "covariates")
    ref = cov if reference is None else _covariates(reference, "reference")
    n_cov = cov.shape[2]
    if ref.shape[2] != n_cov:
        raise SpikeDataError(f"`reference` has {ref.shape[2]} covariates but `covariates` has "
                             f"{n_cov}.")
    if covariate is None:
        if n_cov != 1:
            raise ConfigError(f"`covariate` must name the covariate to group by (0..{n_cov - 1})"
                              f": there are {n_cov}. Received None.")
        covariate = 0
    check_param("covariate", covariate, Integer(min=0, max=n_cov - 1))
    edges = np.quantile(ref[:, :, covariate].mean(axis=1), np.arange(1, n_groups) / n_groups)
    return np.searchsorted(edges, cov[:, :, covariate].mean(axis=1), side="right").astype(np.int64)


# -------------------------------------------------------------------------- decoding

def tuning_curves(windows: Any, labels: Any, n_classes: int | None = None) -> np.ndarray:
    """Mean firing probability per bin of each neuron in each class.

    Returns
    -------
    numpy.ndarray
        float64 ``(n_classes, n_neurons)``; a class without windows is NaN.
        ``n_classes`` defaults to the largest label + 1; labels must be in ``0..n_classes-1``.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.zeros((3, 2, 4), np.uint8); w[0, 0, :2] = 1; w[1, 0] = 1; w[2, 1, 0] = 1
    >>> tuning_curves(w, np.array([0, 0, 1])).tolist()
    [[0.75, 0.0], [0.0, 0.25]]
    """
    src = _source(windows, "windows")
    y = _labels(labels, src.n_windows, "labels", "windows")
    k = int(y.max()) + 1 if n_classes is None else n_classes
    check_param("n_classes", k, Integer(min=1))
    if y.min() < 0 or y.max() >= k:
        raise ConfigError(f"`labels` must be in 0..{k - 1} (n_classes={k}). Received values "
                          f"{format_values(y[(y < 0) | (y >= k)])}.")
    sums = np.zeros((k, src.n_neurons))
    for i, w in enumerate(src.iter_windows(_CHUNK)):
        np.add.at(sums, y[i * _CHUNK:i * _CHUNK + len(w)], w.sum(axis=2, dtype=np.float64))
    n = np.bincount(y, minlength=k)[:, None] * src.n_bins
    with np.errstate(invalid="ignore"):
        return sums / n


def tuning_correlation(estimated: Any, ground_truth: Any, *, per_neuron: bool = False):
    """Pearson r between two sets of tuning curves ``(n_classes, n_neurons)``.

    Entries that are NaN in either are left out. Scale-free: the ground truth may be
    rates in any unit.

    Returns
    -------
    float, or numpy.ndarray ``(n_neurons,)`` with ``per_neuron=True``
        r over all (class, neuron) entries, or over classes for each neuron (NaN
        where a curve is flat).

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.array([[1.0, 2.0], [3.0, 1.0], [5.0, 0.0]])
    >>> round(tuning_correlation(0.01 * truth + 0.1, truth), 12)
    1.0
    >>> tuning_correlation(truth ** 2, truth, per_neuron=True).round(3).tolist()
    [0.982, 0.961]
    """
    a = np.asarray(estimated, dtype=np.float64)
    b = np.asarray(ground_truth, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ConfigError(f"`estimated` and `ground_truth` must be tuning curves of the same shape "
                          f"(n_classes, n_neurons). Received {a.shape} and {b.shape}.")

    def r(u: np.ndarray, v: np.ndarray) -> float:
        ok = np.isfinite(u) & np.isfinite(v)
        u, v = u[ok], v[ok]
        if u.size < 2 or np.ptp(u) == 0 or np.ptp(v) == 0:
            return float("nan")
        return float(np.corrcoef(u, v)[0, 1])

    if per_neuron:
        return np.array([r(a[:, i], b[:, i]) for i in range(a.shape[1])])
    return r(a.ravel(), b.ravel())


# ------------------------------------------------------------------- report section

def conditional_markdown(comparison: ConditionalComparison | None = None,
                         decoding: Mapping[str, Any] | None = None, *,
                         tuning_r: Mapping[str, float] | float | None = None,
                         covariate_decoding: Mapping[str, Any] | None = None,
                         statistics: tuple[str, ...] = HEADLINE, max_conditions: int = 12,
                         target: float = 1.5) -> str:
    """The report's markdown section on conditional generation.

    A table of ratios to the per-condition floor (one row per condition, then the
    median and max; with more than ``max_conditions`` conditions only the median, the
    max and the worst condition), the skipped conditions, the decoding table, and the
    tuning-curve correlation (``tuning_r``: r, or a mapping label -> r).

    Examples
    --------
    >>> dec = {"real_to_real": 0.9, "real_to_generated": 0.88, "generated_to_real": 0.85,
    ...        "chance": 0.25, "real_to_generated_pp": -2.0, "generated_to_real_pp": -5.0}
    >>> print(conditional_markdown(decoding=dec, tuning_r=0.97))
    ## Conditional generation
    <BLANKLINE>
    Decoding the condition (logistic regression on spike counts).
    <BLANKLINE>
    | trained on -> tested on | accuracy | vs real -> real |
    |---|---|---|
    | real -> real (held-out) | 90.0% |  |
    | real -> generated | 88.0% | -2.0 pp |
    | generated -> real (held-out) | 85.0% | -5.0 pp |
    | chance (most frequent class) | 25.0% |  |
    <BLANKLINE>
    Tuning curves against the ground truth: r = 0.970 (generated).
    <BLANKLINE>
    """
    lines = ["## Conditional generation", ""]
    if comparison is not None:
        names = [n for n in statistics if n in comparison.statistic_names]
        lines += [f"Error of the generated windows per condition, as a multiple of that "
                  f"condition's held-out floor (1.00x = as close as held-out real windows; "
                  f"target <= {target:g}x).", "",
                  "| condition | windows (ref / held-out / gen) | " + " | ".join(names) + " |",
                  "|---|---|" + "---|" * len(names)]
        if len(comparison.conditions) <= max_conditions:
            ratios = np.array([comparison.ratios(n) for n in names]).reshape(len(names), -1)
            for j, c in enumerate(comparison.conditions):
                lines.append(f"| {c} | {' / '.join(map(str, comparison.n_windows[c]))} | "
                             + " | ".join(_fmt_ratio(r) for r in ratios[:, j]) + " |")
        summary = comparison.summary()
        for key in ("median", "max"):
            lines.append(f"| **{key}** ({len(comparison.conditions)} conditions) |  | "
                         + " | ".join(_fmt_ratio(summary[n][key]) for n in names) + " |")
        if len(comparison.conditions) > max_conditions:
            lines.append("| worst condition |  | " + " | ".join(
                str(summary[n]["worst_condition"]) for n in names) + " |")
        if comparison.skipped:
            lines += ["", "Skipped (too few windows): "
                      + "; ".join(comparison.skipped.values()) + "."]
        lines.append("")
    if decoding is not None:
        lines += ["Decoding the condition (logistic regression on spike counts).", "",
                  "| trained on -> tested on | accuracy | vs real -> real |", "|---|---|---|",
                  f"| real -> real (held-out) | {100 * decoding['real_to_real']:.1f}% |  |",
                  f"| real -> generated | {100 * decoding['real_to_generated']:.1f}% | "
                  f"{decoding['real_to_generated_pp']:+.1f} pp |",
                  f"| generated -> real (held-out) | {100 * decoding['generated_to_real']:.1f}% | "
                  f"{decoding['generated_to_real_pp']:+.1f} pp |",
                  f"| chance (most frequent class) | {100 * decoding['chance']:.1f}% |  |", ""]
    if covariate_decoding is not None:
        d = covariate_decoding
        lines += ["Decoding the mean covariate (ridge regression on spike counts), R^2: "
                  f"real -> real {d['real_to_real']:.3f}, real -> generated "
                  f"{d['real_to_generated']:.3f}, generated -> real "
                  f"{d['generated_to_real']:.3f}.", ""]
    if tuning_r is not None:
        rs = {"generated": tuning_r} if not isinstance(tuning_r, Mapping) else tuning_r
        lines += ["Tuning curves against the ground truth: " + ", ".join(
            f"r = {v:.3f} ({k})" for k, v in rs.items()) + ".", ""]
    return "\n".join(lines)


def plot_conditional(path: str | os.PathLike, *, comparison: ConditionalComparison | None = None,
                     tuning: np.ndarray | None = None, reference_tuning: np.ndarray | None = None,
                     statistics: tuple[str, ...] = HEADLINE, target: float = 1.5,
                     n_neurons_shown: int = 4, dpi: int = 110) -> Path:
    """Draw generated vs reference tuning curves and the per-condition ratios; save as PNG.

    ``tuning`` (generated) and ``reference_tuning`` (ground truth or real windows) are
    ``(n_classes, n_neurons)``; the ``n_neurons_shown`` neurons whose reference
    curves vary most are drawn, and every entry in a scatter. Needs matplotlib.
    """
    from spikegan_tf.evaluation.figures import require_matplotlib

    has_tuning = tuning is not None and reference_tuning is not None
    if not has_tuning and comparison is None:
        raise ConfigError("plot_conditional needs `comparison` or both `tuning` and "
                          "`reference_tuning`.")
    Figure, FigureCanvasAgg = require_matplotlib()
    n_panels = 2 * has_tuning + (comparison is not None)
    fig = Figure(figsize=(5 * n_panels, 4), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = list(fig.subplots(1, n_panels, squeeze=False)[0])
    if has_tuning:
        gen, ref = np.asarray(tuning, float), np.asarray(reference_tuning, float)
        r = tuning_correlation(gen, ref)
        shown = np.argsort(-np.nan_to_num(np.nanvar(ref, axis=0)), kind="stable")[:n_neurons_shown]
        ax = axes.pop(0)
        for j, i in enumerate(shown):
            color = f"C{j}"
            ax.plot(ref[:, i] / np.nanmax(ref[:, i]), color=color, lw=2, label=f"neuron {i}")
            ax.plot(gen[:, i] / np.nanmax(ref[:, i]), color=color, ls="--", marker="o")
        ax.set(xlabel="condition", ylabel="firing / reference max",
               title="tuning: reference (solid) vs generated (dashed)")
        ax.legend(fontsize=7)
        ax = axes.pop(0)
        ax.scatter(ref.ravel() / np.nanmax(ref), gen.ravel() / np.nanmax(gen), s=10)
        ax.set(xlabel="reference (scaled to max 1)", ylabel="generated (scaled to max 1)",
               title=f"all tuning entries, r = {r:.3f}")
    if comparison is not None:
        ax = axes.pop(0)
        names = [n for n in statistics if n in comparison.statistic_names]
        for j, name in enumerate(names):
            ratios = comparison.ratios(name)
            ax.scatter(ratios, np.full(ratios.size, j), s=14, color="C0", alpha=0.6)
            ax.scatter([np.nanmedian(ratios)], [j], marker="|", s=200, color="black")
        ax.axvline(1.0, color="0.55", lw=1.5)
        ax.axvline(target, color="0.55", ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_yticks(np.arange(len(names)), names, fontsize=8)
        ax.invert_yaxis()
        ax.set(xlabel="error / per-condition floor (log)",
               title=f"{len(comparison.conditions)} conditions (| median)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path

"""Compare the statistics of candidate windows (models) with a reference and a noise floor.

"Close to the data" only means something next to how close a second stretch of
the same recording is: pass held-out real data as ``noise_floor`` and every error
is also reported as a ratio to the held-out data's error (1.0 = as good as new
real data).

Per candidate and statistic (see :data:`STATISTICS`):

* ``mae``: mean absolute error over the compared entries;
* ``sae``: the reference code's (Spike-GAN ``tflib/analysis.py``) sum of absolute
  errors: the same entries summed, except the autocorrelogram, summed over all
  lags ``-L..L`` as that code does (lag 0 is 0 in both);
* ``pearson_r``: Pearson correlation of the compared entries;
* ``ratio_to_floor``: ``mae / mae of the noise floor``;
* ``kl`` and ``js`` (distributions only): ``KL(reference || candidate)`` and the
  Jensen-Shannon divergence, in bits (scipy). KL is infinite when the candidate
  never produces something the reference has.

Entries that are NaN in either set (e.g. correlations of a silent neuron) are
left out and ``n_entries`` says how many were compared.

Arrays of windows, ``numpy.memmap`` included, are checked in chunks and summarised
block by block, never copied. ``pair_windows=K`` estimates the pairwise statistics
(covariance, correlation, lagged covariances) of every set from at most ``K`` evenly
spaced windows, the same ``K`` for the reference, the noise floor and the candidates.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf._atomic import atomic_path
from spikegan_tf.data.source import WindowedSpikes, windowed_spikes
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.evaluation.metrics import HEADLINE, STATISTICS, Metric, _check_comparable, _metric
from spikegan_tf.params import Integer, check_param
from spikegan_tf.statistics import (
    DEFAULT_WORD_BINS,
    Statistics,
    compute_statistics,
)

__all__ = ["STATISTICS", "HEADLINE", "Metric", "ComparisonResult", "compare", "as_statistics"]


def as_statistics(
    data: Any,
    *,
    like: Statistics | None = None,
    label: str = "spikes",
    n_bins: int | None = None,
    stride: int = 1,
    max_lag: int | None = None,
    word_neurons: Any = None,
    word_bins: int = DEFAULT_WORD_BINS,
    pair_windows: int | None = None,
) -> Statistics:
    """Return ``data``'s :class:`Statistics`, computing them if ``data`` holds spikes.

    Parameters
    ----------
    data : array_like, WindowedSpikes or Statistics
        Windows ``(n, N, T)``, a raster with ``n_bins``, or statistics (returned as they
        are). An array -- a ``numpy.memmap`` included -- is checked chunk by chunk and read
        block by block, never copied, so windows larger than the memory can be summarised.
    like : Statistics, optional
        The reference's statistics: their settings are used and the window shape must match.
    label : str
        Name of ``data`` in error messages.
    n_bins, stride : int
        How a raster is cut into windows.
    max_lag, word_neurons, word_bins
        Settings of the statistics when there is no ``like`` (see
        :func:`~spikegan_tf.statistics.compute_statistics`).
    pair_windows : int, optional
        Compute the pairwise statistics (covariance, correlation, lagged covariances) from
        this many evenly spaced windows (``None``: all windows). For statistics given
        as they are, checks that they were computed so.

    Returns
    -------
    Statistics

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = as_statistics(rng.random((30, 2, 4)) < 0.5, max_lag=1, word_neurons=[0])
    >>> as_statistics(rng.random((20, 2, 4)) < 0.5, like=ref).max_lag
    1
    >>> st = as_statistics(rng.random((20, 2, 4)) < 0.5, like=ref, pair_windows=5)
    >>> st.n_windows, st.n_pair_windows
    (20, 5)
    """
    check_param("pair_windows", pair_windows, [Integer(min=1), None])
    if isinstance(data, Statistics):
        if like is not None:
            _check_comparable(like, data, label)
        if pair_windows is not None:
            _check_pair_windows(data, int(pair_windows), label)
        return data
    if isinstance(data, (str, os.PathLike)):
        raise ConfigError(
            f"`{label}` must be an array of spikes or Statistics, not a path ('{data}'): "
            "load it first (spikegan_tf.data.load_spikes)."
        )
    # arrays (memmaps included) go through as they are: validated in chunks, never copied
    arr = data if isinstance(data, (WindowedSpikes, np.ndarray)) else np.asarray(data)
    # n_bins cuts rasters; windows are checked against the reference's shape below
    raster = arr.kind == "raster" if isinstance(arr, WindowedSpikes) else arr.ndim == 2
    src = windowed_spikes(arr, n_bins=n_bins if raster else None, stride=stride, name=label,
                          stride_for_windows="ignore")
    if like is None:
        return compute_statistics(src, max_lag=max_lag, word_neurons=word_neurons,
                                  word_bins=word_bins, pair_windows=pair_windows)
    if (src.n_neurons, src.n_bins) != (like.n_neurons, like.n_bins):
        raise SpikeDataError(
            f"`{label}` has windows of {src.n_neurons} neurons x {src.n_bins} bins, but the "
            f"reference has {like.n_neurons} neurons x {like.n_bins} bins."
        )
    return compute_statistics(src, max_lag=like.max_lag, word_neurons=like.word_neurons,
                              word_bins=like.word_bins, ddof=like.ddof, pair_windows=pair_windows)


def _check_pair_windows(st: Statistics, pair_windows: int, label: str) -> None:
    """Precomputed statistics must have used the ``pair_windows`` asked of every set."""
    want = min(pair_windows, st.n_windows)
    if st.n_pair_windows != want:
        raise ConfigError(
            f"`{label}` holds statistics whose pairwise statistics come from "
            f"{st.n_pair_windows} of {st.n_windows} windows, but pair_windows={pair_windows} "
            f"asks for {want}: recompute them with compute_statistics(..., "
            f"pair_windows={pair_windows})."
        )


def _pair_note(stats: Mapping[str, Statistics], pair_windows: int | None) -> str | None:
    """How many windows each set's pairwise statistics come from, when not all of them."""
    if all(st.n_pair_windows == st.n_windows for st in stats.values()):
        return None
    per = ", ".join(
        f"{label} from {st.n_pair_windows} of {st.n_windows} windows"
        if st.n_pair_windows < st.n_windows else f"{label} from all {st.n_windows} windows"
        for label, st in stats.items()
    )
    note = (f"Pairwise statistics (covariance, correlation, lagged covariances) from evenly "
            f"spaced windows: {per}; every other statistic from all windows.")
    if pair_windows is not None:
        note += (f" The same pair_windows={pair_windows} applies to every set, so the noise "
                 f"floor's pairwise errors reflect at most {pair_windows} windows as the "
                 "candidates' do and the ratios to it stay comparable.")
    else:
        note += (" Sets whose pairwise statistics come from different numbers of windows differ "
                 "in sampling noise there: give pair_windows to estimate all from the same "
                 "number.")
    return note


def _fmt(x: float | None, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if math.isinf(x):
        return "inf"
    return f"{x:.{digits}e}"


@dataclass(frozen=True, eq=False)
class ComparisonResult:
    """Per candidate and statistic errors against a reference, with a noise floor.

    Attributes
    ----------
    reference_label : str
    labels : tuple of str
        The candidates, in the order given.
    noise_floor_label : str or None
        Label of the held-out real data (its metrics are in ``metrics`` too).
    metrics : dict
        ``metrics[label][statistic]`` -> :class:`Metric`, for candidates and the floor.
    statistics : dict
        ``statistics[label]`` -> :class:`~spikegan_tf.statistics.Statistics`, the reference included.
    memorization : dict
        ``label`` -> memorisation summary (filled by :func:`spikegan_tf.evaluation.report.evaluate`).
    notes : tuple of str
    figures : tuple of str
        Figure files (relative to the output directory) when written.
    """

    reference_label: str
    labels: tuple[str, ...]
    noise_floor_label: str | None
    metrics: Mapping[str, Mapping[str, Metric]]
    statistics: Mapping[str, Statistics]
    memorization: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()

    @property
    def rows(self) -> tuple[str, ...]:
        """Candidates followed by the noise floor (when there is one)."""
        return self.labels + ((self.noise_floor_label,) if self.noise_floor_label else ())

    def ratio(self, label: str, statistic: str) -> float:
        """MAE of ``label`` on ``statistic`` divided by the noise floor's."""
        return self.metrics[label][statistic].ratio_to_floor

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no arrays): settings, metrics, memorisation, notes."""
        ref = self.statistics[self.reference_label]
        return {
            "reference": self.reference_label,
            "candidates": list(self.labels),
            "noise_floor": self.noise_floor_label,
            "settings": {**ref.params(), "ddof": ref.ddof},
            "n_windows": {k: v.n_windows for k, v in self.statistics.items()},
            "n_pair_windows": {k: v.n_pair_windows for k, v in self.statistics.items()},
            "statistics": {k: v[2] for k, v in STATISTICS.items()},
            "results": {
                label: {name: m.to_dict() for name, m in self.metrics[label].items()}
                for label in self.rows
            },
            "memorization": dict(self.memorization),
            "notes": list(self.notes),
            "figures": list(self.figures),
        }

    def to_json(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_dict` as JSON (atomically) and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"
        with atomic_path(path) as tmp:
            tmp.write_text(text)
        return path

    def to_markdown(self, statistics: tuple[str, ...] | None = None) -> str:
        """Markdown tables: MAE (and ratio to the floor), divergences, memorisation."""
        names = statistics or tuple(n for n in STATISTICS if n in self.metrics[self.rows[0]])
        rows = self.rows
        floor = self.noise_floor_label
        ref = self.statistics[self.reference_label]
        lines = [
            f"Reference: **{self.reference_label}** ({ref.n_windows} windows of "
            f"{ref.n_neurons} neurons x {ref.n_bins} bins"
            + (f"; pairwise statistics from {ref.n_pair_windows} of {ref.n_windows} windows"
               if ref.n_pair_windows < ref.n_windows else "") + ")."
            + (f" Noise floor: **{floor}** (held-out real data vs the reference)."
               if floor else " No noise floor given."),
            "",
            "Mean absolute error per statistic"
            + (" (ratio to the noise floor in brackets; 1.00x = as close as held-out data)"
               if floor else "") + ".",
            "",
            "| statistic | " + " | ".join(rows) + " |",
            "|---|" + "---|" * len(rows),
        ]
        for name in names:
            cells = []
            for label in rows:
                m = self.metrics[label][name]
                cell = _fmt(m.mae)
                if floor and label != floor and math.isfinite(m.ratio_to_floor):
                    cell += f" ({m.ratio_to_floor:.2f}x)"
                cells.append(cell)
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines += ["", "Pearson r with the reference.", "",
                  "| statistic | " + " | ".join(rows) + " |", "|---|" + "---|" * len(rows)]
        for name in names:
            cells = []
            for label in rows:
                r = self.metrics[label][name].pearson_r
                cells.append("n/a" if not math.isfinite(r) else f"{r:.3f}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        dists = [n for n in names if STATISTICS[n][1]]
        if dists:
            lines += ["", "Divergences from the reference (bits): Jensen-Shannon / "
                      "KL(reference || candidate).", "",
                      "| distribution | " + " | ".join(rows) + " |",
                      "|---|" + "---|" * len(rows)]
            for name in dists:
                cells = [f"{_fmt(self.metrics[label][name].js)} / "
                         f"{_fmt(self.metrics[label][name].kl)}" for label in rows]
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
            infinite = sorted({label for label in rows for name in dists
                               if (kl := self.metrics[label][name].kl) is not None
                               and math.isinf(kl)}, key=rows.index)
            if infinite:
                lines += ["", f"KL = inf ({', '.join(infinite)}): the set never produced a "
                          "pattern (a spike count, interval or word) that the reference holds, "
                          "so KL(reference || candidate) is infinite. Rare patterns missing "
                          "from a finite sample are enough"
                          + (", as the held-out real data show" if floor in infinite else "")
                          + "; the Jensen-Shannon divergence stays finite and is the one to "
                          "compare."]
        if self.memorization:
            lines += ["", "Memorisation: Hamming distance (bins) from each checked window to its "
                      "nearest training window.", "",
                      "| data | windows checked | mean | median | 5% quantile | exact copies |",
                      "|---|---|---|---|---|---|"]
            for label, s in self.memorization.items():
                lines.append(
                    f"| {label} | {s['n']} | {s['mean']:.1f} | {s['median']:.1f} | "
                    f"{s['p05']:.1f} | {100 * s['exact_copy_fraction']:.2f}% |"
                )
        if self.figures:
            lines += [""] + [f"![{Path(f).stem}]({f})" for f in self.figures]
        if self.notes:
            lines += ["", "Notes:", ""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def compare(
    reference: Any,
    candidates: Any,
    noise_floor: Any = None,
    *,
    n_bins: int | None = None,
    stride: int = 1,
    max_lag: int | None = None,
    word_neurons: Any = None,
    word_bins: int = DEFAULT_WORD_BINS,
    reference_label: str = "reference",
    noise_floor_label: str = "held-out",
    statistics: tuple[str, ...] | None = None,
    notes: tuple[str, ...] | list[str] = (),
    pair_windows: int | None = None,
) -> ComparisonResult:
    """Compare candidates' statistics with a reference's, next to a noise floor.

    Parameters
    ----------
    reference : array_like or Statistics
        Reference windows ``(n, N, T)``, a raster with ``n_bins``, or precomputed statistics.
        Arrays, ``numpy.memmap`` included, are checked in chunks and read block by block,
        never copied (see :func:`as_statistics`).
    candidates : mapping of str to array_like or Statistics, or one of them
        The models' windows (label -> data); a single array is labelled ``"candidate"``.
    noise_floor : array_like or Statistics, optional
        Held-out real data (e.g. a later stretch of the recording).
    n_bins, stride : int
        How rasters (2-D arrays) are cut into windows.
    max_lag, word_neurons, word_bins
        Settings of the reference's statistics (see
        :func:`~spikegan_tf.statistics.compute_statistics`); candidates use the reference's.
    statistics : tuple of str, optional
        Subset of :data:`STATISTICS` to compare (default: all).
    notes : sequence of str
        Free text kept with the result.
    pair_windows : int, optional
        Estimate the pairwise statistics -- covariance, correlation and lagged covariances
        -- of the reference, of the noise floor and of every candidate from the same
        number ``K`` of evenly spaced windows (at most; a set with fewer windows uses all
        of them), and every other statistic from all windows (see
        :func:`~spikegan_tf.statistics.compute_statistics`). Their cost grows with the
        neuron pairs times the lags, so ``K`` bounds it for large sets. The same ``K``
        applies to all sets so that their ratios stay comparable: the pairwise noise floors
        then reflect ``K`` windows, as do the candidates' errors. ``None`` (default): all
        windows. Precomputed statistics must have been computed with the same ``K``. A note
        (and the report) states how many windows each set's pairwise statistics used.

    Returns
    -------
    ComparisonResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> real = (rng.random((600, 4)) < 0.2).astype(np.uint8)
    >>> fake = (rng.random((200, 4, 8)) < 0.2).astype(np.uint8)
    >>> res = compare(real[:400], {"model": fake}, real[400:], n_bins=8, max_lag=3)
    >>> m = res.metrics["model"]["firing_probability"]
    >>> m.mae > 0, res.noise_floor_label in res.metrics
    (True, True)

    Pairwise statistics from 100 windows of every set:

    >>> res = compare(real[:400], {"model": fake}, real[400:], n_bins=8, max_lag=3,
    ...               pair_windows=100)
    >>> {k: (st.n_pair_windows, st.n_windows) for k, st in res.statistics.items()}
    {'reference': (100, 393), 'model': (100, 200), 'held-out': (100, 193)}
    """
    if candidates is None or (isinstance(candidates, Mapping) and not candidates):
        raise ConfigError("`candidates` must hold at least one set of windows to compare.")
    check_param("pair_windows", pair_windows, [Integer(min=1), None])
    if not isinstance(candidates, Mapping):
        candidates = {"candidate": candidates}
    labels = tuple(str(k) for k in candidates)
    taken = {reference_label} | ({noise_floor_label} if noise_floor is not None else set())
    clash = [lab for lab in labels if lab in taken]
    if clash or len(set(labels)) != len(labels):
        raise ConfigError(
            f"Candidate labels must be unique and differ from the reference ('{reference_label}')"
            f" and noise-floor ('{noise_floor_label}') labels. Received {list(labels)}."
        )
    names = tuple(STATISTICS) if statistics is None else tuple(statistics)
    unknown = [n for n in names if n not in STATISTICS]
    if unknown:
        raise ConfigError(
            f"Unknown statistics {unknown}. Choose from {list(STATISTICS)}."
        )
    ref = as_statistics(reference, label=reference_label, n_bins=n_bins, stride=stride,
                        max_lag=max_lag, word_neurons=word_neurons, word_bins=word_bins,
                        pair_windows=pair_windows)
    all_stats: dict[str, Statistics] = {reference_label: ref}
    for label, data in candidates.items():
        all_stats[str(label)] = as_statistics(data, like=ref, label=str(label), n_bins=n_bins,
                                              stride=stride, pair_windows=pair_windows)
    floor_label = None
    if noise_floor is not None:
        floor_label = noise_floor_label
        all_stats[floor_label] = as_statistics(noise_floor, like=ref, label=floor_label,
                                               n_bins=n_bins, stride=stride,
                                               pair_windows=pair_windows)
    pair_note = _pair_note(all_stats, pair_windows)
    if math.isnan(ref.entropy) and "entropy" in names and statistics is None:
        names = tuple(n for n in names if n != "entropy")
    metrics: dict[str, dict[str, Metric]] = {}
    for label in labels + ((floor_label,) if floor_label else ()):
        metrics[label] = {n: _metric(n, ref, all_stats[label]) for n in names}
    if floor_label:
        for label in labels + (floor_label,):
            for n in names:
                m = metrics[label][n]
                f = metrics[floor_label][n].mae
                ratio = m.mae / f if f > 0 else float("nan")
                metrics[label][n] = dataclasses.replace(m, ratio_to_floor=ratio)
    return ComparisonResult(
        reference_label=reference_label,
        labels=labels,
        noise_floor_label=floor_label,
        metrics=metrics,
        statistics=all_stats,
        notes=tuple(notes) + ((pair_note,) if pair_note else ()),
    )

"""One call from spikes to a written evaluation: statistics, noise floor, memorisation, figures.

:func:`evaluate` compares one or more sets of generated windows with the real
data (the reference, usually the training split) next to a held-out stretch of
the same recording (the noise floor), checks how close generated windows are to
training windows, and writes into ``out_dir``:

* ``results.json``: per candidate and statistic ``mae``, ``sae``, ``pearson_r``,
  ``ratio_to_floor`` (+ ``kl``/``js`` for distributions), memorisation, notes;
* ``report.md``: the tables, figure links and notes;
* ``statistics.png`` (the retina-style figure) and ``ratios.png`` (errors as
  multiples of the noise floor) when matplotlib is installed.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf._atomic import atomic_path
from spikegan_tf.data.source import WindowedSpikes, windowed_spikes
from spikegan_tf.errors import ConfigError, RunDirError
from spikegan_tf.evaluation.compare import ComparisonResult, compare
from spikegan_tf.evaluation.memorization import DEFAULT_N_QUERIES, memorization
from spikegan_tf.params import Integer, check_param
from spikegan_tf.statistics import DEFAULT_WORD_BINS, Statistics
from spikegan_tf.validation import check_seed

__all__ = ["evaluate", "RESULTS_FILE", "REPORT_FILE", "FIGURE_FILE", "RATIOS_FILE"]

RESULTS_FILE = "results.json"
REPORT_FILE = "report.md"
FIGURE_FILE = "statistics.png"
RATIOS_FILE = "ratios.png"


def _source(data: Any, n_bins: int | None, stride: int, label: str) -> WindowedSpikes | None:
    """The validated windows of ``data`` (None for statistics); arrays, memmaps included, are
    checked in chunks and kept as they are."""
    if isinstance(data, Statistics):
        return None
    if isinstance(data, WindowedSpikes):
        return data
    arr = data if isinstance(data, np.ndarray) else np.asarray(data)
    return windowed_spikes(arr, n_bins=n_bins if arr.ndim == 2 else None, stride=stride, name=label, stride_for_windows="ignore")


def _prepare_out_dir(out_dir: str | os.PathLike) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise RunDirError(f"`out_dir` must be a directory. Received the file '{out}'.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(f"Could not create the output directory '{out}': {exc}") from None
    return out


def evaluate(
    reference: Any,
    candidates: Mapping[str, Any],
    *,
    noise_floor: Any = None,
    train: Any = None,
    out_dir: str | os.PathLike | None = None,
    n_bins: int | None = None,
    stride: int = 1,
    notes: Sequence[str] | str | None = None,
    seed: int | None = 0,
    max_lag: int | None = None,
    word_neurons: Sequence[int] | None = None,
    word_bins: int = DEFAULT_WORD_BINS,
    n_memorization: int | None = DEFAULT_N_QUERIES,
    figures: bool = True,
    reference_label: str = "reference",
    noise_floor_label: str = "held-out",
    title: str | None = None,
    pair_windows: int | None = None,
) -> ComparisonResult:
    """Compare candidates with the reference and a noise floor; write results, report, figures.

    Parameters
    ----------
    reference : array_like or Statistics
        Real windows ``(n, N, T)`` or a raster with ``n_bins`` (e.g. the training split).
    candidates : mapping of str to array_like or Statistics
        Label -> generated windows (or a raster with ``n_bins``).
    noise_floor : array_like or Statistics, optional
        Held-out real data; every error is also given as a multiple of its error.
    train : array_like, optional
        Training windows or raster: enables the memorisation check of every
        candidate (and of the noise floor, the real-data control).
    out_dir : path, optional
        Where ``results.json``, ``report.md`` and the figures go (nothing is
        written without it).
    n_bins, stride : int
        How rasters are cut into windows.
    notes : str or sequence of str, optional
        Free text for the report (e.g. "DG was fit on the whole recording").
    seed : int
        Seed of the memorisation subsample and of the example windows drawn.
    max_lag, word_neurons, word_bins
        Statistics settings (see :func:`spikegan_tf.statistics.compute_statistics`).
    n_memorization : int or None
        Windows per set checked for memorisation (None: all; slow on big data).
    figures : bool
        Draw the figures (needs matplotlib; skipped with a note if missing).
    reference_label, noise_floor_label : str
        Names used in tables and figures.
    title : str, optional
        Figure title.
    pair_windows : int, optional
        Estimate the pairwise statistics (covariance, correlation, lagged covariances) of
        every set -- reference, noise floor and candidates alike, so that the ratios stay
        comparable -- from at most this many evenly spaced windows; every other statistic
        from all windows (see :func:`~spikegan_tf.evaluation.compare.compare`). The report
        then states "pairwise statistics from K of N windows". ``None``: all windows.

    Returns
    -------
    ComparisonResult
        With ``memorization`` summaries, ``notes`` and ``figures`` filled in.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> rng = np.random.default_rng(0)
    >>> real = (rng.random((900, 4)) < 0.2).astype(np.uint8)
    >>> train = np.lib.stride_tricks.sliding_window_view(real[:600], 8, axis=0)  # (593, 4, 8)
    >>> fresh = (rng.random((200, 4, 8)) < 0.5).astype(np.uint8)  # never equal to train
    >>> fake = np.concatenate([train[:100], fresh])  # 100 of 300 windows are copies
    >>> res = evaluate(real[:600], {"model": fake}, noise_floor=real[600:], train=real[:600],
    ...                n_bins=8, max_lag=3, out_dir=tempfile.mkdtemp(), figures=False)
    >>> round(res.memorization["model"]["exact_copy_fraction"], 4)
    0.3333
    """
    seed = check_seed(seed)
    if not isinstance(candidates, Mapping):
        raise ConfigError(
            "`candidates` must be a mapping of label -> windows, e.g. {'spikegan': samples}."
        )
    if isinstance(notes, str):
        notes = [notes]
    notes = list(notes or [])
    check_param("pair_windows", pair_windows, [Integer(min=1), None])
    # each set is validated once (in chunks: memmaps are never copied) and its validated
    # windows are what compare() summarises and the memorisation check and figures read
    ref_src = _source(reference, n_bins, stride, reference_label)
    cand_src = {label: _source(data, n_bins, stride, str(label))
                for label, data in candidates.items()}
    floor_src = (None if noise_floor is None
                 else _source(noise_floor, n_bins, stride, noise_floor_label))
    result = compare(
        reference if ref_src is None else ref_src,
        {label: data if cand_src[label] is None else cand_src[label]
         for label, data in candidates.items()},
        noise_floor if floor_src is None else floor_src,
        n_bins=n_bins, stride=stride, max_lag=max_lag, word_neurons=word_neurons,
        word_bins=word_bins, reference_label=reference_label,
        noise_floor_label=noise_floor_label, pair_windows=pair_windows,
    )
    sources: dict[str, WindowedSpikes | None] = {reference_label: ref_src}
    for label, src in cand_src.items():
        sources[str(label)] = src
    if noise_floor is not None:
        sources[noise_floor_label] = floor_src

    mem: dict[str, Any] = {}
    if train is not None:
        for label in result.rows:
            src = sources[label]
            if src is None:
                notes.append(f"No memorisation check for '{label}': only its statistics were given.")
                continue
            r = memorization(src, train, n_bins=n_bins, stride=stride, n_queries=n_memorization,
                             seed=seed)
            mem[label] = {**r.summary()["generated"], "n_train": r.n_train}
        if mem:
            control = (f"the {noise_floor_label} row is real data never trained on (the "
                       "control). " if result.noise_floor_label in mem else "")
            notes.append(
                "Memorisation: distance from each checked window to its nearest training window; "
                f"{control}{n_memorization or 'all'} windows checked per set."
            )

    rng = np.random.default_rng(seed)
    examples = {}
    for label in (reference_label,) + result.labels[:2] + (
        (noise_floor_label,) if noise_floor is not None else ()
    ):
        src = sources.get(label)
        if src is not None:
            examples[label] = src.take([int(rng.integers(src.n_windows))])[0]

    written: list[str] = []
    if out_dir is not None:
        out = _prepare_out_dir(out_dir)
        if figures:
            try:
                from spikegan_tf.evaluation.figures import plot_comparison, plot_ratios

                plot_comparison(result, out / FIGURE_FILE, examples=examples, title=title)
                written.append(FIGURE_FILE)
                if result.noise_floor_label:
                    plot_ratios(result, out / RATIOS_FILE)
                    written.append(RATIOS_FILE)
            except ImportError as exc:
                notes.append(f"No figures: {exc}.")
    result = dataclasses.replace(result, memorization=mem, notes=tuple(result.notes) + tuple(notes),
                                 figures=tuple(written))
    if out_dir is not None:
        result.to_json(out / RESULTS_FILE)
        report = "# Evaluation report\n\n" + result.to_markdown()
        with atomic_path(out / REPORT_FILE) as tmp:
            tmp.write_text(report)
    return result

"""What a perfect model's raster scores: blocks of the real data in the model's place.

A long generated raster is judged by its error against the training data as a multiple
of the noise floor, the held-out split's error (:func:`~spikegan_tf.evaluation.compare`).
Both errors are measured on one sample each, so even a model that *is* the data's process
scores away from 1x, by an amount that depends on the statistic (few numbers, such as
P(K) or the rates, spread more than many, such as the covariances) and on how slowly
the data vary, not on the model. :func:`block_floor` measures that spread: it cuts
``n_blocks`` blocks as long as the generated raster from the reference raster, evenly
spaced from its first bin to its last block, and scores each exactly as a generated
raster is scored, against the rest of the reference (the block left out; the two pieces
around it joined, so the few windows across the join are in) and with the held-out
split's error against that rest as the floor::

    ratio = error(block, rest) / error(held-out, rest)

On the simulated ``uniform`` dataset, stationary by construction, real blocks as long as
the held-out split meet all six headline statistics within 1.5x in none of 7 blocks
(P(K) 0.68-3.12x; ``benchmarks/results/raster_floor/``): a per-raster target of 1.5x is
not met by the data's own process there. On a recording that drifts, a block from the
middle is nearer in time to the rest than the held-out end is, which favours the block:
read its ratios as what a perfect model scores at best.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> raster = (rng.random((4000, 4)) < 0.2).astype(np.uint8)
>>> held_out = (rng.random((1000, 4)) < 0.2).astype(np.uint8)
>>> floor = block_floor(raster, held_out, n_blocks=3, n_bins=8)
>>> floor.offsets, len(floor.ratios["covariance"])
((0, 1500, 3000), 3)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.validation import check_positive_int, check_raster

__all__ = ["BlockFloor", "block_floor", "block_offsets"]


def block_offsets(n_time_bins: int, length: int, n_blocks: int) -> tuple[int, ...]:
    """Start bins of ``n_blocks`` blocks of ``length`` bins, evenly spaced, first and last in.

    Fewer when the raster has fewer distinct starts.

    Examples
    --------
    >>> block_offsets(100, 40, 4)
    (0, 20, 40, 60)
    >>> block_offsets(42, 40, 5)
    (0, 1, 2)
    """
    span = n_time_bins - length
    return tuple(sorted({int(round(o)) for o in np.linspace(0, span, n_blocks)}))


@dataclass(frozen=True)
class BlockFloor:
    """What :func:`block_floor` measured: one ratio per block and statistic."""

    length: int
    n_bins: int
    offsets: tuple[int, ...]
    ratios: dict[str, tuple[float, ...]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, with :meth:`summary`."""
        return {**asdict(self), "summary": self.summary()}

    def summary(self) -> dict[str, dict[str, float]]:
        """Per statistic: the blocks' smallest, median and largest ratio.

        Examples
        --------
        >>> BlockFloor(10, 4, (0, 5), {"covariance": (0.5, 2.0)}).summary()
        {'covariance': {'min': 0.5, 'median': 1.25, 'max': 2.0}}
        """
        return {name: {"min": min(v), "median": float(np.median(v)), "max": max(v)}
                for name, v in self.ratios.items()}

    def within(self, threshold: float, statistics: Any = None) -> int:
        """How many blocks have every statistic of ``statistics`` (default: all) <= ``threshold``.

        Examples
        --------
        >>> floor = BlockFloor(10, 4, (0, 5), {"a": (0.5, 2.0), "b": (1.0, 1.0)})
        >>> floor.within(1.5), floor.within(1.5, ["b"])
        (1, 2)
        """
        names = list(self.ratios) if statistics is None else list(statistics)
        return sum(all(self.ratios[n][i] <= threshold for n in names)
                   for i in range(len(self.offsets)))

    def lines(self, generated: dict[str, dict[str, float]] | None = None) -> list[str]:
        """The printed report; ``generated`` (label -> statistic -> ratio) beside it."""
        generated = generated or {}
        out = [f"a perfect model's raster: {len(self.offsets)} blocks of {self.length} bins of "
               f"the reference, each scored against the rest ({self.n_bins}-bin windows)",
               f"{'statistic':<26} {'min':>6} {'median':>7} {'max':>6}"
               + "".join(f" {label[:14]:>14}" for label in generated)]
        for name, s in self.summary().items():
            out.append(f"{name:<26} {s['min']:6.2f} {s['median']:7.2f} {s['max']:6.2f}"
                       + "".join(f" {g[name]:14.2f}" for g in generated.values()))
        return out


def block_floor(reference: Any, held_out: Any, *, length: int | None = None,
                n_blocks: int = 7, n_bins: int = 32, stride: int = 1,
                max_lag: int | None = None, pair_windows: int | None = None,
                statistics: Any = None) -> BlockFloor:
    """Score blocks of the reference as generated rasters are scored (see the module).

    Parameters
    ----------
    reference : array_like
        The real raster ``(n_time_bins, n_neurons)`` generated rasters are compared with
        (the training split).
    held_out : array_like
        The held-out raster, whose error against the rest of the reference is the floor.
    length : int, optional
        Block length, that of the generated raster (default: ``len(held_out)``). The
        reference must hold it twice.
    n_blocks : int
        Blocks, evenly spaced from the reference's first bin to its last block.
    n_bins, stride, max_lag
        Windows (``n_bins`` bins every ``stride``) and lags of the statistics, as for the
        generated raster (:func:`~spikegan_tf.evaluation.as_statistics`).
    pair_windows : int, optional
        Pairwise statistics of every set from at most this many evenly spaced windows,
        as for the generated raster (default: all windows).
    statistics : sequence of str, optional
        Statistics to score (default: the six headline statistics).

    Returns
    -------
    BlockFloor

    Raises
    ------
    SpikeDataError
        A raster is not binary ``(time bins, neurons)``, the neuron counts differ, or the
        reference is shorter than two blocks.

    Examples
    --------
    A block equal to the held-out raster scores 1 on every statistic:

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> raster = (rng.random((3000, 3)) < 0.3).astype(np.uint8)
    >>> floor = block_floor(raster, raster[:1000], n_blocks=3, n_bins=8)
    >>> [round(r[0], 12) for r in floor.ratios.values()]
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    from spikegan_tf.evaluation.compare import HEADLINE, as_statistics, compare

    reference = check_raster(reference, "reference")
    held_out = check_raster(held_out, "held_out")
    if reference.shape[1] != held_out.shape[1]:
        raise SpikeDataError(f"`held_out` must have the reference's {reference.shape[1]} "
                             f"neurons. Received {held_out.shape[1]}.")
    n_blocks = check_positive_int(n_blocks, "n_blocks")
    n_bins = check_positive_int(n_bins, "n_bins")
    stride = check_positive_int(stride, "stride")
    length = len(held_out) if length is None else check_positive_int(length, "length")
    if 2 * length > len(reference) or length < n_bins or len(held_out) < n_bins:
        raise SpikeDataError(
            f"`block_floor` needs blocks of at least `n_bins` ({n_bins}) bins that fit twice in "
            f"the reference: reference {len(reference)} bins, blocks of {length}, held-out "
            f"{len(held_out)}.")
    names = tuple(HEADLINE if statistics is None else statistics)
    if not names:
        raise ConfigError("`statistics` must name at least one statistic. Received none.")
    offsets = block_offsets(len(reference), length, n_blocks)
    ratios: dict[str, list[float]] = {name: [] for name in names}
    for offset in offsets:
        rest = np.concatenate([reference[:offset], reference[offset + length:]])
        ref = as_statistics(rest, n_bins=n_bins, stride=stride, max_lag=max_lag,
                            pair_windows=pair_windows, label="reference")
        floor = as_statistics(held_out, like=ref, n_bins=n_bins, stride=stride,
                              pair_windows=pair_windows, label="held_out")
        result = compare(ref, {"block": reference[offset:offset + length]}, floor,
                         n_bins=n_bins, stride=stride, pair_windows=pair_windows,
                         statistics=names)
        for name in names:
            ratios[name].append(float(result.ratio("block", name)))
    return BlockFloor(length=length, n_bins=n_bins, offsets=offsets,
                      ratios={name: tuple(v) for name, v in ratios.items()})

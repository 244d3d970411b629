"""Defaults and limits of the statistics (lags, word groups, table sizes, a cost constant).

The windows themselves come as one validated type,
:class:`spikegan_tf.data.WindowedSpikes`, read block by block.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_MAX_LAG",
    "DEFAULT_WORD_NEURONS",
    "DEFAULT_WORD_BINS",
    "MAX_WORD_BITS",
    "MAX_ENTROPY_BITS",
]


DEFAULT_MAX_LAG = 10  # the reference code's autocorrelogram lags
DEFAULT_WORD_NEURONS = 10  # size of the default word group (most active neurons)
DEFAULT_WORD_BINS = 2
MAX_WORD_BITS = 20  # dense word tables hold 2**bits float64 (8 MiB at 20 bits)
MAX_WORD_NEURONS = 20
MAX_ENTROPY_BITS = 64  # whole-window patterns are packed into one uint64
# cost of one coincident spike pair (scipy's sparse product) relative to one multiply-add of
# the float32 BLAS products, single thread: measured 94-156 where the two methods cross
# (N = 256 and 1,024 neurons, firing probability 0.05-0.1, lags 0..10); "auto" picks the
# dense products when pairs * _SPARSE_PAIR_COST exceed the multiply-adds
_SPARSE_PAIR_COST = 150.0

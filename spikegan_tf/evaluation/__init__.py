"""Evaluation: every statistic against a held-out noise floor, memorisation, reports, figures.

* :mod:`~spikegan_tf.evaluation.compare`: errors of candidates against a reference,
  as multiples of the noise floor;
* :mod:`~spikegan_tf.evaluation.memorization`: nearest-neighbour distances to the
  training windows;
* :mod:`~spikegan_tf.evaluation.report`: ``evaluate`` (the report of ``spikegan evaluate``);
* :mod:`~spikegan_tf.evaluation.figures`: the figures (matplotlib, imported lazily);
* :mod:`~spikegan_tf.evaluation.seams`: the seam test of long rasters.

It takes arrays of windows and never imports a model.
"""

from spikegan_tf.evaluation.compare import HEADLINE, as_statistics, compare
from spikegan_tf.evaluation.report import evaluate

__all__ = ["HEADLINE", "as_statistics", "compare", "evaluate"]

"""Evaluation: every statistic against a held-out noise floor, memorisation, reports, figures.

* :mod:`~spikegan_tf.evaluation.compare`: errors of candidates against a reference,
  as multiples of the noise floor;
* :mod:`~spikegan_tf.evaluation.memorization`: nearest-neighbour distances to the
  training windows;
* :mod:`~spikegan_tf.evaluation.report`: ``evaluate`` (the report of ``spikegan evaluate``);
* :mod:`~spikegan_tf.evaluation.figures`: the figures (matplotlib, imported lazily);
* :mod:`~spikegan_tf.evaluation.seams`: the seam test of long rasters;
* :mod:`~spikegan_tf.evaluation.block_floor`: what a perfect model's long raster scores
  (blocks of the real data in the model's place);
* :mod:`~spikegan_tf.evaluation.conditional`: conditional generation, per condition
  against per-condition floors, and tuning curves;
* :mod:`~spikegan_tf.evaluation.decoding`: stimulus decoders, real against generated.

It takes arrays of windows and never imports a model.
"""

from spikegan_tf.evaluation.block_floor import BlockFloor, block_floor
from spikegan_tf.evaluation.compare import HEADLINE, as_statistics, compare
from spikegan_tf.evaluation.conditional import (
    ConditionalComparison,
    compare_by_condition,
    conditional_markdown,
    covariate_groups,
    plot_conditional,
    tuning_correlation,
    tuning_curves,
)
from spikegan_tf.evaluation.decoding import (
    LogisticDecoder,
    covariate_decoding_report,
    decoding_report,
    softmax_loss,
    window_features,
)
from spikegan_tf.evaluation.report import evaluate

__all__ = ["HEADLINE", "as_statistics", "compare", "evaluate", "BlockFloor", "block_floor",
           "ConditionalComparison", "LogisticDecoder", "compare_by_condition",
           "conditional_markdown", "covariate_decoding_report", "covariate_groups",
           "decoding_report", "plot_conditional", "softmax_loss", "tuning_correlation",
           "tuning_curves", "window_features"]

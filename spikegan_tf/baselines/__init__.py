"""Baseline models fitted in-package, with the interface the GAN shares.

* :class:`IndependentBernoulli` -- independent neurons (optionally per bin);
* :class:`DichotomizedGaussian` -- thresholded latent Gaussian matching rates and
  (lagged) pairwise correlations (Macke et al. 2009; Lyamzin et al. 2010), by
  default with two latent population states (quiet/active) so that it also
  reproduces the population spike-count distribution;
* :class:`KPairwiseMaxEnt` -- maximum-entropy model with fields, couplings and a
  population-count potential (Tkacik et al. 2014), independent across bins.

Every model: ``fit(data, *, n_bins=None, stride=1, seed=None) -> self``,
``sample(n_samples, seed=None) -> uint8 (n, neurons, bins)``, ``save(path)``,
``load(path)`` (``.npz`` + JSON metadata, no pickle), ``log_prob(windows)`` where
tractable and a frozen ``fit_report_``. :func:`load` returns whichever model a
file holds.
"""

from __future__ import annotations

from spikegan_tf.baselines.base import Baseline, FitReport, load
from spikegan_tf.baselines.dichotomized_gaussian import DGFitReport, DichotomizedGaussian
from spikegan_tf.baselines.independent import IndependentBernoulli
from spikegan_tf.baselines.kpairwise import KPairwiseFitReport, KPairwiseMaxEnt

__all__ = [
    "Baseline",
    "FitReport",
    "DGFitReport",
    "KPairwiseFitReport",
    "IndependentBernoulli",
    "DichotomizedGaussian",
    "KPairwiseMaxEnt",
    "MODELS",
    "load",
]

#: CLI name -> model class
MODELS = {
    "independent": IndependentBernoulli,
    "dg": DichotomizedGaussian,
    "kpairwise": KPairwiseMaxEnt,
}

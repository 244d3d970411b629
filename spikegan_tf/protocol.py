"""The protocol every spike model of the package follows: Spike-GAN and the baselines.

One small interface, so that evaluation, the command line and users' code treat
any model alike (and a new baseline knows what to provide):

* ``fit(data, ..., seed=...)`` learns from spikes and returns the model itself;
* ``sample(n_samples, seed=None)`` draws uint8 windows ``(n, n_neurons, n_bins)``
  (the same seed gives the same windows; ``None`` draws fresh entropy);
* ``save(path)`` and the class method ``load(path)`` round-trip the fitted model
  (no pickle);
* what fitting creates ends in ``_`` (``generator_``, ``fit_report_``...).

Examples
--------
>>> from spikegan_tf.baselines import IndependentBernoulli
>>> from spikegan_tf.gan import SpikeGAN
>>> isinstance(IndependentBernoulli(), SpikeModel), isinstance(SpikeGAN(3, 8), SpikeModel)
(True, True)
"""

from __future__ import annotations

import os
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["SpikeModel"]


@runtime_checkable
class SpikeModel(Protocol):
    """``fit`` (returns the model), ``sample(n, seed=None)``, ``save`` / ``load``."""

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        """Learn from spikes; return the model itself."""
        ...

    def sample(self, n_samples: int, seed: int | None = None) -> np.ndarray:
        """Draw ``n_samples`` uint8 windows ``(n_samples, n_neurons, n_bins)``."""
        ...

    def save(self, path: str | os.PathLike) -> Any:
        """Write the fitted model to ``path``."""
        ...

    @classmethod
    def load(cls, path: str | os.PathLike) -> Any:
        """Read a model written by :meth:`save`."""
        ...

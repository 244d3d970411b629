"""Independent Bernoulli neurons: the simplest baseline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from spikegan_tf.baselines._moments import rates, rates_per_bin
from spikegan_tf.baselines.base import Baseline
from spikegan_tf.data import WindowedSpikes
from spikegan_tf.errors import ConfigError

__all__ = ["IndependentBernoulli"]

_CHUNK = 8192


class IndependentBernoulli(Baseline):
    """Every neuron spikes independently in every bin with its own probability.

    Parameters
    ----------
    per_bin : bool
        Fit one probability per neuron *and bin position* (for trial-aligned
        windows) instead of one per neuron pooled over bins.

    Attributes
    ----------
    p_ : numpy.ndarray
        Firing probabilities ``(neurons, bins)`` (constant over bins unless
        ``per_bin``).

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([[[1, 0], [0, 0]], [[1, 1], [0, 1]]], np.uint8)  # (2, 2, 2)
    >>> m = IndependentBernoulli().fit(w)
    >>> m.p_[:, 0]
    array([0.75, 0.25])
    >>> m.sample(3, seed=0).shape
    (3, 2, 2)
    >>> round(float(np.exp(m.log_prob(np.zeros((1, 2, 2), np.uint8)))[0]), 12)  # .25**2 * .75**2
    0.03515625
    """

    kind = "independent"

    def __init__(self, *, per_bin: bool = False) -> None:
        super().__init__()
        if not isinstance(per_bin, bool | np.bool_):
            raise ConfigError(f"`per_bin` must be True or False. Received {per_bin!r}.")
        self.per_bin = bool(per_bin)
        self.p_: np.ndarray | None = None

    def get_options(self) -> dict[str, Any]:
        return {"per_bin": self.per_bin}

    def _fit(self, d: WindowedSpikes, seed: int | None) -> dict[str, Any]:
        if self.per_bin:
            self.p_ = rates_per_bin(d)
        else:
            self.p_ = np.repeat(rates(d)[:, None], d.n_bins, axis=1)
        return {}

    def _sample_into(self, out: np.ndarray, rng: np.random.Generator) -> None:
        p = self.p_.astype(np.float32)
        for start in range(0, out.shape[0], _CHUNK):
            stop = min(start + _CHUNK, out.shape[0])
            u = rng.random((stop - start, *p.shape), dtype=np.float32)
            np.less(u, p, out=out[start:stop], casting="unsafe")

    def _log_prob(self, windows: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            log_p, log_q = np.log(self.p_), np.log1p(-self.p_)
        x = windows.astype(bool)
        # where() avoids 0 * -inf for probabilities of exactly 0 or 1
        terms = np.where(x, log_p, log_q)
        return terms.sum(axis=(1, 2))

    def _get_params(self) -> dict[str, np.ndarray]:
        return {"p": self.p_}

    def _set_params(self, arrays: Mapping[str, np.ndarray]) -> None:
        p = self._require(arrays, "p", (self.n_neurons_, self.n_bins_))
        if np.any((p < 0) | (p > 1)):
            raise ValueError("array 'p' holds values outside [0, 1]")
        self.p_ = p

"""Does the generator use its latent input? A check of training, every 1,000 steps.

A generator can settle at an independent model of the rates: every bin drawn
from nearly one probability whatever its latent input, a state that more
training does not leave (six-layer temporal stacks on ``uniform`` and
``packets``: ``benchmarks/RESULTS.md``, "Stuck, not slow"). Its firing
probabilities then hardly vary over latent draws. :func:`latent_variation`
measures that variation relative to the probabilities; :class:`StuckCheck`
logs it (``latent_variation`` in ``metrics.jsonl``) and warns once when it is
below :data:`STUCK_VARIATION` from step 2,000 on. Measured on published
generators (``benchmarks/results/retina_recipe_sim/``, ``critic_head_long/``):
stuck runs 0.003-0.017, runs that learnt 0.9-2.7; freshly initialised
generators 0.003-0.05 (so not before training has had its chance: the runs
that learnt had left that state by 1,000 steps, the stuck ones were still in
it at 3,000).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from spikegan_tf.gan.callbacks import Callback

__all__ = ["CHECK_EVERY", "STUCK_VARIATION", "StuckCheck", "latent_variation"]

#: Below this :func:`latent_variation`, the generator is taken to ignore its latent input.
STUCK_VARIATION = 0.1
#: Steps between the checks of :class:`StuckCheck` (a run that learns has left the state by then).
CHECK_EVERY = 1000


def latent_variation(generator: Any, n_samples: int = 64, seed: int = 0) -> float:
    """How much an unconditional generator's probabilities vary with its latent input.

    The mean over neurons and bins of the standard deviation over
    ``n_samples`` latent draws of the firing probability, divided by its mean
    over the draws (a coefficient of variation, so sparse data are not taken
    for stuck).

    Examples
    --------
    >>> from spikegan_tf.gan.config import ModelConfig
    >>> from spikegan_tf.gan.networks import build_generator
    >>> g = build_generator(ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8),
    ...                     seed=0)
    >>> bool(0 < latent_variation(g) < STUCK_VARIATION)  # a fresh one barely uses it either
    True
    >>> w = g.get_layer("project").kernel          # cut the latent input off
    >>> _ = w.assign(np.zeros(w.shape))
    >>> latent_variation(g)
    0.0
    """
    z = np.random.default_rng(seed).standard_normal(
        (n_samples, int(generator.inputs[0].shape[-1]))).astype(np.float32)
    p = np.asarray(generator(z, training=False), dtype=np.float64)
    return float((p.std(axis=0) / np.maximum(p.mean(axis=0), 1e-6)).mean())


class StuckCheck(Callback):
    """Every ``every`` steps, log the training generator's :func:`latent_variation`; warn once
    (a ``UserWarning``) when it is below ``threshold`` at step ``warn_from`` or later.

    Part of :func:`~spikegan_tf.gan.callbacks.default_callbacks` for unconditional models.
    """

    def __init__(self, every: int = CHECK_EVERY, threshold: float = STUCK_VARIATION,
                 warn_from: int = 2 * CHECK_EVERY, seed: int = 0) -> None:
        self.every = int(every)
        self.threshold = float(threshold)
        self.warn_from = int(warn_from)
        self.seed = seed
        self.warned = False

    def on_steps_end(self, step: int, logs: dict[str, Any]) -> None:
        if step <= 0 or step % self.every:
            return
        value = latent_variation(self.trainer.generator, seed=self.seed)
        logs["latent_variation"] = value
        if value < self.threshold and step >= self.warn_from and not self.warned:
            self.warned = True
            warnings.warn(
                f"At step {step} the generator's firing probabilities hardly depend on its "
                f"latent input (variation {value:.3g} over latent draws, under "
                f"{self.threshold:g}): it looks stuck at an independent model of the rates, "
                "which more training has not been seen to leave. A temporal generator with "
                "fewer dilated layers (temporal_layers=4) or He-initialised ones "
                "(temporal_init='he') started where such runs did not (README: 'A deeper "
                "stack can fail to start').", UserWarning, stacklevel=2)

"""Held-out errors during training: :func:`validation_errors` and the :class:`Validation`
callback that logs them every ``eval_every`` steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spikegan_tf import statistics as stats
from spikegan_tf.gan.callbacks import Callback

__all__ = ["Validation", "validation_errors"]


# --------------------------------------------------------------------------- validation


def validation_errors(reference: np.ndarray, candidate: np.ndarray,
                      reference_stats: dict[str, np.ndarray] | None = None) -> dict[str, float]:
    """Mean absolute errors of firing rates, covariances and spike counts.

    Parameters
    ----------
    reference, candidate : numpy.ndarray
        uint8 windows ``(n, n_neurons, n_bins)``.
    reference_stats : dict, optional
        The reference's statistics from an earlier call (``_reference_stats``),
        to avoid recomputing them.

    Returns
    -------
    dict
        ``firing_rate_mae``, ``covariance_mae`` and ``spike_count_mae``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((4, 2, 3), "uint8")
    >>> validation_errors(x, x)["firing_rate_mae"]
    0.0
    """
    ref = reference_stats if reference_stats is not None else _reference_stats(reference)
    cand = _reference_stats(candidate)
    out = {}
    for name in ("firing_rate", "covariance", "spike_count"):
        a, b = ref[name], cand[name]
        if a.shape != b.shape:  # spike-count supports may differ in length
            n = max(a.size, b.size)
            a, b = np.pad(a.ravel(), (0, n - a.size)), np.pad(b.ravel(), (0, n - b.size))
        out[f"{name}_mae"] = float(np.mean(np.abs(a - b)))
    return out


def _reference_stats(windows: np.ndarray) -> dict[str, np.ndarray]:
    return {"firing_rate": np.asarray(stats.firing_probability(windows), dtype=np.float64),
            "covariance": np.asarray(stats.covariance(windows), dtype=np.float64),
            "spike_count": np.asarray(stats.spike_count_distribution(windows),
                                      dtype=np.float64)}


class Validation(Callback):
    """Every ``every`` steps (and after the last), errors of generated against validation windows.

    Draws ``min(len(val), n_samples)`` windows with a fixed seed (for the
    first validation windows' conditions when the model is conditional), and
    compares them with those validation windows, so successive evaluations
    compare like with like; the trainer's random stream is not
    touched. Adds ``val_<error>`` entries to ``logs``; ``latest`` holds the last.
    """

    def __init__(self, val: np.ndarray, every: int, n_samples: int, seed: int,
                 conditions: Any = None) -> None:
        n = min(len(val), n_samples)
        self.every, self.n_samples, self.seed = int(every), n, seed
        self.val = val if conditions is None else val[:n]
        # a conditional model is validated on the validation windows' own conditions
        self.conditions = None if conditions is None else conditions.take(np.arange(n))
        self.latest: dict[str, float] = {}
        self._ref = _reference_stats(val)
        self._last_step: int | None = None

    def evaluate(self) -> dict[str, float]:
        from spikegan_tf.gan.sampling import sample

        fake = sample(self.trainer.sampling_generator, self.n_samples, seed=self.seed,
                      conditions=self.conditions)
        return validation_errors(self.val, fake, self._ref)

    def on_train_begin(self, step: int, logs: dict[str, Any]) -> None:
        self._first = step

    def on_steps_end(self, step: int, logs: dict[str, Any]) -> None:
        if step % self.every == 0:
            self._record(step, logs)

    def on_train_end(self, step: int, logs: dict[str, Any]) -> None:
        if step > self._first and self._last_step != step:
            # a last evaluation of the final model, when the loop did not just do it
            self._record(step, logs)

    def _record(self, step: int, logs: dict[str, Any]) -> None:
        self.latest = self.evaluate()
        self._last_step = step
        logs.update({f"val_{k}": v for k, v in self.latest.items()})


# --------------------------------------------------------------------------- logging

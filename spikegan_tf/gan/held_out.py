"""Held-out errors during training: :func:`validation_errors`, the :class:`Validation`
callback that logs them every ``eval_every`` steps, and :class:`PublishBest`, which publishes
the generator with the best of them (``TrainConfig.publish="best"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spikegan_tf import statistics as stats
from spikegan_tf.gan.callbacks import Callback

__all__ = ["PublishBest", "Validation", "validation_errors", "validation_score"]


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


def validation_score(errors: dict[str, float], floor: dict[str, float]) -> float:
    """Mean over the errors of ``error / floor`` (1: as close as held-out data are).

    A zero floor counts its error as 0 when it is 0 and as infinite otherwise.

    Examples
    --------
    >>> validation_score({"a": 0.2, "b": 0.03}, {"a": 0.1, "b": 0.03})
    1.5
    """
    ratios = [0.0 if errors[k] == 0 else (errors[k] / floor[k] if floor[k] > 0 else np.inf)
              for k in floor]
    return float(np.mean(ratios))


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
                 conditions: Any = None, train: Any = None, published: bool = False) -> None:
        n = min(len(val), n_samples)
        self.every, self.n_samples, self.seed = int(every), n, seed
        self.val = val if conditions is None else val[:n]
        # a conditional model is validated on the validation windows' own conditions
        self.conditions = None if conditions is None else conditions.take(np.arange(n))
        self.published = bool(published)
        self.latest: dict[str, float] = {}
        self._ref = _reference_stats(val)
        self._last_step: int | None = None
        # the floor: as many training windows (a seeded choice) against the validation ones
        self.floor: dict[str, float] | None = None
        if train is not None:
            pick = np.sort(np.random.default_rng(seed).choice(train.n_windows,
                                                              min(n, train.n_windows),
                                                              replace=False))
            self.floor = validation_errors(self.val, train.take(pick), self._ref)

    def evaluate(self) -> dict[str, float]:
        """Errors of ``n_samples`` generated windows (the published generator's if ``published``)."""
        from spikegan_tf.gan.sampling import sample

        t = self.trainer
        generator = t.calibrated_generator() if self.published else t.sampling_generator
        fake = sample(generator, self.n_samples, seed=self.seed, conditions=self.conditions)
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
        if self.floor is not None:
            self.latest["score"] = validation_score(self.latest, self.floor)
        self._last_step = step
        logs.update({f"val_{k}": v for k, v in self.latest.items()})


class PublishBest(Callback):
    """Publish the generator whenever its validation score is the best so far.

    Runs after :class:`Validation` (it reads ``logs["val_score"]``). Keeps the
    best in the trainer (:meth:`Trainer.keep_best`), which writes
    ``generator.keras``, ``critic.keras`` and ``best.json`` to the run
    directory; a resumed run starts from the score in ``best.json``.
    """

    def on_train_begin(self, step: int, logs: dict[str, Any]) -> None:
        self.best = self.trainer.best_score()

    def on_steps_end(self, step: int, logs: dict[str, Any]) -> None:
        self._consider(step, logs)

    def on_train_end(self, step: int, logs: dict[str, Any]) -> None:
        self._consider(step, logs)

    def _consider(self, step: int, logs: dict[str, Any]) -> None:
        score = logs.get("val_score")
        if score is None or not score < self.best:
            return
        self.best = score
        errors = {k[4:]: v for k, v in logs.items() if k.startswith("val_") and k != "val_score"}
        self.trainer.keep_best(step, score, errors)


# --------------------------------------------------------------------------- logging

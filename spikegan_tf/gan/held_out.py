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

    Errors whose floor is 0 (a statistic the held-out data match exactly)
    are left out of the mean; with no positive floor the score is the sum of
    the errors. NaN errors give NaN.

    Examples
    --------
    >>> validation_score({"a": 0.2, "b": 0.03}, {"a": 0.1, "b": 0.03})
    1.5
    >>> validation_score({"a": 0.2, "b": 0.03}, {"a": 0.1, "b": 0.0})
    2.0
    """
    ratios = [errors[k] / floor[k] for k in floor if floor[k] > 0]
    if not ratios:
        return float(sum(errors[k] for k in floor))
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

    With ``train`` (the training windows), ``floor`` holds the same errors of
    as many training windows (a seeded choice, whatever their conditions;
    fewer if the training split is smaller) against the validation windows,
    and each evaluation adds ``val_score`` (:func:`validation_score`).
    ``published``: validate the generator as it would be published
    (``Trainer.calibrated_generator``, one calibration per evaluation)
    instead of the sampling generator (``TrainConfig.publish="best"``); then
    a run stopped by a signal skips the last evaluation, to leave its grace
    period to the checkpoint.
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
        self._ref = _reference_stats(self.val)
        self._last_step: int | None = None
        # the floor: as many training windows (a seeded choice) against the validation ones
        self.floor: dict[str, float] | None = None
        if train is not None:
            pick = np.sort(np.random.default_rng(seed).choice(train.n_windows,
                                                              min(n, train.n_windows),
                                                              replace=False))
            self.floor = validation_errors(self.val, train.take(pick), self._ref)

    def evaluate(self, generator: Any = None) -> dict[str, float]:
        """Errors of ``n_samples`` windows of ``generator`` (default: the trainer's, as above)."""
        from spikegan_tf.gan.sampling import sample

        t = self.trainer
        if generator is None:
            generator = t.calibrated_generator() if self.published else t.sampling_generator
        fake = sample(generator, self.n_samples, seed=self.seed, conditions=self.conditions)
        return validation_errors(self.val, fake, self._ref)

    def score(self, generator: Any) -> float:
        """:func:`validation_score` of ``generator`` (needs ``train``)."""
        return validation_score(self.evaluate(generator), self.floor)

    def on_train_begin(self, step: int, logs: dict[str, Any]) -> None:
        self._first = step

    def on_steps_end(self, step: int, logs: dict[str, Any]) -> None:
        if step % self.every == 0:
            self._record(step, logs)

    def on_train_end(self, step: int, logs: dict[str, Any]) -> None:
        signalled = self.trainer.stop_training in ("SIGINT", "SIGTERM")
        if step > self._first and self._last_step != step and not (
                self.published and signalled):
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

    Runs after ``validation`` (it reads ``logs["val_score"]``). Keeps the
    best in the trainer (:meth:`Trainer.keep_best`), which writes
    ``generator.keras``, ``critic.keras`` and ``best.json`` to the run
    directory. A best kept from before this fit (a resumed run's
    ``best.json``, or an earlier fit of the same trainer) is scored again by
    this fit's validation first, so that it is compared like with like. The
    first evaluation is always kept; a NaN score never is.
    """

    def __init__(self, validation: Validation) -> None:
        self.validation = validation

    def on_train_begin(self, step: int, logs: dict[str, Any]) -> None:
        kept = self.trainer.kept_best()
        self.best = None if kept is None else self.validation.score(kept)

    def on_steps_end(self, step: int, logs: dict[str, Any]) -> None:
        self._consider(step, logs)

    def on_train_end(self, step: int, logs: dict[str, Any]) -> None:
        self._consider(step, logs)

    def _consider(self, step: int, logs: dict[str, Any]) -> None:
        score = logs.get("val_score")
        if score is None or np.isnan(score) or not (self.best is None or score < self.best):
            return
        self.best = score
        errors = {k[4:]: v for k, v in logs.items() if k.startswith("val_") and k != "val_score"}
        self.trainer.keep_best(step, score, errors)


# --------------------------------------------------------------------------- logging

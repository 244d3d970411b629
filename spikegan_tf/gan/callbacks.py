"""The side jobs of the training loop, as callbacks (the way ``keras.callbacks`` works).

:meth:`spikegan_tf.gan.trainer.Trainer.fit` only steps and stops; everything else
hooks in here: validation metrics, ``metrics.jsonl`` and console logging,
TensorBoard, checkpoints, the progress line and the Ctrl-C / SIGTERM stop.
:func:`default_callbacks` builds the standard set from the trainer's
``TrainConfig``; pass your own to ``Trainer.fit(..., callbacks=[...])`` (or
``SpikeGAN.fit``) and they run after it, in order, with the same ``logs``.

A callback that needs exact steps sets ``every``: the trainer ends a
``tf.function`` call on every multiple of it (so ``on_steps_end`` sees step
``k * every``), whatever ``steps_per_call`` is.

Examples
--------
>>> import numpy as np
>>> from spikegan_tf.gan.config import ModelConfig
>>> from spikegan_tf.data.splits import prepare_data
>>> from spikegan_tf.gan.train_config import TrainConfig
>>> from spikegan_tf.gan.trainer import Trainer
>>> class LossHistory(Callback):
...     every = 2
...     def on_train_begin(self, step, logs):
...         self.seen = []
...     def on_steps_end(self, step, logs):
...         self.seen.append((step, round(logs["g_loss"], 3) == round(logs["g_loss"], 3)))
>>> x = (np.random.default_rng(0).random((64, 3, 8)) < 0.3).astype("uint8")
>>> trainer = Trainer(ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8),
...                   TrainConfig(batch_size=8, max_steps=4, eval_every=0), verbose=0)
>>> history = LossHistory()
>>> trainer.fit(prepare_data(x), callbacks=[history]).step
4
>>> history.seen
[(2, True), (4, True)]
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
import time
from typing import Any

import numpy as np

from spikegan_tf.errors import TrainingDivergedError

__all__ = [
    "Callback",
    "MetricsLogger",
    "TensorBoard",
    "Checkpoint",
    "ProgressLine",
    "StopOnSignal",
    "default_callbacks",
    "PUBLISH_SHARE",
]

#: the largest share of a run's time that publishing at checkpoints may take (Checkpoint)
PUBLISH_SHARE = 0.05


class Callback:
    """Base class: every hook is a no-op.

    Attributes
    ----------
    trainer : Trainer
        Set by the trainer before ``on_train_begin``.
    every : int
        0, or the steps between the calls this callback needs exactly.
    """

    trainer: Any = None
    every: int = 0

    def set_trainer(self, trainer: Any) -> None:
        self.trainer = trainer

    def on_train_begin(self, step: int, logs: dict[str, Any]) -> None:
        """Before the first step of this ``fit`` (``step`` is the step resumed from)."""

    def on_steps_end(self, step: int, logs: dict[str, Any]) -> None:
        """After each ``tf.function`` call; ``logs`` has the last step's losses.

        ``logs["log"]`` is ``True`` on the steps to log (multiples of
        ``log_every``); callbacks may add entries for the ones after them.
        """

    def on_train_end(self, step: int, logs: dict[str, Any]) -> None:
        """After the last step, when training stopped normally."""

    def close(self) -> None:
        """Release resources; runs after every ``fit``, also on an error."""


def _record(logs: dict[str, Any]) -> dict[str, Any]:
    """What to log of ``logs``: the losses on logging steps, validation errors when present."""
    keep = {k: v for k, v in logs.items() if k.startswith("val_")}
    if logs.get("log"):
        keep = {**{k: v for k, v in logs.items() if k != "log" and not k.startswith("val_")},
                **keep}
    return keep


class MetricsLogger(Callback):
    """Append each logged record to the run's ``metrics.jsonl``; print it when ``verbose >= 2``.

    Records are ``{"step", "time_s", losses..., "steps_per_s", "val_...": ...}``.
    """

    def __init__(self, run: Any = None, verbose: int = 1) -> None:
        self.run, self.verbose = run, verbose
        self._fh: Any = None

    def on_train_begin(self, step: int, logs: dict[str, Any]) -> None:
        self._t0 = time.monotonic()
        self._fh = self.run.open_metrics() if self.run is not None else None

    def on_steps_end(self, step: int, logs: dict[str, Any]) -> None:
        record = _record(logs)
        if not record:
            return
        if self.verbose >= 2:
            shown = " ".join(f"{k}={v:.4g}" for k, v in record.items())
            print(f"step {step}: {shown}", file=sys.stderr)
        if self._fh is not None:
            elapsed = round(time.monotonic() - self._t0, 3)
            self._fh.write(json.dumps({"step": step, "time_s": elapsed, **record}) + "\n")
            self._fh.flush()

    on_train_end = on_steps_end

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class TensorBoard(Callback):
    """Write each logged record as TensorBoard scalars in ``log_dir``."""

    def __init__(self, log_dir: Any) -> None:
        self.log_dir = log_dir
        self._writer: Any = None

    def on_train_begin(self, step: int, logs: dict[str, Any]) -> None:
        import tensorflow as tf

        self._writer = tf.summary.create_file_writer(str(self.log_dir))

    def on_steps_end(self, step: int, logs: dict[str, Any]) -> None:
        import tensorflow as tf

        record = _record(logs)
        if record and self._writer is not None:
            with self._writer.as_default(step=step):
                for name, value in record.items():
                    _summary_scalar(tf, name, value)

    on_train_end = on_steps_end

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _summary_scalar(tf: Any, name: str, value: float) -> None:
    """``tf.summary.scalar`` without needing the ``tensorboard`` package installed.

    Writes the same event (a float32 tensor tagged for TensorBoard's scalars
    plugin) through the low-level ``tf.summary.write``.
    """
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"
    tf.summary.write(name, tf.constant(float(value), tf.float32), metadata=metadata)


# --------------------------------------------------------------------------- checkpoints


class Checkpoint(Callback):
    """Checkpoint (models, optimisers, random stream, step) and the published ``.keras`` models.

    A checkpoint every ``every`` steps or ``minutes`` minutes, whichever comes
    first, and after the last step. Refuses to save non-finite weights over the
    last good checkpoint.

    Publishing (``generator.keras``, ``critic.keras``) can cost far more than a
    checkpoint: the published generator is a calibrated copy whose rates,
    spike-history filter and couplings are solved on thousands of draws (37
    CPU-s for the retina's 50 neurons, about 200 training steps). So a
    checkpoint also publishes only while publishing has taken at most
    ``publish_share`` of the time since training began (the first checkpoint
    always does, and so does the end of training, however it ends); the
    checkpoints in between keep the run resumable at their step. With
    ``publishes=False`` it never publishes (``TrainConfig.publish="best"``:
    :class:`spikegan_tf.gan.held_out.PublishBest` does, at each improvement).

    Examples
    --------
    >>> cb = Checkpoint(every=1000, minutes=None)
    >>> cb.publish_share
    0.05
    >>> cb._publish_due(elapsed=100.0, spent=0.0, last_cost=None)  # never published yet
    True
    >>> cb._publish_due(elapsed=400.0, spent=20.0, last_cost=20.0)  # would be 10% of the time
    False
    >>> cb._publish_due(elapsed=900.0, spent=20.0, last_cost=20.0)  # 40 s of 900: 4.4%
    True
    """

    def __init__(self, every: int, minutes: float | None,
                 publish_share: float | None = None, publishes: bool = True) -> None:
        self.every, self.minutes = int(every), minutes
        self.publish_share = float(PUBLISH_SHARE if publish_share is None else publish_share)
        self.publishes = bool(publishes)

    def on_train_begin(self, step: int, logs: dict[str, Any]) -> None:
        self._began = self._last_save = time.monotonic()
        self._publish_spent, self._publish_cost = 0.0, None
        self._published_step: int | None = None

    def on_steps_end(self, step: int, logs: dict[str, Any]) -> None:
        due = self.minutes is not None and time.monotonic() - self._last_save >= 60 * self.minutes
        if step % self.every == 0 or due:
            self.save(step, publish=self.publishes and self._publish_due(
                time.monotonic() - self._began, self._publish_spent, self._publish_cost))

    def on_train_end(self, step: int, logs: dict[str, Any]) -> None:
        if self.trainer.last_checkpoint_step() != step:  # not saved at this step already
            self.save(step, publish=self.publishes)
        elif self._published_step != step and self.publishes:
            self._publish(step)

    def _publish_due(self, elapsed: float, spent: float, last_cost: float | None) -> bool:
        """Whether one more publication keeps publishing within ``publish_share`` of ``elapsed``."""
        return last_cost is None or spent + last_cost <= self.publish_share * elapsed

    def save(self, step: int, publish: bool = True) -> None:
        t = self.trainer
        # a finite loss does not make finite weights (the loss is computed before the last
        # update): never save non-finite ones over the last good checkpoint
        bad = [v.path for v in t.generator.weights + t.critic.weights
               if not np.isfinite(v.numpy()).all()]
        if bad:
            raise TrainingDivergedError(t.diverged_message(
                {}, cause=f"non-finite weights ({', '.join(bad[:3])}) although the loss was "
                          "finite"))
        t.save(publish=False)
        if publish:
            self._publish(step)
        self._last_save = time.monotonic()

    def _publish(self, step: int) -> None:
        t0 = time.monotonic()
        self.trainer.publish()
        self._publish_cost = time.monotonic() - t0
        self._publish_spent += self._publish_cost
        self._published_step = step


# --------------------------------------------------------------------------- console


class ProgressLine(Callback):
    """One-line progress on stderr: step, steps/s, ETA and the latest losses.

    Rewritten in place on a terminal (at most 5 times a second), one line
    every 10 s in a log file.
    """

    def __init__(self, target: int | None, minutes: float | None, verbose: int = 1,
                 stream: Any = None) -> None:
        self.target, self.minutes, self.verbose = target, minutes, verbose
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_step: int | None = None

    def on_train_begin(self, step: int, logs: dict[str, Any]) -> None:
        self.start, self.t0, self._last_print = step, time.monotonic(), 0.0

    def on_steps_end(self, step: int, logs: dict[str, Any]) -> None:
        self.update(step, {k: logs[k] for k in ("d_loss", "g_loss") if k in logs})

    def on_train_end(self, step: int, logs: dict[str, Any]) -> None:
        self.update(step, {k: logs[k] for k in ("d_loss", "g_loss") if k in logs}, force=True)

    def update(self, step: int, losses: dict[str, float], force: bool = False) -> None:
        if self.verbose <= 0 or (force and step == self._last_step):
            return
        now = time.monotonic()
        if not force and now - self._last_print < (0.2 if self.tty else 10.0):
            return
        self._last_print, self._last_step = now, step
        elapsed = now - self.t0
        rate = (step - self.start) / elapsed if elapsed > 0 else 0.0
        parts = [f"step {step}" + (f"/{self.target}" if self.target else "")]
        remaining = []
        if self.target and rate > 0:
            remaining.append((self.target - step) / rate)
        if self.minutes:
            remaining.append(self.minutes * 60 - elapsed)
        parts.append(f"{rate:.1f} steps/s")
        if remaining:
            parts.append(f"ETA {_hms(max(0.0, min(remaining)))}")
        parts += [f"{k} {v:.4g}" for k, v in losses.items()]
        line = " - ".join(parts)
        self.stream.write("\r" + line.ljust(100)[:160] if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.verbose > 0 and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class StopOnSignal(Callback):
    """Turn SIGINT / SIGTERM into a clean stop (checkpoint first); a second Ctrl-C aborts.

    Sets ``trainer.stop_training`` to the signal's name. Only in the main
    thread (Python delivers signals there).
    """

    def on_train_begin(self, step: int, logs: dict[str, Any]) -> None:
        self._stack = contextlib.ExitStack()
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous = signal.signal(sig, self._handler)
            self._stack.callback(signal.signal, sig, previous)

    def _handler(self, signum: int, frame: Any) -> None:
        if self.trainer.stop_training and signum == signal.SIGINT:
            raise KeyboardInterrupt
        if not self.trainer.stop_training:
            self.trainer.stop_training = signal.Signals(signum).name

    def close(self) -> None:
        stack = getattr(self, "_stack", None)
        if stack is not None:
            stack.close()


# --------------------------------------------------------------------------- defaults


def default_callbacks(trainer: Any, data: Any) -> list[Callback]:
    """The standard side jobs of a ``Trainer.fit``, from its ``TrainConfig``.

    Validation (when there are validation windows and ``eval_every``; then,
    with ``publish="best"``, publishing the best), the check that an
    unconditional generator uses its latent input (:class:`~spikegan_tf.gan.stuck.StuckCheck`,
    every 1,000 steps), metrics logging,
    TensorBoard and checkpoints (with a run directory; the files only on the
    chief of a multi-worker cluster), the progress line and the stop on
    signals, in that order.
    """
    from spikegan_tf.gan.held_out import PublishBest, Validation  # they subclass Callback

    cfg, run = trainer.config, trainer.run_dir
    best = cfg.publish == "best"
    out: list[Callback] = []
    if data.val is not None and cfg.eval_every:
        validation = Validation(data.val, cfg.eval_every, cfg.eval_samples, cfg.seed,
                                conditions=data.val_conditions, train=data.train,
                                published=best)
        out.append(validation)
        if best:  # (Trainer.fit has checked that there is validation)
            out.append(PublishBest(validation))
    if not trainer.model_config.conditional:
        from spikegan_tf.gan.stuck import StuckCheck

        out.append(StuckCheck(seed=cfg.seed))
    out.append(_LogEvery(cfg.log_every))
    # multi-worker: only the chief writes metrics and TensorBoard; every worker checkpoints
    # (a non-chief into a temporary directory: Trainer.save)
    chief = getattr(trainer, "is_chief", True)
    out.append(MetricsLogger(run if chief else None, trainer.verbose))
    if run is not None:
        if chief:
            out.append(TensorBoard(run.tensorboard_dir))
        # with publish="best", PublishBest publishes (at each improvement) instead
        out.append(Checkpoint(cfg.checkpoint_every, cfg.checkpoint_minutes, publishes=not best))
    out.append(ProgressLine(cfg.max_steps, cfg.max_minutes, trainer.verbose))
    out.append(StopOnSignal())
    return out


class _LogEvery(Callback):
    """Makes every multiple of ``log_every`` a logging step (``logs["log"]``)."""

    def __init__(self, every: int) -> None:
        self.every = int(every)

    def on_steps_end(self, step: int, logs: dict[str, Any]) -> None:
        logs["log"] = step % self.every == 0

"""The training loop's side jobs are callbacks; users add their own (issue 13, item 4)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikegan_tf.data.splits import prepare_data
from spikegan_tf.errors import ConfigError, TrainingDivergedError
from spikegan_tf.gan.callbacks import Callback, default_callbacks
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.held_out import Validation
from spikegan_tf.gan.train_config import TrainConfig
from spikegan_tf.gan.trainer import Trainer

MODEL = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)
X = (np.random.default_rng(0).random((96, 3, 8)) < 0.3).astype(np.uint8)


class Recorder(Callback):
    every = 3

    def __init__(self, stop_at=None):
        self.stop_at, self.events = stop_at, []

    def on_train_begin(self, step, logs):
        self.events.append(("begin", step))

    def on_steps_end(self, step, logs):
        self.events.append(("steps", step, sorted(k for k in logs if k.startswith("val_"))))
        if self.stop_at is not None and step >= self.stop_at:
            self.trainer.stop_training = "enough"

    def on_train_end(self, step, logs):
        self.events.append(("end", step))

    def close(self):
        self.events.append(("close",))


def _trainer(tmp_path=None, **train):
    cfg = TrainConfig(**{"batch_size": 8, "max_steps": 7, "eval_every": 0, "log_every": 2,
                         "steps_per_call": 5, **train})
    return Trainer(MODEL, cfg, run_dir=tmp_path, verbose=0)


def test_hooks_run_in_order_at_every_multiple_of_every_and_after_the_defaults():
    rec = Recorder()
    result = _trainer(eval_every=6).fit(prepare_data(X, val_fraction=0.25), callbacks=[rec])
    assert result.step == 7 and result.stopped == "max_steps"
    steps = [e[1] for e in rec.events if e[0] == "steps"]
    # calls end on multiples of 2 (logging), 3 (this callback), 6 (validation) and at 7
    assert steps == [2, 3, 4, 6, 7]
    # the validation callback runs first and adds its errors (and their score) to the same logs
    assert [e[2] for e in rec.events if e[0] == "steps" and e[1] == 6][0] == [
        "val_covariance_mae", "val_firing_rate_mae", "val_score", "val_spike_count_mae"]
    assert rec.events[0] == ("begin", 0) and rec.events[-2:] == [("end", 7), ("close",)]
    assert set(result.validation) == {"covariance_mae", "firing_rate_mae", "spike_count_mae",
                                      "score"}


def test_a_callback_stops_training_and_the_run_is_checkpointed(tmp_path):
    rec = Recorder(stop_at=3)
    result = _trainer(tmp_path).fit(prepare_data(X, val_fraction=0.0), callbacks=[rec])
    assert result.stopped == "enough" and result.step == 3
    assert (tmp_path / "checkpoints" / "ckpt-3.index").is_file()  # the end-of-run checkpoint
    logged = [json.loads(line)["step"] for line in
              (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert logged == [2]  # only multiples of log_every carry the losses


def test_close_runs_even_when_training_fails(tmp_path):
    class Boom(Callback):
        def on_steps_end(self, step, logs):
            raise RuntimeError("boom")

    rec = Recorder()
    with pytest.raises(RuntimeError, match="boom"):
        _trainer().fit(prepare_data(X, val_fraction=0.0), callbacks=[rec, Boom()])
    assert rec.events[-1] == ("close",)


def test_callbacks_must_be_callbacks_and_defaults_follow_the_config(tmp_path):
    with pytest.raises(ConfigError, match="`callbacks` must hold"):
        _trainer().fit(prepare_data(X, val_fraction=0.0), callbacks=[print])
    data = prepare_data(X, val_fraction=0.25)
    names = [type(c).__name__ for c in default_callbacks(_trainer(tmp_path, eval_every=5), data)]
    assert names == ["Validation", "StuckCheck", "_LogEvery", "MetricsLogger", "TensorBoard",
                     "Checkpoint", "ProgressLine", "StopOnSignal"]
    quiet = default_callbacks(_trainer(eval_every=0), data)
    assert not any(isinstance(c, Validation) for c in quiet)
    assert "Checkpoint" not in [type(c).__name__ for c in quiet]  # no run directory


def test_train_steps_reports_a_non_finite_loss_in_one_line(monkeypatch):
    trainer = _trainer()
    monkeypatch.setattr(trainer, "_call", lambda data, n: ({"d_loss": float("nan")}, False, 1))
    with pytest.raises(TrainingDivergedError, match=r"^Training diverged at step 0: non-finite "
                                                    r"loss \(d_loss=nan\)\. Try a lower"):
        trainer.train_steps(prepare_data(X, val_fraction=0.0), 3)


def test_checkpoints_publish_within_their_share_and_always_at_the_end(tmp_path, monkeypatch):
    import spikegan_tf.gan.callbacks as cb

    published = []
    real = Trainer.publish

    def publish(self):
        published.append(int(self.step.numpy()))
        real(self)

    monkeypatch.setattr(Trainer, "publish", publish)
    monkeypatch.setattr(cb, "PUBLISH_SHARE", 0.0)  # no share: the first and the last only
    trainer = _trainer(tmp_path, checkpoint_every=2, checkpoint_minutes=None, steps_per_call=1)
    trainer.fit(prepare_data(X, val_fraction=0.0))
    assert published == [2, 7]
    assert sorted(int(p.stem.split("-")[1]) for p in (tmp_path / "checkpoints").glob("*.index")
                  ) == [4, 6, 7]  # every checkpoint was written (the manager keeps the last 3)
    saved = trainer.run_dir.load_generator()
    for a, b in zip(saved.get_weights(), trainer.published_generator().get_weights(),
                    strict=True):
        np.testing.assert_array_equal(a, b)  # generator.keras is the end's
    published.clear()
    monkeypatch.setattr(cb, "PUBLISH_SHARE", 1e9)  # no limit: every checkpoint publishes
    trainer = _trainer(tmp_path / "b", checkpoint_every=2, checkpoint_minutes=None,
                       steps_per_call=1)
    trainer.fit(prepare_data(X, val_fraction=0.0))
    assert published == [2, 4, 6, 7]


def test_side_jobs_do_not_change_the_weights(tmp_path):
    """Validation, logging and checkpoints draw nothing from the training stream: a run with
    them and train_steps without them end with the same weights."""
    data = prepare_data(X, val_fraction=0.25, seed=0)
    busy = _trainer(tmp_path, max_steps=12, eval_every=5, log_every=3, checkpoint_every=4,
                    steps_per_call=2)
    busy.fit(data)
    bare = _trainer(max_steps=12)
    bare.init_output_bias(data)
    bare.train_steps(data, 12)
    for a, b in zip(busy.generator.get_weights() + busy.critic.get_weights(),
                    bare.generator.get_weights() + bare.critic.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)

"""TrainConfig.publish="best": the run publishes the generator with the best validation score.

Oracles: the score is recomputed from the published ``generator.keras`` alone (sampled as the
Validation callback samples, compared with the validation and the training windows by
``validation_errors``), and the published step is the argmin of the scores the run logged.
A callback that wrecks the generator after one evaluation makes the best step differ from
the last.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikegan_tf.data.splits import prepare_data
from spikegan_tf.errors import ConfigError
from spikegan_tf.gan.callbacks import Callback
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.held_out import validation_errors, validation_score
from spikegan_tf.gan.rundir import RunDir
from spikegan_tf.gan.sampling import sample
from spikegan_tf.gan.train_config import TrainConfig
from spikegan_tf.gan.trainer import Trainer

MODEL = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)
SAMPLES = 64


def _data():
    rng = np.random.default_rng(0)
    windows = (rng.random((320, 3, 8)) < [[0.3], [0.1], [0.2]]).astype(np.uint8)
    return prepare_data(windows, val_fraction=0.25)


def _config(**kw):
    return TrainConfig(**{**dict(batch_size=16, n_critic=1, max_steps=6, eval_every=2,
                                 eval_samples=SAMPLES, checkpoint_every=2, seed=3,
                                 publish="best"), **kw})


class Wreck(Callback):
    """Set every generator weight to a large constant after step ``at``'s evaluation
    (``at=None``: before training begins)."""

    def __init__(self, at: int | None) -> None:
        self.at = at

    def on_train_begin(self, step, logs):
        if self.at is None:
            self._wreck()

    def on_steps_end(self, step, logs):
        if step == self.at:
            self._wreck()

    def _wreck(self):
        for w in self.trainer.generator.weights + (
                self.trainer.generator_ema.weights if self.trainer.generator_ema else []):
            w.assign(np.full(w.shape, 3.0, "float32"))


def _logged_scores(run: RunDir) -> dict[int, float]:
    rows = [json.loads(line) for line in run.metrics_path.read_text().splitlines()]
    return {r["step"]: r["val_score"] for r in rows if "val_score" in r}


def _score_of_published(run: RunDir, data) -> tuple[dict, float]:
    """The published generator's errors and score, recomputed from the files alone."""
    n = min(len(data.val), SAMPLES)
    fake = sample(run.load_generator(), n, seed=3)
    errors = validation_errors(data.val, fake)
    pick = np.sort(np.random.default_rng(3).choice(data.train.n_windows, n, replace=False))
    floor = validation_errors(data.val, data.train.take(pick))
    return errors, validation_score(errors, floor)


def test_the_best_step_is_published_not_the_last(tmp_path):
    data = _data()
    run = RunDir(tmp_path / "run")
    trainer = Trainer(MODEL, _config(), run_dir=run.path, verbose=0)
    result = trainer.fit(data, callbacks=[Wreck(at=4)])
    assert result.step == 6
    scores = _logged_scores(run)
    assert sorted(scores) == [2, 4, 6]
    best = json.loads(run.best_path.read_text())
    assert best["step"] == min(scores, key=scores.get) != 6  # the wrecked generator lost
    assert best["score"] == pytest.approx(scores[best["step"]])
    assert run.published_step() == trainer.published_step() == best["step"]  # the archive's
    errors, score = _score_of_published(run, data)
    assert score == pytest.approx(best["score"], rel=1e-6)
    for k, v in errors.items():
        assert best["errors"][k] == pytest.approx(v, rel=1e-6)
    # the estimator's view: the kept generator and critic are those of the best step
    kept = trainer.published_generator()
    for a, b in zip(kept.get_weights(), run.load_generator().get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.allclose(a, b) for a, b in zip(
        trainer.published_critic().get_weights(), trainer.critic.get_weights(), strict=True))


def test_the_estimator_counts_the_best_steps_not_the_last(tmp_path):
    from spikegan_tf import SpikeGAN

    rng = np.random.default_rng(0)
    windows = (rng.random((320, 3, 8)) < [[0.3], [0.1], [0.2]]).astype(np.uint8)
    gan = SpikeGAN(**{k: v for k, v in MODEL.to_dict().items() if k in (
        "n_neurons", "n_bins", "num_features", "latent_dim")})
    cfg = _config().to_dict()
    kw = {k: cfg[k] for k in ("batch_size", "n_critic", "eval_every", "eval_samples",
                              "checkpoint_every", "publish")}
    gan.fit(windows, steps=6, seed=3, run_dir=tmp_path / "run", val_fraction=0.25, verbose=0,
            callbacks=[Wreck(at=4)], **kw)
    best = json.loads(RunDir(tmp_path / "run").best_path.read_text())["step"]
    assert best != 6 and gan._trained_steps == best
    gan.save(tmp_path / "m")  # the best generator, with its own step
    assert RunDir(tmp_path / "m").published_step() == best


@pytest.mark.parametrize("settings", [{}, {"calibrate_rates": False, "ema_decay": 0.5}])
def test_the_kept_best_does_not_move_with_training(tmp_path, settings):
    # uncalibrated, the published generator is the sampling generator itself (here the
    # weight average): the best must be a copy
    data = _data()
    run = RunDir(tmp_path / "run")
    trainer = Trainer(MODEL, _config(**settings), run_dir=run.path, verbose=0)
    trainer.fit(data, callbacks=[Wreck(at=2)])
    best = json.loads(run.best_path.read_text())
    assert best["step"] == 2  # everything after the wreck is worse
    for a, b in zip(trainer.published_generator().get_weights(),
                    run.load_generator().get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(trainer.sampling_generator.get_weights()[0],
                           run.load_generator().get_weights()[0])


def test_a_resumed_run_keeps_the_best_until_it_is_beaten(tmp_path):
    data = _data()
    run = RunDir(tmp_path / "run")
    Trainer(MODEL, _config(), run_dir=run.path, verbose=0).fit(data)
    before = json.loads(run.best_path.read_text())
    weights = run.load_generator().get_weights()
    # resumed with a generator wrecked before its first evaluation: nothing beats the best
    resumed = Trainer(MODEL, _config(max_steps=10), run_dir=run.path, verbose=0)
    resumed.fit(data, resume=True, callbacks=[Wreck(at=None)])
    assert _logged_scores(run)[8] > before["score"]  # the wreck did evaluate worse
    assert json.loads(run.best_path.read_text()) == before
    for a, b in zip(weights, run.load_generator().get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(weights, resumed.published_generator().get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # resumed publishing its last step: best.json would be stale, so it goes
    Trainer(MODEL, _config(max_steps=12, publish="last"), run_dir=run.path,
            verbose=0).fit(data, resume=True)
    assert not run.best_path.exists()
    # and best again: nothing kept from before (no best.json), so the first evaluation is
    again = Trainer(MODEL, _config(max_steps=14), run_dir=run.path, verbose=0)
    again.fit(data, resume=True, callbacks=[Wreck(at=None)])
    assert json.loads(run.best_path.read_text())["step"] == 14


def test_best_needs_validation_and_leaves_no_run_behind(tmp_path):
    windows = (np.random.default_rng(0).random((64, 3, 8)) < 0.2).astype(np.uint8)
    no_val = prepare_data(windows, val_fraction=0.0)
    run = tmp_path / "run"
    with pytest.raises(ConfigError, match=r"`publish='best'` \(--publish best\) needs validation "
                                          r"windows.*eval_every=2 and no validation windows"):
        Trainer(MODEL, _config(), run_dir=run, verbose=0).fit(no_val)
    assert not run.exists()
    with pytest.raises(ConfigError, match="eval_every=0"):
        Trainer(MODEL, _config(eval_every=0), verbose=0).fit(_data())


def test_validation_logs_a_score_against_the_floor_in_every_run(tmp_path):
    data = _data()
    run = RunDir(tmp_path / "run")
    cfg = TrainConfig(batch_size=16, n_critic=1, max_steps=2, eval_every=2, eval_samples=SAMPLES,
                      seed=3)
    Trainer(MODEL, cfg, run_dir=run.path, verbose=0).fit(data)
    scores = _logged_scores(run)
    assert list(scores) == [2] and np.isfinite(scores[2]) and scores[2] > 0
    assert not run.best_path.exists()

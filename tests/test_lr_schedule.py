"""The cosine learning-rate schedule (TrainConfig.lr_decay_steps): exact rates, stop, resume."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikegan_tf.data.splits import prepare_data
from spikegan_tf.errors import ConfigError
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.train_config import TrainConfig
from spikegan_tf.gan.trainer import Trainer

MODEL = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)


def _data():
    x = (np.random.default_rng(0).random((128, 3, 8)) < 0.3).astype(np.uint8)
    return prepare_data(x, val_fraction=0.0)


def _cfg(**kw):
    return TrainConfig(**{"batch_size": 16, "max_steps": 4, "eval_every": 0, "n_critic": 3,
                          "learning_rate": 1e-3, "lr_decay_steps": 4, **kw})


def _lr(opt):
    return float(opt.learning_rate)  # the schedule's value at the optimiser's step


def _weights(model):
    return [w.numpy().copy() for w in model.weights]


def test_both_rates_follow_the_half_cosine_in_generator_steps():
    data = _data()
    trainer = Trainer(MODEL, _cfg(), verbose=0)
    for step in range(5):
        want = 1e-3 * 0.5 * (1 + math.cos(math.pi * step / 4))
        assert _lr(trainer.g_optimizer) == pytest.approx(want, rel=1e-5, abs=1e-12)
        assert _lr(trainer.d_optimizer) == pytest.approx(want, rel=1e-5, abs=1e-12)
        if step < 4:
            trainer.train_steps(data, 1)


def test_no_schedule_keeps_the_rate_constant():
    trainer = Trainer(MODEL, _cfg(lr_decay_steps=None), verbose=0)
    trainer.train_steps(_data(), 3)
    assert _lr(trainer.g_optimizer) == pytest.approx(1e-3)
    assert _lr(trainer.d_optimizer) == pytest.approx(1e-3)


def test_after_the_schedule_the_weights_stop_moving():
    data = _data()
    trainer = Trainer(MODEL, _cfg(lr_decay_steps=2), verbose=0)
    trainer.train_steps(data, 2)
    before = _weights(trainer.generator) + _weights(trainer.critic)
    trainer.train_steps(data, 2)
    after = _weights(trainer.generator) + _weights(trainer.critic)
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_resumed_run_continues_the_schedule(tmp_path):
    data = _data()
    first = Trainer(MODEL, _cfg(max_steps=2, checkpoint_every=2), run_dir=tmp_path / "run",
                    verbose=0)
    first.fit(data)
    resumed = Trainer(MODEL, _cfg(max_steps=2, checkpoint_every=2), run_dir=tmp_path / "run",
                      verbose=0)
    resumed.fit(data, resume=True, more_steps=2)
    straight = Trainer(MODEL, _cfg(), verbose=0)
    straight.fit(data)
    assert _lr(resumed.g_optimizer) == pytest.approx(0.0, abs=1e-12)
    for a, b in zip(_weights(resumed.generator), _weights(straight.generator), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_resuming_with_another_schedule_is_refused(tmp_path):
    data = _data()
    Trainer(MODEL, _cfg(max_steps=1), run_dir=tmp_path / "r", verbose=0).fit(data)
    with pytest.raises(ConfigError, match="lr_decay_steps"):
        Trainer(MODEL, _cfg(max_steps=2, lr_decay_steps=8), run_dir=tmp_path / "r",
                verbose=0).fit(data, resume=True)


def test_the_schedule_length_is_validated():
    with pytest.raises(ValueError, match="lr_decay_steps"):
        TrainConfig(lr_decay_steps=0)

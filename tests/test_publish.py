"""The published generator (TrainConfig.calibrate_rates) and the "auto" training defaults."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikegan_tf.data.splits import prepare_data
from spikegan_tf.errors import ConfigError
from spikegan_tf.gan import rundir
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.estimator import SpikeGAN
from spikegan_tf.gan.train_config import TrainConfig
from spikegan_tf.gan.trainer import Trainer

LABELLED = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8, n_classes=2)


def _labelled(n: int = 192):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, n)
    p = np.where(labels[:, None, None] == 1, [[0.4], [0.1], [0.2]], [[0.05], [0.3], [0.1]])
    windows = (rng.random((n, 3, 8)) < p).astype(np.uint8)
    return prepare_data(windows, val_fraction=0.0, conditions={"labels": labels})


def _weights(model):
    return [w.numpy().copy() for w in model.weights]


@pytest.mark.parametrize("model, want", [
    (ModelConfig(n_neurons=3, n_bins=8), (0.0, True)),
    (LABELLED, (0.999, True)),
    (ModelConfig(n_neurons=3, n_bins=8, n_covariates=2), (0.999, False)),
])
def test_auto_settings_resolve_per_model(model, want):
    cfg = TrainConfig().resolve(model)
    assert (cfg.ema_decay, cfg.calibrate_rates) == want
    explicit = TrainConfig(ema_decay=0.5, calibrate_rates=False).resolve(model)
    assert (explicit.ema_decay, explicit.calibrate_rates) == (0.5, False)


def test_covariates_only_model_refuses_calibration():
    with pytest.raises(ConfigError, match="`calibrate_rates` needs a model with labels"):
        Trainer(ModelConfig(n_neurons=3, n_bins=8, n_covariates=1),
                TrainConfig(calibrate_rates=True, max_steps=1), verbose=0)


def test_published_generator_fires_at_each_labels_training_rates(tmp_path):
    data = _labelled()
    trainer = Trainer(LABELLED, TrainConfig(batch_size=16, max_steps=3, eval_every=0,
                                            seed=4), run_dir=tmp_path / "run", verbose=0)
    assert trainer.config.ema_decay == 0.999 and trainer.config.calibrate_rates
    trainer.fit(data)
    saved = rundir.RunDir(tmp_path / "run").load_generator()
    # the calibration's own draws (seed = the training seed): exact per-label rates
    windows, cond = data.train.spikes, data.conditions
    z = np.random.default_rng(4).standard_normal((len(windows), 8)).astype(np.float32)
    probs = saved([z, *cond.model_inputs()]).numpy()
    for c in (0, 1):
        np.testing.assert_allclose(probs[cond.labels == c].mean(axis=(0, 2)),
                                   windows[cond.labels == c].mean(axis=(0, 2)), atol=1e-5)
    # only the label offsets differ from the (averaged) generator being trained
    for w_pub, w_ema in zip(saved.weights, trainer.sampling_generator.weights, strict=True):
        same = np.array_equal(w_pub.numpy(), w_ema.numpy())
        assert same == ("label_logits" not in w_pub.path), w_pub.path
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())["train"]
    assert (recorded["ema_decay"], recorded["calibrate_rates"]) == (0.999, True)


def test_calibration_does_not_enter_the_checkpoint_so_resume_is_exact(tmp_path):
    data = _labelled()
    cfg = TrainConfig(batch_size=16, max_steps=2, eval_every=0, checkpoint_every=2)
    Trainer(LABELLED, cfg, run_dir=tmp_path / "run", verbose=0).fit(data)
    resumed = Trainer(LABELLED, cfg, run_dir=tmp_path / "run", verbose=0)
    resumed.fit(data, resume=True, more_steps=2)
    straight = Trainer(LABELLED, TrainConfig(batch_size=16, max_steps=4, eval_every=0),
                       verbose=0)
    straight.fit(data)
    for a, b in zip(_weights(resumed.generator_ema), _weights(straight.generator_ema),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_estimator_samples_the_published_generator():
    data = _labelled()
    gan = SpikeGAN(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)
    gan.fit(data.train.spikes, conditions=data.conditions.labels, steps=2, batch_size=16,
            val_fraction=0.0, verbose=0)
    assert gan.generator_ is gan.trainer_.published_generator()
    assert gan.generator_ is not gan.trainer_.sampling_generator
    off = SpikeGAN(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)
    off.fit(data.train.spikes, conditions=data.conditions.labels, steps=2, batch_size=16,
            val_fraction=0.0, verbose=0, calibrate_rates=False, ema_decay=0)
    assert off.generator_ is off.trainer_.generator


def test_unconditional_run_publishes_each_neuron_at_its_training_rate(tmp_path):
    rng = np.random.default_rng(1)
    windows = (rng.random((192, 3, 8)) < [[0.05], [0.2], [0.4]]).astype(np.uint8)
    data = prepare_data(windows, val_fraction=0.0)
    model = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)
    # starting at 0.5 (not at the data's rates), 3 steps leave the trained rates far off
    trainer = Trainer(model, TrainConfig(batch_size=16, max_steps=3, eval_every=0, seed=2,
                                         init_output_bias=False, calibrate_history=0),
                      run_dir=tmp_path / "run", verbose=0)  # with a filter: test_history.py
    assert trainer.config.calibrate_rates and trainer.config.ema_decay == 0.0
    trainer.fit(data)
    saved = rundir.RunDir(tmp_path / "run").load_generator()
    # the calibration's own latent draws (8192, seed = the training seed): exact rates
    z = np.random.default_rng(2).standard_normal((8192, 8)).astype(np.float32)
    np.testing.assert_allclose(saved(z).numpy().mean(axis=(0, 2)), windows.mean(axis=(0, 2)),
                               atol=1e-4)  # float32 bias and probabilities
    assert not np.allclose(trainer.generator(z).numpy().mean(axis=(0, 2)),
                           windows.mean(axis=(0, 2)), atol=0.05)
    # the generator being trained, unchanged, plus the positional offsets
    # (calibrate_positions, tests/test_positions.py) of a frozen zero kernel: they alone
    # carry the calibration, each neuron's mean rate included
    published = [w for w in saved.weights if not w.path.startswith("position_")]
    assert not saved.get_layer("position_logits").kernel.numpy().any()
    assert not saved.get_layer("position_zero").kernel.numpy().any()
    assert saved.get_layer("position_logits").bias.numpy().any()
    for w_pub, w_trained in zip(published, trainer.generator.weights, strict=True):
        np.testing.assert_array_equal(w_pub.numpy(), w_trained.numpy(), err_msg=w_pub.path)


def test_train_steps_alone_give_the_published_generator():
    rng = np.random.default_rng(2)
    data = prepare_data((rng.random((96, 3, 8)) < 0.2).astype(np.uint8), val_fraction=0.0)
    model = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)
    trainer = Trainer(model, TrainConfig(batch_size=16, max_steps=2, eval_every=0), verbose=0)
    assert trainer.published_generator() is trainer.sampling_generator  # no data seen yet
    trainer.train_steps(data, 2)
    published = trainer.published_generator()
    assert published is not trainer.sampling_generator
    assert published.get_layer("position_logits") is not None
    assert trainer.published_generator() is published  # cached until the next step

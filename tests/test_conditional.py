"""Conditional generation: data with conditions, the networks, training, sampling, files."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from spikegan_tf.data.conditions import make_conditions, raster_windows_with_conditions
from spikegan_tf.data.splits import prepare_data
from spikegan_tf.data.windows import split_indices
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.estimator import SpikeGAN
from spikegan_tf.gan.networks import build_critic, build_generator
from spikegan_tf.gan.sampling import sample
from spikegan_tf.gan.train_config import TrainConfig
from spikegan_tf.gan.trainer import Trainer


def _tuned_windows(n: int = 1024, seed: int = 0):
    """4 neurons x 8 bins whose logit rises with the label (0/1) and the covariate."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    cov = rng.standard_normal((n, 8)).astype(np.float32)
    logit = -2.5 + 1.5 * labels[:, None, None] + 1.5 * cov[:, None, :]
    windows = (rng.random((n, 4, 8)) < 1 / (1 + np.exp(-logit))).astype(np.uint8)
    return windows, labels, cov


# ----------------------------------------------------------------------------- data


def test_window_conditions_split_with_their_windows():
    windows, labels, cov = _tuned_windows(100)
    data = prepare_data(windows, conditions={"labels": labels * 10, "covariates": cov},
                        val_fraction=0.2, seed=3)
    idx_train, idx_val = split_indices(100, (0.8, 0.2), seed=3)
    np.testing.assert_array_equal(data.train.spikes, windows[idx_train])
    np.testing.assert_array_equal(data.val, windows[idx_val])
    assert data.conditions.classes == (0, 10)
    np.testing.assert_array_equal(data.conditions.labels, labels[idx_train])
    np.testing.assert_array_equal(data.val_conditions.labels, labels[idx_val])
    np.testing.assert_array_equal(data.val_conditions.covariates[..., 0], cov[idx_val])
    assert data.info["conditions"] == {"classes": [0, 10], "n_covariates": 1}


def test_raster_windows_keep_a_constant_label_and_split_in_time():
    raster = np.zeros((200, 3), np.uint8)
    raster[np.arange(200), np.arange(200) % 3] = 1
    labels = np.repeat(["a", "b", "a", "c"], 50)
    speed = np.arange(200, dtype=float)
    windows, cond = raster_windows_with_conditions(raster, 10, 5, labels=labels,
                                                   covariates=speed)
    # starts 0, 5, ..., 190; windows crossing a change at 50, 100, 150 are dropped
    starts = [s for s in range(0, 191, 5) if s // 50 == (s + 9) // 50]
    assert len(windows) == len(starts)
    np.testing.assert_array_equal(cond.covariates[:, 0, 0], starts)
    assert [cond.classes[i] for i in cond.labels] == [labels[s] for s in starts]
    np.testing.assert_array_equal(windows[3], raster[starts[3]:starts[3] + 10].T)
    data = prepare_data(raster, 10, conditions={"labels": labels, "covariates": speed},
                        val_fraction=0.25)
    # the validation part is the end of the recording: its covariates (time) are all later
    assert data.val_conditions.covariates.min() > data.conditions.covariates.max()
    assert data.conditions.classes == ("a", "b", "c")  # every class, even one only in val


@pytest.mark.parametrize("conditions, message", [
    ({"labels": np.arange(99)}, "`labels` has 99 labels for 100 windows"),
    ({"covariates": np.full((100, 8), np.nan)}, "`covariates` holds 800 NaN"),
    ({"covariates": np.zeros((100, 7))}, "`covariates` must have shape (n_samples, n_bins"),
    ({"labels": np.zeros((100, 2))}, "`labels` must be 1-D"),
    ({"speed": np.zeros(100)}, "`conditions` has unknown keys ['speed']"),
])
def test_bad_conditions_are_one_line_errors(conditions, message):
    windows = np.zeros((100, 4, 8), np.uint8)
    with pytest.raises(SpikeDataError) as info:
        prepare_data(windows, conditions=conditions)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_conditions_name_their_file():
    with pytest.raises(SpikeDataError, match=r"in file 'trials\.npz'"):
        make_conditions(2, 4, labels=[0, 1, 2], source="trials.npz")


# ----------------------------------------------------------------------------- networks


@pytest.mark.parametrize("architecture", ["conv", "fc", "temporal"])
def test_conditional_networks_take_named_condition_inputs(architecture):
    cfg = ModelConfig(n_neurons=4, n_bins=8, num_features=4, num_units=8, temporal_layers=2,
                      architecture=architecture, n_classes=3, n_covariates=2)
    g, c = build_generator(cfg, seed=0), build_critic(cfg, seed=0)
    assert [t.name for t in g.inputs] == ["z", "label", "covariates"]
    assert [t.name for t in c.inputs] == ["spikes", "label", "covariates"]
    z = np.random.default_rng(0).standard_normal((3, cfg.latent_dim)).astype(np.float32)
    label, cov = np.eye(3, dtype=np.float32), np.ones((3, 8, 2), np.float32)
    probs = g([z, label, cov]).numpy()
    assert probs.shape == (3, 4, 8)
    # the critic's score depends on the label (projection) for the same windows
    scores = c([np.repeat(probs[:1], 3, 0), label, cov]).numpy()[:, 0]
    assert scores.shape == (3,) and np.ptp(scores) > 0


def test_unconditional_networks_are_unchanged():
    cfg = ModelConfig(n_neurons=4, n_bins=8, num_features=4)
    assert not cfg.conditional
    g = build_generator(cfg, seed=0)
    assert len(g.inputs) == 1 and "label_logits" not in [layer.name for layer in g.layers]


def test_projection_critic_adds_label_embedding_dot_features():
    cfg = ModelConfig(n_neurons=3, n_bins=8, num_features=4, n_classes=2)
    critic = build_critic(cfg, seed=0)
    x = (np.random.default_rng(1).random((2, 3, 8)) < 0.5).astype(np.float32)
    label = np.eye(2, dtype=np.float32)
    features = tf.keras.Model(critic.inputs, critic.get_layer("flatten").output)([x, label])
    w, b = critic.get_layer("score").get_weights()
    embed = critic.get_layer("label_projection").get_weights()[0]  # (n_classes, F)
    expected = features.numpy() @ w[:, 0] + b[0] + np.sum(features.numpy() * embed, axis=1)
    np.testing.assert_allclose(critic([x, label]).numpy()[:, 0], expected, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- training


def test_a_tiny_conditional_model_learns_how_the_condition_moves_the_rates():
    """Without the per-label rate initialisation: training alone must learn both conditions."""
    windows, labels, cov = _tuned_windows()
    data = prepare_data(windows, conditions={"labels": labels, "covariates": cov},
                        val_fraction=0.0)
    mc = ModelConfig(n_neurons=4, n_bins=8, num_features=8, latent_dim=8, n_classes=2,
                     n_covariates=1)
    trainer = Trainer(mc, TrainConfig(batch_size=32, max_steps=400, eval_every=0, seed=0,
                                      learning_rate=3e-3, n_critic=2, init_output_bias=False),
                      verbose=0)
    trainer.fit(data)
    x = sample(trainer.generator, len(windows), seed=1,
               conditions=make_conditions(len(windows), 8, labels=labels, covariates=cov))
    for lab in (0, 1):  # data: 0.13 and 0.33
        assert x[labels == lab].mean() == pytest.approx(windows[labels == lab].mean(), abs=0.03)
    up = np.broadcast_to((cov > 0)[:, None, :], x.shape)
    assert x[up].mean() == pytest.approx(windows[up].mean(), abs=0.04)    # data: 0.39
    assert x[~up].mean() == pytest.approx(windows[~up].mean(), abs=0.04)  # data: 0.08


def test_conditional_mirrored_step_equals_the_single_device_step():
    devices = tf.config.list_logical_devices("CPU")
    if len(devices) < 2:
        pytest.skip("needs the 2 logical CPU devices set up by conftest")
    windows, labels, cov = _tuned_windows(256)
    data = prepare_data(windows, conditions={"labels": labels, "covariates": cov},
                        val_fraction=0.0)
    model = ModelConfig(n_neurons=4, n_bins=8, num_features=8, latent_dim=16, n_classes=2,
                        n_covariates=1)
    config = TrainConfig(batch_size=16, n_critic=2, max_steps=1, eval_every=0)
    single = Trainer(model, config, verbose=0)
    mirrored = Trainer(model, config, verbose=0, strategy=tf.distribute.MirroredStrategy(
        [d.name for d in devices[:2]],
        # no collective ops: an in-process MultiWorkerMirroredStrategy of another test
        # (test_multiworker) shares their instance keys within one process
        cross_device_ops=tf.distribute.ReductionToOneDevice()))
    losses = single.train_steps(data, 1), mirrored.train_steps(data, 1)
    for name in ("d_loss", "wasserstein", "gp", "g_loss"):
        assert losses[1][name] == pytest.approx(losses[0][name], rel=1e-4, abs=1e-6)
    for a, b in zip(single.generator.weights + single.critic.weights,
                    mirrored.generator.weights + mirrored.critic.weights, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-6)


def test_trainer_refuses_data_whose_conditions_do_not_fit_the_model():
    windows, labels, _ = _tuned_windows(64)
    data = prepare_data(windows, conditions=labels, val_fraction=0.0)
    trainer = Trainer(ModelConfig(n_neurons=4, n_bins=8, num_features=4),
                      TrainConfig(batch_size=16, max_steps=1, eval_every=0), verbose=0)
    with pytest.raises(SpikeDataError, match="2 label classes and 0 covariates"):
        trainer.fit(data)


# ----------------------------------------------------------------------------- estimator


def test_spikegan_fit_sample_save_load_with_string_labels(tmp_path):
    windows, labels, _ = _tuned_windows(256)
    names = np.array(["dark", "light"])[labels]
    gan = SpikeGAN(n_neurons=4, n_bins=8, num_features=4, latent_dim=8)
    gan.fit(windows, conditions=names, steps=2, batch_size=16, verbose=0)
    assert gan.config.n_classes == 2 and gan.classes_ == ("dark", "light")
    a = gan.sample(6, seed=0, conditions="light")
    b = gan.sample(6, seed=0, conditions=["light"] * 6)
    np.testing.assert_array_equal(a, b)
    gan.save(tmp_path / "m")
    loaded = SpikeGAN.load(tmp_path / "m")
    assert loaded.classes_ == ("dark", "light")
    np.testing.assert_array_equal(loaded.sample(6, seed=0, conditions="light"), a)
    with pytest.raises(SpikeDataError, match="'dim', which is not one of the classes"):
        loaded.sample(2, conditions="dim")
    with pytest.raises(ConfigError, match="pass `conditions=`"):
        loaded.sample(2)
    with pytest.raises(ConfigError, match="lack labels"):
        loaded.sample(2, conditions={"covariates": np.zeros((2, 8))})


def test_calibration_puts_every_class_at_its_rates_on_the_same_draws():
    from spikegan_tf.gan.conditioning import calibrate_label_offsets

    windows, labels, cov = _tuned_windows(512)
    cfg = ModelConfig(n_neurons=4, n_bins=8, num_features=4, latent_dim=8, n_classes=2,
                      n_covariates=1)
    g = build_generator(cfg, seed=0)
    cond = make_conditions(len(windows), 8, labels=labels, covariates=cov)
    rng_weights = np.random.default_rng(1)
    g.set_weights([w + rng_weights.normal(0, 0.2, w.shape).astype(w.dtype)
                   for w in g.get_weights()])  # a generator far from the data
    shift = calibrate_label_offsets(g, cfg, windows, cond, seed=3)
    assert shift.shape == (2, 4) and np.abs(shift).max() > 0.1
    z = np.random.default_rng(3).standard_normal((len(windows), 8)).astype(np.float32)
    probs = g([z, *cond.model_inputs()]).numpy()  # the draws the calibration used
    for c in (0, 1):
        np.testing.assert_allclose(probs[labels == c].mean(axis=(0, 2)),
                                   windows[labels == c].mean(axis=(0, 2)), atol=1e-5)

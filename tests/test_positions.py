"""Positional calibration: one logit offset per (neuron, bin) of the published generator."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy.special import expit

from spikegan_tf.data.splits import prepare_data
from spikegan_tf.errors import ConfigError
from spikegan_tf.export.graph import float32_generator, plan_generator, serving_function
from spikegan_tf.gan import rundir
from spikegan_tf.gan.calibration import calibrated_copy
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.networks import build_generator
from spikegan_tf.gan.positions import (
    POSITION_LAYER,
    calibrate_position_offsets,
    position_layer,
    solve_logit_offsets,
    with_position_offsets,
)
from spikegan_tf.gan.train_config import TrainConfig
from spikegan_tf.gan.trainer import Trainer
from spikegan_tf.statistics import time_course

CONV = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)


def _randomized(cfg: ModelConfig, seed: int = 1, scale: float = 0.3):
    """Random weights and biases: fresh models have zero biases, which hide bias bugs."""
    g = build_generator(cfg)
    rng = np.random.default_rng(seed)
    g.set_weights([rng.normal(0, scale, w.shape).astype(np.float32) for w in g.get_weights()])
    return g


def _z(n: int, cfg: ModelConfig, seed: int = 0) -> np.ndarray:
    """The calibration's own latent draws for ``seed``."""
    return np.random.default_rng(seed).standard_normal((n, cfg.latent_dim)).astype(np.float32)


def _ramp(n: int = 2048, seed: int = 0) -> np.ndarray:
    """Trial-aligned windows whose rates rise across the window: a real time course."""
    p = np.linspace(0.05, 0.3, CONV.n_bins)[None, None, :] * np.array([1.0, 0.5, 1.5])[:, None]
    return (np.random.default_rng(seed).random((n, 3, CONV.n_bins)) < p).astype(np.uint8)


def test_zero_offsets_change_nothing():
    g = _randomized(CONV)
    p = with_position_offsets(g, CONV)
    z = _z(32, CONV)
    assert np.array_equal(p(z).numpy(), g(z).numpy())
    assert with_position_offsets(p, CONV) is p  # already there: not wrapped twice
    assert position_layer(g) is None and not position_layer(p).trainable


def test_solver_recovers_known_offsets():
    rng = np.random.default_rng(3)
    logits = rng.normal(-2.5, 1.2, (4096, 3, 5))
    true = rng.normal(0, 0.7, (3, 5))
    target = expit(logits + true).mean(axis=0)
    np.testing.assert_allclose(solve_logit_offsets(logits, target), true, atol=1e-7)


@pytest.mark.parametrize("cfg", [CONV, ModelConfig(n_neurons=3, n_bins=8, architecture="fc",
                                                   num_units=16, fc_layers=1, latent_dim=8)],
                         ids=["conv", "fc"])
def test_each_neuron_and_bin_reaches_its_target(cfg):
    g = _randomized(cfg)
    if cfg.architecture == "conv":
        g = with_position_offsets(g, cfg)
    target = np.linspace(0.02, 0.4, 24).reshape(3, 8)
    offsets = calibrate_position_offsets(g, cfg, target, n_samples=2048, seed=5)
    assert offsets.shape == (3, 8) and np.ptp(offsets) > 0.5
    np.testing.assert_allclose(g(_z(2048, cfg, seed=5)).numpy().mean(axis=0), target,
                               atol=2e-6)  # float32 probabilities


def test_conv_generator_without_offsets_is_refused():
    with pytest.raises(ValueError, match="no positional offsets"):
        calibrate_position_offsets(build_generator(CONV), CONV, np.full((3, 8), 0.1))
    with pytest.raises(ValueError, match=r"received \(3, 4\)"):
        calibrate_position_offsets(with_position_offsets(build_generator(CONV), CONV), CONV,
                                   np.full((3, 4), 0.1))


def test_calibrated_copy_learns_the_training_time_course_only_with_positions():
    windows = _ramp()
    data = prepare_data(windows, CONV.n_bins, val_fraction=0.0)
    g = _randomized(CONV, seed=2, scale=0.1)
    target = time_course(data.train)
    z = _z(16384, CONV)
    flat = calibrated_copy(g, CONV, data, seed=0)
    placed = calibrated_copy(g, CONV, data, seed=0, positions=True)
    err_flat = np.abs(flat(z).numpy().mean(axis=0) - target).max()
    err_placed = np.abs(placed(z).numpy().mean(axis=0) - target).max()
    assert err_placed < 1e-5 < 0.05 < err_flat
    assert position_layer(g) is None  # the original is untouched


def test_positional_model_saves_loads_safely_and_exports_lean(tmp_path):
    g = with_position_offsets(_randomized(CONV), CONV)
    layer = g.get_layer(POSITION_LAYER)
    layer.bias.assign(np.random.default_rng(4).normal(0, 0.5, layer.bias.shape))
    z = _z(16, CONV)
    path = tmp_path / "generator.keras"
    rundir.save_model(g, path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert np.array_equal(loaded(z).numpy(), g(z).numpy())
    plan = plan_generator(loaded, CONV)
    assert plan is not None and plan.position_bias is not None
    u = np.random.default_rng(5).random((16, 3, 8), dtype=np.float32)
    out = serving_function(loaded, CONV)(z, u)
    np.testing.assert_allclose(out["probs"].numpy(), g(z).numpy(), atol=1e-6)
    assert float32_generator(g, CONV) is g


def test_mixed_precision_positional_model_exports_in_float32():
    base = build_generator(CONV, dtype="mixed_float16")
    g = with_position_offsets(base, CONV)
    g32 = float32_generator(g, CONV)
    assert position_layer(g32) is not None
    assert all(layer.compute_dtype == "float32" for layer in g32.layers)


def test_onnx_export_of_a_positional_run_keeps_parity(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    from spikegan_tf.export.bundle import export_run
    from spikegan_tf.export.runtime import Sampler
    from spikegan_tf.gan.sampling import sample, sampling_streams

    g = with_position_offsets(_randomized(CONV), CONV)
    layer = g.get_layer(POSITION_LAYER)
    layer.bias.assign(np.random.default_rng(6).normal(0, 1.0, layer.bias.shape))
    run = tmp_path / "run"
    rundir.save_model(g, run / rundir.GENERATOR_FILE)
    rundir.RunDir(run).write_config(CONV, data={"bin_width": 0.02, "source": "hand-made"})
    result = export_run(run, tmp_path / "models", "onnx", name="rig")  # parity-checked
    spikes, probs = Sampler(result.files["onnx"], seed=3).sample(256, return_probs=True)
    z = sampling_streams(3)[0].standard_normal((256, CONV.latent_dim), dtype=np.float32)
    assert np.abs(probs - g(z).numpy()).max() <= 1e-5  # the offsets made it into the graph
    assert (spikes != sample(g, 256, seed=3)).mean() < 1e-3


def test_positions_resolve_per_model_and_refuse_where_they_cannot_apply():
    assert TrainConfig().resolve(CONV).calibrate_positions is True
    assert TrainConfig(calibrate_rates=False).resolve(CONV).calibrate_positions is False
    temporal = ModelConfig(n_neurons=3, n_bins=8, architecture="temporal")
    assert TrainConfig().resolve(temporal).calibrate_positions is False
    labelled = ModelConfig(n_neurons=3, n_bins=8, n_classes=2)
    assert TrainConfig().resolve(labelled).calibrate_positions is False
    for model, cfg in ((temporal, TrainConfig(calibrate_positions=True, max_steps=1)),
                       (CONV, TrainConfig(calibrate_rates=False, calibrate_positions=True,
                                          max_steps=1))):
        with pytest.raises(ConfigError, match="`calibrate_positions` needs"):
            Trainer(model, cfg, verbose=0)


def test_run_publishes_the_positional_copy_and_trains_without_it(tmp_path):
    data = prepare_data(_ramp(256), CONV.n_bins, val_fraction=0.0)
    trainer = Trainer(CONV, TrainConfig(batch_size=16, max_steps=3, eval_every=0, seed=2,
                                        calibrate_history=0),  # history: test_history.py
                      run_dir=tmp_path / "run", verbose=0)
    assert trainer.config.calibrate_positions
    trainer.fit(data)
    saved = rundir.RunDir(tmp_path / "run").load_generator()
    assert position_layer(saved) is not None and position_layer(trainer.generator) is None
    z = _z(16384, CONV, seed=2)  # the calibration's own draws (seed = the training seed)
    np.testing.assert_allclose(saved(z).numpy().mean(axis=0), time_course(data.train),
                               atol=2e-6)


def test_offsets_that_are_not_constant_are_exported_as_the_keras_call():
    g = with_position_offsets(_randomized(CONV), CONV)
    zero = g.get_layer("position_zero")
    zero.kernel.assign(np.full(zero.kernel.shape, 0.1, np.float32))  # now depends on z
    assert plan_generator(g, CONV) is None
    z = _z(8, CONV)
    out = serving_function(g, CONV)(z, np.zeros((8, 3, 8), np.float32))
    np.testing.assert_allclose(out["probs"].numpy(), g(z).numpy(), atol=1e-6)


def test_calibration_of_a_large_population_keeps_its_draws_within_the_memory_budget():
    from spikegan_tf.gan.positions import MAX_CALIBRATION_BYTES, latent_logits

    big = ModelConfig(n_neurons=1024, n_bins=64, latent_dim=4)
    calls = []

    def generator(z, training=False):  # stands in for a 1,024 x 64 model
        calls.append(len(z))
        return np.full((len(z), 1024, 64), 0.25, np.float32)

    out = latent_logits(generator, big, 16384, seed=0, batch_size=256)
    assert out.shape == (512, 1024, 64) and out.nbytes <= MAX_CALIBRATION_BYTES
    assert calls == [256, 256]
    np.testing.assert_allclose(out, np.log(1 / 3))
    assert latent_logits(lambda z, training=False: np.full((len(z), 3, 8), 0.5, np.float32),
                         CONV, 2048, seed=0).shape == (2048, 3, 8)

"""The check that the generator uses its latent input (spikegan_tf.gan.stuck)."""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest

from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.networks import build_generator
from spikegan_tf.gan.stuck import StuckCheck, latent_variation

CFG = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)


def _generator(kernel_scale: float):
    """A Spike-GAN generator with its latent input cut off (0), or a toy generator whose
    probabilities follow the latents closely (kernel_scale > 0)."""
    import keras

    if not kernel_scale:
        g = build_generator(CFG, seed=0)
        w = g.get_layer("project").kernel
        w.assign(np.zeros(w.shape))
        return g
    z = keras.Input((8,))
    dense = keras.layers.Dense(24, activation="sigmoid",
                               kernel_initializer=keras.initializers.RandomNormal(
                                   stddev=kernel_scale, seed=0))
    return keras.Model(z, keras.layers.Reshape((3, 8))(dense(z)))


def test_latent_variation_is_the_mean_coefficient_of_variation_over_latent_draws():
    g = _generator(1.0)
    z = np.random.default_rng(4).standard_normal((32, 8)).astype(np.float32)
    p = np.asarray(g(z, training=False), np.float64)
    assert latent_variation(g, n_samples=32, seed=4) == pytest.approx(
        float((p.std(axis=0) / p.mean(axis=0)).mean()), rel=1e-12)
    assert latent_variation(g) > 0.1 and latent_variation(_generator(0.0)) == 0.0


def test_the_check_logs_every_1000_steps_and_warns_once_from_step_2000():
    check = StuckCheck()
    check.set_trainer(types.SimpleNamespace(generator=_generator(0.0)))
    logs: dict = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check.on_steps_end(500, logs)
        assert "latent_variation" not in logs
        check.on_steps_end(1000, logs)  # logged, too early to warn
        assert logs["latent_variation"] == 0.0 and not caught
        check.on_steps_end(2000, logs)
        check.on_steps_end(3000, logs)
    assert len(caught) == 1 and "At step 2000 the generator's firing probabilities hardly " \
                                "depend on its latent input" in str(caught[0].message)
    healthy = StuckCheck()
    healthy.set_trainer(types.SimpleNamespace(generator=_generator(1.0)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        healthy.on_steps_end(2000, logs)
    assert not caught and logs["latent_variation"] > 0.1


def test_unconditional_runs_check_and_conditional_ones_do_not():
    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.gan.callbacks import default_callbacks

    x = (np.random.default_rng(0).random((64, 3, 8)) < 0.3).astype(np.uint8)
    data = prepare_data(x, val_fraction=0.0)
    for n_classes, expected in ((0, 1), (2, 0)):
        trainer = types.SimpleNamespace(
            config=types.SimpleNamespace(eval_every=0, publish="last", log_every=10, seed=0,
                                         checkpoint_every=10, checkpoint_minutes=None,
                                         max_steps=10, max_minutes=None),
            run_dir=None, verbose=0,
            model_config=ModelConfig(n_neurons=3, n_bins=8, n_classes=n_classes))
        hooks = default_callbacks(trainer, data)
        assert sum(isinstance(h, StuckCheck) for h in hooks) == expected


def test_the_cli_prints_the_warning_in_one_line_while_training(tmp_path, monkeypatch, capsys):
    from spikegan_tf.cli import main

    # every generator "stuck" from step 2 (defaults: every, threshold, warn_from, seed)
    monkeypatch.setattr(StuckCheck.__init__, "__defaults__", (2, 1e9, 2, 0))
    np.save(tmp_path / "w.npy", (np.random.default_rng(0).random((64, 3, 8)) < 0.3)
            .astype(np.uint8))
    assert main(["train", "--data", str(tmp_path / "w.npy"), "--out", str(tmp_path / "run"),
                 "--max-steps", "4", "--eval-every", "0", "--num-features", "4",
                 "--latent-dim", "8", "--batch-size", "16", "--quiet"]) == 0
    lines = [ln for ln in capsys.readouterr().err.splitlines() if "warning" in ln]
    assert len(lines) == 1 and lines[0].startswith(
        "spikegan train: warning: At step 2 the generator's firing probabilities")

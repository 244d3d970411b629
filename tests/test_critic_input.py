"""What the critic sees of generated windows (`critic_input`) and the `paper` recipe."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from spikegan_tf import rundir
from spikegan_tf.cli import main
from spikegan_tf.config import ModelConfig
from spikegan_tf.losses import critic_view
from spikegan_tf.train import TrainConfig, Trainer, prepare_data

TINY = ["--num-features", "8", "--latent-dim", "16", "--batch-size", "16", "--quiet"]


def test_critic_view_is_bernoulli_forward_and_identity_backward():
    rng = np.random.default_rng(0)
    p = tf.constant(rng.random((64, 3, 8)), tf.float32)
    u = tf.constant(rng.random((64, 3, 8)), tf.float32)
    w = tf.constant(rng.normal(size=(64, 3, 8)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(p)
        x = critic_view(p, u)
        y = tf.reduce_sum(w * x**2)
    np.testing.assert_array_equal(x.numpy(), (u.numpy() < p.numpy()).astype("float32"))
    # straight through: d/dp = dy/dx evaluated at the spikes (2 w x), unchanged
    np.testing.assert_allclose(tape.gradient(y, p).numpy(), 2 * w.numpy() * x.numpy(),
                               rtol=1e-6)


def test_spike_rate_of_critic_view_is_the_probability():
    p = tf.fill((200_000,), 0.037)
    u = tf.random.Generator.from_seed(1).uniform((200_000,))
    assert abs(float(tf.reduce_mean(critic_view(p, u))) - 0.037) < 3 * (0.037 / 200_000)**0.5


def test_cli_recipe_paper_writes_the_papers_settings_and_flags_override_it(tmp_path):
    raster = (np.random.default_rng(1).random((300, 4)) < 0.2).astype(np.uint8)
    np.save(tmp_path / "rec.npy", raster)
    common = ["train", "--data", str(tmp_path / "rec.npy"), "--bins", "8", "--max-steps", "1",
              "--eval-every", "0", *TINY]
    assert main([*common, "--out", str(tmp_path / "paper"), "--recipe", "paper"]) == 0
    cfg = json.loads((tmp_path / "paper" / "config.json").read_text())
    assert (cfg["train"]["learning_rate"], cfg["train"]["critic_input"],
            cfg["train"]["init_output_bias"], cfg["model"]["upsampling"]) == (
        1e-4, "probabilities", False, "resize")
    assert main([*common, "--out", str(tmp_path / "mixed"), "--recipe", "paper",
                 "--critic-input", "spikes", "--lr", "2e-4"]) == 0
    cfg = json.loads((tmp_path / "mixed" / "config.json").read_text())
    assert (cfg["train"]["learning_rate"], cfg["train"]["critic_input"]) == (2e-4, "spikes")
    assert main([*common, "--out", str(tmp_path / "default")]) == 0
    cfg = json.loads((tmp_path / "default" / "config.json").read_text())
    assert (cfg["train"]["learning_rate"], cfg["train"]["critic_input"],
            cfg["model"]["upsampling"]) == (3e-4, "spikes", "transpose")


def test_a_run_written_before_critic_input_existed_resumes_as_probabilities(tmp_path):
    x = (np.random.default_rng(0).random((64, 3, 8)) < 0.3).astype("uint8")
    model = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)
    data = prepare_data(x, val_fraction=0.0)
    old = dict(batch_size=8, max_steps=1, eval_every=0, critic_input="probabilities")
    Trainer(model, TrainConfig(**old), run_dir=tmp_path, verbose=0).fit(data)
    saved = json.loads((tmp_path / rundir.CONFIG_FILE).read_text())
    del saved["train"]["critic_input"]  # as session-2 runs wrote it
    (tmp_path / rundir.CONFIG_FILE).write_text(json.dumps(saved))
    resumed = Trainer(model, TrainConfig(**{**old, "max_steps": 2}), run_dir=tmp_path,
                      verbose=0).fit(data, resume=True)
    assert resumed.step == 2
    with pytest.raises(Exception, match="critic_input: saved 'probabilities', now 'spikes'"):
        Trainer(model, TrainConfig(**{**old, "max_steps": 3, "critic_input": "spikes"}),
                run_dir=tmp_path, verbose=0).fit(data, resume=True)

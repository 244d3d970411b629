"""What the critic sees of generated windows (`critic_input`); the `paper` and `raster` recipes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from spikegan_tf.cli import main
from spikegan_tf.data.splits import prepare_data
from spikegan_tf.gan import rundir
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.losses import critic_view
from spikegan_tf.gan.train_config import TrainConfig
from spikegan_tf.gan.trainer import Trainer

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


def test_cli_recipe_raster_cuts_a_raster_into_its_windows_unless_told_and_keeps_windows(
        tmp_path):
    raster = (np.random.default_rng(1).random((700, 3)) < 0.2).astype(np.uint8)
    np.save(tmp_path / "rec.npy", raster)
    np.save(tmp_path / "win.npy", raster[:640].reshape(40, 16, 3).transpose(0, 2, 1))
    common = ["train", "--recipe", "raster", "--max-steps", "1", "--eval-every", "0",
              "--temporal-features", "8", "--latent-channels", "4", "--no-calibrate-rates",
              "--quiet"]
    for name, extra, bins in (("r256", ["--data", str(tmp_path / "rec.npy")], 256),
                              ("w16", ["--data", str(tmp_path / "win.npy"), "--acg-match", "3"],
                               16)):
        assert main([*common, *extra, "--out", str(tmp_path / name)]) == 0
        cfg = json.loads((tmp_path / name / "config.json").read_text())
        m, t = cfg["model"], cfg["train"]
        assert (m["n_bins"], m["architecture"], m["temporal_layers"], m["latent_scales"],
                m["temporal_init"], m["critic_head_units"]) == (bins, "temporal", 6, 5,
                                                                "glorot", 64)
        assert (t["acg_match_start"], t["ema_start"]) == (7000, 7000)
        assert (t["acg_variance_match"], t["acg_variance_match_start"], t["pair_match"],
                t["pair_match_start"]) == (0.1, 9000, 10.0, 9000)
        assert (t["batch_size"], t["count_match"], t["variance_match_relative"],
                t["variance_match_scales"], t["ema_decay"]) == (16, 100.0, True, 4, 0.999)
        assert t["acg_match"] == (3.0 if name == "w16" else 10.0)


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


def _sparse_rate_ratios(critic_input: str, seed: int, steps: int = 2000) -> list[float]:
    """Mean generated / data firing probability every 100 steps over the second half of a run.

    Sparse data (8 neurons, rates 0.02-0.06, a shared slow gain), a tiny model, the
    output bias started at the data's rates. Measured (seeds 0-2, 2000 steps): the
    straight-through critic input ends at 0.972/0.978/0.979 of the data's rate, the
    probabilities the paper fed the critic at 1.24/1.21: the deficit of issue 11.
    """
    rng = np.random.default_rng(0)
    base = rng.uniform(0.02, 0.06, 8)
    gain = np.repeat(rng.gamma(2.0, 0.5, 20000 // 8), 8)
    raster = (rng.random((20000, 8)) < np.clip(base * gain[:, None], 0, 1)).astype(np.uint8)
    data = prepare_data(raster, 16, val_fraction=0.0)
    true = float(data.train.spikes.mean())
    trainer = Trainer(ModelConfig(n_neurons=8, n_bins=16, num_features=8, latent_dim=32),
                      TrainConfig(batch_size=64, max_steps=steps, eval_every=0, seed=seed,
                                  steps_per_call=50, critic_input=critic_input), verbose=0)
    trainer.init_output_bias(data)
    from spikegan_tf.gan.sampling import sample

    trainer.train_steps(data, steps // 2)
    ratios = []
    while int(trainer.step.numpy()) < steps:
        trainer.train_steps(data, 100)
        ratios.append(float(sample(trainer.generator, 4000, seed=1).mean()) / true)
    return ratios


def test_generated_rate_of_sparse_data_is_unbiased():
    """The fast check of issue 11: spikes through the critic keep the rate within 5 %."""
    assert abs(np.mean(_sparse_rate_ratios("spikes", seed=0)) - 1.0) < 0.05


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_generated_rate_of_sparse_data_is_unbiased_for_more_seeds(seed):
    assert abs(np.mean(_sparse_rate_ratios("spikes", seed=seed)) - 1.0) < 0.05


@pytest.mark.slow
def test_the_rate_check_fails_on_the_papers_critic_input():
    """The check above has power: probabilities fed to the critic miss by more than 10 %."""
    assert abs(np.mean(_sparse_rate_ratios("probabilities", seed=0)) - 1.0) > 0.10

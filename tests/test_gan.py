"""The SpikeGAN facade: fit, continue, sample, save/load, load a training run."""

from __future__ import annotations

import numpy as np
import pytest

from spikegan_tf import SpikeGAN
from spikegan_tf.errors import ConfigError

TINY = dict(num_features=8, latent_dim=16)
FAST = dict(batch_size=16, eval_every=0, verbose=0)


@pytest.fixture(scope="module")
def windows():
    return (np.random.default_rng(0).random((256, 4, 8)) < 0.3).astype(np.uint8)


def test_fit_continue_sample_save_load(tmp_path, windows):
    gan = SpikeGAN(n_neurons=4, n_bins=8, **TINY)
    with pytest.raises(ConfigError, match="not trained"):
        gan.sample(3)
    assert gan.fit(windows, steps=2, seed=1, **FAST) is gan and gan.result_.step == 2
    first = [w.copy() for w in gan.generator_.get_weights()]
    assert gan.fit(windows, steps=3, seed=1, **FAST).result_.step == 5  # continues
    assert any(not np.array_equal(a, b) for a, b in zip(first, gan.generator_.get_weights(),
                                                        strict=True))
    x = gan.sample(20, seed=4)
    assert x.shape == (20, 4, 8) and x.dtype == np.uint8
    np.testing.assert_array_equal(x, gan.sample(20, seed=4))

    gan.save(tmp_path / "model")
    loaded = SpikeGAN.load(tmp_path / "model")
    assert loaded.config == gan.config
    np.testing.assert_array_equal(loaded.sample(20, seed=4), x)
    assert loaded.critic_ is not None
    z = np.random.default_rng(0).standard_normal((2, 16)).astype("float32")
    np.testing.assert_allclose(loaded.probabilities(z), gan.probabilities(z), rtol=1e-6)


def test_fit_with_run_dir_then_resume_from_the_run(tmp_path, windows):
    run = tmp_path / "run"
    gan = SpikeGAN(n_neurons=4, n_bins=8, **TINY)
    gan.fit(windows, steps=2, run_dir=run, checkpoint_every=2, **FAST)
    assert (run / "generator.keras").is_file() and (run / "checkpoints").is_dir()
    again = SpikeGAN(n_neurons=4, n_bins=8, **TINY)
    result = again.fit(windows, steps=1, run_dir=run, resume=True, checkpoint_every=2,
                       **FAST).result_
    assert result.step == 3
    loaded = SpikeGAN.load(run)  # a training run is a saved model
    np.testing.assert_array_equal(loaded.sample(5, seed=0), again.sample(5, seed=0))


def test_bad_arguments_are_clear(windows):
    gan = SpikeGAN(n_neurons=4, n_bins=8, **TINY)
    with pytest.raises(ConfigError, match="Unknown training configuration keys \\['lr'\\]"):
        gan.fit(windows, steps=1, lr=1e-3)
    with pytest.raises(ConfigError, match="steps"):
        gan.fit(windows, steps=None, minutes=None)
    with pytest.raises(ConfigError, match="n_bins"):
        SpikeGAN(n_neurons=4, n_bins=6)


def test_calibrate_rates_checks_its_data_in_one_line():
    from spikegan_tf.errors import SpikeGANError
    from spikegan_tf.gan.networks import build_generator

    gan = SpikeGAN(n_neurons=2, n_bins=8, num_features=4, latent_dim=8)
    with pytest.raises(SpikeGANError, match="not trained"):
        gan.calibrate_rates(np.zeros((10, 2), np.uint8))
    gan.generator_ = build_generator(gan.config, seed=0)
    with pytest.raises(SpikeGANError, match="`spikes` must have 2 neurons. Received 3."):
        gan.calibrate_rates(np.zeros((10, 3), np.uint8))
    with pytest.raises(SpikeGANError, match="binary"):
        gan.calibrate_rates(np.full((10, 2), 2, np.uint8))
    windows = (np.random.default_rng(0).random((50, 2, 8)) < 0.2).astype(np.uint8)
    gan.calibrate_rates(windows, n_samples=2048, seed=3)
    z = np.random.default_rng(3).standard_normal((2048, 8))
    np.testing.assert_allclose(gan.probabilities(z).mean(axis=(0, 2)),
                               windows.mean(axis=(0, 2)), rtol=1e-4)


def test_a_recipe_sets_the_model_and_fits_defaults_and_a_loaded_model_keeps_them(tmp_path):
    raster = (np.random.default_rng(2).random((600, 3)) < 0.2).astype(np.uint8)
    gan = SpikeGAN.from_recipe("raster", n_neurons=3, n_bins=16, temporal_features=8,
                               latent_channels=4)
    assert (gan.config.architecture, gan.config.temporal_layers, gan.config.latent_scales,
            gan.config.temporal_init, gan.config.critic_head_units, gan.config.n_bins) == (
        "temporal", 6, 5, "glorot", 64, 16)
    assert SpikeGAN.from_recipe("raster", n_neurons=3, temporal_features=8).config.n_bins == 256
    assert SpikeGAN.from_recipe("default", n_neurons=3).config.n_bins == 32
    gan.fit(raster, steps=1, eval_every=0, verbose=0, variance_match=0.5, calibrate_rates=False)
    cfg = gan._train_config
    assert (cfg.batch_size, cfg.count_match, cfg.variance_match, cfg.variance_match_scales,
            cfg.acg_match, cfg.acg_match_lags, cfg.ema_decay) == (16, 100.0, 0.5, 4, 10.0, 15,
                                                                   0.999)
    assert (cfg.acg_match_start, cfg.ema_start, cfg.variance_match_start) == (7000, 7000, 0)
    assert (cfg.acg_variance_match, cfg.acg_variance_match_start, cfg.pair_match,
            cfg.pair_match_start) == (0.1, 9000, 10.0, 9000)
    gan.save(tmp_path / "m")
    loaded = SpikeGAN.load(tmp_path / "m")
    assert (loaded.fit_defaults["acg_match"], loaded.fit_defaults["variance_match"]) == (10.0, 0.5)
    assert "max_steps" not in loaded.fit_defaults and loaded.fit_defaults["seed"] == 0
    loaded.fit(raster, steps=1, verbose=0)  # trains further as it was trained
    assert (loaded._train_config.batch_size, loaded._train_config.acg_match) == (16, 10.0)
    assert loaded._train_config.acg_match_start == 6999  # after the saved model's one step
    assert SpikeGAN(n_neurons=3, n_bins=16).fit_defaults == {}
    with pytest.raises(ConfigError, match="`recipe` must be one of .*'rastr'"):
        SpikeGAN.from_recipe("rastr", n_neurons=3)


def test_a_killed_run_counts_its_starts_from_the_published_generator_not_the_checkpoint(
        tmp_path, windows):
    import json
    import shutil

    from spikegan_tf.gan.rundir import RunDir, save_model

    run = RunDir(tmp_path / "run")
    SpikeGAN(n_neurons=4, n_bins=8, **TINY).fit(windows, steps=2, run_dir=run, acg_match=1.0,
                                               acg_match_start=5, **FAST)
    assert run.published_step() == 2 and run.latest_checkpoint_step() == 2
    shutil.copytree(run.path, tmp_path / "at2", ignore=shutil.ignore_patterns("checkpoints"))
    SpikeGAN.load(run).fit(windows, steps=1, run_dir=run, resume=True, verbose=0)
    assert run.published_step() == 3 and run.latest_checkpoint_step() == 3
    # killed after a checkpoint that did not publish: the .keras files are still step 2's
    for path in (run.generator_path, run.critic_path):
        shutil.copy(tmp_path / "at2" / path.name, path)
    loaded = SpikeGAN.load(run)
    loaded.fit(windows, steps=1, verbose=0)  # a new trainer on step 2's weights
    assert loaded._train_config.acg_match_start == 3  # 5 - 2, not 5 - 3
    loaded.save(tmp_path / "m")  # its 3 steps, in the archive
    assert RunDir(tmp_path / "m").published_step() == 1  # counted as its "train" section
    assert SpikeGAN.load(tmp_path / "m")._trained_steps == 1
    # a file written before archives recorded their step: config.json's, else not known
    m = RunDir(tmp_path / "m")
    save_model(m.load_generator(), m.generator_path)
    assert m.published_step() is None and SpikeGAN.load(m)._trained_steps is None
    cfg = m.read_config()
    m.config_path.write_text(json.dumps({**cfg, "trained_steps": 1}))
    assert SpikeGAN.load(m)._trained_steps == 1


def test_a_loaded_run_keeps_its_late_starts_counted_from_its_own_step(tmp_path, windows):
    gan = SpikeGAN(n_neurons=4, n_bins=8, **TINY)
    gan.fit(windows, steps=2, run_dir=tmp_path / "run", variance_match=1.0, acg_match=1.0,
            variance_match_start=1, acg_match_start=5, ema_decay=0.9, ema_start=3, **FAST)
    starts = ("variance_match_start", "acg_match_start", "ema_start")
    loaded = SpikeGAN.load(tmp_path / "run")  # its checkpoint and generator: step 2
    assert [loaded.fit_defaults[k] for k in starts] == [1, 5, 3]  # as the run counts them
    loaded.fit(windows, steps=1, verbose=0)  # a new trainer from step 0: counted back by 2
    assert [getattr(loaded._train_config, k) for k in starts] == [0, 3, 1]
    trainer = loaded.trainer_
    assert loaded.fit(windows, steps=1, verbose=0).trainer_ is trainer  # a second fit goes on
    assert [getattr(loaded._train_config, k) for k in starts] == [0, 3, 1]
    assert loaded.result_.step == 2
    loaded.save(tmp_path / "m")  # no checkpoint, its 4 steps recorded
    again = SpikeGAN.load(tmp_path / "m")
    again.fit(windows, steps=1, verbose=0)
    assert [getattr(again._train_config, k) for k in starts] == [0, 1, 0]
    # resuming the run itself keeps its own count (the settings must match to resume)
    resumed = SpikeGAN.load(tmp_path / "run").fit(windows, steps=1, run_dir=tmp_path / "run",
                                                 resume=True, verbose=0)
    assert resumed.result_.step == 3
    assert [getattr(resumed._train_config, k) for k in starts] == [1, 5, 3]
    # a carried start goes with its term; one given without its term is refused
    off = SpikeGAN.load(tmp_path / "run").fit(windows, steps=1, acg_match=0.0, verbose=0)
    assert off._train_config.acg_match_start == 0
    with pytest.raises(ConfigError, match=r"`acg_match_start` \(--acg-match-start\) is 4 but "
                                          r"`acg_match` is 0: nothing starts there"):
        SpikeGAN(n_neurons=4, n_bins=8, **TINY).fit(windows, steps=1, acg_match_start=4, **FAST)


def test_training_continues_from_a_published_generator_without_its_filter_layers():
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.estimator import _continue_from
    from spikegan_tf.gan.history_fit import with_history_filter
    from spikegan_tf.gan.networks import build_generator

    cfg = ModelConfig(n_neurons=3, n_bins=16, architecture="temporal", temporal_features=8,
                      latent_channels=4)
    published = with_history_filter(build_generator(cfg, seed=0), cfg, 4)
    fresh = build_generator(cfg, seed=1)
    assert len(published.get_weights()) > len(fresh.get_weights())
    _continue_from(published, fresh)
    for layer in fresh.layers:
        for a, b in zip(layer.get_weights(), published.get_layer(layer.name).get_weights(),
                        strict=True):
            np.testing.assert_array_equal(a, b)
    other = build_generator(ModelConfig(n_neurons=4, n_bins=16, architecture="temporal",
                                        temporal_features=8, latent_channels=4), seed=0)
    with pytest.raises(ConfigError, match="Cannot continue training from this generator: it "
                                          "has no layer 'logits'"):
        _continue_from(published, other)


def test_a_loaded_model_trains_on_from_its_weights_and_can_drop_its_calibrations(tmp_path,
                                                                                windows):
    gan = SpikeGAN(n_neurons=4, n_bins=8, **TINY)
    gan.fit(windows, steps=2, seed=3, **FAST)  # rates and positions calibrated (auto)
    gan.save(tmp_path / "m")
    loaded = SpikeGAN.load(tmp_path / "m")
    assert loaded.fit_defaults["seed"] == 3 and "eval_every" not in loaded.fit_defaults
    assert "calibrate_positions" not in loaded.fit_defaults  # auto: follows calibrate_rates
    published = loaded.generator_
    loaded.fit(windows, steps=1, learning_rate=1e-30, calibrate_rates=False, verbose=0)
    assert loaded._train_config.seed == 3 and not loaded._train_config.calibrate_positions
    for layer in loaded.trainer_.generator.layers:  # the published weights, bias included
        for a, b in zip(layer.get_weights(), published.get_layer(layer.name).get_weights(),
                        strict=True):
            np.testing.assert_array_equal(a, b)
    assert loaded.fit(windows, steps=1, verbose=0).trainer_ is loaded.trainer_  # continues
    assert loaded.result_.step == 2

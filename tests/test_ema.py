"""The moving average of the generator's weights (TrainConfig.ema_decay): exact update, files."""

from __future__ import annotations

import numpy as np
import pytest

from spikegan_tf.data.splits import prepare_data
from spikegan_tf.gan import rundir
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.train_config import TrainConfig
from spikegan_tf.gan.trainer import Trainer

MODEL = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)


def _data():
    x = (np.random.default_rng(0).random((128, 3, 8)) < 0.3).astype(np.uint8)
    return prepare_data(x, val_fraction=0.0)


def _weights(model):
    return [w.numpy().copy() for w in model.weights]


def test_average_follows_the_warmed_up_decay_exactly():
    data = _data()
    trainer = Trainer(MODEL, TrainConfig(batch_size=16, max_steps=2, eval_every=0,
                                         ema_decay=0.9), verbose=0)
    avg = _weights(trainer.generator)
    for t in (1, 2):
        trainer.train_steps(data, 1)
        d = min(0.9, (1 + t) / (10 + t))
        avg = [d * a + (1 - d) * w for a, w in zip(avg, _weights(trainer.generator), strict=True)]
        for got, want in zip(_weights(trainer.generator_ema), avg, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    # the average is not the last iterate
    assert any(not np.allclose(a, w) for a, w in zip(_weights(trainer.generator_ema),
                                                     _weights(trainer.generator), strict=True))
    assert trainer.sampling_generator is trainer.generator_ema


def test_saved_generator_is_the_average_and_resume_restores_it(tmp_path):
    data = _data()
    cfg = TrainConfig(batch_size=16, max_steps=2, eval_every=0, ema_decay=0.5,
                      checkpoint_every=2, calibrate_rates=False)  # the average itself
    first = Trainer(MODEL, cfg, run_dir=tmp_path / "run", verbose=0)
    first.fit(data)
    saved = rundir.RunDir(tmp_path / "run").load_generator()
    for a, b in zip(_weights(saved), _weights(first.generator_ema), strict=True):
        np.testing.assert_array_equal(a, b)
    resumed = Trainer(MODEL, cfg, run_dir=tmp_path / "run", verbose=0)
    resumed.fit(data, resume=True, more_steps=2)
    straight = Trainer(MODEL, TrainConfig(batch_size=16, max_steps=4, eval_every=0,
                                          ema_decay=0.5), verbose=0)
    straight.fit(data)
    for a, b in zip(_weights(resumed.generator_ema), _weights(straight.generator_ema),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_resuming_with_another_decay_is_refused(tmp_path):
    from spikegan_tf.errors import ConfigError

    data = _data()
    Trainer(MODEL, TrainConfig(batch_size=16, max_steps=1, eval_every=0), run_dir=tmp_path / "r",
            verbose=0).fit(data)
    with pytest.raises(ConfigError, match="ema_decay"):
        Trainer(MODEL, TrainConfig(batch_size=16, max_steps=2, eval_every=0, ema_decay=0.9),
                run_dir=tmp_path / "r", verbose=0).fit(data, resume=True)


def test_temporal_runs_average_by_default_and_old_runs_resume_as_saved(tmp_path):
    import json

    from spikegan_tf.cli import main

    temporal = ModelConfig(n_neurons=3, n_bins=8, architecture="temporal", temporal_layers=1,
                           temporal_features=4, latent_channels=2)
    assert TrainConfig().resolve(temporal).ema_decay == 0.999
    assert TrainConfig().resolve(MODEL).ema_decay == 0.0  # the window model: off
    raster = (np.random.default_rng(1).random((600, 3)) < 0.3).astype(np.uint8)
    np.save(tmp_path / "r.npy", raster)
    base = ["train", "--data", str(tmp_path / "r.npy"), "--bins", "8", "--architecture",
            "temporal", "--temporal-layers", "1", "--batch-size", "8", "--max-steps", "1",
            "--no-calibrate-rates", "--quiet"]
    assert main(base + ["--out", str(tmp_path / "new")]) == 0
    assert json.loads((tmp_path / "new" / "config.json").read_text())["train"]["ema_decay"] == 0.999
    # a temporal run saved without the average (as before it was the default) resumes so
    assert main(base + ["--ema-decay", "0", "--out", str(tmp_path / "old")]) == 0
    assert main(["train", "--resume", "--out", str(tmp_path / "old"), "--more-steps", "1",
                 "--quiet"]) == 0
    saved = json.loads((tmp_path / "old" / "config.json").read_text())["train"]
    assert saved["ema_decay"] == 0.0

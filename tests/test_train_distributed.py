"""One MirroredStrategy step over 2 logical CPU devices equals the single-device step."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from spikegan_tf.data.splits import prepare_data
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.train_config import GENERATOR_TERMS, TrainConfig
from spikegan_tf.gan.trainer import Trainer


@pytest.mark.parametrize("settings", [
    {}, {"lr_decay_steps": 2}, {"gp_per_path": True},
    # the count and variance terms are not means over windows: each replica needs the global
    # distribution, and the variances (and means) of the global batch's two halves (relative,
    # in 2 scales: of the windows and of their halves, relative to the squared means), and the
    # autocorrelogram's means of the two halves, the spread of the halves' coincidences and
    # the pairs' mean coincidences in each half
    {"count_match": 50.0}, {"variance_match": 5.0},
    {"variance_match": 5.0, "variance_match_relative": True, "variance_match_scales": 2},
    {"acg_match": 50.0}, {"acg_variance_match": 5.0}, {"pair_match": 50.0}])
def test_mirrored_step_equals_default_strategy_step(settings):
    devices = tf.config.list_logical_devices("CPU")
    if len(devices) < 2:
        pytest.skip("needs the 2 logical CPU devices set up by conftest")
    # a penalty per path: a headed critic, weights large enough for input gradients of norm ~1
    head = dict(critic_head_units=4, init_stddev=0.5) if settings.get("gp_per_path") else {}
    model = ModelConfig(n_neurons=4, n_bins=8, num_features=8, latent_dim=16, **head)
    config = TrainConfig(batch_size=16, n_critic=2, max_steps=2, eval_every=0,
                         count_match_max=3, **settings)
    windows = (np.random.default_rng(0).random((256, 4, 8)) < 0.3).astype(np.uint8)
    data = prepare_data(windows, val_fraction=0.0)

    single = Trainer(model, config, verbose=0)
    mirrored = Trainer(model, config, verbose=0, strategy=tf.distribute.MirroredStrategy(
        [d.name for d in devices[:2]],
        # no collective ops: an in-process MultiWorkerMirroredStrategy of another test
        # (test_multiworker) shares their instance keys within one process
        cross_device_ops=tf.distribute.ReductionToOneDevice()))
    assert mirrored.strategy.num_replicas_in_sync == 2
    for a, b in zip(single.generator.weights, mirrored.generator.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # same seeded start

    initial = [w.numpy() for w in single.generator.weights + single.critic.weights]
    steps = 1 if config.lr_decay_steps is None else 2  # the schedule: a second step, half rate
    losses_single = single.train_steps(data, steps)
    losses_mirrored = mirrored.train_steps(data, steps)
    # per-replica losses are scaled to the global batch: their sum is the global loss
    for name in ("d_loss", "wasserstein", "gp", "g_loss") + tuple(
            t for t in GENERATOR_TERMS if settings.get(t)):
        assert losses_mirrored[name] == pytest.approx(losses_single[name], rel=1e-4, abs=1e-6)
    moved = False
    for a, b, w0 in zip(single.generator.weights + single.critic.weights,
                        mirrored.generator.weights + mirrored.critic.weights, initial,
                        strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-5 if head else 1e-6)
        moved |= not np.allclose(a.numpy(), w0)
    assert moved  # the step did update the weights
    assert int(mirrored.step.numpy()) == int(single.step.numpy()) == steps
    if config.lr_decay_steps:  # both optimisers of the mirrored run are at the schedule's end
        for opt in (mirrored.g_optimizer, mirrored.d_optimizer):
            assert float(opt.learning_rate) == pytest.approx(0.0, abs=1e-12)

"""WGAN-GP losses against exact oracles (fixed vectors, linear and quadratic critics)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from spikegan_tf.gan.losses import (
    batch_mean,
    critic_loss,
    critic_objective,
    generator_loss,
    gradient_penalty,
    gradient_penalty_from_gradients,
    interpolate,
    interpolation_weights,
)

SHAPE = (4, 8)  # neurons x bins


def linear_critic(w: np.ndarray, b: float) -> keras.Model:
    """f(x) = <w, x> + b as a Keras model (Flatten + Dense(1))."""
    x = keras.Input(SHAPE)
    dense = keras.layers.Dense(1)
    model = keras.Model(x, dense(keras.layers.Flatten()(x)))
    dense.set_weights([w.reshape(-1, 1).astype("float32"), np.array([b], "float32")])
    return model


def test_critic_and_generator_losses_on_fixed_vectors():
    real = [1.0, 2.0, 3.0, 6.0]  # mean 3
    fake = [-1.0, 0.0, 1.0, 4.0]  # mean 1
    assert float(critic_loss(real, fake)) == pytest.approx(1.0 - 3.0)
    assert float(generator_loss(fake)) == pytest.approx(-1.0)
    # per-replica halves scaled to the global batch add up to the global value
    halves = [critic_loss(real[i:i + 2], fake[i:i + 2], global_batch_size=4) for i in (0, 2)]
    assert float(sum(halves)) == pytest.approx(-2.0)
    assert float(batch_mean([2.0, 4.0], global_batch_size=8)) == pytest.approx(0.75)


def test_gradient_penalty_from_hand_computed_gradients():
    g = np.zeros((3, 2, 2), "float32")
    g[0, 0, 0], g[0, 1, 1] = 3.0, 4.0  # norm 5 -> (5-1)^2 = 16
    g[1, 0, 1] = 1.0  # norm 1 -> 0
    g[2, 1, 0] = 0.5  # norm 0.5 -> 0.25
    expected = 10.0 * (16.0 + 0.0 + 0.25) / 3
    assert float(gradient_penalty_from_gradients(g, 10.0)) == pytest.approx(expected, rel=1e-6)
    assert float(gradient_penalty_from_gradients(g, 2.5, global_batch_size=6)) == pytest.approx(
        2.5 * 16.25 / 6, rel=1e-6)


@pytest.mark.parametrize("norm", [0.3, 1.0, 2.7])
def test_gradient_penalty_of_linear_critic_is_exact(rng, norm):
    w = rng.standard_normal(SHAPE)
    w *= norm / np.linalg.norm(w)
    critic = linear_critic(w, b=0.7)
    real = (rng.random((16, *SHAPE)) < 0.3).astype("float32")
    fake = rng.random((16, *SHAPE)).astype("float32")
    alpha = interpolation_weights(tf.random.Generator.from_seed(1), 16)
    gp = float(gradient_penalty(critic, real, fake, alpha, gp_weight=10.0))
    assert gp == pytest.approx(10.0 * (norm - 1.0) ** 2, rel=1e-4, abs=1e-5)


def test_critic_objective_matches_separate_terms_for_linear_critic(rng):
    w = rng.standard_normal(SHAPE)
    critic = linear_critic(w, b=-0.2)
    real = (rng.random((8, *SHAPE)) < 0.3).astype("float32")
    fake = rng.random((8, *SHAPE)).astype("float32")
    alpha = rng.random((8, 1, 1)).astype("float32")
    total, wass, gp = (float(t) for t in critic_objective(critic, real, fake, alpha, 10.0))
    flat_w = w.ravel()
    expected_wass = (fake.reshape(8, -1) @ flat_w).mean() - (real.reshape(8, -1) @ flat_w).mean()
    assert wass == pytest.approx(expected_wass, rel=1e-4, abs=1e-5)
    assert gp == pytest.approx(10.0 * (np.linalg.norm(w) - 1.0) ** 2, rel=1e-4)
    assert total == pytest.approx(wass + gp, rel=1e-6)


def test_gradient_penalty_of_quadratic_critic_uses_per_sample_interpolates(rng):
    # f(x) = ||x||^2 / 2 has gradient x: the penalty is mean((||x_hat_i|| - 1)^2)
    x = keras.Input(SHAPE)
    sq = keras.layers.Multiply()([x, x])
    half = keras.layers.Dense(1, use_bias=False, kernel_initializer=keras.initializers.Constant(0.5))
    model = keras.Model(x, half(keras.layers.Flatten()(sq)))
    real = rng.random((5, *SHAPE)).astype("float32")
    fake = rng.random((5, *SHAPE)).astype("float32") * 0.1
    alpha = rng.random((5, 1, 1)).astype("float32")
    x_hat = real + alpha * (fake - real)
    norms = np.linalg.norm(x_hat.reshape(5, -1), axis=1)
    expected = 10.0 * np.mean((norms - 1.0) ** 2)
    assert float(gradient_penalty(model, real, fake, alpha)) == pytest.approx(expected, rel=1e-4)
    _, _, gp = critic_objective(model, real, fake, alpha)
    assert float(gp) == pytest.approx(expected, rel=1e-4)


def test_interpolation_weights_are_uniform_per_sample_and_seeded():
    w = interpolation_weights(tf.random.Generator.from_seed(3), 20000).numpy()
    assert w.shape == (20000, 1, 1)
    assert w.min() >= 0.0 and w.max() < 1.0
    assert w.mean() == pytest.approx(0.5, abs=0.01)
    assert w.var() == pytest.approx(1 / 12, abs=0.003)
    again = interpolation_weights(tf.random.Generator.from_seed(3), 20000).numpy()
    np.testing.assert_array_equal(w, again)


def test_interpolate_endpoints():
    real = np.zeros((2, *SHAPE), "float32")
    fake = np.ones((2, *SHAPE), "float32")
    out = interpolate(real, fake, np.array([0.0, 1.0], "float32").reshape(2, 1, 1)).numpy()
    np.testing.assert_array_equal(out[0], real[0])
    np.testing.assert_array_equal(out[1], fake[1])

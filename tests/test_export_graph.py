"""The polyphase graph the exporters convert computes the Keras generator's function."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from spikegan_tf.export.graph import (
    float32_generator,
    plan_generator,
    polyphase_kernel,
    polyphase_taps,
    serving_function,
)
from spikegan_tf.export.parity import measure_parity
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.networks import build_generator


def randomize(model: keras.Model, seed: int, scale: float = 0.3) -> keras.Model:
    """Random weights *and biases* (fresh models have zero biases, which hide bias bugs)."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, scale, w.shape).astype(np.float32)
                       for w in model.get_weights()])
    return model


def test_taps_resize_kernel5_hand_derived():
    # out[2t+r] = sum_k w[k] x_up[2t+r+k-2], x_up[j] = x[j // 2]
    # r=0: x[t-1], x[t-1], x[t], x[t], x[t+1]; r=1: x[t-1], x[t], x[t], x[t+1], x[t+1]
    assert polyphase_taps("resize", 5) == {
        (0, -1): [0, 1], (0, 0): [2, 3], (0, 1): [4],
        (1, -1): [0], (1, 0): [1, 2], (1, 1): [3, 4],
    }


def test_taps_transpose_kernel5_hand_derived():
    # stride-2 transposed conv, TF "same": out[2j + k - 1] += x[j] w[k]
    assert polyphase_taps("transpose", 5) == {
        (0, -1): [3], (0, 0): [1],
        (1, -1): [4], (1, 0): [2], (1, 1): [0],
    }


def _naive_block(x, kernel, mode):
    """Loop-level oracle of one upsampling block (no bias)."""
    t_in, _ = x.shape
    k = kernel.shape[0]
    y = np.zeros((2 * t_in, kernel.shape[2] if mode == "resize" else kernel.shape[1]))
    if mode == "resize":
        up = np.repeat(x, 2, axis=0)
        before = (k - 1) // 2
        for o in range(2 * t_in):
            for tap in range(k):
                j = o + tap - before
                if 0 <= j < 2 * t_in:
                    y[o] += up[j] @ kernel[tap]
    else:
        before = max(k - 2, 0) // 2
        for j in range(t_in):
            for tap in range(k):
                o = 2 * j + tap - before
                if 0 <= o < 2 * t_in:
                    y[o] += kernel[tap] @ x[j]
    return y


@pytest.mark.parametrize("mode", ["resize", "transpose"])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_polyphase_kernel_matches_loop_oracle(mode, k, rng):
    t_in, c_in, c_out = 5, 3, 2
    x = rng.normal(size=(t_in, c_in))
    kernel = rng.normal(size=(k, c_in, c_out) if mode == "resize" else (k, c_out, c_in))
    w, lo, hi = polyphase_kernel(kernel, mode)
    padded = np.pad(x, ((max(-lo, 0), max(hi, 0)), (0, 0)))
    cols = np.stack([padded[t + max(-lo, 0) + lo: t + max(-lo, 0) + hi + 1].ravel()
                     for t in range(t_in)])
    got = (cols @ w).reshape(2 * t_in, c_out)
    np.testing.assert_allclose(got, _naive_block(x, kernel, mode), rtol=1e-5, atol=1e-5)


CONFIGS = {
    "resize": dict(),
    "transpose": dict(upsampling="transpose"),
    "resize-k4-3layers": dict(kernel_size=4, num_layers=3, n_bins=16),
    "transpose-k3": dict(kernel_size=3, upsampling="transpose"),
    "transpose-k4": dict(kernel_size=4, upsampling="transpose"),
    "transpose-k6": dict(kernel_size=6, upsampling="transpose", n_bins=16),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_lean_graph_matches_keras(name, rng):
    kw = dict(CONFIGS[name])
    cfg = ModelConfig(n_neurons=4, n_bins=kw.pop("n_bins", 8), num_features=8, **kw)
    g = randomize(build_generator(cfg), seed=1)
    assert plan_generator(g, cfg) is not None
    fn = serving_function(g, cfg)
    assert fn.captured_variables == []  # weights are graph constants
    z = rng.standard_normal((16, cfg.latent_dim), dtype=np.float32)
    u = rng.random((16, 4, cfg.n_bins), dtype=np.float32)
    out = fn(z, u)
    parity = measure_parity(name, g(z).numpy(), out["probs"].numpy(), out["spikes"].numpy(), u)
    assert parity.ok, parity.summary()
    assert parity.probs_max_abs_diff < 1e-5 and parity.spikes_compared > 0.99 * u.size


def test_fc_and_foreign_models_use_the_keras_call(rng):
    cfg = ModelConfig(n_neurons=3, n_bins=8, architecture="fc", num_units=16, fc_layers=2)
    g = randomize(build_generator(cfg), seed=2)
    assert plan_generator(g, cfg) is None
    # a conv config but a model without build_generator's layers
    conv_cfg = ModelConfig(n_neurons=3, n_bins=8, num_features=4)
    z_in = keras.Input((conv_cfg.latent_dim,))
    h = keras.layers.Dense(24, name="other")(z_in)
    foreign = keras.Model(z_in, keras.layers.Reshape((3, 8))(h))
    assert plan_generator(foreign, conv_cfg) is None
    for model, c in ((g, cfg), (foreign, conv_cfg)):
        fn = serving_function(model, c)
        assert fn.captured_variables  # the Keras weights are read as variables
        z = rng.standard_normal((5, 128), dtype=np.float32)
        out = fn(z, np.full((5, 3, 8), 0.5, np.float32))
        np.testing.assert_allclose(out["probs"].numpy(), model(z).numpy(), atol=1e-6)


def test_mixed_precision_generator_is_exported_in_float32(rng):
    cfg = ModelConfig(n_neurons=3, n_bins=8, num_features=4)
    g16 = randomize(build_generator(cfg, dtype="mixed_float16"), seed=3)
    g32 = float32_generator(g16, cfg)
    assert g32 is not g16 and all(layer.compute_dtype == "float32" for layer in g32.layers)
    z = rng.standard_normal((4, 128), dtype=np.float32)
    lean = serving_function(g16, cfg)(z, np.zeros((4, 3, 8), np.float32))["probs"].numpy()
    np.testing.assert_allclose(lean, g32(z).numpy(), atol=1e-5)
    g = build_generator(cfg)
    assert float32_generator(g, cfg) is g


def test_output_conv_generator_is_exported_as_its_keras_call(rng):
    cfg = ModelConfig(n_neurons=3, n_bins=8, num_features=4, output_kernel=3)
    g = randomize(build_generator(cfg), seed=4)
    assert plan_generator(g, cfg) is None  # the polyphase plan has no full-resolution conv
    z = rng.standard_normal((6, cfg.latent_dim), dtype=np.float32)
    out = serving_function(g, cfg)(z, np.full((6, 3, 8), 0.5, np.float32))
    np.testing.assert_allclose(out["probs"].numpy(), g(z).numpy(), atol=1e-6)

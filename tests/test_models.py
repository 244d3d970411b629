"""Generator/critic shapes, architecture, configuration errors and .keras round trips."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from spikegan_tf.errors import ConfigError
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.networks import (
    CountHistogram,
    build_critic,
    build_generator,
    critic_path_count,
    critic_path_names,
    critic_paths,
    set_output_bias,
)

TINY = dict(n_neurons=4, n_bins=8, num_features=8, latent_dim=16)


@pytest.mark.parametrize("kwargs", [
    dict(TINY, upsampling="resize"),
    dict(TINY, upsampling="transpose"),
    dict(TINY, output_kernel=3),
    dict(TINY, architecture="fc", num_units=16, fc_layers=2),
    dict(n_neurons=3, n_bins=16, num_features=4, latent_dim=8, num_layers=3),
])
def test_shapes_and_probability_range(rng, kwargs):
    cfg = ModelConfig(**kwargs)
    g, c = build_generator(cfg, seed=0), build_critic(cfg, seed=1)
    z = rng.standard_normal((5, cfg.latent_dim)).astype("float32")
    p = np.asarray(g(z))
    assert p.shape == (5, cfg.n_neurons, cfg.n_bins)
    assert p.dtype == np.float32
    assert ((p > 0) & (p < 1)).all()
    assert tuple(c(p).shape) == (5, 1)


def test_conv_features_double_per_layer_and_generator_mirrors_critic():
    cfg = ModelConfig(n_neurons=4, n_bins=16, num_features=8, num_layers=3)
    c = build_critic(cfg)
    conv = [layer for layer in c.layers if isinstance(layer, keras.layers.Conv1D)]
    assert [layer.filters for layer in conv] == [8, 16, 32]
    assert all(layer.strides == (2,) and layer.kernel_size == (5,) for layer in conv)
    g = build_generator(cfg)
    gconv = [layer for layer in g.layers
             if isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv1DTranspose))]
    assert [layer.filters for layer in gconv] == [16, 8, 4]  # back to neurons as channels
    assert all(layer.strides == (2,) for layer in gconv)  # the default: transposed convolutions
    resize = build_generator(ModelConfig(n_neurons=4, n_bins=16, num_features=8, num_layers=3,
                                         upsampling="resize"))
    assert [type(layer).__name__ for layer in resize.layers[4:7]] == [
        "UpSampling1D", "Conv1D", "LeakyReLU"]
    project = g.get_layer("project")
    assert project.units == (16 // 8) * 32


def test_no_lambda_layers():
    cfg = ModelConfig(**TINY)
    for model in (build_generator(cfg), build_critic(cfg)):
        assert not any(isinstance(layer, keras.layers.Lambda) for layer in model.layers)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_neurons=4, n_bins=30), "divisible by 2\\*\\*num_layers = 4"),
    (dict(n_neurons=4, n_bins=8, architecture="rnn"), "architecture"),
    (dict(n_neurons=4, n_bins=8, upsampling="bilinear"), "upsampling"),
    (dict(n_neurons=0, n_bins=8), "n_neurons"),
    (dict(n_neurons=4, n_bins=8, latent_dim=2.5), "latent_dim"),
    (dict(n_neurons=4, n_bins=8, leaky_slope=1.5), "leaky_slope"),
])
def test_config_errors_are_clear(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ModelConfig(**kwargs)


def test_fc_architecture_accepts_any_bins():
    cfg = ModelConfig(n_neurons=3, n_bins=30, architecture="fc", num_units=8, fc_layers=1)
    assert tuple(build_generator(cfg)(np.zeros((1, cfg.latent_dim), "float32")).shape) == (1, 3, 30)


def test_seeded_initial_weights_are_reproducible_and_distinct():
    cfg = ModelConfig(**TINY)
    a, b, other = (build_generator(cfg, seed=s) for s in (5, 5, 6))
    for wa, wb, wo in zip(a.get_weights(), b.get_weights(), other.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
        if wa.ndim > 1:  # kernels are random, biases zero
            assert not np.array_equal(wa, wo)
    kernels = [w for w in a.get_weights() if w.ndim > 1]
    assert np.std(kernels[0]) == pytest.approx(cfg.init_stddev, rel=0.2)


@pytest.mark.parametrize("arch", ["conv", "fc"])
def test_keras_round_trip_in_safe_mode(tmp_path, rng, arch):
    cfg = ModelConfig(**TINY, architecture=arch, num_units=16, fc_layers=2)
    g, c = build_generator(cfg, seed=0), build_critic(cfg, seed=1)
    z = rng.standard_normal((3, cfg.latent_dim)).astype("float32")
    x = (rng.random((3, cfg.n_neurons, cfg.n_bins)) < 0.3).astype("float32")
    for model, inp in ((g, z), (c, x)):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        loaded = keras.models.load_model(path, safe_mode=True, compile=False)
        np.testing.assert_allclose(np.asarray(loaded(inp)), np.asarray(model(inp)), rtol=1e-6)


def test_mixed_precision_models_compute_in_float16_and_output_float32():
    cfg = ModelConfig(**TINY)
    g = build_generator(cfg, dtype="mixed_float16")
    c = build_critic(cfg, dtype="mixed_float16")
    assert g.get_layer("deconv_1").compute_dtype == "float16"
    assert g.get_layer("deconv_1").kernel.dtype == "float32"
    p = g(np.zeros((2, cfg.latent_dim), "float32"))
    assert p.dtype == "float32"
    assert c(p).dtype == "float32"


@pytest.mark.parametrize("kwargs", [
    dict(TINY, upsampling="resize"),
    dict(TINY, upsampling="transpose"),
    dict(TINY, output_kernel=3),
    dict(TINY, architecture="fc", num_units=16, fc_layers=2),
])
def test_output_bias_sets_every_neurons_rate_at_zero_input(kwargs):
    cfg = ModelConfig(**kwargs)
    g = build_generator(cfg, seed=0)
    p = np.array([0.02, 0.3, 0.5, 0.0])
    set_output_bias(g, cfg, p)
    # zero input, zero hidden biases: every bin of neuron i is sigmoid(logit(p_i))
    out = g(np.zeros((1, cfg.latent_dim), np.float32)).numpy()[0]  # (neurons, bins)
    np.testing.assert_allclose(out, np.repeat(np.clip(p, 1e-4, 1)[:, None], 8, 1), rtol=1e-5)
    with pytest.raises(ValueError, match="firing_probability"):
        set_output_bias(g, cfg, p[:3])


@pytest.mark.parametrize("architecture", ["conv", "fc"])
def test_calibrate_output_bias_hits_each_rate_and_changes_only_the_bias(architecture):
    from spikegan_tf.gan.networks import calibrate_output_bias, output_bias_layer

    cfg = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8, num_units=16,
                      fc_layers=2, architecture=architecture)
    g = build_generator(cfg, seed=1)
    before = [w.copy() for w in g.get_weights()]
    target = np.array([0.02, 0.3, 0.6])
    shift = calibrate_output_bias(g, cfg, target, n_samples=300, seed=5)
    z = np.random.default_rng(5).standard_normal((300, 8)).astype("float32")
    np.testing.assert_allclose(g(z).numpy().mean(axis=(0, 2)), target, rtol=1e-4)
    bias = output_bias_layer(g, cfg).bias
    changed = [i for i, (a, b) in enumerate(zip(before, g.get_weights(), strict=True))
               if not np.array_equal(a, b)]
    assert [g.weights[i].path for i in changed] == [bias.path]
    expected = np.repeat(shift, 8) if architecture == "fc" else shift
    np.testing.assert_allclose(bias.numpy() - before[changed[0]], expected, rtol=1e-5, atol=1e-6)


def test_output_conv_sees_both_phases_of_the_last_upsampling():
    cfg = ModelConfig(**TINY, output_kernel=3)
    g = build_generator(cfg, seed=0)
    conv = g.get_layer("output_conv")
    assert conv.kernel.shape == (3, cfg.num_features, cfg.n_neurons)
    assert g.get_layer(f"deconv_{cfg.num_layers}").filters == cfg.num_features
    # a logit at bin t mixes deconv outputs t-1, t, t+1: one of each phase around it
    probe = keras.Model(g.inputs, [g.get_layer(f"act_{cfg.num_layers}").output,
                                   g.get_layer("sigmoid").input])
    z = np.random.default_rng(0).standard_normal((2, cfg.latent_dim)).astype("float32")
    h, logits = (x.numpy() for x in probe(z))
    w, b = conv.kernel.numpy(), conv.bias.numpy()
    t = 3
    np.testing.assert_allclose(logits[:, t], np.einsum("bkc,kcn->bn", h[:, t - 1:t + 2], w) + b,
                               rtol=1e-5, atol=1e-6)


def test_neuron_pattern_path_is_each_neurons_filters_averaged_over_positions(rng):
    cfg = ModelConfig(**TINY, critic_neuron_filters=2, critic_neuron_kernel=3)
    critic = build_critic(cfg, seed=1)
    layer = critic.get_layer("neuron_patterns")
    kernel = rng.standard_normal(layer.kernel.shape).astype("float32")  # (K, N, F)
    bias = rng.standard_normal(layer.bias.shape).astype("float32")  # (N * F,)
    layer.set_weights([kernel, bias])
    x = (rng.random((5, cfg.n_neurons, cfg.n_bins)) < 0.4).astype("float32")
    feats = keras.Model(critic.inputs, critic.get_layer("neuron_patterns_mean").output)(x)
    want = np.zeros((5, cfg.n_neurons, 2))
    for t in range(cfg.n_bins - 2):  # "valid" positions
        pre = np.einsum("bnk,knf->bnf", x[:, :, t:t + 3], kernel) + bias.reshape(cfg.n_neurons, 2)
        want += np.where(pre > 0, pre, cfg.leaky_slope * pre)
    want /= cfg.n_bins - 2
    np.testing.assert_allclose(np.asarray(feats), want.reshape(5, -1), rtol=1e-5, atol=1e-6)
    # each feature depends on its own neuron alone, and reaches the score
    x2 = x.copy()
    x2[:, 0] = 1 - x2[:, 0]
    moved = np.asarray(feats) != np.asarray(
        keras.Model(critic.inputs, critic.get_layer("neuron_patterns_mean").output)(x2))
    assert moved[:, :2].any() and not moved[:, 2:].any()
    flat = (cfg.n_bins // 4) * 2 * cfg.num_features  # the conv path: 2 positions x 16 features
    assert critic.get_layer("score").kernel.shape[0] == flat + cfg.n_neurons * 2


def test_critic_paths_round_trip_in_safe_mode(tmp_path, rng):
    cfg = ModelConfig(**TINY, critic_lags=3, critic_neuron_filters=2, critic_head_units=5,
                      critic_scales=2)
    critic = build_critic(cfg, seed=1)
    assert critic.get_layer("head").units == 5
    assert critic.get_layer("scale1_pool").pool_size == (2,)
    x = (rng.random((3, cfg.n_neurons, cfg.n_bins)) < 0.3).astype("float32")
    critic.save(tmp_path / "c.keras")
    loaded = keras.models.load_model(tmp_path / "c.keras", safe_mode=True, compile=False)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(critic(x)), rtol=1e-6)


def _interpolated_histogram(x, cap):
    """Oracle: each bin's count c shared between the integers around it, summed over bins."""
    hist = np.zeros((x.shape[0], cap + 1))
    for b, t in np.ndindex(x.shape[0], x.shape[2]):
        c = min(float(x[b, :, t].sum()), cap)
        low = int(np.floor(c))
        hist[b, low] += 1 - (c - low)
        if low < cap:
            hist[b, low + 1] += c - low
    return hist


def _flip_gradient(x, w, cap):
    """Oracle: d (w . hist) / d x[n, t] = step(c - x[n, t]), step[j] = w[j + 1] - w[j],
    step[cap] = 0, interpolated linearly between integers."""
    step = np.append(np.diff(w), 0.0)
    others = np.clip(x.sum(1, keepdims=True) - x, 0, cap)
    low = np.floor(others).astype(int)
    frac = others - low
    return (1 - frac) * step[low] + frac * step[np.minimum(low + 1, cap)]


@pytest.mark.parametrize("n_neurons, cap", [(7, 3), (5, 5), (2, 4), (1, 1)])
def test_count_histogram_counts_spikes_and_interpolates_between(rng, n_neurons, cap):
    spikes = (rng.random((3, n_neurons, 6)) < 0.4).astype("float32")
    counts = np.minimum(spikes.sum(1), cap).astype(int)
    want = np.stack([np.bincount(c, minlength=cap + 1) for c in counts])
    np.testing.assert_array_equal(np.asarray(CountHistogram(cap)(spikes)), want)
    x = rng.random((3, n_neurons, 6)).astype("float32")  # between spikes
    got = np.asarray(CountHistogram(cap)(x), np.float64)
    np.testing.assert_allclose(got, _interpolated_histogram(x, cap), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got.sum(1), 6, rtol=1e-6)  # every bin counted once


@pytest.mark.parametrize("spiking", [True, False])
def test_count_histogram_gradient_is_the_effect_of_flipping_one_spike(rng, spiking):
    import tensorflow as tf

    cap = 3
    w = rng.standard_normal(cap + 1)
    x = rng.random((2, 6, 5)).astype("float32")
    if spiking:
        x = (x < 0.4).astype("float32")
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        score = tf.reduce_sum(CountHistogram(cap)(xt) * w.astype("float32"))
    grad = tape.gradient(score, xt).numpy()
    np.testing.assert_allclose(grad, _flip_gradient(x, w, cap), rtol=1e-5, atol=1e-5)
    if spiking:  # the score with that one spike set minus with it cleared
        on, off = x.copy(), x.copy()
        on[1, 2, 3], off[1, 2, 3] = 1, 0
        scores = [_interpolated_histogram(v, cap)[1] @ w for v in (on, off)]
        np.testing.assert_allclose(grad[1, 2, 3], scores[0] - scores[1], atol=1e-5)


def test_count_histogram_gradient_penalty_differentiates_in_the_weights(rng):
    # the penalty ||d score / d x||^2 at an interpolate is a quadratic in the count weights w
    # (the flip gradient is linear in w): its derivative in w is exact by central differences
    import tensorflow as tf

    cap, x = 3, rng.random((1, 6, 5)).astype("float32")
    w0 = rng.standard_normal(cap + 1)

    def penalty(w):
        return float((_flip_gradient(x, w, cap) ** 2).sum())

    wt = tf.Variable(w0.astype("float32"))
    with tf.GradientTape() as outer:
        xt = tf.constant(x)
        with tf.GradientTape() as inner:
            inner.watch(xt)
            score = tf.reduce_sum(CountHistogram(cap)(xt) * wt)
        pen = tf.reduce_sum(inner.gradient(score, xt) ** 2)
    got = outer.gradient(pen, wt).numpy()
    eye = np.eye(cap + 1)
    want = [(penalty(w0 + e) - penalty(w0 - e)) / 2 for e in eye]
    np.testing.assert_allclose(float(pen), penalty(w0), rtol=1e-4)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_count_critic_scores_the_histogram_in_a_path_of_its_own(tmp_path, rng):
    cfg = ModelConfig(**TINY, critic_counts=2, critic_head_units=3)
    critic = build_critic(cfg, seed=4)
    flat = (cfg.n_bins // 4) * 2 * cfg.num_features
    assert critic.get_layer("score").kernel.shape == (flat + 3 + 3, 1)
    assert critic.get_layer("head").kernel.shape == (flat + 3, 3)  # the head sees it too
    assert critic_path_names(cfg) == ["patches", "counts", "head"]
    x = (rng.random((4, 4, 8)) < 0.3).astype("float32")
    terms = np.asarray(critic_paths(critic, cfg)(x), np.float64)
    bias = float(critic.get_layer("score").bias[0])
    np.testing.assert_allclose(terms.sum(1) + bias, np.asarray(critic(x))[:, 0], atol=1e-5)
    # the counts' term is exactly w . hist
    kernel, b = critic.get_layer("score").get_weights()
    hist = np.stack([np.bincount(np.minimum(w.sum(0), 2).astype(int), minlength=3) for w in x])
    np.testing.assert_allclose(terms[:, 1], hist @ kernel[flat:flat + 3, 0], rtol=1e-5)
    # the histogram's score weights move the counts' term only
    kernel[flat:flat + 3, 0] += [1.0, -2.0, 0.5]
    critic.get_layer("score").set_weights([kernel, b])
    moved = np.asarray(critic_paths(critic, cfg)(x), np.float64) - terms
    np.testing.assert_allclose(moved[:, 1], hist @ [1.0, -2.0, 0.5], atol=1e-4)
    np.testing.assert_allclose(moved[:, [0, 2]], 0, atol=1e-6)
    critic.save(tmp_path / "c.keras")  # a registered layer: loads in safe mode
    loaded = keras.models.load_model(tmp_path / "c.keras", safe_mode=True, compile=False)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(critic(x)), rtol=1e-6)
    with pytest.raises(ConfigError, match="critic_counts.*at most n_neurons = 4"):
        ModelConfig(**TINY, critic_counts=5)


def test_neuron_kernel_wider_than_the_window_is_refused():
    with pytest.raises(ConfigError, match="critic_neuron_kernel.*at most n_bins = 8"):
        ModelConfig(**TINY, critic_neuron_filters=1, critic_neuron_kernel=9)
    assert ModelConfig(**TINY, critic_neuron_kernel=9).critic_neuron_kernel == 9  # path off


def _swap_tails(critic, rng, n_bins=32, left=8, right=24, n_neurons=4):
    """score(a) + score(b) - score(c) - score(d), where a and b share bins
    ``left..right-1`` and c, d swap their tails: zero for a critic whose score
    is a sum over patches narrower than the shared stretch."""
    a = (rng.random((16, n_neurons, n_bins)) < 0.3).astype("float32")
    b = (rng.random((16, n_neurons, n_bins)) < 0.3).astype("float32")
    b[:, :, left:right] = a[:, :, left:right]
    c, d = a.copy(), b.copy()
    c[:, :, right:], d[:, :, right:] = b[:, :, right:], a[:, :, right:]
    s = [np.asarray(critic(x), np.float64)[:, 0] for x in (a, b, c, d)]
    return s[0] + s[1] - s[2] - s[3], np.abs(s[0]).mean()


def test_paper_critic_is_blind_beyond_its_patches_and_the_head_is_not(rng):
    # the paper's critic: Conv(5, stride 2) twice then one linear score, a sum of
    # functions of 13-bin patches; two windows that agree on 16 middle bins can
    # swap their tails without changing the sum of their scores
    cfg = ModelConfig(n_neurons=4, n_bins=32, num_features=8)
    gap, scale = _swap_tails(build_critic(cfg, seed=3), rng)
    assert np.abs(gap).max() < 1e-5 * max(scale, 1e-3)
    headed = ModelConfig(n_neurons=4, n_bins=32, num_features=8, critic_head_units=16)
    critic = build_critic(headed, seed=3)
    assert critic.get_layer("head").kernel.shape == (8 * 16, 16)
    assert critic.get_layer("score").kernel.shape == (8 * 16 + 16, 1)  # features and head
    gap, scale = _swap_tails(critic, rng)
    assert np.abs(gap).max() > 1e-2 * scale


def test_multi_scale_critic_sums_patches_as_long_as_its_receptive_field(rng):
    # scales 1, 2, 4: the coarsest path's Conv(5, stride 2) x 2 on 4-bin averages sees
    # 13 * 4 = 52-bin patches, so windows sharing 52 bins swap tails with an unchanged
    # sum of scores, and windows sharing 16 (enough for the paper's critic) do not
    cfg = ModelConfig(n_neurons=3, n_bins=128, num_features=4, critic_scales=3)
    assert cfg.critic_receptive_field == 52
    critic = build_critic(cfg, seed=5)
    assert critic.get_layer("scale2_pool").pool_size == (4,)
    flat = [critic.get_layer(f"{p}flatten").output.shape[-1] for p in ("", "scale1_", "scale2_")]
    assert flat == [32 * 8, 16 * 8, 8 * 8]  # positions x 8 features, halved per scale
    assert critic.get_layer("score").kernel.shape == (sum(flat), 1)
    gap, scale = _swap_tails(critic, rng, n_bins=128, left=36, right=88, n_neurons=3)
    assert np.abs(gap).max() < 1e-5 * max(scale, 1e-3)
    gap, scale = _swap_tails(critic, rng, n_bins=128, left=56, right=72, n_neurons=3)
    assert np.abs(gap).max() > 1e-3 * scale
    # the paper's critic (one scale) is blind at that 16-bin overlap
    paper = build_critic(ModelConfig(n_neurons=3, n_bins=128, num_features=4), seed=5)
    gap, scale = _swap_tails(paper, rng, n_bins=128, left=56, right=72, n_neurons=3)
    assert np.abs(gap).max() < 1e-5 * max(scale, 1e-3)


def test_critic_receptive_field_includes_the_lag_features_span(rng):
    # lag-20 coincidences pair bins 20 apart: windows sharing 21 bins swap tails with an
    # unchanged sum of scores, windows sharing 16 (enough for the patches alone) do not
    cfg = ModelConfig(n_neurons=3, n_bins=64, num_features=4, critic_lags=20)
    assert cfg.critic_receptive_field == 21
    critic = build_critic(cfg, seed=1)
    gap, scale = _swap_tails(critic, rng, n_bins=64, left=20, right=41, n_neurons=3)
    assert np.abs(gap).max() < 1e-5 * max(scale, 1e-3)
    gap, scale = _swap_tails(critic, rng, n_bins=64, left=24, right=40, n_neurons=3)
    assert np.abs(gap).max() > 1e-3 * scale


def test_critic_paths_split_the_score_into_one_term_per_scale_and_the_head(rng):
    cfg = ModelConfig(n_neurons=3, n_bins=32, num_features=4, critic_scales=3,
                      critic_head_units=5, critic_lags=2)
    critic = build_critic(cfg, seed=2)
    paths = critic_paths(critic, cfg)
    assert critic_path_count(cfg) == 4
    assert critic_path_names(cfg) == ["patches", "scale1", "scale2", "head"]
    x = (rng.random((6, 3, 32)) < 0.4).astype("float32")
    terms = np.asarray(paths(x), np.float64)
    bias = float(critic.get_layer("score").bias[0])
    assert terms.shape == (6, 4)
    np.testing.assert_allclose(terms.sum(1) + bias, np.asarray(critic(x))[:, 0], atol=1e-5)
    # swapping the two bins of every pair keeps every 2- and 4-bin average: the coarse
    # scales' terms do not move, the finest scale's does
    swapped = x.reshape(6, 3, 16, 2)[..., ::-1].reshape(6, 3, 32)
    moved = np.abs(np.asarray(paths(swapped), np.float64) - terms).max(0)
    assert moved[0] > 1e-4 and moved[1] < 1e-5 and moved[2] < 1e-5
    # the head's term is the score weights on the head's units: zero them and only it is 0
    kernel, b = critic.get_layer("score").get_weights()
    kernel[-5:] = 0
    critic.get_layer("score").set_weights([kernel, b])
    zeroed = np.asarray(paths(x), np.float64)
    np.testing.assert_allclose(zeroed[:, 3], 0, atol=1e-7)
    np.testing.assert_allclose(zeroed[:, :3], terms[:, :3], atol=1e-6)


def test_critic_paths_of_a_projection_critic_include_the_label_term(rng):
    cfg = ModelConfig(n_neurons=3, n_bins=8, num_features=4, n_classes=2, critic_head_units=3)
    critic = build_critic(cfg, seed=0)
    x = (rng.random((2, 3, 8)) < 0.5).astype("float32")
    label = np.eye(2, dtype="float32")
    terms = np.asarray(critic_paths(critic, cfg)([x, label]), np.float64)
    bias = float(critic.get_layer("score").bias[0])
    np.testing.assert_allclose(terms.sum(1) + bias, np.asarray(critic([x, label]))[:, 0],
                               atol=1e-5)
    assert critic_path_count(ModelConfig(n_neurons=3, n_bins=8, architecture="fc",
                                         critic_head_units=3)) == 2
    assert critic_path_count(ModelConfig(n_neurons=3, n_bins=8)) == 1


def test_multi_scale_critic_needs_windows_its_coarsest_scale_divides():
    with pytest.raises(ConfigError, match=r"n_bins.*2\*\*\(num_layers \+ critic_scales - 1\) "
                                          r"= 16.*Received 24"):
        ModelConfig(n_neurons=3, n_bins=24, critic_scales=3)
    with pytest.raises(ConfigError, match="critic_scales.*1 for the fc critic"):
        ModelConfig(n_neurons=3, n_bins=24, architecture="fc", critic_scales=2)

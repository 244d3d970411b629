"""The lag-1 coupling between neurons: drawn exactly alike everywhere, fitted, exported."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from spikegan_tf.data.splits import prepare_data
from spikegan_tf.errors import ConfigError
from spikegan_tf.export.graph import float32_generator, plan_generator
from spikegan_tf.export.parity import measure_parity
from spikegan_tf.gan import rundir
from spikegan_tf.gan.calibration import calibrated_copy
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.history import (
    COUPLING_BOUND,
    COUPLING_LAYER,
    COUPLING_STEP,
    HISTORY_LAYER,
    RasterHistory,
    decode_coupling,
    draw_spikes,
    history_coupling,
    history_spikes_tf,
    quantize_coupling,
)
from spikegan_tf.gan.history_fit import pair_coincidences
from spikegan_tf.gan.networks import build_generator
from spikegan_tf.gan.positions import POSITION_LAYER, with_position_offsets
from spikegan_tf.gan.sampling import sample
from spikegan_tf.gan.train_config import TrainConfig
from spikegan_tf.gan.trainer import Trainer

CONV = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)


def _coupled(h: np.ndarray, w: np.ndarray, seed: int = 1):
    """A positional generator with random weights and offsets, the filter ``h`` and coupling ``w``
    (``(N, N)``, or ``(2, N, N)`` with a same-bin part)."""
    g = build_generator(CONV)
    rng = np.random.default_rng(seed)
    g.set_weights([rng.normal(0, 0.3, v.shape).astype(np.float32) for v in g.get_weights()])
    g = with_position_offsets(g, CONV, history_lags=h.shape[1], coupling=True,
                              same_bin=np.ndim(w) == 3)
    pos = g.get_layer(POSITION_LAYER)
    pos.bias.assign(rng.normal(0, 0.5, pos.bias.shape))
    g.get_layer(HISTORY_LAYER).bias.assign(h.T.ravel().astype(np.float32))
    g.get_layer(COUPLING_LAYER).bias.assign(quantize_coupling(w).ravel())
    return g


def _driven_windows(n: int = 4000, seed: int = 0) -> np.ndarray:
    """Neuron 0 fires at random; neuron 1 follows its spikes one bin later, neuron 2 pauses."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 3, CONV.n_bins), np.uint8)
    for t in range(CONV.n_bins):
        lead = x[:, 0, t - 1] if t else np.zeros(n, np.uint8)
        p = np.stack([np.full(n, 0.2), np.where(lead, 0.6, 0.1), np.where(lead, 0.0, 0.3)], 1)
        x[:, :, t] = rng.random((n, 3)) < p
    return x


def _pair_ratio(x: np.ndarray) -> np.ndarray:
    C, S, rate = pair_coincidences(x)
    return C / (rate[:, None] * S[None, :])


def test_quantized_coupling_sums_are_exact_in_any_order():
    rng = np.random.default_rng(0)
    w = quantize_coupling(rng.normal(0, 3, (200, 200)))
    assert np.all(np.abs(w) <= COUPLING_BOUND) and not np.any(np.diag(w))
    assert np.all(np.round(w / COUPLING_STEP) * COUPLING_STEP == w)
    x = (rng.random((64, 200)) < 0.5).astype(np.float32)
    exact = x.astype(np.float64) @ w.T.astype(np.float64)
    forward = np.zeros((64, 200), np.float32)
    for j in range(200):  # one order, in float32...
        forward += x[:, j:j + 1] * w[:, j]
    backward = np.zeros((64, 200), np.float32)
    for j in reversed(range(200)):  # ...and the other
        backward += x[:, j:j + 1] * w[:, j]
    assert np.array_equal(forward, exact) and np.array_equal(backward, exact)
    assert np.array_equal(x @ w.T, exact)  # and a BLAS product


def test_the_draw_follows_the_recursion_and_numpy_and_tensorflow_agree_bit_for_bit(
        history_oracle):
    rng = np.random.default_rng(1)
    p = rng.uniform(0.02, 0.98, (60, 3, 8)).astype(np.float32)
    u = rng.random((60, 3, 8), dtype=np.float32)
    h = rng.normal(0, 2, (3, 4)).astype(np.float32)
    w = quantize_coupling(rng.normal(0, 2, (3, 3)))
    x, q = draw_spikes(p, u, h, coupling=w, return_q=True)
    clear = (np.abs(q - u) > 1e-5).all(axis=(1, 2))  # float32 against float64: rounding only
    assert clear.mean() > 0.9
    assert np.array_equal(x[clear], history_oracle(p, u, h, w)[clear])
    assert not np.array_equal(x, draw_spikes(p, u, h))  # the coupling changed spikes
    got = history_spikes_tf(tf.constant(p), tf.constant(u), h, w).numpy()
    assert np.array_equal(got, x)
    # a coupling alone draws bin after bin too
    alone, qa = draw_spikes(p, u, None, coupling=w, return_q=True)
    clear = (np.abs(qa - u) > 1e-5).all(axis=(1, 2))
    assert np.array_equal(alone[clear], history_oracle(p, u, np.zeros((3, 1)), w)[clear])
    assert np.array_equal(history_spikes_tf(tf.constant(p), tf.constant(u), None, w).numpy(),
                          alone)


def test_the_coupling_layer_changes_no_probability_and_survives_safe_mode(tmp_path):
    h = np.array([[-3.0], [1.0], [0.0]], np.float32)
    w = np.array([[0, 1.5, 0], [-2.0, 0, 0.25], [0, 3.0, 0]], np.float32)
    g = _coupled(h, w)
    np.testing.assert_array_equal(history_coupling(g), w)
    plain = with_position_offsets(g, CONV, history_lags=1)  # has everything already
    assert plain is g
    z = np.random.default_rng(0).standard_normal((16, 8)).astype(np.float32)
    probs = g(z).numpy()
    g.get_layer(COUPLING_LAYER).bias.assign(np.zeros(9, np.float32))
    assert np.array_equal(g(z).numpy(), probs)  # the chain adds an exact zero
    g.get_layer(COUPLING_LAYER).bias.assign(w.ravel())
    path = tmp_path / "generator.keras"
    rundir.save_model(g, path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(history_coupling(loaded), w)
    assert np.array_equal(sample(loaded, 64, seed=3), sample(g, 64, seed=3))
    assert history_coupling(build_generator(CONV)) is None


def test_fit_learns_the_lag1_coupling_and_keeps_rates_and_autocorrelation():
    x = _driven_windows()
    data = prepare_data(x, CONV.n_bins, val_fraction=0.0)
    g = build_generator(CONV, seed=0)
    filtered = calibrated_copy(g, CONV, data, seed=0, positions=True, history_lags=2)
    coupled = calibrated_copy(g, CONV, data, seed=0, positions=True, history_lags=2,
                              coupling=True)
    assert history_coupling(filtered) is None
    w = history_coupling(coupled)
    assert w[1, 0] > 1.0 and w[2, 0] < -2.0  # follows neuron 0; pauses after it
    assert np.abs(w[0, 1:]).max() < 0.5  # nothing drives neuron 0
    target = _pair_ratio(x)
    new = _pair_ratio(sample(coupled, 6000, seed=9))
    old = _pair_ratio(sample(filtered, 6000, seed=9))
    assert abs(new[1, 0] - target[1, 0]) < 0.15 * target[1, 0]
    assert new[2, 0] < 0.15 and target[2, 0] == 0.0
    assert abs(old[1, 0] - target[1, 0]) > 0.4 * target[1, 0]  # the filter alone cannot
    rates = sample(coupled, 6000, seed=9).mean(axis=(0, 2))
    np.testing.assert_allclose(rates, x.mean(axis=(0, 2)), atol=0.01)


def test_parity_with_a_coupling_skips_the_rest_of_a_window_after_a_rounding_decision():
    p = np.full((1, 2, 3), 0.5, np.float32)
    w = quantize_coupling([[0.0, 0.0], [5.0, 0.0]])  # neuron 0's spike drives neuron 1
    u = np.array([[[0.5 - 1e-7, 0.9, 0.9], [0.9, 0.9, 0.9]]], np.float32)  # bin 0 rounded
    other = np.zeros((1, 2, 3), np.uint8)
    parity = measure_parity("x", p, p, other, u, coupling=w)
    assert parity.spikes_compared == 1 and parity.ok  # only neuron 1's bin 0
    clear = np.array([[[0.1, 0.9, 0.9], [0.9, 0.9, 0.9]]], np.float32)
    expected = draw_spikes(p, clear, None, coupling=w)
    assert expected[0, 1].tolist() == [0, 1, 0]
    wrong = measure_parity("x", p, p, np.zeros((1, 2, 3), np.uint8), clear, coupling=w)
    assert wrong.spikes_compared == 6 and wrong.spikes_mismatched == 2


@pytest.mark.parametrize("same_bin", [False, True])
def test_exported_graphs_draw_the_keras_spikes(graph_parities, same_bin):
    h = np.array([[-4.0, 1.0], [2.0, -1.0], [0.5, 0.0]], np.float32)
    w = np.array([[0, 2.0, -1.0], [-3.0, 0, 0.5], [1.0, 1.0, 0]], np.float32)
    if same_bin:  # neurons of a bin drawn in order (the graphs' while loops)
        w = np.stack([[[0, 0, 0], [4.0, 0, 0], [-6.0, 2.0, 0]], w]).astype(np.float32)
    g = _coupled(h, w)
    plan = plan_generator(g, CONV)
    assert plan is not None and np.array_equal(plan.coupling, w)
    for parity, spikes, expected in graph_parities(g, CONV, h, w):
        assert parity.ok and parity.spikes_compared > 0.9 * spikes.size
        assert (spikes != expected).mean() < 1e-3
    assert np.array_equal(history_coupling(float32_generator(g, CONV)), w)


def test_onnx_export_and_runtime_give_the_keras_spikes(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    from spikegan_tf.export.bundle import export_run
    from spikegan_tf.export.runtime import Sampler

    h = np.array([[-6.0, 0.5], [2.0, 0.0], [0.0, -1.0]], np.float32)
    w = np.array([[0, 0, 0], [4.0, 0, 0], [-6.0, 0, 0]], np.float32)
    g = _coupled(h, w)
    run = tmp_path / "run"
    rundir.save_model(g, run / rundir.GENERATOR_FILE)
    rundir.RunDir(run).write_config(CONV, data={"bin_width": 0.02, "source": "hand-made"})
    result = export_run(run, tmp_path / "models", "onnx,savedmodel", name="rig")  # parity
    np.testing.assert_array_equal(  # recorded exactly, for users of probs
        decode_coupling(result.metadata["spike_history"]["coupling"], 3), w)
    spikes = Sampler(result.files["onnx"], seed=3).sample(512)
    keras_spikes = sample(g, 512, seed=3)
    assert (spikes != keras_spikes).mean() < 1e-3
    lead = spikes[:, 0, :-1] == 1

    def after(n: int, led: bool) -> float:  # P(neuron n fires | neuron 0 fired before, or not)
        return spikes[:, n, 1:][lead == led].mean()

    assert after(1, True) > after(1, False) + 0.1  # the coupling acts in the runtime too
    assert after(2, True) < after(2, False) - 0.1


def test_the_default_couples_conv_models_with_a_filter_and_refuses_it_elsewhere():
    # (what a run publishes with it: test_history's trainer test)
    assert TrainConfig().resolve(CONV).calibrate_coupling is True
    assert TrainConfig(calibrate_history=0).resolve(CONV).calibrate_coupling is False
    fc = ModelConfig(n_neurons=3, n_bins=8, architecture="fc")
    assert TrainConfig().resolve(fc).calibrate_coupling is False
    with pytest.raises(ConfigError, match="`calibrate_coupling` needs"):
        Trainer(fc, TrainConfig(calibrate_coupling=True, max_steps=1), verbose=0)


def test_a_coupling_is_refused_where_its_sums_would_not_be_exact():
    big = ModelConfig(n_neurons=2049, n_bins=8, num_features=4, latent_dim=8)
    with pytest.raises(ValueError, match="at most 2048 neurons"):
        with_position_offsets(build_generator(big), big, history_lags=1, coupling=True)


def test_a_raster_state_carries_the_coupling_across_chunks():
    rng = np.random.default_rng(7)
    p = rng.uniform(0.05, 0.6, (1, 3, 300)).astype(np.float32)
    u = rng.random((1, 3, 300), dtype=np.float32)
    h = np.array([[-2.0, 0.5], [1.0, 0.0], [0.0, -1.0]], np.float32)
    w = quantize_coupling([[0, 2.0, -1.0], [-3.0, 0, 0.5], [1.0, 1.0, 0]])
    whole = draw_spikes(p, u, h, coupling=w)[0].T  # (300, 3)
    state = RasterHistory(h, w)
    pieces = [state.draw(p[0, :, a:b].T, u[0, :, a:b].T) for a, b in ((0, 7), (7, 150), (150, 300))]
    assert np.array_equal(np.concatenate(pieces), whole)
    assert not np.array_equal(whole, draw_spikes(p, u, h)[0].T)

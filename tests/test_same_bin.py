"""The same-bin coupling: a bin's neurons drawn in index order, exactly alike everywhere."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from spikegan_tf.data.splits import prepare_data
from spikegan_tf.errors import ConfigError
from spikegan_tf.export.parity import measure_parity
from spikegan_tf.gan import rundir
from spikegan_tf.gan.calibration import calibrated_copy
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.history import (
    COUPLING_BOUND,
    COUPLING_LAYER,
    HISTORY_LAYER,
    MAX_COUPLED_NEURONS,
    MAX_SAME_BIN_NEURONS,
    RasterHistory,
    decode_coupling,
    draw_spikes,
    encode_coupling,
    history_coupling,
    history_spikes_tf,
    neuron_coincidences,
    quantize_coupling,
    split_coupling,
)
from spikegan_tf.gan.history_fit import pair_coincidences
from spikegan_tf.gan.networks import build_generator
from spikegan_tf.gan.positions import POSITION_LAYER, with_position_offsets
from spikegan_tf.gan.sampling import sample
from spikegan_tf.gan.train_config import TrainConfig
from spikegan_tf.gan.trainer import Trainer

CONV = ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8)


def _both(h: np.ndarray, w0: np.ndarray, w1: np.ndarray, seed: int = 1):
    """A positional generator with random weights and offsets, a filter and both couplings."""
    g = build_generator(CONV)
    rng = np.random.default_rng(seed)
    g.set_weights([rng.normal(0, 0.3, v.shape).astype(np.float32) for v in g.get_weights()])
    g = with_position_offsets(g, CONV, history_lags=h.shape[1], coupling=True, same_bin=True)
    pos = g.get_layer(POSITION_LAYER)
    pos.bias.assign(rng.normal(0, 0.5, pos.bias.shape))
    g.get_layer(HISTORY_LAYER).bias.assign(h.T.ravel().astype(np.float32))
    g.get_layer(COUPLING_LAYER).bias.assign(quantize_coupling(np.stack([w0, w1])).ravel())
    return g


def _same_bin_windows(n: int = 4000, seed: int = 0) -> np.ndarray:
    """Neuron 0 fires at random; in the same bin, neuron 1 tends to fire with it, neuron 2 not."""
    rng = np.random.default_rng(seed)
    lead = rng.random((n, CONV.n_bins)) < 0.2
    x = np.stack([lead, rng.random(lead.shape) < np.where(lead, 0.7, 0.1),
                  rng.random(lead.shape) < np.where(lead, 0.0, 0.3)], axis=1)
    return x.astype(np.uint8)


def _same_bin_ratio(x: np.ndarray) -> np.ndarray:
    C, S, rate = pair_coincidences(x, lag=0)
    return C / (rate[:, None] * S[None, :])


def test_the_fixed_point_is_the_draw_in_index_order_and_numpy_and_tensorflow_agree(
        history_oracle):
    rng = np.random.default_rng(2)
    n = 6  # chains of up to 5 neurons within a bin
    p = rng.uniform(0.05, 0.95, (80, n, 8)).astype(np.float32)
    u = rng.random(p.shape, dtype=np.float32)
    h = rng.normal(0, 2, (n, 3)).astype(np.float32)
    w = quantize_coupling(rng.normal(0, 3, (2, n, n)))
    assert not np.any(np.triu(w[0]))  # the same-bin part is strictly lower triangular
    x, q = draw_spikes(p, u, h, coupling=w, return_q=True)
    clear = (np.abs(q - u) > 1e-5).all(axis=(1, 2))  # float32 against float64: rounding only
    assert clear.mean() > 0.9
    assert np.array_equal(x[clear], history_oracle(p, u, h, w)[clear])
    assert not np.array_equal(x, draw_spikes(p, u, h, coupling=w[1]))  # it changed spikes
    assert np.array_equal(history_spikes_tf(tf.constant(p), tf.constant(u), h, w).numpy(), x)
    # the same-bin part alone, without a filter
    alone = np.stack([w[0], np.zeros_like(w[1])])
    xa, qa = draw_spikes(p, u, None, coupling=alone, return_q=True)
    clear = (np.abs(qa - u) > 1e-5).all(axis=(1, 2))
    assert np.array_equal(xa[clear], history_oracle(p, u, np.zeros((n, 1)), alone)[clear])
    assert np.array_equal(
        history_spikes_tf(tf.constant(p), tf.constant(u), None, alone).numpy(), xa)


def test_a_strong_same_bin_coupling_makes_a_bin_all_or_none():
    p = np.full((2000, 4, 4), 0.3, np.float32)
    u = np.random.default_rng(0).random(p.shape, dtype=np.float32)
    w0 = np.tril(np.full((4, 4), 8.0), -1)  # every neuron follows the earlier ones
    x = draw_spikes(p, u, None, coupling=quantize_coupling(np.stack([w0, np.zeros((4, 4))])))
    later = x[:, 1:, :][np.broadcast_to(x[:, :1, :] == 1, x[:, 1:, :].shape)]
    assert later.mean() > 0.99  # neuron 0 fired: the others follow in its bin
    np.testing.assert_allclose(x[:, 0].mean(), 0.3, atol=0.02)  # the first is not pushed


def test_the_coupling_is_stored_split_and_recorded_exactly(tmp_path):
    w0 = np.array([[0, 0, 0], [1.5, 0, 0], [-2.0, 0.25, 0]], np.float32)
    w1 = np.array([[0, 1.0, 0], [0, 0, -0.5], [3.0, 0, 0]], np.float32)
    g = _both(np.array([[-3.0], [1.0], [0.0]]), w0, w1)
    got = history_coupling(g)
    assert got.shape == (2, 3, 3)
    np.testing.assert_array_equal(got[0], w0)
    np.testing.assert_array_equal(got[1], w1)
    np.testing.assert_array_equal(decode_coupling(encode_coupling(got), 3), got)
    assert split_coupling(got)[0] is not None and split_coupling(got[1])[0] is None
    path = tmp_path / "generator.keras"
    rundir.save_model(g, path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(history_coupling(loaded), got)
    assert np.array_equal(sample(loaded, 64, seed=3), sample(g, 64, seed=3))
    # a model with the lag-1 coupling alone is rebuilt around its offsets to take one
    lag1 = with_position_offsets(build_generator(CONV, seed=0), CONV, history_lags=1,
                                 coupling=True)
    offsets = np.random.default_rng(0).normal(size=lag1.get_layer(POSITION_LAYER).bias.shape)
    lag1.get_layer(POSITION_LAYER).bias.assign(offsets)
    rebuilt = with_position_offsets(lag1, CONV, history_lags=1, coupling=True, same_bin=True)
    assert history_coupling(rebuilt).shape == (2, 3, 3)
    np.testing.assert_allclose(rebuilt.get_layer(POSITION_LAYER).bias.numpy(), offsets,
                               rtol=1e-6)
    with pytest.raises(ValueError, match="entries"):
        decode_coupling(encode_coupling(got), 4)


def test_fit_learns_the_same_bin_coupling_and_keeps_rates():
    x = _same_bin_windows()
    data = prepare_data(x, CONV.n_bins, val_fraction=0.0)
    g = build_generator(CONV, seed=0)  # its bins independent given z: no same-bin pairs
    lag1 = calibrated_copy(g, CONV, data, seed=0, positions=True, history_lags=2, coupling=True)
    both = calibrated_copy(g, CONV, data, seed=0, positions=True, history_lags=2,
                           coupling=True, same_bin=True)
    w0 = history_coupling(both)[0]
    assert w0[1, 0] > 1.5 and w0[2, 0] < -3.0  # fires with neuron 0; silent with it
    assert abs(w0[2, 1]) < 0.7  # 1 and 2 only meet through neuron 0
    target = _same_bin_ratio(x)
    new = _same_bin_ratio(sample(both, 6000, seed=9))
    old = _same_bin_ratio(sample(lag1, 6000, seed=9))
    assert abs(new[1, 0] - target[1, 0]) < 0.1 * target[1, 0]
    assert new[2, 0] < 0.1 and target[2, 0] == 0.0
    assert abs(old[1, 0] - target[1, 0]) > 0.4 * target[1, 0]  # the lag-1 coupling cannot
    rates = sample(both, 6000, seed=9).mean(axis=(0, 2))
    np.testing.assert_allclose(rates, x.mean(axis=(0, 2)), atol=0.01)


def test_parity_with_a_same_bin_coupling_skips_later_neurons_of_a_rounded_bin():
    p = np.full((1, 3, 2), 0.5, np.float32)
    w = quantize_coupling(np.stack([[[0, 0, 0], [5.0, 0, 0], [0, 0, 0]], np.zeros((3, 3))]))
    u = np.array([[[0.9, 0.9], [0.5 - 1e-7, 0.9], [0.9, 0.9]]], np.float32)  # neuron 1, bin 0
    parity = measure_parity("x", p, p, np.zeros((1, 3, 2), np.uint8), u, coupling=w)
    assert parity.spikes_compared == 1 and parity.ok  # neuron 0 of bin 0 only
    clear = np.full((1, 3, 2), 0.9, np.float32)
    wrong = measure_parity("x", p, p, np.ones((1, 3, 2), np.uint8), clear, coupling=w)
    assert wrong.spikes_compared == 6 and wrong.spikes_mismatched == 6


def test_the_exports_and_the_rig_runtime_draw_the_keras_spikes(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    from spikegan_tf.export.bundle import export_run
    from spikegan_tf.export.runtime import Sampler

    h = np.array([[-4.0, 1.0], [2.0, -1.0], [0.5, 0.0]], np.float32)
    w0 = np.array([[0, 0, 0], [4.0, 0, 0], [-6.0, 2.0, 0]], np.float32)
    w1 = np.array([[0, 2.0, -1.0], [-3.0, 0, 0.5], [1.0, 1.0, 0]], np.float32)
    g = _both(h, w0, w1)  # (its Keras and lean graphs: test_coupling's graph test)
    w = np.stack([w0, w1])
    run = tmp_path / "run"
    rundir.save_model(g, run / rundir.GENERATOR_FILE)
    rundir.RunDir(run).write_config(CONV, data={"bin_width": 0.02, "source": "hand-made"})
    result = export_run(run, tmp_path / "models", "onnx,savedmodel", name="rig")  # parity
    np.testing.assert_array_equal(decode_coupling(
        result.metadata["spike_history"]["coupling"], 3), w)
    spikes = Sampler(result.files["onnx"], seed=3).sample(512)
    assert (spikes != sample(g, 512, seed=3)).mean() < 1e-3
    lead = spikes[:, 0] == 1
    assert spikes[:, 1][lead].mean() > spikes[:, 1][~lead].mean() + 0.2  # same bin, runtime
    assert spikes[:, 2][lead].mean() < spikes[:, 2][~lead].mean() - 0.1


def test_a_raster_state_carries_the_same_bin_coupling_across_chunks():
    rng = np.random.default_rng(7)
    p = rng.uniform(0.05, 0.6, (1, 3, 300)).astype(np.float32)
    u = rng.random((1, 3, 300), dtype=np.float32)
    h = np.array([[-2.0, 0.5], [1.0, 0.0], [0.0, -1.0]], np.float32)
    w = quantize_coupling(rng.normal(0, 2, (2, 3, 3)))
    whole = draw_spikes(p, u, h, coupling=w)[0].T  # (300, 3)
    state = RasterHistory(h, w)
    pieces = [state.draw(p[0, :, a:b].T, u[0, :, a:b].T) for a, b in ((0, 7), (7, 150), (150, 300))]
    assert np.array_equal(np.concatenate(pieces), whole)
    assert not np.array_equal(whole, draw_spikes(p, u, h, coupling=w[1])[0].T)


GROUP = ModelConfig(n_neurons=4, n_bins=8, num_features=4, latent_dim=8)


def _refractory_train(rng: np.random.Generator, shape: tuple[int, int], p: float) -> np.ndarray:
    """Bins ``(n, T)`` firing at ``p`` a bin, never two bins running."""
    lead = np.zeros(shape, bool)
    for t in range(shape[1]):
        lead[:, t] = (rng.random(shape[0]) < p) & ~(lead[:, t - 1] if t else False)
    return lead


def test_a_group_that_always_fires_together_is_drawn_whole():
    # four copies of one train: a later member must be silenced unless an earlier one fired
    # and then driven to fire; with the same-bin bound at 8 (before session 41) the second
    # member, one coupling long, could not do both: 1.7% of bins split the group
    x = np.repeat(_refractory_train(np.random.default_rng(0), (4000, 8), 0.3)[:, None], 4,
                  axis=1).astype(np.uint8)
    data = prepare_data(x, GROUP.n_bins, val_fraction=0.0)
    both = calibrated_copy(build_generator(GROUP, seed=0), GROUP, data, seed=0, positions=True,
                           history_lags=2, coupling=True, same_bin=True)
    count = sample(both, 6000, seed=9).sum(axis=1)
    assert np.mean((count > 0) & (count < 4)) < 0.01
    assert np.all(history_coupling(both)[0][np.tril_indices(4, -1)] > COUPLING_BOUND)


def test_each_pair_keeps_following_its_target_while_the_filter_moves_it():
    # before session 41 (coincidences over their expected number as the target, one damping
    # for all pairs, halved whenever their mean error grew) the damping fell to 0 here as the
    # filter's refractory steps moved the pairs: couplings stuck near 0, 22% of bins split
    from scipy.special import expit, logit

    from spikegan_tf.gan import history_fit as hf

    rng = np.random.default_rng(0)
    windows = np.repeat(_refractory_train(rng, (400, 64), 0.25)[:, None], 4,
                        axis=1).astype(np.uint8)
    rate = windows.mean(axis=(0, 2))
    lags, burn, bins, chains = 3, 64, 256, 64
    coinc, spikes = neuron_coincidences(windows, lags)
    target = hf._relative(coinc, spikes, spikes / windows[:, 0].size, 20.0, hf._reach(64, lags))
    # a generator that knows the group's state but not its refractoriness: 0.9 on, 0.005 off
    on = rng.random((burn + bins, chains)) < rate[0]
    base = np.repeat(logit(np.where(on, 0.9, 0.005))[..., None], 4, axis=2).astype(np.float32)
    offsets, h, _, _, w = hf._solve(
        base, hf.fit_uniforms(0, base.shape), logit(rate)[None, None, :], target,
        np.ones((4, lags), bool), lags, iterations=25, damping=0.7, bound=8.0, prior_spikes=20.0,
        reach=hf._reach(bins, lags), cap=True, skip=burn,
        pair_target=hf._pair_ratio(*pair_coincidences(windows), 20.0),
        same_target=hf.same_bin_target(windows))
    p = expit(base + offsets).astype(np.float32)
    count = draw_spikes(np.moveaxis(p, 0, 2), np.moveaxis(hf.fit_uniforms(1, base.shape), 0, 2),
                        h, coupling=w)[..., burn:].sum(axis=1)
    assert np.mean((count > 0) & (count < 4)) < 0.01


def test_populations_too_large_for_exact_sums_are_refused():
    big = ModelConfig(n_neurons=MAX_SAME_BIN_NEURONS + 1, n_bins=8)
    assert TrainConfig().resolve(big).calibrate_same_bin is False
    with pytest.raises(ConfigError, match=r"`calibrate_same_bin` is exact for at most 1024 "
                                          r"neurons .*n_neurons=1025"):
        Trainer(big, TrainConfig(calibrate_same_bin=True, max_steps=1), verbose=0)
    huge = ModelConfig(n_neurons=MAX_COUPLED_NEURONS + 1, n_bins=8)
    assert TrainConfig().resolve(huge).calibrate_coupling is False  # was on: failed at publish
    with pytest.raises(ConfigError, match="`calibrate_coupling` is exact for at most 2048"):
        Trainer(huge, TrainConfig(calibrate_coupling=True, max_steps=1), verbose=0)


def test_the_default_adds_it_with_the_coupling_and_refuses_it_without():
    assert TrainConfig().resolve(CONV).calibrate_same_bin is True
    assert TrainConfig(calibrate_coupling=False).resolve(CONV).calibrate_same_bin is False
    assert TrainConfig(calibrate_same_bin=False).resolve(CONV).calibrate_coupling is True
    # a temporal generator's raster carries couplings on request only (they cost the
    # retina's rasters autocorrelogram accuracy)
    temporal = ModelConfig(n_neurons=3, n_bins=8, architecture="temporal", temporal_layers=2)
    assert TrainConfig().resolve(temporal).calibrate_coupling is False
    asked = TrainConfig(calibrate_coupling=True).resolve(temporal)
    assert asked.calibrate_coupling and asked.calibrate_same_bin
    big = ModelConfig(n_neurons=257, n_bins=8)  # a few N x N rounds per bin: not by default
    assert TrainConfig().resolve(big).calibrate_same_bin is False
    assert TrainConfig().resolve(big).calibrate_coupling is True
    with pytest.raises(ConfigError, match="`calibrate_same_bin` needs `calibrate_coupling`"):
        Trainer(CONV, TrainConfig(calibrate_coupling=False, calibrate_same_bin=True,
                                  max_steps=1), verbose=0)


TEMPORAL = ModelConfig(n_neurons=3, n_bins=8, architecture="temporal", temporal_layers=2)


def test_a_temporal_generator_learns_both_couplings_in_its_continuous_raster():
    from spikegan_tf.gan.raster import sample_raster

    rng = np.random.default_rng(0)
    n = 30_000
    lead = rng.random(n) < 0.2
    before = np.concatenate([[False], lead[:-1]])
    x = np.stack([lead, rng.random(n) < np.where(lead, 0.7, 0.1),  # same bin as neuron 0
                  rng.random(n) < np.where(before, 0.6, 0.1)], axis=1).astype(np.uint8)
    data = prepare_data(x, TEMPORAL.n_bins, val_fraction=0.0)
    g = build_generator(TEMPORAL, seed=0)
    filtered = calibrated_copy(g, TEMPORAL, data, seed=0, history_lags=2)
    coupled = calibrated_copy(g, TEMPORAL, data, seed=0, history_lags=2, coupling=True,
                              same_bin=True)
    w = history_coupling(coupled)
    assert w.shape == (2, 3, 3) and w[0, 1, 0] > 1.5 and w[1, 2, 0] > 1.5
    new = sample_raster(coupled, TEMPORAL, 40_000, seed=3)
    old = sample_raster(filtered, TEMPORAL, 40_000, seed=3)

    def follow(r, lag):  # P(neuron 1 | 0 in the same bin), P(neuron 2 | 0 a bin before)
        n_ = 1 if lag == 0 else 2
        return r[lag:, n_][r[:len(r) - lag, 0] == 1].mean()

    for lag in (0, 1):
        assert abs(follow(new, lag) - follow(x, lag)) < 0.05, (lag, follow(new, lag))
        assert abs(follow(old, lag) - follow(x, lag)) > 0.3
    np.testing.assert_allclose(new.mean(0), x.mean(0), atol=0.01)
    # one recursion whatever the chunks
    assert np.array_equal(sample_raster(coupled, TEMPORAL, 3000, seed=1, chunk=700),
                          sample_raster(coupled, TEMPORAL, 3000, seed=1, chunk=3000))


def test_the_rig_runtime_draws_a_coupled_temporal_raster_like_keras(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    from spikegan_tf.export.bundle import export_run
    from spikegan_tf.export.raster_runtime import RasterSampler
    from spikegan_tf.gan.history_fit import with_history_filter
    from spikegan_tf.gan.raster import sample_raster

    g = with_history_filter(build_generator(TEMPORAL, seed=0), TEMPORAL, 2, coupling=True,
                            same_bin=True)
    g.get_layer(HISTORY_LAYER).bias.assign(np.array([-5, 2, 0, -1, 0, 0], np.float32))
    w = quantize_coupling(np.stack([[[0, 0, 0], [3.0, 0, 0], [-2.0, 1.5, 0]],
                                    [[0, 1.0, 0], [0, 0, -1.0], [2.0, 0, 0]]]))
    g.get_layer(COUPLING_LAYER).bias.assign(w.ravel())
    run = tmp_path / "run"
    rundir.save_model(g, run / rundir.GENERATOR_FILE)
    rundir.RunDir(run).write_config(TEMPORAL, data={"bin_width": 0.02, "source": "hand-made"})
    result = export_run(run, tmp_path / "models", "onnx", name="rig")  # with raster parity
    assert result.parity["onnx-raster"].ok
    keras_raster = sample_raster(g, TEMPORAL, 3000, seed=4)
    g.get_layer(COUPLING_LAYER).bias.assign(np.zeros_like(w.ravel()))
    assert not np.array_equal(keras_raster, sample_raster(g, TEMPORAL, 3000, seed=4))
    sampler = RasterSampler(result.path, seed=4, chunk=500)
    first = sampler.sample(1200)
    assert np.array_equal(np.concatenate([first, sampler.sample(1800)]), keras_raster)


def test_couplings_that_run_away_are_dropped_with_a_warning():
    """Population bursts that last several bins, which an untrained generator does not carry:
    couplings solved to copy them drive each other (rates 8x the data's with the lag-1 coupling
    alone, measured), so the fit keeps the filter alone and says so."""
    rng = np.random.default_rng(0)
    cfg = ModelConfig(n_neurons=12, n_bins=16, num_features=4, latent_dim=8)
    state = np.zeros((3000, 16), bool)
    for t in range(16):
        prev = state[:, t - 1] if t else rng.random(3000) < 0.1
        state[:, t] = np.where(prev, rng.random(3000) < 0.8, rng.random(3000) < 0.05)
    x = (rng.random((3000, 12, 16)) < np.where(state[:, None, :], 0.6, 0.02)).astype(np.uint8)
    data = prepare_data(x, 16, val_fraction=0.0)
    g = build_generator(cfg, seed=0)
    with pytest.warns(UserWarning, match="runaway excitation"):
        coupled = calibrated_copy(g, cfg, data, seed=0, positions=True, history_lags=3,
                                  coupling=True, same_bin=True)
    assert history_coupling(coupled).shape == (2, 12, 12)
    assert not np.any(history_coupling(coupled))  # dropped: the filter alone draws
    np.testing.assert_allclose(sample(coupled, 4000, seed=1).mean(), x.mean(), rtol=0.02)

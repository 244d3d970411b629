"""Importance maps: exact oracles, a hand-built critic with a known preferred pattern,
packet recovery on hand-made maps, and the ``spikegan importance`` command."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from spikegan_tf.cli import main as cli_main
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.gan import rundir
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.networks import build_critic
from spikegan_tf.importance import (
    ImportanceConfig,
    importance_maps,
    recover_packets,
    roc_auc,
    spike_auc,
    window_starts,
)

# ----------------------------------------------------------------------------- critics


def linear_critic(weights: np.ndarray) -> keras.Model:
    """critic(x) = sum(weights * x): input gradient is exactly ``weights``."""
    n_neurons, n_bins = weights.shape
    x = keras.Input((n_neurons, n_bins))
    y = keras.layers.Dense(1, name="w")(keras.layers.Flatten()(x))
    model = keras.Model(x, y)
    model.get_layer("w").set_weights([weights.reshape(-1, 1).astype("float32"),
                                      np.zeros(1, "float32")])
    return model


def pattern_critic(n_neurons: int, n_bins: int, pattern: np.ndarray, bias: float) -> keras.Model:
    """critic(x) = sum_t relu(<pattern, x[:, t:t+K]> + bias): responds to one
    spatio-temporal pattern ``(n_neurons, K)`` anywhere in the window."""
    k = pattern.shape[1]
    x = keras.Input((n_neurons, n_bins))
    h = keras.layers.Permute((2, 1))(x)  # (bins, neurons)
    h = keras.layers.Conv1D(1, k, padding="valid", activation="relu", name="detector")(h)
    y = keras.layers.Dense(1, name="sum")(keras.layers.Flatten()(h))
    model = keras.Model(x, y)
    model.get_layer("detector").set_weights([pattern.T[:, :, None].astype("float32"),
                                             np.array([bias], "float32")])
    model.get_layer("sum").set_weights([np.ones((n_bins - k + 1, 1), "float32"),
                                        np.zeros(1, "float32")])
    return model


def diagonal(n_neurons: int, neurons: list[int], k: int) -> np.ndarray:
    """Pattern where neurons[i] fires at lag i (a sequential packet)."""
    p = np.zeros((n_neurons, k))
    for lag, j in enumerate(neurons):
        p[j, lag] = 1.0
    return p


def embedded_data(rng, n=200, n_neurons=6, n_bins=16, rate=0.08, neurons=(0, 1, 2, 3)):
    """Background spikes plus one diagonal packet per sample; returns spikes and packet mask."""
    spikes = (rng.random((n, n_neurons, n_bins)) < rate).astype("uint8")
    mask = np.zeros_like(spikes)
    t0 = rng.integers(0, n_bins - len(neurons) + 1, size=n)
    for lag, j in enumerate(neurons):
        mask[np.arange(n), j, t0 + lag] = 1
    spikes |= mask
    return spikes, mask


# ----------------------------------------------------------------------------- reference


def naive_shuffle_maps(critic, x, window, step, n_shuffles, seed):
    """The paper's algorithm written plainly: score every perturbation, identity
    shuffles included, one sample at a time. Draws shuffles as documented."""
    n, n_neurons, n_bins = x.shape
    starts = window_starts(n_bins, window, step)
    u = np.random.default_rng(seed).random((n, n_neurons, starts.size, n_shuffles, window))
    out = np.zeros(x.shape, np.float64)
    for i in range(n):
        sample = x[i].astype("float32")
        variants = []
        for j in range(n_neurons):
            for w, t0 in enumerate(starts):
                for s in range(n_shuffles):
                    v = sample.copy()
                    seg = sample[j, t0:t0 + window]
                    v[j, t0:t0 + window] = seg[np.argsort(u[i, j, w, s])]
                    variants.append(v)
        scores = critic(np.stack([sample, *variants]), training=False).numpy()[:, 0]
        change = np.abs(scores[1:] - scores[0]).reshape(n_neurons, starts.size, n_shuffles)
        per_window = change.mean(-1)
        total = np.zeros((n_neurons, n_bins))
        count = np.zeros((n_neurons, n_bins))
        for w, t0 in enumerate(starts):
            total[:, t0:t0 + window] += per_window[:, w:w + 1] * sample[:, t0:t0 + window]
            count[:, t0:t0 + window] += sample[:, t0:t0 + window]
        out[i] = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return out


# ----------------------------------------------------------------------------- the method


def test_window_starts_match_reference_and_cover_every_bin():
    assert window_starts(32, 8, 2).tolist() == list(range(0, 25, 2))
    assert window_starts(8, 8, 3).tolist() == [0]
    assert window_starts(11, 4, 3).tolist() == [0, 3, 6, 7]  # extra last window covers bin 10
    with pytest.raises(ConfigError, match="window"):
        window_starts(6, 8, 2)


def test_shuffle_maps_equal_the_naive_algorithm_under_any_batching(rng):
    critic = build_critic(ModelConfig(n_neurons=5, n_bins=12, num_features=4, num_layers=1,
                                      kernel_size=3, init_stddev=0.5))
    x = (rng.random((6, 5, 12)) < 0.3).astype("uint8")
    x[0, 1] = 1  # a full row: its windows can never change
    want = naive_shuffle_maps(critic, x, window=4, step=2, n_shuffles=3, seed=7)
    assert want.max() > 0
    got = importance_maps(critic, x, window=4, step=2, n_shuffles=3, seed=7)
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    # tiny chunks and one block per sample give the same maps
    import spikegan_tf.importance.maps as imp

    old = imp._DRAW_BUDGET
    try:
        imp._DRAW_BUDGET = 1
        small = importance_maps(critic, x, window=4, step=2, n_shuffles=3, seed=7, chunk_size=5)
    finally:
        imp._DRAW_BUDGET = old
    np.testing.assert_allclose(small, got, rtol=1e-4, atol=1e-6)
    assert (got[x == 0] == 0).all()
    assert (got[0, 1] == 0).all()
    other = importance_maps(critic, x, window=4, step=2, n_shuffles=3, seed=8)
    assert not np.allclose(other, got)


def test_single_spike_under_one_bin_critic_has_expected_importance():
    # critic = x[2, 5]; a lone spike there moves away with probability 7/8 per shuffle
    w = np.zeros((4, 16))
    w[2, 5] = 1.0
    critic = linear_critic(w)
    x = np.zeros((1, 4, 16), "uint8")
    x[0, 2, 5] = 1
    x[0, 0, 3] = 1  # a spike the critic ignores
    maps = importance_maps(critic, x, n_shuffles=400, seed=0)
    assert abs(maps[0, 2, 5] - 7 / 8) < 0.06
    assert maps[0, 0, 3] == 0.0
    assert np.count_nonzero(maps) == 1


def test_count_critic_gives_zero_maps(rng):
    critic = linear_critic(np.ones((4, 16)))  # shuffling never changes the spike count
    x = (rng.random((5, 4, 16)) < 0.4).astype("uint8")
    maps = importance_maps(critic, x, seed=1)
    np.testing.assert_allclose(maps, 0.0, atol=1e-5)


def test_gradient_and_saliency_maps_are_exact_for_a_linear_critic(rng):
    w = rng.normal(size=(3, 8))
    critic = linear_critic(w)
    x = (rng.random((4, 3, 8)) < 0.5).astype("uint8")
    np.testing.assert_allclose(importance_maps(critic, x, method="gradient"),
                               np.abs(w) * x, rtol=1e-6)
    np.testing.assert_allclose(importance_maps(critic, x, method="saliency", chunk_size=3),
                               np.broadcast_to(np.abs(w), x.shape), rtol=1e-6)


@pytest.mark.parametrize("method", ["shuffle", "gradient"])
def test_maps_localise_the_pattern_a_hand_built_critic_prefers(rng, method):
    n_neurons, n_bins = 6, 16
    critic = pattern_critic(n_neurons, n_bins, diagonal(n_neurons, [0, 1, 2, 3], 4), bias=-2.5)
    spikes, mask = embedded_data(rng, n_neurons=n_neurons, n_bins=n_bins)
    maps = importance_maps(critic, spikes, method=method, seed=3)
    auc = spike_auc(maps, spikes, mask)
    assert auc > 0.9, auc
    # neurons 4 and 5 are invisible to the critic
    np.testing.assert_allclose(maps[:, 4:], 0.0, atol=1e-6)
    # control: a critic preferring the reversed sequence does not single out the packet
    control = pattern_critic(n_neurons, n_bins, diagonal(n_neurons, [3, 2, 1, 0], 4), bias=-2.5)
    control_auc = spike_auc(importance_maps(control, spikes, method=method, seed=3), spikes, mask)
    assert control_auc < auc - 0.2, (control_auc, auc)


def test_bad_inputs_are_named():
    critic = linear_critic(np.ones((3, 8)))
    with pytest.raises(SpikeDataError, match=r"critic's shape \(n, 3 neurons, 8 bins\).*\(2, 4, 8\)"):
        importance_maps(critic, np.zeros((2, 4, 8)))
    with pytest.raises(SpikeDataError, match="binary"):
        importance_maps(critic, np.full((2, 3, 8), 2))
    with pytest.raises(ConfigError, match="method"):
        importance_maps(critic, np.zeros((2, 3, 8)), method="occlusion")
    with pytest.raises(ConfigError, match="window"):
        importance_maps(critic, np.zeros((2, 3, 8)), window=9)
    with pytest.raises(ConfigError, match="step"):
        ImportanceConfig(window=4, step=6)
    with pytest.raises(ConfigError, match="seed"):
        importance_maps(critic, np.zeros((2, 3, 8)), seed=-1)


# ----------------------------------------------------------------------------- evaluation


def test_roc_auc_hand_counted():
    # positives 0.35, 0.8 vs negatives 0.1, 0.4: 3 of 4 pairs ordered correctly
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    assert roc_auc([0.2, 0.2], [0, 1]) == 0.5
    with pytest.raises(SpikeDataError, match="both classes"):
        roc_auc([0.1, 0.2], [1, 1])


# ----------------------------------------------------------------------------- packets


def packet_maps(rng, n=120, n_neurons=12, n_bins=16, sets=((0, 1, 2, 3, 4),)):
    """Hand-made maps: packet spikes (sequential, random onset) importance 1,
    background spikes importance 0.1; sample i carries a packet of type i % len(sets)."""
    spikes = (rng.random((n, n_neurons, n_bins)) < 0.05).astype("uint8")
    maps = 0.1 * spikes
    labels = np.arange(n) % len(sets)
    for i in range(n):
        members = sets[labels[i]]
        t0 = rng.integers(0, n_bins - len(members) + 1)
        for lag, j in enumerate(members):
            spikes[i, j, t0 + lag] = 1
            maps[i, j, t0 + lag] = 1.0
    return maps, spikes, labels


def test_recover_single_packet_neurons_and_shape(rng):
    maps, spikes, _ = packet_maps(rng)
    rec = recover_packets(maps, spikes, percentile=80)
    assert rec.threshold == 1.0
    assert [s.tolist() for s in rec.neuron_sets] == [[0, 1, 2, 3, 4]]
    # every sample's packet aligns to bin 0: the average is the packet's diagonal
    expected = np.zeros((12, 16))
    expected[range(5), range(5)] = 1.0
    np.testing.assert_allclose(rec.average, expected)
    assert rec.detected.all() and (rec.labels == 0).all()


def test_recover_two_packet_types(rng):
    sets = ((0, 1, 2, 3, 4, 5), (11, 10, 9, 8, 5, 4))  # overlapping, reversed order
    maps, spikes, truth = packet_maps(rng, n=160, sets=sets)
    rec = recover_packets(maps, spikes, percentile=80, n_modes=2, seed=0)
    got = sorted(s.tolist() for s in rec.neuron_sets)
    assert got == [[0, 1, 2, 3, 4, 5], [4, 5, 8, 9, 10, 11]]
    # the types found are the true ones (up to naming)
    agree = (rec.labels == truth).mean()
    assert max(agree, 1 - agree) == 1.0
    assert rec.mode_averages.shape == (2, 12, 16)


def test_samples_without_a_detected_packet_are_labelled_minus_one(rng):
    sets = ((0, 1, 2, 3, 4, 5), (11, 10, 9, 8, 5, 4))
    maps, spikes, truth = packet_maps(rng, n=80, sets=sets)
    quiet = np.zeros((20, *spikes.shape[1:]), spikes.dtype)
    quiet[:, 6, ::3] = 1  # background spikes of little importance
    spikes = np.concatenate([spikes, quiet])
    maps = np.concatenate([maps, 0.01 * quiet])
    rec = recover_packets(maps, spikes, percentile=80, n_modes=2, seed=0)
    assert not rec.detected[80:].any() and (rec.labels[80:] == -1).all()
    assert (rec.labels[:80] >= 0).all()
    agree = (rec.labels[:80] == truth).mean()
    assert max(agree, 1 - agree) == 1.0


def test_recover_packets_alignment_hand_counted():
    spikes = np.zeros((2, 2, 5), "uint8")
    spikes[0, 0, 2] = spikes[0, 1, 4] = 1
    spikes[1, 1, 1] = spikes[1, 0, 3] = 1
    maps = spikes * 2.0
    rec = recover_packets(maps, spikes, percentile=0)
    np.testing.assert_array_equal(rec.aligned[0], [[2, 0, 0, 0, 0], [0, 0, 2, 0, 0]])
    np.testing.assert_array_equal(rec.aligned[1], [[0, 0, 2, 0, 0], [2, 0, 0, 0, 0]])
    with pytest.raises(SpikeDataError, match="shape"):
        recover_packets(maps[:, :1], spikes)
    with pytest.raises(ConfigError, match="percentile"):
        recover_packets(maps, spikes, percentile=101)


# ----------------------------------------------------------------------------- CLI


@pytest.fixture
def tiny_run(tmp_path):
    cfg = ModelConfig(n_neurons=4, n_bins=8, num_features=4, num_layers=1, init_stddev=0.3)
    run = tmp_path / "run"
    rundir.RunDir(run).write_config(cfg)
    rundir.save_model(build_critic(cfg), run / rundir.CRITIC_FILE)
    return run


def test_cli_writes_maps_beside_samples_and_a_plot(tiny_run, tmp_path, rng, capsys):
    raster = (rng.random((50, 4)) < 0.3).astype("uint8")  # (time, neurons): 6 windows of 8
    data = tmp_path / "raster.npy"
    np.save(data, raster)
    out = tmp_path / "maps.npz"
    plot = tmp_path / "maps.png"
    status = cli_main(["importance", "--run", str(tiny_run), "--data", str(data), "--n", "5",
                       "--window", "4", "--shuffles", "2", "--seed", "3", "--out", str(out),
                       "--plot", str(plot)])
    assert status == 0, capsys.readouterr().err
    with np.load(out, allow_pickle=False) as f:
        maps, spikes = f["maps"], f["spikes"]
        settings = json.loads(str(f["settings"]))
    assert maps.shape == spikes.shape == (5, 4, 8) and maps.dtype == np.float32
    # the spikes saved are the first 5 windows of the raster, in (n, neurons, bins)
    np.testing.assert_array_equal(spikes, raster[:40].reshape(5, 8, 4).transpose(0, 2, 1))
    assert (maps[spikes == 0] == 0).all()
    assert settings["window"] == 4 and settings["n_shuffles"] == 2 and settings["seed"] == 3
    np.testing.assert_allclose(maps, importance_maps(rundir.RunDir(tiny_run).load_critic(), spikes,
                                                     window=4, n_shuffles=2, seed=3), atol=1e-6)
    assert plot.stat().st_size > 0
    assert "maps.npz" in capsys.readouterr().out


def test_cli_windows_npz_with_key_and_gradient(tiny_run, tmp_path, rng):
    windows = (rng.random((3, 4, 8)) < 0.3).astype("uint8")
    data = tmp_path / "w.npz"
    np.savez(data, windows=windows, other=np.zeros(2))
    out = tmp_path / "g.npz"
    assert cli_main(["importance", "--run", str(tiny_run), "--data", str(data), "--key",
                     "windows", "--method", "gradient", "--out", str(out)]) == 0
    with np.load(out, allow_pickle=False) as f:
        np.testing.assert_array_equal(f["spikes"], windows)
        maps = f["maps"]
    assert maps.shape == (3, 4, 8)
    critic = rundir.RunDir(tiny_run).load_critic()
    np.testing.assert_allclose(maps, importance_maps(critic, windows, method="gradient"),
                               rtol=1e-6, atol=1e-8)
    # the oracle: |d critic / d x| * x, by automatic differentiation of the saved critic
    import tensorflow as tf

    x = tf.constant(windows, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(critic(x))
    expected = np.abs(tape.gradient(total, x).numpy()) * windows
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-7)


def test_cli_bad_inputs_exit_2_with_one_line(tiny_run, tmp_path, capsys):
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((3, 5, 8), "uint8"))
    out = str(tmp_path / "m.npz")
    assert cli_main(["importance", "--run", str(tiny_run), "--data", str(wrong),
                     "--out", out]) == 2
    err = capsys.readouterr().err
    assert "5 neurons" in err and "4 neurons" in err and "wrong.npy" in err
    assert "Traceback" not in err

    good = tmp_path / "good.npy"
    np.save(good, np.zeros((3, 4, 8), "uint8"))
    (tiny_run / rundir.CRITIC_FILE).unlink()
    assert cli_main(["importance", "--run", str(tiny_run), "--data", str(good),
                     "--out", out]) == 2
    err = capsys.readouterr().err
    assert "critic.keras" in err and "Traceback" not in err

    assert cli_main(["importance", "--run", str(tmp_path / "nope"), "--data", str(good),
                     "--out", out]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_conditional_critics_are_refused_by_name(tmp_path, capsys):
    cfg = ModelConfig(n_neurons=3, n_bins=8, num_features=4, num_layers=1, n_classes=2)
    with pytest.raises(ConfigError, match=r"`critic` must score windows alone .* 2 inputs"):
        importance_maps(build_critic(cfg), np.zeros((2, 3, 8), "uint8"), seed=0)
    run = tmp_path / "conditional"
    rundir.RunDir(run).write_config(cfg)  # refused before the critic or the data is read
    data = tmp_path / "w.npy"
    np.save(data, np.zeros((2, 3, 8), "uint8"))
    assert cli_main(["importance", "--run", str(run), "--data", str(data),
                     "--out", str(tmp_path / "m.npz")]) == 2
    err = capsys.readouterr().err
    assert "conditional run" in err and str(run) in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.npz").exists()


def test_temporal_critic_maps_equal_the_naive_algorithm(rng):
    """The temporal architecture's critic (the conv critic) gets exact shuffle maps too."""
    cfg = ModelConfig(n_neurons=3, n_bins=8, architecture="temporal", num_features=4,
                      num_layers=1, temporal_layers=1, init_stddev=0.3)
    critic = build_critic(cfg)
    x = (rng.random((3, 3, 8)) < 0.4).astype("uint8")
    want = naive_shuffle_maps(critic, x, window=4, step=2, n_shuffles=2, seed=5)
    assert want.max() > 0
    maps = importance_maps(critic, x, window=4, step=2, n_shuffles=2, seed=5)
    np.testing.assert_allclose(maps, want, rtol=1e-4, atol=1e-5)


def test_traced_scorer_is_reused_per_critic_and_released_with_it():
    import gc
    import weakref

    import spikegan_tf.importance.maps as imp

    critic = linear_critic(np.ones((3, 8)))
    x = np.eye(3, 8, dtype="uint8")[None]
    importance_maps(critic, x, seed=0)
    scorer = imp._SCORERS[critic][(3, 8)]
    importance_maps(critic, x, method="gradient")
    assert imp._SCORERS[critic][(3, 8)] is scorer
    alive = weakref.ref(critic)
    del critic, scorer
    gc.collect()
    assert alive() is None


def test_plain_callable_critic(rng):
    import tensorflow as tf

    w = tf.constant(rng.normal(size=(3, 8)).astype("float32"))

    def critic(x):
        return tf.reduce_sum(x * w, axis=(1, 2))  # (batch,) scores are accepted too

    x = (rng.random((4, 3, 8)) < 0.5).astype("uint8")
    np.testing.assert_allclose(importance_maps(critic, x, method="gradient"),
                               np.abs(w.numpy()) * x, rtol=1e-6)
    maps = importance_maps(critic, x, seed=0)
    assert maps.shape == x.shape and (maps[x == 0] == 0).all() and maps.max() > 0

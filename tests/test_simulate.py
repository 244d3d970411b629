"""The paper's simulated datasets against their ground truth."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikegan_tf.data import load_spikes
from spikegan_tf.data.simulate import packets, uniform, uniform_group_statistics
from spikegan_tf.errors import ConfigError


def _min_isi(spikes: np.ndarray) -> int:
    """Smallest distance in bins between two spikes of one neuron (n_bins if none)."""
    n_bins = spikes.shape[-1]
    for lag in range(1, n_bins):
        if (spikes[..., lag:] & spikes[..., :-lag]).any():
            return lag
    return n_bins


@pytest.fixture(scope="module")
def uniform_20k():
    return uniform(20_000, 16, 32, group_size=4, firing_rate=0.2, correlation=0.5,
                   refractory_period=2, seed=11)


@pytest.fixture(scope="module")
def packets_20k():
    return packets(20_000, 16, 32, group_size=4, packet_prob=0.05, firing_rate=0.1,
                   refractory_period=2, seed=12)


def test_same_seed_same_data_and_layout():
    a = uniform(50, 8, 16, group_size=4, seed=3)
    b = uniform(50, 8, 16, group_size=4, seed=3)
    c = uniform(50, 8, 16, group_size=4, seed=4)
    assert a.spikes.shape == (50, 8, 16) and a.spikes.dtype == np.uint8
    assert set(np.unique(a.spikes)) <= {0, 1}
    np.testing.assert_array_equal(a.spikes, b.spikes)
    assert not np.array_equal(a.spikes, c.spikes)
    p1 = packets(50, 8, 16, group_size=4, seed=3)
    p2 = packets(50, 8, 16, group_size=4, seed=3)
    np.testing.assert_array_equal(p1.spikes, p2.spikes)
    np.testing.assert_array_equal(p1.packet_mask, p2.packet_mask)


@pytest.mark.parametrize("d", [1, 2, 4])
def test_refractory_period_is_never_violated(d):
    u = uniform(3000, 8, 32, group_size=4, firing_rate=0.4, correlation=0.6,
                refractory_period=d, seed=d)
    assert _min_isi(u.spikes) == d + 1  # dense enough that the bound is reached
    for modes, prob in ((1, 0.1), (2, None)):
        p = packets(3000, 8, 32, group_size=4, packet_prob=prob, firing_rate=0.4,
                    refractory_period=d, n_modes=modes, seed=d)
        assert _min_isi(p.spikes) == d + 1  # packet spikes included


def test_group_statistics_oracle_without_refractory_period_is_the_parameters():
    for r, c in ((0.2, 0.5), (0.05, 0.9), (0.3, 0.0)):
        mu, corr = uniform_group_statistics(r, c, 0)
        assert mu == pytest.approx(r, abs=1e-12) and corr == pytest.approx(c, abs=1e-12)
    mu, corr = uniform_group_statistics(0.2, 0.5, 2)
    assert mu < 0.2  # the refractory period removes spikes


def _group_stats(sim):
    x = sim.spikes.transpose(0, 2, 1).reshape(-1, sim.n_neurons).astype(np.float64)
    rates = x.mean(axis=0)
    corr = np.corrcoef(x.T)
    group = sim.ground_truth["group"]
    same = (group[:, None] == group[None, :]) & ~np.eye(sim.n_neurons, dtype=bool)
    return rates, corr, group, same


def test_uniform_rates_and_correlations_match_ground_truth(uniform_20k):
    sim = uniform_20k
    truth = sim.ground_truth
    rates, corr, group, same = _group_stats(sim)
    n_groups = truth["group_rates"].size
    assert n_groups == 4 and np.bincount(group).tolist() == [4] * 4
    for g in range(n_groups):
        members = group == g
        assert abs(rates[members].mean() - truth["expected_rates"][g]) < 0.006
        pair = same & members[:, None]
        assert abs(corr[pair].mean() - truth["expected_correlations"][g]) < 0.02
    assert np.abs(corr[~same & ~np.eye(16, dtype=bool)]).max() < 0.02  # groups independent
    # drawn parameters lie within +-50% of the means
    assert ((truth["group_rates"] >= 0.1) & (truth["group_rates"] <= 0.3)).all()
    assert ((truth["group_correlations"] >= 0.25) & (truth["group_correlations"] <= 0.75)).all()


def test_uniform_without_refractory_period_matches_its_parameters():
    sim = uniform(20_000, 8, 16, group_size=4, firing_rate=0.2, correlation=0.4,
                  refractory_period=0, seed=5)
    rates, corr, group, same = _group_stats(sim)
    for g in range(2):
        members = group == g
        assert abs(rates[members].mean() - sim.ground_truth["group_rates"][g]) < 0.006
        pair = same & members[:, None]
        assert abs(corr[pair].mean() - sim.ground_truth["group_correlations"][g]) < 0.02


def test_uniform_neuron_order():
    plain = uniform(10, 8, 8, group_size=2, shuffle_neurons=False, seed=0)
    assert plain.ground_truth["group"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    shuffled = uniform(10, 8, 8, group_size=2, seed=0)
    order = shuffled.ground_truth["neuron_order"]
    assert sorted(order.tolist()) == list(range(8)) and order.tolist() != list(range(8))
    np.testing.assert_array_equal(shuffled.ground_truth["group"], order // 2)


def _rebuild_mask(sim):
    mask = np.zeros_like(sim.spikes)
    members = sim.ground_truth["packet_neurons"]
    for sample, which, onset in sim.ground_truth["packet_onsets"]:
        for k, neuron in enumerate(members[which]):
            mask[sample, neuron, onset + k] = 1
    return mask


def test_packet_mask_marks_exactly_the_packet_spikes(packets_20k):
    sim = packets_20k
    mask = sim.packet_mask
    assert mask.shape == sim.spikes.shape and mask.dtype == np.uint8
    assert (mask <= sim.spikes).all()  # every packet spike is a spike
    np.testing.assert_array_equal(mask, _rebuild_mask(sim))  # and nothing else is marked
    background = sim.spikes & (1 - mask)
    assert 0.04 < background.mean() < 0.1  # background is there, thinned by the refractory period


def test_packets_occur_at_the_requested_probability(packets_20k):
    sim = packets_20k
    n, _, n_bins = sim.spikes.shape
    gs, dead = 4, 4  # dead time between onsets: max(group_size, refractory_period)
    onsets = sim.ground_truth["packet_onsets"]
    n_sets = sim.ground_truth["packet_neurons"].shape[0]
    assert n_sets == 4
    assert onsets[:, 2].min() >= 0 and onsets[:, 2].max() <= n_bins - gs  # packets fit
    grid = np.zeros((n, n_sets, n_bins), bool)
    grid[onsets[:, 0], onsets[:, 1], onsets[:, 2]] = True
    # hazard: onsets per bin where a packet may start (no onset in the previous `dead` bins);
    # bins before `dead` are skipped because the state before the window is not visible
    recent = np.zeros_like(grid)
    for j in range(1, dead + 1):
        recent[..., j:] |= grid[..., :-j]
    assert not (grid & recent).any()  # packets of a set never overlap
    free = ~recent[..., dead : n_bins - gs + 1]
    hazard = grid[..., dead : n_bins - gs + 1][free].mean()
    assert abs(hazard - 0.05) < 0.003
    per_sample = len(onsets) / (n * n_sets)
    expected = float(sim.ground_truth["expected_packets_per_sample"])
    assert abs(per_sample - expected) < 0.02


def test_two_modes_one_packet_per_sample_from_one_of_two_sets():
    sim = packets(20_000, 12, 16, group_size=8, firing_rate=0.05, n_modes=2, seed=2)
    onsets = sim.ground_truth["packet_onsets"]
    assert onsets[:, 0].tolist() == list(range(20_000))  # exactly one packet per sample
    mode = sim.ground_truth["packet_mode"]
    np.testing.assert_array_equal(onsets[:, 1], mode)
    assert abs(mode.mean() - 0.5) < 0.02
    inverse = np.argsort(sim.ground_truth["neuron_order"])
    members = sim.ground_truth["packet_neurons"]
    np.testing.assert_array_equal(members[0], inverse[np.arange(8)])  # first 8, in order
    np.testing.assert_array_equal(members[1], inverse[11 - np.arange(8)])  # last 8, reversed
    np.testing.assert_array_equal(sim.packet_mask, _rebuild_mask(sim))
    assert sim.packet_mask.sum() == 8 * 20_000


def test_bad_parameters():
    # a remainder is allowed (issue 12 item 16, tests/test_simulate_remainder.py)
    with pytest.raises(ConfigError, match=r"`group_size` \(12\) must be at most `n_neurons` "
                       r"\(10\)"):
        uniform(10, 10, 8, group_size=12, seed=0)
    with pytest.raises(ConfigError, match=r"`firing_rate` \* \(1 \+ `spread`\) must be <= 1"):
        uniform(10, 8, 8, firing_rate=0.8, seed=0)
    with pytest.raises(ConfigError, match="`correlation` must be a probability"):
        uniform(10, 8, 8, correlation=1.5, seed=0)
    with pytest.raises(ConfigError, match="`packet_prob` applies to `n_modes` 1"):
        packets(10, 8, 8, n_modes=2, packet_prob=0.1, seed=0)
    with pytest.raises(ConfigError, match=r"`group_size` \(9\) must be at most"):
        packets(10, 16, 8, group_size=9, seed=0)
    with pytest.raises(ConfigError, match=r"`n_modes` must be one of \(1, 2\)"):
        packets(10, 8, 8, n_modes=3, seed=0)
    with pytest.raises(ConfigError, match="`seed` must be a non-negative integer"):
        uniform(10, 8, 8, seed=-1)
    with pytest.raises(ConfigError, match="`n_samples` must be an integer >= 1"):
        uniform(0, 8, 8, seed=0)


def test_save_writes_spikes_ground_truth_and_json_metadata(tmp_path):
    sim = packets(30, 8, 16, group_size=4, n_modes=2, seed=1)
    path = sim.save(tmp_path / "sub" / "p.npz")
    with np.load(path, allow_pickle=False) as f:
        assert set(f.files) == {"spikes", "metadata", *sim.ground_truth}
        meta = json.loads(str(f["metadata"]))
    assert meta["dataset"] == "packets" and meta["params"]["n_modes"] == 2
    rec = load_spikes(path)
    assert rec.key == "spikes" and rec.kind == "windows"
    np.testing.assert_array_equal(rec.spikes, sim.spikes)
    np.testing.assert_array_equal(rec.extras["packet_mask"], sim.packet_mask)
    with pytest.raises(ConfigError, match="must end in .npz"):
        sim.save(tmp_path / "p.npy")
    assert not list(tmp_path.glob("sub/.p.*"))  # no temporary file left behind

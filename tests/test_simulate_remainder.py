"""`simulate uniform` with n_neurons not a multiple of group_size (issue 12, item 16)."""

from __future__ import annotations

import json

import numpy as np

from spikegan_tf.cli import main
from spikegan_tf.data.simulate import uniform, uniform_group_statistics


def test_the_last_group_holds_the_remainder_and_the_ground_truth_says_so():
    sim = uniform(4000, 10, 16, group_size=4, shuffle_neurons=False, seed=0)
    truth = sim.ground_truth
    assert truth["group_sizes"].tolist() == [4, 4, 2]
    assert truth["group"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    assert truth["group_rates"].shape == (3,) and truth["expected_rates"].shape == (3,)
    r, c = uniform_group_statistics(truth["group_rates"][2], truth["group_correlations"][2], 2)
    assert truth["expected_correlations"][2] == c and truth["expected_rates"][2] == r
    # the two neurons of the small group are correlated as its ground truth says
    x = sim.spikes[:, 8:10, :].transpose(0, 2, 1).reshape(-1, 2).astype(float)
    assert abs(np.corrcoef(x.T)[0, 1] - c) < 0.03
    assert abs(x.mean() - r) < 0.01
    # the exact multiple is unchanged by the remainder logic
    assert uniform(50, 8, 8, group_size=4, seed=1).ground_truth["group_sizes"].tolist() == [4, 4]


def test_a_group_of_one_is_an_independent_neuron():
    truth = uniform(100, 9, 8, group_size=4, seed=0).ground_truth
    assert truth["group_sizes"].tolist() == [4, 4, 1]
    assert np.isnan(truth["expected_correlations"][2])  # no pair to correlate
    assert np.isfinite(truth["expected_correlations"][:2]).all()


def test_cli_simulate_uniform_50_neurons_in_groups_of_4(tmp_path, capsys):
    out = tmp_path / "u.npz"
    assert main(["simulate", "uniform", "--neurons", "50", "--bins", "8", "--samples", "20",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "note: 50 neurons are not a multiple of --group-size 4: 12 groups of 4 and a " \
           "group of 2 (ground truth 'group_sizes')" in printed
    with np.load(out) as f:
        assert f["spikes"].shape == (20, 50, 8)
        assert f["group_sizes"].tolist() == [4] * 12 + [2]
        assert json.loads(str(f["metadata"]))["params"]["n_neurons"] == 50

"""Long computations outside training show progress with an ETA (issue 12, items 8 and 18)."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

from spikegan_tf._progress import Progress
from spikegan_tf.baselines import KPairwiseMaxEnt, load
from spikegan_tf.cli import main
from spikegan_tf.gan import rundir
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.importance import evaluations_per_window, importance_maps, window_starts

ETA = re.compile(r"ETA \d+:\d\d")


def test_progress_line_in_a_log_first_update_at_once_then_by_interval():
    out = io.StringIO()
    p = Progress("work", total=10, unit="items", stream=out, interval=3600)
    for i in range(10):
        p.update(i + 1)
    p.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # the first update (with its ETA), then the final line
    assert lines[0].startswith("work: 1/10 items (10%), ") and ETA.search(lines[0])
    assert lines[1].startswith("work: 10/10 items (100%) in 0:0")
    quiet = io.StringIO()
    Progress("work", 10, "items", stream=quiet, enabled=False).update(5)
    assert quiet.getvalue() == ""


@pytest.fixture(scope="module")
def raster():
    rng = np.random.default_rng(0)
    return (rng.random((3000, 5)) < 0.2).astype(np.uint8)


def test_kpairwise_fit_reports_progress_with_an_eta(raster, capsys, tmp_path):
    opts = dict(method="mc", n_iterations=30, n_chains=64, n_final_samples=2000)
    quiet = KPairwiseMaxEnt(**opts).fit(raster, n_bins=1, seed=0)
    assert capsys.readouterr().err == ""
    loud = KPairwiseMaxEnt(**opts, verbose=1).fit(raster, n_bins=1, seed=0)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("kpairwise fit (Monte Carlo, 5 neurons, 64 chains): 1/30 "
                             "iterations") and ETA.search(err[0])
    assert any(line.startswith("kpairwise fit (Monte Carlo, 5 neurons, 64 chains): 30/30 "
                               "iterations (100%) in ") for line in err)
    np.testing.assert_array_equal(loud.J_, quiet.J_)  # reporting changes nothing
    loud.save(tmp_path / "kp.npz")
    assert "verbose" not in load(tmp_path / "kp.npz").get_options()


def test_cli_baseline_fit_kpairwise_shows_an_eta(raster, tmp_path, capsys):
    np.save(tmp_path / "r.npy", raster)
    assert main(["baseline", "fit", "kpairwise", "--data", str(tmp_path / "r.npy"), "--bins",
                 "2", "--method", "mc", "--iterations", "20", "--chains", "64",
                 "--out", str(tmp_path / "kp.npz")]) == 0
    err = capsys.readouterr().err
    assert "kpairwise fit (Monte Carlo" in err and ETA.search(err)


def _critic_run(path):
    import keras

    from spikegan_tf.gan.networks import build_critic

    cfg = ModelConfig(n_neurons=4, n_bins=8, num_features=4, latent_dim=8)
    rundir.RunDir(path).write_config(cfg)
    keras.utils.set_random_seed(0)
    rundir.save_model(build_critic(cfg, seed=0), path / rundir.CRITIC_FILE)
    return rundir.RunDir(path).load_critic()


def test_importance_reports_progress_with_an_eta(tmp_path, capsys):
    critic = _critic_run(tmp_path / "run")
    x = (np.random.default_rng(1).random((40, 4, 8)) < 0.3).astype(np.uint8)
    quiet = importance_maps(critic, x, seed=0, chunk_size=64)
    assert capsys.readouterr().err == ""
    loud = importance_maps(critic, x, seed=0, chunk_size=64, verbose=1)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("importance (shuffle): ") and ETA.search(err[0])
    assert err[-1].startswith("importance (shuffle): 40/40 windows (100%) in ")
    np.testing.assert_array_equal(loud, quiet)
    importance_maps(critic, x, method="gradient", chunk_size=16, verbose=1)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("importance (gradient): 16/40 windows (40%)") and ETA.search(err[0])

    np.save(tmp_path / "w.npy", x)
    assert main(["importance", "--run", str(tmp_path / "run"), "--data", str(tmp_path / "w.npy"),
                 "--n", "10", "--out", str(tmp_path / "maps.npz")]) == 0
    err = capsys.readouterr().err
    per_window = 1 + 4 * len(window_starts(8, 8, 2)) * 5
    assert evaluations_per_window(4, 8) == per_window
    assert f"importance: 10 windows x up to {per_window} critic evaluations each" in err
    assert "importance (shuffle): 10/10 windows (100%)" in err


def test_importance_help_says_what_a_window_costs(capsys):
    with pytest.raises(SystemExit):
        main(["importance", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Cost: each window needs up to 1 + neurons x sliding windows x --shuffles critic " \
           "evaluations (1 + 16 x 13 x 5 = 1041 for 16 neurons, 32 bins" in text
    assert evaluations_per_window(16, 32) == 1041

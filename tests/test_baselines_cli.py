"""`spikegan baseline fit` and `spikegan sample --baseline`, through the real dispatcher."""

from __future__ import annotations

import numpy as np
import pytest

from spikegan_tf.baselines import DichotomizedGaussian, KPairwiseMaxEnt, load
from spikegan_tf.cli import main


def _run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def _one_line_error(err: str, cmd: str = "baseline") -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"spikegan {cmd}: error: ")
    return lines[0]


@pytest.fixture
def files(tmp_path, rng):
    common = rng.random((2000, 1)) < 0.3
    raster = ((rng.random((2000, 5)) < 0.1) | (common & (rng.random((2000, 5)) < 0.4)))
    paths = {"raster": tmp_path / "raster.npy", "windows": tmp_path / "win.npz"}
    np.save(paths["raster"], raster.astype(np.uint8))
    np.savez(paths["windows"], spikes=(rng.random((100, 5, 6)) < 0.2).astype(np.uint8))
    return paths


@pytest.mark.parametrize("model", ["independent", "dg", "kpairwise"])
def test_fit_then_sample_end_to_end(files, tmp_path, capsys, model):
    out = tmp_path / f"{model}.npz"
    status, stdout, err = _run(capsys, "baseline", "fit", model, "--data", files["raster"],
                               "--bins", 6, "--seed", 3, "--out", out)
    assert status == 0, err
    assert f"wrote {model} model (5 neurons x 6 bins)" in stdout
    m = load(out)
    assert m.kind == model and m.fit_report_.seed == 3 and m.fit_report_.n_bins == 6
    samples = tmp_path / "s.npy"
    status, stdout, err = _run(capsys, "sample", "--baseline", out, "--n", 40, "--seed", 1,
                               "--out", samples)
    assert status == 0, err
    got = np.load(samples)
    assert got.shape == (40, 5, 6) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, m.sample(40, seed=1))


def test_model_options_and_val_fraction(files, tmp_path, capsys):
    out = tmp_path / "dg.npz"
    status, stdout, err = _run(capsys, "baseline", "fit", "dg", "--data", files["raster"],
                               "--bins", 6, "--spatial-only", "--eigenvalue-floor", "0.01",
                               "--states", 1, "--val-fraction", "0.25", "--out", out)
    assert status == 0, err
    m = DichotomizedGaussian.load(out)
    assert m.spatial_only and m.eigenvalue_floor == 0.01 and m.latent_.shape == (1, 5, 5)
    assert m.n_states == 1 and m.state_gamma_ is None
    # the same held-out end as `spikegan train --val-fraction 0.25`: 2000 - 6 gap, 75% kept
    assert m.fit_report_.n_time_bins == round(0.75 * (2000 - 6))
    out = tmp_path / "kp.npz"
    status, _, err = _run(capsys, "baseline", "fit", "kpairwise", "--data", files["windows"],
                          "--method", "mc", "--iterations", 30, "--chains", 64, "--out", out)
    assert status == 0, err
    m = KPairwiseMaxEnt.load(out)
    assert m.fit_report_.method == "mc" and m.fit_report_.n_iterations == 30
    assert m.fit_report_.data_kind == "windows" and m.n_bins_ == 6


@pytest.mark.parametrize("args, pattern", [
    (["dg"], "`--bins` is required"),
    (["dg", "--bins", 6, "--per-bin"], "`--per-bin` applies to the independent model"),
    (["kpairwise", "--bins", 6, "--max-lag", 2], "`--max-lag` applies to the dg model"),
    (["dg", "--bins", 6, "--eigenvalue-floor", 3], "`--eigenvalue-floor` must be in"),
    (["dg", "--bins", 6, "--states", 0], "`--states` must be an integer >= 1"),
    (["kpairwise", "--bins", 6, "--state-window", 4], "`--state-window` applies to the dg"),
    (["dg", "--bins", 6, "--val-fraction", 1.5], "`--val-fraction` must be in"),
    (["dg", "--bins", 0], "`--bins` must be an integer >= 1"),
])
def test_bad_options_give_one_line_errors(files, tmp_path, capsys, args, pattern):
    status, _, err = _run(capsys, "baseline", "fit", args[0], "--data", files["raster"],
                          *args[1:], "--out", tmp_path / "m.npz")
    assert status == 2
    assert pattern in _one_line_error(err)
    assert not (tmp_path / "m.npz").exists()


def test_bad_files_give_one_line_errors(files, tmp_path, capsys):
    status, _, err = _run(capsys, "baseline", "fit", "dg", "--data", tmp_path / "nope.npy",
                          "--bins", 4, "--out", tmp_path / "m.npz")
    assert status == 2 and "nope.npy" in _one_line_error(err)
    status, _, err = _run(capsys, "baseline", "fit", "dg", "--data", files["raster"],
                          "--bins", 4, "--out", tmp_path / "m.npy")
    assert status == 2 and "must be a .npz file" in _one_line_error(err)
    status, _, err = _run(capsys, "baseline", "fit", "dg", "--data", files["windows"],
                          "--stride", 2, "--out", tmp_path / "m.npz")
    assert status == 2 and "applies to a raster" in _one_line_error(err)
    status, _, err = _run(capsys, "sample", "--baseline", files["raster"], "--n", 3,
                          "--out", tmp_path / "s.npy")
    assert status == 2 and "not a spikegan baseline model" in _one_line_error(err, "sample")

"""`spikegan evaluate` end to end on tiny files, through the real dispatcher."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikegan_tf import statistics as S
from spikegan_tf.cli import main


def _run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def _one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("spikegan evaluate: error: ")
    return lines[0]


@pytest.fixture
def files(tmp_path, rng):
    raster = (rng.random((600, 4)) < 0.2).astype(np.uint8)
    paths = {
        "train": tmp_path / "train.npy",
        "test": tmp_path / "test.npy",
        "a": tmp_path / "model_a.npy",
        "b": tmp_path / "model_b.npz",
    }
    np.save(paths["train"], raster[:400])
    np.save(paths["test"], raster[400:])
    np.save(paths["a"], (rng.random((80, 4, 8)) < 0.2).astype(np.uint8))
    np.savez(paths["b"], spikes=(rng.random((60, 4, 8)) < 0.3).astype(np.uint8))
    return paths


def test_evaluate_files_end_to_end(files, tmp_path, capsys):
    out = tmp_path / "eval"
    status, stdout, err = _run(
        capsys, "evaluate", "--real", files["train"], "--bins", 8, "--stride", 2,
        "--generated", files["a"], "--generated", files["b"], "--labels", "A,B",
        "--noise-floor", files["test"], "--train", files["train"], "--max-lag", 3,
        "--n-memorization", 30, "--note", "tiny test", "--out", out,
    )
    assert status == 0, err
    saved = json.loads((out / "results.json").read_text())
    assert saved["candidates"] == ["A", "B"]
    assert saved["reference"] == "real (train.npy)"
    assert saved["noise_floor"] == "held-out (test.npy)"
    assert saved["n_windows"]["real (train.npy)"] == (400 - 8) // 2 + 1
    for label in ("A", "B", "held-out (test.npy)"):
        for name in ("firing_probability", "covariance", "lag1_covariance",
                     "spike_count_distribution", "autocorrelogram"):
            assert {"mae", "sae", "pearson_r", "ratio_to_floor"} <= set(
                saved["results"][label][name])
    # the numbers are the library's
    a = np.load(files["a"])
    ref_rate = S.firing_probability(np.load(files["train"]), n_bins=8, stride=2)
    assert saved["results"]["A"]["firing_probability"]["mae"] == pytest.approx(
        np.abs(S.firing_probability(a) - ref_rate).mean())
    assert saved["memorization"]["A"]["n"] == 30
    assert (out / "report.md").exists() and (out / "statistics.png").exists()
    assert "tiny test" in (out / "report.md").read_text()
    assert "firing_probability" in stdout and "(x noise floor)" in stdout
    assert f"wrote {out / 'results.json'}" in stdout


def test_bins_default_to_the_generated_windows(files, tmp_path, capsys):
    status, _, err = _run(capsys, "evaluate", "--real", files["train"], "--generated",
                          files["a"], "--no-figures", "--out", tmp_path / "o")
    assert status == 0, err
    saved = json.loads((tmp_path / "o" / "results.json").read_text())
    assert saved["settings"]["n_bins"] == 8 and saved["candidates"] == ["model_a"]
    assert saved["n_windows"]["real (train.npy)"] == 400 - 8 + 1


@pytest.mark.parametrize(
    "extra,message",
    [
        ([], "Nothing to evaluate"),
        (["--generated", "A", "--labels", "x,y"], "one non-empty label per --generated"),
        (["--generated", "WIDE"], "holds windows of 5 neurons x 8 bins, but the reference"),
        (["--generated", "A", "--bins", "6"], "holds windows of 4 neurons x 8 bins"),
        (["--generated", "RASTER"], "is a raster: give --bins"),
        (["--generated", "A", "--n", "5"], "give --run too"),
        (["--generated", "A", "--noise-floor", "WIDE"], "--noise-floor"),
        (["--generated", "A", "--generated", "A"], "label 'model_a'"),
        (["--generated", "MISSING"], "No such file"),
    ],
)
def test_bad_input_is_one_line(files, tmp_path, capsys, rng, extra, message):
    wide = tmp_path / "wide.npy"
    np.save(wide, np.zeros((5, 5, 8), np.uint8))
    raster2 = tmp_path / "raster2.npy"
    np.save(raster2, np.zeros((50, 4), np.uint8))
    subst = {"A": files["a"], "WIDE": wide, "RASTER": raster2,
             "MISSING": tmp_path / "missing.npy"}
    argv = [subst.get(x, x) for x in extra]
    status, _, err = _run(capsys, "evaluate", "--real", files["train"], *argv,
                          "--out", tmp_path / "o")
    assert status == 2
    assert message in _one_line_error(err)


def test_evaluate_a_run(files, tmp_path, capsys):
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.networks import build_generator
    from spikegan_tf.gan.rundir import RunDir

    run = tmp_path / "myrun"
    cfg = ModelConfig(n_neurons=4, n_bins=8, num_features=4, latent_dim=8)
    RunDir(run).write_model(cfg, build_generator(cfg), None)
    out = tmp_path / "eval"
    status, stdout, err = _run(capsys, "evaluate", "--real", files["train"], "--run", run,
                               "--n", 50, "--seed", 3, "--generated", files["a"],
                               "--no-figures", "--out", out)
    assert status == 0, err
    assert f"sampled 50 windows from '{run}'" in stdout
    saved = json.loads((out / "results.json").read_text())
    assert saved["candidates"] == ["model_a", "myrun"]
    assert saved["n_windows"]["myrun"] == 50
    # a run whose windows do not match the reference is refused
    bad = tmp_path / "badrun"
    RunDir(bad).write_config(ModelConfig(n_neurons=3, n_bins=8, num_features=4, latent_dim=8))
    status, _, err = _run(capsys, "evaluate", "--real", files["train"], "--bins", 8,
                          "--run", bad, "--out", out)
    assert status == 2
    assert "generates windows of 3 neurons x 8 bins" in _one_line_error(err)

"""`spikegan train` and `spikegan sample` end to end (in-process, tiny model)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikegan_tf import rundir
from spikegan_tf.cli import main
from spikegan_tf.sampling import sampling_streams

TINY = ["--num-features", "8", "--latent-dim", "16", "--batch-size", "16", "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    raster = (np.random.default_rng(0).random((400, 4)) < 0.2).astype(np.uint8)
    np.savez(d / "rec.npz", spikes=raster)
    run = d / "run"
    status = main(["train", "--data", str(d / "rec.npz"), "--bins", "8", "--out", str(run),
                   "--max-steps", "3", "--checkpoint-every", "2", "--eval-every", "3",
                   "--seed", "2", *TINY])
    assert status == 0
    return d, run


def test_train_writes_a_run_and_says_where(trained, capsys):
    d, run = trained
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"]["num_features"] == 8 and cfg["train"]["seed"] == 2
    assert cfg["train"]["init_output_bias"] is True  # the default
    assert cfg["data"]["kind"] == "raster" and cfg["data"]["source"] == str(d / "rec.npz")
    assert cfg["data"]["key"] == "spikes" and cfg["data"]["n_val"] > 0
    for name in ("generator.keras", "critic.keras", "metrics.jsonl", "checkpoints", "tensorboard"):
        assert (run / name).exists(), name


def test_resume_continues_and_rejects_incompatible_settings(trained, capsys):
    d, run = trained
    assert main(["train", "--out", str(run), "--resume", "--max-steps", "4", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"run directory {run}" in out and "stopped at step 4 (max_steps)" in out
    status = main(["train", "--out", str(run), "--resume", "--num-features", "16"])
    err = capsys.readouterr().err
    assert status == 2 and "num_features: saved 8, now 16" in err and "Traceback" not in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["train", "--out", "{d}/new"], "`--data` is required"),
    (["train", "--data", "{d}/rec.npz", "--out", "{d}/new2"], "`--bins` is required"),
    (["train", "--data", "{d}/rec.npz", "--bins", "8", "--out", "{d}/run"], "already holds a run"),
    (["train", "--data", "{d}/rec.npz", "--bins", "6", "--out", "{d}/new3"],
     "divisible by 2**num_layers"),
    (["train", "--data", "{d}/missing.npz", "--bins", "8", "--out", "{d}/new4"], "missing.npz"),
    (["train", "--out", "{d}/nothing", "--resume"], "does not exist"),
    (["sample", "--run", "{d}/run", "--n", "5", "--out", "{d}/x.txt"], "must be a .npy file"),
    (["sample", "--run", "{d}", "--n", "5", "--out", "{d}/x.npy"], "no generator.keras"),
    (["sample", "--run", "{d}/run", "--n", "0", "--out", "{d}/x.npy"], "`--n` must be"),
])
def test_bad_input_is_one_line_without_traceback(trained, capsys, argv, message):
    d, _ = trained
    status = main([a.format(d=d) for a in argv])
    err = capsys.readouterr().err
    assert status == 2 and message in err and "Traceback" not in err, err


def test_sample_is_seeded_and_thresholdable(trained, capsys):
    d, run = trained
    assert main(["sample", "--run", str(run), "--n", "50", "--seed", "3",
                 "--out", str(d / "a.npy"), "--chunk-size", "7"]) == 0
    assert f"to {d / 'a.npy'}" in capsys.readouterr().out
    assert main(["sample", "--run", str(run), "--n", "50", "--seed", "3",
                 "--out", str(d / "b.npy")]) == 0
    a, b = np.load(d / "a.npy"), np.load(d / "b.npy")
    assert a.shape == (50, 4, 8) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    # the oracle: p > threshold for the protocol's latent draws of seed 0 (the default), with
    # a threshold at the median probability so that about half the bins spike
    g = rundir.load_generator(run)
    z = sampling_streams(0)[0].standard_normal((50, 16), dtype=np.float32)
    p = np.asarray(g(z))
    thr = float(np.median(p))
    assert main(["sample", "--run", str(run), "--n", "50", "--threshold", repr(thr),
                 "--out", str(d / "t.npy")]) == 0
    t = np.load(d / "t.npy")
    clear = np.abs(p - thr) > 1e-6
    assert clear.mean() > 0.95 and 0.3 < t.mean() < 0.7
    np.testing.assert_array_equal(t[clear], (p > thr)[clear])


def test_sample_from_a_baseline(trained, capsys):
    baselines = pytest.importorskip("spikegan_tf.baselines")
    if not hasattr(baselines, "load") or not hasattr(baselines, "IndependentBernoulli"):
        pytest.skip("spikegan_tf.baselines is not complete yet")
    d, _ = trained
    windows = (np.random.default_rng(0).random((100, 4, 8)) < 0.2).astype(np.uint8)
    path = baselines.IndependentBernoulli().fit(windows, seed=0).save(d / "ind.npz")
    assert main(["sample", "--baseline", str(path), "--n", "30", "--seed", "1",
                 "--out", str(d / "ind.npy")]) == 0
    x = np.load(d / "ind.npy")
    assert x.shape == (30, 4, 8)
    np.testing.assert_array_equal(x, baselines.load(path).sample(30, seed=1))


@pytest.mark.slow  # simulation + training + evaluation with figures: ~30 s
def test_demo_writes_a_report(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--minutes", "0.05", "--samples", "512",
                 "--neurons", "8", "--bins", "16", "--num-features", "8", "--quiet"]) == 0
    assert f"report: {out / 'report.md'}" in capsys.readouterr().out
    report = (out / "report.md").read_text()
    assert "Spike-GAN demo" in report and "firing_probability" in report
    for name in ("uniform.npz", "samples.npy", "run/generator.keras", "evaluation/results.json"):
        assert (out / name).exists(), name
    # a second demo into the same directory replaces its own files; others are refused
    assert main(["demo", "--out", str(out), "--minutes", "0.05", "--samples", "512",
                 "--neurons", "8", "--bins", "16", "--num-features", "8", "--quiet"]) == 0
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "mine.txt").write_text("keep")
    assert main(["demo", "--out", str(tmp_path / "other"), "--minutes", "0.05"]) == 2
    assert (tmp_path / "other" / "mine.txt").read_text() == "keep"


def test_paper_init_keeps_the_papers_output_bias(tmp_path):
    raster = (np.random.default_rng(1).random((300, 4)) < 0.2).astype(np.uint8)
    np.save(tmp_path / "rec.npy", raster)
    run = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "rec.npy"), "--bins", "8", "--out", str(run),
                 "--max-steps", "1", "--eval-every", "0", "--paper-init", "--quiet",
                 *TINY]) == 0
    assert json.loads((run / "config.json").read_text())["train"]["init_output_bias"] is False

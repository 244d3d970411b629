"""`spikegan train` and `spikegan sample` end to end (in-process, tiny model)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spikegan_tf.cli import main
from spikegan_tf.gan import rundir
from spikegan_tf.gan.history import draw_spikes, history_coupling, history_filter
from spikegan_tf.gan.sampling import sampling_streams

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
    # published with its rates calibrated per neuron and bin (the defaults)
    assert cfg["train"]["calibrate_rates"] is True and cfg["train"]["calibrate_positions"] is True
    assert rundir.RunDir(run).load_generator().get_layer("position_logits") is not None


def test_calibrate_positions_can_be_turned_off(tmp_path):
    raster = (np.random.default_rng(1).random((300, 3)) < 0.2).astype(np.uint8)
    np.save(tmp_path / "rec.npy", raster)
    assert main(["train", "--data", str(tmp_path / "rec.npy"), "--bins", "8",
                 "--out", str(tmp_path / "run"), "--max-steps", "2", "--eval-every", "2",
                 "--no-calibrate-positions", *TINY]) == 0
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())["train"]
    assert cfg["calibrate_rates"] is True and cfg["calibrate_positions"] is False
    g = rundir.RunDir(tmp_path / "run").load_generator()
    assert not any(layer.name.startswith("position_") for layer in g.layers)


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
    (["train", "--data", "{d}/rec.npz", "--bins", "8", "--out", "{d}/new5", "--count-match", "1",
      "--critic-input", "probabilities"], "`count_match` (--count-match) needs `critic_input='spikes'`"),
    (["train", "--data", "{d}/rec.npz", "--bins", "8", "--out", "{d}/new6", "--count-match",
      "-1"], "--count-match"),
    (["train", "--data", "{d}/rec.npz", "--bins", "8", "--out", "{d}/new7", "--variance-match",
      "1", "--batch-size", "2"], "`variance_match` (--variance-match) needs `batch_size` >= 4"),
    (["train", "--data", "{d}/rec.npz", "--bins", "8", "--out", "{d}/new8", "--acg-match", "1",
      "--acg-match-lags", "8"], "`acg_match_lags` (--acg-match-lags) must be smaller than the "
                                "windows' n_bins (8); received 8"),
    (["train", "--data", "{d}/rec.npz", "--bins", "8", "--out", "{d}/new9",
      "--acg-variance-match", "1", "--acg-variance-match-lags", "9"],
     "`acg_variance_match_lags` (--acg-variance-match-lags) must be smaller than the windows' "
     "n_bins (8); received 9"),
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
    g = rundir.RunDir(run).load_generator()
    z = sampling_streams(0)[0].standard_normal((50, 16), dtype=np.float32)
    p = np.asarray(g(z))
    thr = float(np.median(p))
    assert main(["sample", "--run", str(run), "--n", "50", "--threshold", repr(thr),
                 "--out", str(d / "t.npy")]) == 0
    t = np.load(d / "t.npy")
    # with the published spike-history filter and coupling: u = threshold in every bin, drawn
    # in order; compared up to a window's first bin decided by rounding
    u = np.full(p.shape, thr, np.float32)
    expected, q = draw_spikes(p, u, history_filter(g), coupling=history_coupling(g),
                              return_q=True)
    clear = np.logical_and.accumulate((np.abs(q - thr) > 1e-6).all(axis=1), axis=-1)
    clear = np.broadcast_to(clear[:, None, :], p.shape)
    assert history_coupling(g) is not None
    assert clear.mean() > 0.9 and 0.2 < t.mean() < 0.8
    np.testing.assert_array_equal(t[clear], expected[clear])


def test_sample_calibrate_shifts_rates_to_the_runs_training_rates(trained, capsys, tmp_path):
    import shutil

    from spikegan_tf.gan.networks import calibrate_output_bias
    from spikegan_tf.gan.sampling import sample

    d, run = trained
    rates = json.loads((run / "config.json").read_text())["data"]["neuron_rates"]
    raster = np.load(d / "rec.npz")["spikes"]
    assert len(rates) == 4 and abs(np.mean(rates) - raster.mean()) < 0.03
    assert main(["sample", "--run", str(run), "--n", "40", "--seed", "5", "--calibrate",
                 "--out", str(d / "c.npy")]) == 0
    assert "(rates calibrated)" in capsys.readouterr().out
    g = rundir.RunDir(run).load_generator()
    calibrate_output_bias(g, rundir.RunDir(run).model_config(), rates, seed=0)
    np.testing.assert_array_equal(np.load(d / "c.npy"), sample(g, 40, 5))
    # the rates it shifts to are the ones config.json stores (here set far from the data's)
    old = tmp_path / "old"
    shutil.copytree(run, old)
    cfg = json.loads((old / "config.json").read_text())
    cfg["data"]["neuron_rates"] = [0.05, 0.5, 0.3, 0.9]
    (old / "config.json").write_text(json.dumps(cfg))
    assert main(["sample", "--run", str(old), "--n", "3000", "--calibrate",
                 "--out", str(tmp_path / "far.npy")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "far.npy").mean(axis=(0, 2)),
                               [0.05, 0.5, 0.3, 0.9], atol=0.03)
    # a run written before the rates were stored is refused in one line
    del cfg["data"]["neuron_rates"]
    (old / "config.json").write_text(json.dumps(cfg))
    status = main(["sample", "--run", str(old), "--n", "5", "--calibrate",
                   "--out", str(tmp_path / "x.npy")])
    err = capsys.readouterr().err
    assert status == 2 and "no per-neuron training rates" in err and err.count("\n") == 1
    assert not (tmp_path / "x.npy").exists()


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
    assert main(["demo", "--out", str(out), "--steps", "30", "--samples", "512",
                 "--neurons", "8", "--bins", "16", "--num-features", "8", "--quiet"]) == 0
    assert f"report: {out / 'report.md'}" in capsys.readouterr().out
    report = (out / "report.md").read_text()
    assert "Spike-GAN demo" in report and "firing_probability" in report
    assert "Spike-GAN, not calibrated" in report and "30 generator steps (2 critic updates each)" in report
    for name in ("uniform.npz", "samples.npy", "run/generator.keras", "evaluation/results.json"):
        assert (out / name).exists(), name
    # a second demo into the same directory replaces its own files; others are refused
    assert main(["demo", "--out", str(out), "--steps", "30", "--samples", "512",
                 "--neurons", "8", "--bins", "16", "--num-features", "8", "--quiet"]) == 0
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "mine.txt").write_text("keep")
    assert main(["demo", "--out", str(tmp_path / "other"), "--steps", "30"]) == 2
    assert (tmp_path / "other" / "mine.txt").read_text() == "keep"


def test_paper_init_keeps_the_papers_output_bias(tmp_path):
    raster = (np.random.default_rng(1).random((300, 4)) < 0.2).astype(np.uint8)
    np.save(tmp_path / "rec.npy", raster)
    run = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "rec.npy"), "--bins", "8", "--out", str(run),
                 "--max-steps", "1", "--eval-every", "0", "--paper-init", "--quiet",
                 *TINY]) == 0
    assert json.loads((run / "config.json").read_text())["train"]["init_output_bias"] is False


def test_mixed_precision_flag_takes_an_optional_format():
    from spikegan_tf.cli import build_parser

    def parsed(*flags):
        return build_parser().parse_args(["train", "--data", "x.npy", "--out", "r", *flags])

    assert parsed("--mixed-precision").mixed_precision is True  # float16, as before
    assert parsed("--mixed-precision", "bfloat16").mixed_precision == "bfloat16"
    assert parsed().mixed_precision is None
    with pytest.raises(SystemExit):
        parsed("--mixed-precision", "half")


def _fit_opens_the_run_only(monkeypatch):
    """Make ``Trainer.fit`` write the run directory (config.json) and train nothing."""
    from spikegan_tf.gan import trainer as train_mod

    def open_only(self, data, *, resume=False, more_steps=None):
        self._open_run_dir(data, resume)
        return train_mod.TrainResult(step=0, stopped="max_steps", seconds=0.0, losses={},
                                     validation={}, run_dir=self.run_dir)

    monkeypatch.setattr(train_mod.Trainer, "fit", open_only)


def test_every_train_flag_reaches_config_json(tmp_path, monkeypatch):
    _fit_opens_the_run_only(monkeypatch)
    raster = (np.random.default_rng(1).random((300, 4)) < 0.2).astype(np.uint8)
    np.savez(tmp_path / "rec.npz", spikes=raster, other=np.zeros(3))
    run = tmp_path / "run"
    with pytest.warns(UserWarning, match="jit_compile"):
        status = main([
            "train", "--data", str(tmp_path / "rec.npz"), "--key", "spikes", "--bins", "8",
            "--val-fraction", "0.25", "--stride", "2", "--out", str(run),
            "--max-steps", "11", "--max-minutes", "2.5", "--seed", "7", "--checkpoint-every",
            "7", "--checkpoint-minutes", "4", "--keep-checkpoints", "2", "--eval-every", "0",
            "--log-every", "3",
            "--architecture", "conv", "--upsampling", "resize", "--num-features", "4",
            "--num-layers", "1", "--latent-dim", "8", "--kernel-size", "3", "--num-units", "32",
            "--critic-neuron-filters", "2", "--critic-neuron-kernel", "5",
            "--critic-head-units", "6", "--critic-scales", "2", "--critic-counts", "3",
            "--batch-size", "8", "--n-critic", "2", "--lr", "0.0002", "--gp-weight", "5",
            "--critic-input", "probabilities", "--lr-decay-steps", "9",
            "--gp-every", "3", "--gp-per-path", "--critic-lr", "0.0005",
            "--jit-compile", "--mixed-precision", "--paper-init", "--no-calibrate-same-bin",
            "--quiet"])
    assert status == 0
    cfg = json.loads((run / "config.json").read_text())
    assert {k: cfg["model"][k] for k in ("architecture", "upsampling", "num_features",
                                         "num_layers", "latent_dim", "kernel_size", "num_units",
                                         "n_neurons", "n_bins", "critic_neuron_filters",
                                         "critic_neuron_kernel", "critic_head_units",
                                         "critic_scales", "critic_counts")} == dict(
        architecture="conv", upsampling="resize", num_features=4, num_layers=1, latent_dim=8,
        kernel_size=3, num_units=32, n_neurons=4, n_bins=8, critic_neuron_filters=2,
        critic_neuron_kernel=5, critic_head_units=6, critic_scales=2, critic_counts=3)
    assert {k: cfg["train"][k] for k in ("max_steps", "max_minutes", "seed", "checkpoint_every",
                                         "checkpoint_minutes", "keep_checkpoints", "critic_input", "eval_every", "log_every",
                                         "batch_size", "n_critic", "learning_rate", "gp_weight",
                                         "jit_compile", "mixed_precision",
                                         "init_output_bias", "lr_decay_steps", "gp_every",
                                         "critic_learning_rate")} == dict(
        max_steps=11, max_minutes=2.5, seed=7, checkpoint_every=7, checkpoint_minutes=4.0,
        keep_checkpoints=2, critic_input="probabilities", eval_every=0, log_every=3,
        batch_size=8, n_critic=2, learning_rate=2e-4, gp_weight=5.0,
        jit_compile=True, mixed_precision=True, init_output_bias=False, lr_decay_steps=9,
        gp_every=3, critic_learning_rate=5e-4)
    assert (cfg["data"]["key"], cfg["data"]["val_fraction"], cfg["data"]["stride"]) == (
        "spikes", 0.25, 2)
    assert cfg["train"]["calibrate_same_bin"] is False and cfg["train"]["calibrate_coupling"]
    assert cfg["train"]["gp_per_path"] is True  # one penalty per path: 2 scales and the head


def test_the_count_and_publish_flags_reach_config_json(tmp_path, monkeypatch):
    _fit_opens_the_run_only(monkeypatch)
    np.save(tmp_path / "rec.npy", (np.random.default_rng(1).random((300, 4)) < 0.2).astype("u1"))
    run = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "rec.npy"), "--bins", "8", "--out", str(run),
                 "--count-match", "2.5", "--count-match-max", "3", "--publish", "best",
                 "--variance-match", "0.5", "--variance-match-relative",
                 "--variance-match-scales", "3", "--acg-match", "2", "--acg-match-lags", "5",
                 "--variance-match-start", "7", "--acg-match-start", "9", "--ema-start", "9",
                 "--ema-decay", "0.9", "--acg-variance-match", "0.25",
                 "--acg-variance-match-lags", "3", "--acg-variance-match-start", "4",
                 "--pair-match", "1.5", "--pair-match-start", "6",
                 "--quiet"]) == 0
    cfg = json.loads((run / "config.json").read_text())["train"]
    assert (cfg["count_match"], cfg["count_match_max"], cfg["publish"]) == (2.5, 3, "best")
    assert (cfg["variance_match"], cfg["variance_match_relative"]) == (0.5, True)
    assert cfg["variance_match_scales"] == 3
    assert (cfg["acg_match"], cfg["acg_match_lags"]) == (2.0, 5)
    assert (cfg["variance_match_start"], cfg["acg_match_start"], cfg["ema_start"]) == (7, 9, 9)
    assert (cfg["acg_variance_match"], cfg["acg_variance_match_lags"],
            cfg["acg_variance_match_start"]) == (0.25, 3, 4)
    assert (cfg["pair_match"], cfg["pair_match_start"]) == (1.5, 6)


def test_train_publish_best_says_which_step_it_published(trained, capsys):
    d, _ = trained
    run = d / "best"
    assert main(["train", "--data", str(d / "rec.npz"), "--bins", "8", "--out", str(run),
                 "--max-steps", "4", "--eval-every", "2", "--publish", "best", "--seed", "2",
                 *TINY]) == 0
    best = json.loads((run / "best.json").read_text())
    assert best["step"] in (2, 4)
    assert (f"generator.keras (step {best['step']}, the best validation score, "
            f"{best['score']:.4g})") in capsys.readouterr().out


def _signal_after_first_call(signum):
    """A Trainer._call that sends the process ``signum`` after the first training call."""
    import os

    from spikegan_tf.gan.trainer import Trainer

    original = Trainer._call

    def call(self, data, n_steps):
        out = original(self, data, n_steps)
        os.kill(os.getpid(), signum)
        return out

    return call


@pytest.mark.parametrize("signame, code", [("SIGTERM", 143), ("SIGINT", 130)])
def test_train_exit_codes_after_a_signal(tmp_path, monkeypatch, capsys, signame, code):
    import signal

    from spikegan_tf.gan.trainer import Trainer

    monkeypatch.setattr(Trainer, "_call", _signal_after_first_call(getattr(signal, signame)))
    raster = (np.random.default_rng(1).random((300, 4)) < 0.2).astype(np.uint8)
    np.save(tmp_path / "rec.npy", raster)
    run = tmp_path / "run"
    status = main(["train", "--data", str(tmp_path / "rec.npy"), "--bins", "8", "--out",
                   str(run), "--max-steps", "50", "--log-every", "1", "--eval-every", "0",
                   *TINY])
    assert status == code
    out = capsys.readouterr().out
    assert f"stopped at step 1 ({signame})" in out and "--resume" in out
    assert (run / "checkpoints" / "ckpt-1.index").exists()


def test_python_m_and_the_console_script(tmp_path):
    import os
    import subprocess
    import sys

    from spikegan_tf._version import __version__

    script = Path(sys.executable).with_name("spikegan")
    assert script.exists(), "the console script is not installed beside the interpreter"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for cmd in ([sys.executable, "-m", "spikegan_tf"], [str(script)]):
        res = subprocess.run([*cmd, "--version"], capture_output=True, text=True, timeout=120,
                             env=env, cwd=tmp_path)
        assert (res.returncode, res.stdout.strip()) == (0, f"spikegan_tf {__version__}"), cmd
        res = subprocess.run([*cmd, "no-such-command"], capture_output=True, text=True,
                             timeout=120, env=env, cwd=tmp_path)
        assert res.returncode == 2 and "invalid choice: 'no-such-command'" in res.stderr, cmd
        assert "Traceback" not in res.stderr


def test_demo_end_to_end_cheap(tmp_path, capsys, monkeypatch):
    # the slow test above runs the demo twice at a more useful size and renders its figures;
    # here the figures are built but not rendered (rendering is most of the cost)
    import matplotlib.figure

    def savefig(self, fname, *args, **kwargs):
        Path(fname).write_bytes(b"not rendered")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--steps", "30", "--samples", "256",
                 "--neurons", "4", "--bins", "8", "--num-features", "4", "--quiet"]) == 0
    assert f"report: {out / 'report.md'}" in capsys.readouterr().out
    report = (out / "report.md").read_text()
    assert "Spike-GAN demo" in report and "firing_probability" in report
    assert "Spike-GAN, not calibrated" in report and "30 generator steps (2 critic updates each)" in report
    assert "256 windows of 4 neurons x 8 bins" in report
    results = json.loads((out / "evaluation" / "results.json").read_text())
    assert "Spike-GAN" in json.dumps(results) and "independent" in json.dumps(results)
    samples = np.load(out / "samples.npy")
    assert samples.shape == (51, 4, 8) and samples.dtype == np.uint8  # as many as held out
    for name in ("uniform.npz", "run/generator.keras", "run/config.json", "training.png",
                 "evaluation/statistics.png"):
        assert (out / name).exists(), name

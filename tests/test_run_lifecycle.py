"""A run's life: its budget, checkpoints, resuming from anywhere, finishing, extending.

Issue 12, items 1, 2, 4, 12 and 17 (tiny models; in-process CLI).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from spikegan_tf import SpikeGAN
from spikegan_tf.cli import main
from spikegan_tf.data.splits import prepare_data
from spikegan_tf.errors import RunDirError
from spikegan_tf.gan import rundir
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.train_config import DEFAULT_MAX_STEPS, TrainConfig
from spikegan_tf.gan.trainer import Trainer

TINY = ["--num-features", "8", "--latent-dim", "16", "--batch-size", "16", "--quiet",
        "--eval-every", "0"]
MODEL = ModelConfig(n_neurons=4, n_bins=8, num_features=8, latent_dim=16)


@pytest.fixture(scope="module")
def windows():
    return (np.random.default_rng(0).random((256, 4, 8)) < 0.3).astype(np.uint8)


@pytest.fixture
def recording(tmp_path):
    raster = (np.random.default_rng(0).random((400, 4)) < 0.2).astype(np.uint8)
    np.savez(tmp_path / "rec.npz", spikes=raster)
    return tmp_path / "rec.npz"


def _config(run):
    return json.loads((run / "config.json").read_text())


def _ckpt_steps(run):
    return sorted(int(p.name.split("-")[1].split(".")[0])
                  for p in (run / "checkpoints").glob("ckpt-*.index"))


# ------------------------------------------------------------------ item 1: the budget


def test_a_time_budget_alone_has_no_step_cap():
    assert TrainConfig().max_steps == DEFAULT_MAX_STEPS  # no budget at all: the default cap
    assert TrainConfig(max_minutes=20).max_steps is None
    assert TrainConfig(max_minutes=20, max_steps=50).max_steps == 50  # both explicit
    assert TrainConfig.from_dict({"max_minutes": 5.0}).max_steps is None


def test_fit_with_minutes_alone_runs_for_minutes(windows):
    gan = SpikeGAN(n_neurons=4, n_bins=8, num_features=8, latent_dim=16)
    result = gan.fit(windows, minutes=0.005, batch_size=16, eval_every=0, verbose=0).result_
    assert gan.trainer_.config.max_steps is None and gan.trainer_.config.max_minutes == 0.005
    assert result.stopped == "max_minutes"
    # both given: both apply
    result = gan.fit(windows, steps=2, minutes=10, batch_size=16, eval_every=0,
                     verbose=0).result_
    assert result.stopped == "max_steps"


def test_cli_minutes_alone_sets_the_budget_also_on_resume(tmp_path, recording):
    run = tmp_path / "run"
    assert main(["train", "--data", str(recording), "--bins", "8", "--out", str(run),
                 "--minutes", "0.005", *TINY]) == 0
    train = _config(run)["train"]
    assert train["max_steps"] is None and train["max_minutes"] == 0.005
    # a run with a step budget, resumed with a time budget: the time budget alone counts
    run2 = tmp_path / "run2"
    assert main(["train", "--data", str(recording), "--bins", "8", "--out", str(run2),
                 "--max-steps", "2", *TINY]) == 0
    assert _config(run2)["train"]["max_steps"] == 2
    assert main(["train", "--out", str(run2), "--resume", "--max-minutes", "0.02",
                 "--quiet"]) == 0
    train = _config(run2)["train"]
    assert train["max_steps"] is None and train["max_minutes"] == 0.02
    assert _ckpt_steps(run2)[-1] > 2


# ------------------------------------------------------------ item 17: checkpoints by time


def test_checkpoints_come_by_time_or_by_steps_whichever_first(tmp_path, windows):
    data = prepare_data(windows, val_fraction=0.0)
    cfg = dict(batch_size=16, max_steps=6, steps_per_call=2, checkpoint_every=1000,
               keep_checkpoints=10, eval_every=0)
    by_time = Trainer(MODEL, TrainConfig(checkpoint_minutes=1e-9, **cfg),
                      run_dir=tmp_path / "a", verbose=0)
    by_time.fit(data)
    assert _ckpt_steps(tmp_path / "a") == [2, 4, 6]  # every call is "5 minutes" later
    steps_only = Trainer(MODEL, TrainConfig(checkpoint_minutes=None, **cfg),
                         run_dir=tmp_path / "b", verbose=0)
    steps_only.fit(data)
    assert _ckpt_steps(tmp_path / "b") == [6]  # only the final one
    assert TrainConfig().checkpoint_minutes == 5.0


def test_cli_checkpoint_minutes_reaches_the_config(tmp_path, recording):
    run = tmp_path / "run"
    assert main(["train", "--data", str(recording), "--bins", "8", "--out", str(run),
                 "--max-steps", "2", "--checkpoint-minutes", "0.5", *TINY]) == 0
    assert _config(run)["train"]["checkpoint_minutes"] == 0.5


# ------------------------------------------------------------ item 2: resume from anywhere


def test_resume_from_another_directory_and_when_the_data_moved(tmp_path, recording,
                                                               monkeypatch, capsys):
    monkeypatch.chdir(recording.parent)
    run = tmp_path / "run"
    assert main(["train", "--data", "rec.npz", "--bins", "8", "--out", "run",
                 "--max-steps", "2", *TINY]) == 0
    assert _config(run)["data"]["source"] == str(recording)  # stored resolved
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["train", "--out", str(run), "--resume", "--more-steps", "1", "--quiet"]) == 0
    assert _ckpt_steps(run)[-1] == 3
    capsys.readouterr()

    moved = tmp_path / "moved.npz"
    recording.rename(moved)
    status = main(["train", "--out", str(run), "--resume", "--more-steps", "1", "--quiet"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert f"'{recording}' is not there any more" in err and "--data" in err
    assert main(["train", "--out", str(run), "--resume", "--data", str(moved),
                 "--more-steps", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"the data moved: the run was trained on '{recording}', now reading '{moved}'" in out
    assert _config(run)["data"]["source"] == str(moved)
    assert _ckpt_steps(run)[-1] == 4


# ------------------------------------------------------ item 12: finished runs, refusals


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A run that reached its max_steps=2 (not modified by the tests: copy it first)."""
    d = tmp_path_factory.mktemp("finished")
    raster = (np.random.default_rng(0).random((400, 4)) < 0.2).astype(np.uint8)
    np.savez(d / "rec.npz", spikes=raster)
    assert main(["train", "--data", str(d / "rec.npz"), "--bins", "8", "--out", str(d / "run"),
                 "--max-steps", "2", *TINY]) == 0
    return d / "run"


def test_resuming_a_finished_run_says_so_and_more_steps_extends_it(tmp_path, finished, capsys):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    capsys.readouterr()
    assert main(["train", "--out", str(run), "--resume", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "is complete: it reached max_steps=2" in captured.err
    assert "--more-steps N" in captured.err and "--max-steps M" in captured.err
    assert "data:" not in captured.out  # said before loading anything
    assert main(["train", "--out", str(run), "--resume", "--more-steps", "3", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "stopped at step 5 (max_steps)" in out and "3 more steps" in out
    assert _ckpt_steps(run)[-1] == 5 and _config(run)["train"]["max_steps"] == 5
    status = main(["train", "--out", str(run), "--more-steps", "3"])
    assert status == 2 and "add --resume" in capsys.readouterr().err


def test_resume_with_other_bins_refuses_before_the_data_summary(finished, capsys):
    capsys.readouterr()
    status = main(["train", "--out", str(finished), "--resume", "--bins", "16",
                   "--more-steps", "1"])
    captured = capsys.readouterr()
    assert status == 2 and "n_bins: saved 8, now 16" in captured.err
    assert captured.out == ""  # no data summary, no "run directory" line


def test_trainer_resume_of_a_complete_run_returns_complete(tmp_path, windows, capsys):
    data = prepare_data(windows, val_fraction=0.0)
    cfg = TrainConfig(batch_size=16, max_steps=2, eval_every=0)
    Trainer(MODEL, cfg, run_dir=tmp_path / "r", verbose=0).fit(data)
    again = Trainer(MODEL, cfg, run_dir=tmp_path / "r", verbose=1)
    result = again.fit(data, resume=True)
    assert result.stopped == "complete" and result.step == 2
    assert "is complete" in capsys.readouterr().err
    result = again.fit(data, resume=True, more_steps=2)
    assert result.step == 4 and result.stopped == "max_steps"


# ------------------------------------------------------------ item 4: damaged .keras files


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory, windows):
    path = tmp_path_factory.mktemp("saved") / "m"
    gan = SpikeGAN(n_neurons=4, n_bins=8, num_features=8, latent_dim=16)
    gan.fit(windows, steps=1, batch_size=16, eval_every=0, verbose=0)
    gan.save(path)
    return path


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped"])
def test_a_damaged_keras_file_is_called_damaged(tmp_path, saved_model, damage, capsys):
    model = tmp_path / "m"
    shutil.copytree(saved_model, model)
    path = model / "generator.keras"
    good = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"not a model at all")
    elif damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    else:
        bad = bytearray(good)
        for i in range(200, 260):
            bad[i] ^= 0xFF
        path.write_bytes(bytes(bad))
    with pytest.raises(RunDirError, match="damaged or not a Keras file") as info:
        rundir.RunDir(model).load_generator()
    assert "File not found" not in str(info.value) and str(path) in str(info.value)
    status = main(["sample", "--run", str(model), "--n", "2", "--out", str(tmp_path / "x.npy")])
    err = capsys.readouterr().err
    assert status == 2 and "damaged or not a Keras file" in err and err.count("\n") == 1

"""Conditional runs end to end: simulate tuned, train, sample, evaluate, export, rig runtime."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikegan_tf.cli import main

TINY = ["--num-features", "8", "--latent-dim", "16", "--batch-size", "16", "--quiet"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("cond")
    assert main(["simulate", "tuned", "--neurons", "6", "--bins", "8", "--stimuli", "3",
                 "--samples", "600", "--seed", "0", "--out", str(d / "tuned.npz")]) == 0
    status = main(["train", "--data", str(d / "tuned.npz"), "--condition-key", "labels",
                   "--covariate-key", "covariates", "--out", str(d / "run"),
                   "--max-steps", "3", "--eval-every", "3", *TINY])
    assert status == 0
    return d


def test_train_records_the_conditions(run):
    cfg = json.loads((run / "run" / "config.json").read_text())
    assert cfg["model"]["n_classes"] == 3 and cfg["model"]["n_covariates"] == 1
    assert cfg["data"]["conditions"] == {"classes": [0, 1, 2], "n_covariates": 1}
    assert cfg["data"]["condition_key"] == "labels"


def test_sample_for_conditions_from_a_file(run, capsys):
    np.savez(run / "c.npz", labels=[2, 0, 1], covariates=np.zeros((3, 8, 1)))
    out = run / "s.npy"
    assert main(["sample", "--run", str(run / "run"), "--conditions", str(run / "c.npz"),
                 "--seed", "4", "--out", str(out)]) == 0
    assert np.load(out).shape == (3, 6, 8)
    assert "wrote 3 windows" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    (["--n", "2", "--condition", "1"], "the conditions lack covariates"),
    (["--n", "2"], "give --condition LABEL or --conditions FILE"),
    (["--n", "5", "--conditions", "{d}/c.npz"], "`--n` is 5 but"),
])
def test_sample_refuses_conditions_that_do_not_fit(run, capsys, extra, message):
    np.savez(run / "c.npz", labels=[2, 0, 1], covariates=np.zeros((3, 8, 1)))
    argv = ["sample", "--run", str(run / "run"), "--out", str(run / "bad.npy"),
            *[a.format(d=run) for a in extra]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (run / "bad.npy").exists()


def test_train_names_a_missing_condition_key(run, capsys):
    status = main(["train", "--data", str(run / "tuned.npz"), "--condition-key", "stim",
                   "--out", str(run / "other"), "--max-steps", "1", *TINY])
    err = capsys.readouterr().err
    assert status == 2 and "Key 'stim' (--condition-key) not found in file" in err
    assert err.count("\n") == 1 and not (run / "other").exists()


def test_evaluate_a_conditional_run(run, capsys):
    out = run / "eval"
    assert main(["evaluate", "--run", str(run / "run"), "--out", str(out), "--no-figures",
                 "--n-memorization", "50"]) == 0
    record = json.loads((out / "conditional.json").read_text())
    assert record["grouping"] == "label" and record["classes"] == [0, 1, 2]
    assert set(record["decoding"]) >= {"real_to_real", "real_to_generated", "generated_to_real"}
    assert -1 <= record["tuning_r"]["held_out"] <= 1  # the file has the ground-truth tuning
    report = (out / "report.md").read_text()
    assert "## Conditional generation" in report and "real -> generated" in report
    # the raster flags of an unconditional temporal run are refused, not ignored
    assert main(["evaluate", "--run", str(run / "run"), "--expected", "5",
                 "--out", str(run / "eval_bad")]) != 0
    assert "`--expected` does not apply to a conditional run" in capsys.readouterr().err
    assert not (run / "eval_bad").exists()


def test_export_and_rig_runtime_give_the_keras_spikes(run, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    from spikegan_tf.export import ConditionalSampler, Sampler
    from spikegan_tf.export.bundle import export_run
    from spikegan_tf.gan.estimator import SpikeGAN

    result = export_run(run / "run", tmp_path, "savedmodel,onnx", name="tuned")
    assert all(p.ok for p in result.parity.values())
    sampler = ConditionalSampler(result.files["onnx"], seed=5)
    assert sampler.classes == [0, 1, 2] and sampler.n_covariates == 1
    cov = np.random.default_rng(0).standard_normal((4, 8, 1)).astype(np.float32)
    labels = [2, 2, 0, 1]
    rig = np.stack([sampler.next(lab, c) for lab, c in zip(labels, cov, strict=True)])
    keras = SpikeGAN.load(run / "run").sample(4, seed=5, conditions={"labels": labels,
                                                                      "covariates": cov})
    np.testing.assert_array_equal(rig, keras)
    with pytest.raises(Exception, match="ConditionalSampler"):
        Sampler(result.files["onnx"])
    with pytest.raises(Exception, match="not one of the model's classes"):
        sampler.next(7, cov[0])
    with pytest.raises(Exception, match="conditional model exports to savedmodel and onnx"):
        export_run(run / "run", tmp_path, "tflite", name="tuned2")

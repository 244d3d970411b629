"""export_run / `spikegan export`: round trip per format, metadata, atomic writes, bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from spikegan_tf._version import __version__
from spikegan_tf.cli import main
from spikegan_tf.errors import ConfigError, RunDirError
from spikegan_tf.export import bundle
from spikegan_tf.export.bundle import export_run
from spikegan_tf.export.errors import ExportError
from spikegan_tf.export.metadata import ASSET_NAME
from spikegan_tf.export.parity import measure_parity, protocol_inputs
from spikegan_tf.gan import rundir
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.networks import build_generator
from spikegan_tf.gan.sampling import sample, sampling_streams

DATA = {"bin_width": 0.02, "n_neurons": 4, "n_bins": 8, "source": "hand-made",
        "firing_probability": {"mean": 0.1}}


def make_run(path: Path, seed: int = 0, **model_kw) -> Path:
    """A tiny run directory with random weights and biases."""
    cfg = ModelConfig(n_neurons=4, n_bins=8, num_features=8, **model_kw)
    g = build_generator(cfg)
    rng = np.random.default_rng(seed)
    g.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in g.get_weights()])
    rundir.save_model(g, path / rundir.GENERATOR_FILE)
    rundir.RunDir(path).write_config(cfg, data=dict(DATA), train={"seed": 1})
    return path


def leftovers(base: Path) -> list[str]:
    """Hidden temporary/old directories an export must never leave behind."""
    return sorted(p.name for p in base.iterdir() if p.name.startswith(".")) if base.exists() \
        else []


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    return export_run(run, out, "savedmodel,onnx,tflite", name="tiny", version=1)


@pytest.fixture(scope="module")
def keras_gen(run):
    return rundir.RunDir(run).load_generator()


def test_layout_and_manifest(exported):
    v = exported.path
    assert v.name == "1" and v.parent.name == "tiny"
    for rel in ("saved_model.pb", "variables", f"assets/{ASSET_NAME}", "model.onnx",
                "model.tflite", "export.json"):
        assert (v / rel).exists(), rel
    assert leftovers(v.parent) == []
    manifest = json.loads((v / "export.json").read_text())
    assert manifest["files"] == {"savedmodel": ".", "onnx": "model.onnx",
                                 "tflite": "model.tflite"}
    assert set(manifest["parity"]) == {"savedmodel", "onnx", "tflite"}
    for report in manifest["parity"].values():
        assert report["ok"] and report["probs_max_abs_diff"] <= 1e-5
        assert report["spikes_mismatched"] == 0 and report["spikes_compared"] > 0
    assert manifest["graph"] == "polyphase"
    # readable by a TF Serving process running as another user
    assert v.stat().st_mode & 0o055 == v.parent.stat().st_mode & 0o055


def test_savedmodel_metadata_asset(exported):
    meta = json.loads((exported.path / "assets" / ASSET_NAME).read_text())
    assert (meta["n_neurons"], meta["n_bins"], meta["latent_dim"]) == (4, 8, 128)
    assert meta["bin_width"] == 0.02
    assert meta["layout"] == "(batch, n_neurons, n_bins)"
    assert meta["training_data"] == DATA
    assert meta["package_version"] == __version__
    assert meta["model"]["num_features"] == 8


def test_savedmodel_signatures_round_trip(exported, keras_gen):
    loaded = tf.saved_model.load(str(exported.path))
    assert {"serving_default", "sample"} <= set(loaded.signatures)
    serve, samp = loaded.signatures["serving_default"], loaded.signatures["sample"]
    assert set(serve.structured_input_signature[1]) == {"z", "u"}
    assert set(samp.structured_input_signature[1]) == {"num_samples", "seed"}
    # serving_default with protocol draws reproduces spikegan_tf.gan.sampling.sample
    z, u = protocol_inputs(64, 128, 4, 8, seed=5)
    out = serve(z=tf.constant(z), u=tf.constant(u))
    assert out["spikes"].dtype == tf.uint8 and out["probs"].dtype == tf.float32
    ref = keras_gen(z).numpy()
    assert np.abs(out["probs"].numpy() - ref).max() <= 1e-5
    clear = np.abs(ref - u) > 1e-6
    expected = sample(keras_gen, 64, seed=5)
    assert (out["spikes"].numpy() == expected)[clear].all()
    # sample: stateless, same seed -> same spikes; oracle recomputes the draws
    a = samp(num_samples=tf.constant(6), seed=tf.constant(11, tf.int64))
    b = samp(num_samples=tf.constant(6), seed=tf.constant(11, tf.int64))
    c = samp(num_samples=tf.constant(6), seed=tf.constant(12, tf.int64))
    assert a["spikes"].shape == (6, 4, 8) and a["spikes"].dtype == tf.uint8
    np.testing.assert_array_equal(a["spikes"].numpy(), b["spikes"].numpy())
    assert not np.array_equal(a["probs"].numpy(), c["probs"].numpy())
    z2 = tf.random.stateless_normal([6, 128], tf.constant([11, 0], tf.int64))
    u2 = tf.random.stateless_uniform([6, 4, 8], tf.constant([11, 1], tf.int64))
    np.testing.assert_allclose(a["probs"].numpy(), keras_gen(z2).numpy(), atol=1e-6)
    p2 = keras_gen(z2).numpy()
    clear = np.abs(p2 - u2.numpy()) > 1e-6
    assert (a["spikes"].numpy() == (u2.numpy() < p2))[clear].all()


SAVED_MODEL_CLI_NAMES = ("signature_def['serving_default']", "signature_def['sample']",
                         "inputs['z']", "inputs['u']", "inputs['num_samples']", "inputs['seed']",
                         "outputs['probs']", "outputs['spikes']", "DT_UINT8")


def test_saved_model_cli_show_all_in_process(exported, capsys):
    # what `saved_model_cli show --all` prints, without a second TensorFlow import (the slow
    # test below runs the tool itself)
    from tensorflow.python.tools import saved_model_cli

    saved_model_cli._show_all(str(exported.path))
    text = capsys.readouterr().out
    for name in SAVED_MODEL_CLI_NAMES:
        assert name in text, name


@pytest.mark.slow  # a second TensorFlow import in a subprocess: ~5-15 s on 2 busy cores
def test_saved_model_cli_lists_both_signatures(exported):
    cli = Path(sys.executable).with_name("saved_model_cli")
    if not cli.exists():
        pytest.skip("saved_model_cli is not installed beside the interpreter")
    res = subprocess.run([str(cli), "show", "--dir", str(exported.path), "--all"],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert res.returncode == 0, res.stderr[-2000:]
    text = res.stdout
    assert "signature_def['serving_default']" in text and "signature_def['sample']" in text
    for name in SAVED_MODEL_CLI_NAMES:
        assert name in text, name


def test_onnx_file(exported, keras_gen):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    path = exported.files["onnx"]
    model = onnx.load(str(path))
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert [i.name for i in model.graph.input] == ["z", "u"]
    assert [o.name for o in model.graph.output] == ["probs", "spikes"]
    for value in [*model.graph.input, *model.graph.output]:
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert model.graph.output[1].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    props = {p.key: p.value for p in model.metadata_props}
    assert props["n_neurons"] == "4" and props["bin_width"] == "0.02"
    assert json.loads(props["spikegan"])["training_data"] == DATA
    ops = [n.op_type for n in model.graph.node]
    assert not {"ConvTranspose", "Conv", "Tile"} & set(ops)
    assert ops.count("Transpose") == 1  # only the final (bins, neurons) -> (neurons, bins)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    z, u = protocol_inputs(33, 128, 4, 8, seed=9)
    probs, spikes = session.run(None, {"z": z, "u": u})
    parity = measure_parity("onnx", keras_gen(z).numpy(), probs, spikes, u)
    assert parity.ok, parity.summary()


def test_tflite_file(exported, keras_gen):
    from spikegan_tf.export.tflite import tflite_runner

    runner = tflite_runner(exported.files["tflite"])
    z, u = protocol_inputs(5, 128, 4, 8, seed=3)
    out = runner(z=z, u=u)
    assert out["spikes"].dtype == np.uint8 and out["probs"].shape == (5, 4, 8)
    parity = measure_parity("tflite", keras_gen(z).numpy(), out["probs"], out["spikes"], u)
    assert parity.ok, parity.summary()


@pytest.mark.parametrize("model_kw", [{"upsampling": "transpose"},
                                      {"architecture": "fc", "num_units": 16, "fc_layers": 2}],
                         ids=["transpose", "fc"])
def test_other_architectures_onnx_round_trip(model_kw, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    run = make_run(tmp_path / "run", seed=4, **model_kw)
    result = export_run(run, tmp_path / "out", "onnx")
    assert result.path == tmp_path / "out" / "run" / "1"  # default name and version
    assert result.parity["onnx"].ok
    g = rundir.RunDir(run).load_generator()
    z_rng, u_rng = sampling_streams(21)
    z = z_rng.standard_normal((40, 128), dtype=np.float32)
    u = u_rng.random((40, 4, 8), dtype=np.float32)
    session = ort.InferenceSession(str(result.files["onnx"]),
                                   providers=["CPUExecutionProvider"])
    probs, spikes = session.run(None, {"z": z, "u": u})
    ref = g(z).numpy()
    assert np.abs(probs - ref).max() <= 1e-5
    clear = np.abs(ref - u) > 1e-6
    assert (spikes == sample(g, 40, seed=21))[clear].all()


# ---- bad input: clear errors, nothing half-written -------------------------------------


def test_run_without_generator(tmp_path):
    run = tmp_path / "run"
    rundir.RunDir(run).write_config(ModelConfig(n_neurons=4, n_bins=8), data=dict(DATA))
    with pytest.raises(RunDirError, match="generator.keras"):
        export_run(run, tmp_path / "out", "onnx", name="m")
    assert not (tmp_path / "out" / "m").exists() or not any((tmp_path / "out" / "m").iterdir())


def test_not_a_run_directory(tmp_path):
    with pytest.raises(RunDirError, match="config.json"):
        export_run(tmp_path, tmp_path / "out", "onnx")
    with pytest.raises(RunDirError, match="does not exist"):
        export_run(tmp_path / "missing", tmp_path / "out", "onnx")


def test_unknown_format_creates_nothing(run, tmp_path):
    with pytest.raises(ConfigError, match="Unknown export format 'pt'.*savedmodel, onnx, tflite"):
        export_run(run, tmp_path / "out", "onnx,pt")
    with pytest.raises(ConfigError, match="at least one"):
        export_run(run, tmp_path / "out", " , ")
    assert not (tmp_path / "out").exists()


def test_bad_name_and_version(run, tmp_path):
    with pytest.raises(ConfigError, match="`name`"):
        export_run(run, tmp_path / "out", "onnx", name="../evil")
    with pytest.raises(ConfigError, match="`version`"):
        export_run(run, tmp_path / "out", "onnx", version=0)


def test_unwritable_output(run, tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(RunDirError, match="is a file"):
        export_run(run, a_file, "onnx")
    with pytest.raises(RunDirError, match="Cannot create the output directory"):
        export_run(run, a_file / "sub", "onnx")
    assert a_file.read_text() == "x"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes through directory permissions")
def test_read_only_output_dir(run, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(RunDirError):
            export_run(run, ro, "onnx", name="m")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs a Linux sysfs")
def test_output_dir_that_cannot_be_created_even_as_root(run, tmp_path, capsys):
    # the read-only test above is skipped as root; nobody, root included, creates dirs in /sys
    with pytest.raises(RunDirError, match="Cannot create the output directory "
                                          "'/sys/spikegan-test-export'"):
        export_run(run, "/sys", "onnx", name="spikegan-test-export")
    assert not os.path.exists("/sys/spikegan-test-export")
    assert main(["export", "--run", str(run), "--format", "onnx", "--out", "/sys",
                 "--name", "spikegan-test-export"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("spikegan export: error: Cannot create the output directory")
    assert "\n" not in err and "Traceback" not in err


def test_existing_version_needs_overwrite(run, tmp_path):
    target = tmp_path / "out" / "m" / "3"
    target.mkdir(parents=True)
    (target / "keep.txt").write_text("old")
    with pytest.raises(RunDirError, match="already exists.*--overwrite"):
        export_run(run, tmp_path / "out", "onnx", name="m", version=3)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    # the default version is the next free one
    assert bundle._next_version(target.parent) == 4
    result = export_run(run, tmp_path / "out", "onnx", name="m", version=3, overwrite=True)
    assert sorted(p.name for p in result.path.iterdir()) == ["export.json", "model.onnx"]
    assert leftovers(target.parent) == []


def test_failure_midway_leaves_nothing(run, tmp_path, monkeypatch):
    from spikegan_tf.export import onnx_export

    def refuse(*args, **kwargs):
        raise ExportError("ONNX Runtime cannot run the exported model (simulated)")

    monkeypatch.setattr(onnx_export, "verify_onnx", refuse)
    base = tmp_path / "out" / "m"
    with pytest.raises(ExportError, match="simulated"):
        export_run(run, tmp_path / "out", "onnx", name="m", version=1)
    assert list(base.iterdir()) == []
    # an existing version survives a failed overwrite untouched
    (base / "1").mkdir()
    (base / "1" / "keep.txt").write_text("old")
    with pytest.raises(ExportError):
        export_run(run, tmp_path / "out", "onnx", name="m", version=1, overwrite=True)
    assert [p.name for p in base.iterdir()] == ["1"]
    assert (base / "1" / "keep.txt").read_text() == "old"


def test_parity_failure_is_an_error(run, tmp_path, monkeypatch):
    from spikegan_tf.export import onnx_export

    real = onnx_export.verify_onnx

    def shifted(path, ref_probs, z, u, conditions=None, **kw):  # probabilities off by 1e-3
        return real(path, ref_probs + np.float32(1e-3), z, u, conditions, **kw)

    monkeypatch.setattr(onnx_export, "verify_onnx", shifted)
    with pytest.raises(ExportError, match="does not match the Keras generator"):
        export_run(run, tmp_path / "out", "onnx", name="m")
    assert list((tmp_path / "out" / "m").iterdir()) == []


def test_measure_parity_counts_by_hand():
    ref = np.array([[[0.2, 0.5, 0.9, 0.4]]], np.float32)
    u = np.array([[[0.1, 0.5, 0.3, 0.8]]], np.float32)
    probs = ref + np.array([[[0, 2e-6, 0, 0]]], np.float32)
    spikes = np.array([[[1, 1, 0, 0]]], np.uint8)  # index 2 wrong, index 1 ambiguous (p == u)
    p = measure_parity("x", ref, probs, spikes, u)
    assert p.spikes_compared == 3 and p.spikes_mismatched == 1 and not p.ok
    assert abs(p.probs_max_abs_diff - 2e-6) < 1e-7


# ---- CLI ------------------------------------------------------------------------------


def test_cli_export_prints_files_and_parity(run, tmp_path, capsys):
    status = main(["export", "--run", str(run), "--format", "onnx", "--out",
                   str(tmp_path / "out"), "--name", "cli", "--version", "2"])
    out = capsys.readouterr().out
    assert status == 0
    assert (tmp_path / "out" / "cli" / "2" / "model.onnx").is_file()
    assert "wrote" in out and "model.onnx" in out and "export.json" in out
    assert "onnx: probs max |diff|" in out and "spikes 0/" in out


def test_cli_bad_input_is_one_line(run, tmp_path, capsys):
    assert main(["export", "--run", str(run), "--format", "onnx,xyz", "--out",
                 str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("spikegan export: error: Unknown export format 'xyz'")
    assert "\n" not in err and "Traceback" not in err
    (tmp_path / "m" / "1").mkdir(parents=True)
    assert main(["export", "--run", str(run), "--format", "onnx", "--out", str(tmp_path),
                 "--name", "m", "--version", "1"]) == 2
    assert "already exists" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["export", "--run", str(empty), "--out", str(tmp_path)]) == 2
    assert "no config.json" in capsys.readouterr().err


def test_tmp_dirs_are_hidden_from_tf_serving(run, tmp_path, monkeypatch):
    # TF Serving loads integer-named version directories only: while the export is being
    # written (and verified) its directory must be hidden and must not parse as a version
    from spikegan_tf.export import onnx_export

    real = onnx_export.verify_onnx
    seen = []

    def look_then_verify(*args, **kwargs):
        seen.append(sorted(p.name for p in (tmp_path / "m").iterdir()))
        return real(*args, **kwargs)

    monkeypatch.setattr(onnx_export, "verify_onnx", look_then_verify)
    export_run(run, tmp_path, "onnx", name="m", version=7)
    assert len(seen) == 1 and len(seen[0]) == 1, seen
    assert seen[0][0].startswith(".tmp-7-") and not seen[0][0].isdigit()
    assert [p.name for p in (tmp_path / "m").iterdir()] == ["7"]
    shutil.rmtree(tmp_path / "m")

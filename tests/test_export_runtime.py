"""The TF-free rig runtime reproduces spikegan_tf.gan.sampling.sample for the same seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from spikegan_tf.errors import ConfigError, RunDirError, SpikeGANError
from spikegan_tf.gan import rundir
from spikegan_tf.gan.sampling import sample, sampling_streams

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from spikegan_tf.export.runtime import Sampler  # noqa: E402
from spikegan_tf.gan.config import ModelConfig  # noqa: E402
from spikegan_tf.gan.networks import build_generator  # noqa: E402


def make_run(path: Path, seed: int) -> Path:
    """A tiny run directory with random weights and biases."""
    cfg = ModelConfig(n_neurons=4, n_bins=8, num_features=8)
    g = build_generator(cfg)
    rng = np.random.default_rng(seed)
    g.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in g.get_weights()])
    rundir.save_model(g, path / rundir.GENERATOR_FILE)
    rundir.RunDir(path).write_config(cfg, data={"bin_width": 0.02, "source": "hand-made"})
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from spikegan_tf.export.bundle import export_run

    run = make_run(tmp_path_factory.mktemp("run"), seed=8)
    result = export_run(run, tmp_path_factory.mktemp("models"), "onnx", name="rig")
    return run, result.files["onnx"]


@pytest.fixture(scope="module")
def keras_gen(exported):
    return rundir.RunDir(exported[0]).load_generator()


def test_same_spikes_as_keras_sample(exported, keras_gen):
    _, path = exported
    n, seed = 300, 2024
    spikes, probs = Sampler(path, seed=seed).sample(n, return_probs=True)
    assert spikes.shape == (n, 4, 8) and spikes.dtype == np.uint8
    expected = sample(keras_gen, n, seed=seed)
    # the protocol's u, recomputed independently of the runtime
    z_rng, u_rng = sampling_streams(seed)
    z = z_rng.standard_normal((n, 128), dtype=np.float32)
    u = u_rng.random((n, 4, 8), dtype=np.float32)
    ref = keras_gen(z).numpy()
    assert np.abs(probs - ref).max() <= 1e-5
    clear = np.abs(ref - u) > 1e-6
    assert clear.mean() > 0.99
    np.testing.assert_array_equal(spikes[clear], expected[clear])
    assert 0 < spikes.mean() < 1  # not a degenerate all-0/all-1 model


def test_sessions_continue_and_chunk_independently(exported):
    _, path = exported
    fresh = Sampler(path, seed=5).sample(12)
    s = Sampler(path, seed=5, chunk_size=4)
    np.testing.assert_array_equal(np.concatenate([s.sample(3), s.sample(9)]), fresh)
    assert s.windows_drawn == 12
    stream = Sampler(path, seed=5).stream()
    first = [next(stream) for _ in range(4)]
    assert all(w.shape == (1, 4, 8) for w in first)
    np.testing.assert_array_equal(np.concatenate(first), fresh[:4])
    pairs = Sampler(path, seed=5).stream(batch=3)
    np.testing.assert_array_equal(np.concatenate([next(pairs), next(pairs)]), fresh[:6])
    # stream() and sample() share the session's random streams
    mixed = Sampler(path, seed=5)
    windows = mixed.stream()
    got = [next(windows), mixed.sample(2), next(windows)]
    np.testing.assert_array_equal(np.concatenate(got), fresh[:4])
    assert mixed.windows_drawn == 4


def test_seed_recorded_and_replayed(exported):
    _, path = exported
    s = Sampler(path)  # seed drawn from the OS
    assert isinstance(s.seed, int) and s.seed >= 0
    first = s.sample(7)
    record = s.record()
    assert record["seed"] == s.seed and record["windows_drawn"] == 7
    assert record["model"] == str(path) and len(record["sha256"]) == 64
    replay = Sampler(record["model"], seed=record["seed"])
    np.testing.assert_array_equal(replay.sample(7), first)
    s.reset()
    np.testing.assert_array_equal(s.sample(7), first)
    assert not np.array_equal(Sampler(path, seed=s.seed + 1).sample(7), first)
    assert f"seed={s.seed}" in repr(s)


def test_metadata_from_the_file(exported):
    s = Sampler(exported[1], seed=0)
    assert (s.n_neurons, s.n_bins, s.latent_dim, s.bin_width) == (4, 8, 128, 0.02)
    assert s.metadata["training_data"]["source"] == "hand-made"
    assert s.metadata["layout"] == "(batch, n_neurons, n_bins)"


def test_run_checks_shapes(exported):
    s = Sampler(exported[1], seed=0)
    probs, spikes = s.run(np.zeros((2, 128), np.float32), np.ones((2, 4, 8), np.float32))
    assert (spikes == 0).all() and probs.shape == (2, 4, 8)  # u = 1 never spikes
    with pytest.raises(SpikeGANError, match=r"`z` must be \(n, 128\)"):
        s.run(np.zeros((2, 127), np.float32), np.ones((2, 4, 8), np.float32))
    with pytest.raises(ConfigError, match="`n`"):
        s.sample(0)
    with pytest.raises(ConfigError, match="`seed`"):
        Sampler(exported[1], seed=-1)


def test_bad_files(exported, tmp_path):
    with pytest.raises(RunDirError, match="does not exist"):
        Sampler(tmp_path / "nope.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(RunDirError, match="cannot load"):
        Sampler(junk)
    model = onnx.load(str(exported[1]))
    del model.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(model, str(bare))
    with pytest.raises(RunDirError, match="no 'spikegan' metadata"):
        Sampler(bare)


def test_runtime_needs_no_tensorflow(exported, keras_gen, tmp_path):
    """Import, load and sample in a fresh interpreter; TensorFlow must stay unimported, and
    the windows must be those of this process, every bit."""
    out = tmp_path / "fresh.npy"
    code = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        from spikegan_tf.export.runtime import Sampler
        import spikegan_tf.export
        s = Sampler({str(exported[1])!r}, seed=3)
        np.save({str(out)!r}, s.sample(200))
        print(json.dumps({{"tf": "tensorflow" in sys.modules, "keras": "keras" in sys.modules}}))
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report["tf"] is False and report["keras"] is False
    fresh = np.load(out)
    assert fresh.shape == (200, 4, 8) and fresh.dtype == np.uint8
    np.testing.assert_array_equal(fresh, Sampler(exported[1], seed=3).sample(200))
    # ... and those of the Keras generator wherever u is not within float error of p
    z_rng, u_rng = sampling_streams(3)
    p = keras_gen(z_rng.standard_normal((200, 128), dtype=np.float32)).numpy()
    clear = np.abs(p - u_rng.random((200, 4, 8), dtype=np.float32)) > 1e-6
    np.testing.assert_array_equal(fresh[clear], sample(keras_gen, 200, seed=3)[clear])


def _copy_sources(dest: Path) -> Path:
    import shutil

    root = Path(__file__).resolve().parents[1]
    for name in ("setup.cfg", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(root / name, dest / name)
    for name in ("spikegan_tf", "export"):
        shutil.copytree(root / name, dest / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root


def _expected_packages(root: Path) -> set[str]:
    """Every package directory on disk, as installed (export/ is spikegan_tf/export/)."""
    found = set()
    for init in [*root.glob("spikegan_tf/**/__init__.py"), *root.glob("export/**/__init__.py")]:
        rel = init.parent.relative_to(root)
        if rel.parts[0] == "export":
            rel = Path("spikegan_tf", *rel.parts)
        found.add(rel.as_posix())
    return found


def test_the_build_installs_the_exporters_as_spikegan_tf_export(tmp_path):
    """What goes into the wheel (setuptools' build_py, as bdist_wheel runs it), cheaply."""
    src = tmp_path / "src"
    src.mkdir()
    root = _copy_sources(src)
    lib = tmp_path / "lib"
    res = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()",
                          "build_py", "--build-lib", str(lib)], cwd=src, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (lib / "spikegan_tf" / "export" / "runtime.py").is_file()
    assert not (lib / "export").exists()  # never a generic top-level `export` package
    built = {p.parent.relative_to(lib).as_posix() for p in lib.glob("**/__init__.py")}
    assert built == _expected_packages(root)
    shipped = lib / "spikegan_tf" / "gan" / "pretrained" / "retina50"  # package data, not only code
    assert sorted(p.name for p in shipped.iterdir()) == ["README.md", "config.json",
                                                         "generator.keras"]


@pytest.mark.slow  # an isolated build environment: ~20-60 s
def test_the_wheel_contains_spikegan_tf_export(tmp_path):
    import zipfile

    src = tmp_path / "src"
    src.mkdir()
    root = _copy_sources(src)
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                          str(tmp_path / "dist"), str(src)], capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("spikegan_tf-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "spikegan_tf/export/runtime.py" in names
    assert not any(n.startswith("export/") for n in names)
    assert {f"{p}/__init__.py" for p in _expected_packages(root)} <= names

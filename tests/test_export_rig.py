"""Lab rigs: the prefetching stream, lighter-precision exports, the latency report, sessions."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from spikegan_tf.errors import ConfigError, SpikeGANError
from spikegan_tf.gan import rundir

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from spikegan_tf.cli import main  # noqa: E402
from spikegan_tf.export.errors import ExportError  # noqa: E402
from spikegan_tf.export.runtime import Sampler  # noqa: E402
from spikegan_tf.export.stream import PrefetchStream  # noqa: E402
from spikegan_tf.gan.config import ModelConfig  # noqa: E402
from spikegan_tf.gan.networks import build_generator  # noqa: E402

N_NEURONS, N_BINS = 4, 8


@pytest.fixture(scope="module")
def data():
    """Correlated training raster (a shared gain), saved where the run says it came from."""
    rng = np.random.default_rng(0)
    gain = np.repeat(rng.random(3000 // 10) < 0.3, 10)[:, None]
    return (rng.random((3000, N_NEURONS)) < np.where(gain, 0.4, 0.1)).astype(np.uint8)


@pytest.fixture(scope="module")
def run(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("run")
    np.save(path / "train.npy", data)
    cfg = ModelConfig(n_neurons=N_NEURONS, n_bins=N_BINS, num_features=8)
    g = build_generator(cfg)
    rng = np.random.default_rng(3)
    g.set_weights([rng.normal(0, 0.2, w.shape).astype(np.float32) for w in g.get_weights()])
    rundir.save_model(g, path / rundir.GENERATOR_FILE)
    rundir.RunDir(path).write_config(cfg, data={"bin_width": 0.02, "source": str(path / "train.npy"),
                                         "key": None, "val_fraction": 0.2, "stride": 1})
    return path


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    from spikegan_tf.export.bundle import export_run

    return export_run(run, tmp_path_factory.mktemp("models"), "onnx", name="rig",
                      precision="float16,int8", parity_statistics_windows=2048)


# ------------------------------------------------------------------ the prefetching stream


def _counting_producer(n_neurons=2, n_bins=3):
    """``produce(m)`` whose windows carry their global index, and a call counter."""
    made = {"windows": 0, "calls": 0}

    def produce(m):
        start = made["windows"]
        made["windows"] += m
        made["calls"] += 1
        idx = np.arange(start, start + m, dtype=np.int64) % 251
        return np.broadcast_to(idx[:, None, None], (m, n_neurons, n_bins)).astype(np.uint8)

    return produce, made


def test_prefetch_stream_hands_out_in_order_and_stays_bounded():
    produce, made = _counting_producer()
    with PrefetchStream(produce, batch=3, prefetch=40, chunk=10, on_close=None) as stream:
        stream.fill(timeout=10)
        time.sleep(0.05)  # a producer that ignored the bound would keep going
        # chunk rounds to 9 (a multiple of batch); the queue holds 40 // 9 = 4 chunks, the
        # producer at most one more in hand
        assert made["windows"] <= 9 * 5
        assert stream.buffered == 9 * 4
        items = [next(stream) for _ in range(50)]
        assert all(w.shape == (3, 2, 3) and not w.flags.writeable for w in items)
        got = np.concatenate(items)[:, 0, 0]
        np.testing.assert_array_equal(got, np.arange(150) % 251)
        assert stream.handed_out == 150
    assert not stream._state.thread.is_alive()
    with pytest.raises(StopIteration):
        next(stream)


def test_prefetch_stream_counts_underruns_and_reports_producer_errors():
    release = threading.Event()
    produce, _ = _counting_producer()

    def slow(m):
        release.wait(5)
        return produce(m)

    stream = PrefetchStream(slow, batch=1, prefetch=4, chunk=2)
    threading.Timer(0.05, release.set).start()
    next(stream)  # the buffer was empty: the consumer had to wait
    assert stream.underruns == 1
    next(stream)
    assert stream.underruns == 1
    stream.close()

    def broken(m):
        raise ValueError("disk on fire")

    with PrefetchStream(broken, batch=1, prefetch=4, chunk=2) as bad:
        with pytest.raises(SpikeGANError, match="producer failed: disk on fire"):
            next(bad)


def test_sampler_prefetch_gives_the_session_windows(exported):
    path = exported.files["onnx"]
    reference = Sampler(path, seed=11).sample(700)
    s = Sampler(path, seed=11)
    with s.stream(prefetch=64, chunk=16) as windows:
        first = np.concatenate([next(windows) for _ in range(100)])
        assert s.windows_drawn == 100 and s.record()["windows_drawn"] == 100
        with pytest.raises(SpikeGANError, match="prefetching stream of this sampler is open"):
            s.sample(1)
    np.testing.assert_array_equal(first, reference[:100])
    # the producer drew ahead; the session continues at the first window not handed out
    np.testing.assert_array_equal(s.sample(50), reference[100:150])
    with s.stream(batch=5, prefetch=100) as windows:
        pairs = np.concatenate([next(windows) for _ in range(20)])
    np.testing.assert_array_equal(pairs, reference[150:250])
    on_demand = s.stream()
    np.testing.assert_array_equal(next(on_demand)[0], reference[250])
    assert s.windows_drawn == 251


def test_sampler_prefetch_options_are_checked(exported):
    s = Sampler(exported.files["onnx"], seed=0)
    with pytest.raises(ConfigError, match="`prefetch`"):
        s.stream(prefetch=0)
    with pytest.raises(SpikeGANError, match="`pin` must be a non-empty set"):
        s.stream(prefetch=8, pin={10_000})
    with s.stream(prefetch=8, pin={sorted(os.sched_getaffinity(0))[0]}) as windows:
        assert next(windows).shape == (1, N_NEURONS, N_BINS)


def test_paused_stream_uses_no_cpu(exported):
    s = Sampler(exported.files["onnx"], seed=0)
    with s.stream(prefetch=256) as windows:
        windows.fill(timeout=10)
        time.sleep(0.05)
        cpu = time.process_time()
        time.sleep(0.5)
        used = time.process_time() - cpu
    assert used < 0.05  # the producer blocks on the full buffer instead of polling


def test_session_options_do_not_spin_by_default():
    from spikegan_tf.export.runtime import session_options

    key = "session.intra_op.allow_spinning"
    assert session_options(2).get_session_config_entry(key) == "0"
    assert session_options(2, spin=True).get_session_config_entry(key) == "1"


# ------------------------------------------------------------------ lighter precision


def test_training_floor_of_identical_sets_is_zero(data):
    from spikegan_tf.export.precision import training_floor

    floor = training_floor(data[:2000], data[:2000], N_BINS)
    assert set(floor) == {"firing_probability", "covariance", "lag1_covariance",
                          "spike_count_distribution", "autocorrelogram", "time_course"}
    assert all(v == 0.0 for v in floor.values())
    assert all(v > 0 for v in training_floor(data[:2000], data[2000:], N_BINS).values())


def test_precision_variants_are_written_checked_and_tagged(exported):
    d = exported.path
    assert {p.name for p in d.iterdir()} >= {"model.onnx", "model-float16.onnx",
                                             "model-int8.onnx", "export.json"}
    manifest = json.loads((d / "export.json").read_text())
    for prec in ("float16", "int8"):
        par = manifest["statistical_parity"][prec]
        assert par["ok"] and max(par["ratios"].values()) <= 0.5 and par["n_windows"] == 2048
        assert all(v > 0 for v in par["floor"].values())
        s = Sampler(d / f"model-{prec}.onnx", seed=4)
        assert s.metadata["precision"] == prec
        x = s.sample(300)
        ref = Sampler(d / "model.onnx", seed=4).sample(300)
        assert x.shape == ref.shape and 0 < np.mean(x != ref) < 0.05  # close, not identical
    assert (d / "model-int8.onnx").stat().st_size < (d / "model.onnx").stat().st_size / 2
    assert "statistical parity with the float32 ONNX model" in "\n".join(exported.lines())


def test_statistical_parity_rejects_a_different_model(run, exported, tmp_path, monkeypatch):
    """A variant that is not the same model fails the check, and nothing is written."""
    from spikegan_tf.export import bundle, precision

    other = build_generator(ModelConfig(n_neurons=N_NEURONS, n_bins=N_BINS, num_features=8))
    other_run = tmp_path / "other"
    other_run.mkdir()
    rundir.save_model(other, other_run / rundir.GENERATOR_FILE)
    rundir.RunDir(other_run).write_config(ModelConfig(n_neurons=N_NEURONS, n_bins=N_BINS,
                                               num_features=8), data={"source": "x"})
    stranger = bundle.export_run(other_run, tmp_path / "m", "onnx").files["onnx"]

    def convert(src, dst, prec):
        Path(dst).write_bytes(stranger.read_bytes())
        return Path(dst)

    monkeypatch.setattr(precision, "convert", convert)
    with pytest.raises(ExportError, match="int8 model is not statistically equivalent"):
        bundle.export_run(run, tmp_path / "out", "onnx", name="x", precision="int8",
                          parity_statistics_windows=512)
    assert list((tmp_path / "out" / "x").iterdir()) == []


def test_precision_needs_onnx_and_readable_floor_data(run, tmp_path):
    from spikegan_tf.export.bundle import export_run

    with pytest.raises(ConfigError, match="add onnx to `formats`"):
        export_run(run, tmp_path, "savedmodel", precision="int8")
    with pytest.raises(ConfigError, match="Unknown `precision` 'bf16'"):
        export_run(run, tmp_path, "onnx", precision="bf16")
    moved = tmp_path / "moved"
    moved.mkdir()
    for f in ("config.json", rundir.GENERATOR_FILE):
        (moved / f).write_bytes((run / f).read_bytes())
    config = json.loads((moved / "config.json").read_text())
    config["data"]["source"] = str(tmp_path / "gone.npy")
    (moved / "config.json").write_text(json.dumps(config))
    with pytest.raises(SpikeGANError, match=r"training data '.*gone.npy' is not a readable "
                                            r"file: pass --data FILE"):
        export_run(moved, tmp_path / "out", "onnx", precision="int8")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.onnx"))
    code = main(["export", "--run", str(moved), "--out", str(tmp_path / "out2"), "--format",
                 "onnx", "--precision", "float16", "--data", str(run / "train.npy")])
    assert code == 0 and (tmp_path / "out2" / "moved" / "1" / "model-float16.onnx").is_file()


def test_cli_precision_errors_name_the_flags(run, tmp_path, capsys):
    assert main(["export", "--run", str(run), "--out", str(tmp_path), "--format", "savedmodel",
                 "--precision", "int8"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "`--precision` int8" in err and "`--format`" in err
    assert main(["export", "--run", str(run), "--out", str(tmp_path), "--data", "x.npy"]) == 2
    assert "add --precision" in capsys.readouterr().err


# ------------------------------------------------------------------ the latency report


def test_latency_report(exported, tmp_path, capsys):
    from spikegan_tf.export.latency import measure_latency

    report = measure_latency(exported.files["onnx"], seconds=0.2, period_ms=1.0, prefetch=512,
                             pause_s=0.2)
    on_demand, stream = report.modes["on-demand"], report.modes["stream"]
    assert on_demand.ticks == stream.ticks == 200
    assert stream.underruns == 0  # 200 ticks from a full buffer of 512
    for m in (on_demand, stream):
        assert 0 < m.p50_us <= m.p99_us <= m.p999_us <= m.max_us
        assert m.over_budget["10ms"] <= m.over_budget["1ms"] <= m.ticks
        assert (m.over_budget["1ms"] == 0) == (m.max_us <= 1000)
    assert 0 <= report.idle_cpu_fraction < 0.1
    assert report.machine["logical_cpus"] == os.cpu_count()
    # the machine calibration that makes reports of different machines comparable
    assert report.machine["matmul_float32"]["library"] == "numpy"
    assert report.machine["matmul_float32"]["gflop_per_s"] > 0
    out = tmp_path / "lat.json"
    assert main(["latency", str(exported.files["onnx"]), "--seconds", "0.05",
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "budgets 1 ms and 10 ms" in printed and "underruns" in printed
    assert "float32 matmul" in printed
    assert json.loads(out.read_text())["machine"]["matmul_float32"]["gflop_per_s"] > 0
    assert json.loads(out.read_text())["modes"]["stream"]["ticks"] == 50
    assert main(["latency", str(tmp_path / "none.onnx"), "--seconds", "1"]) == 2
    assert main(["latency", str(exported.files["onnx"]), "--json",
                 str(tmp_path / "no" / "x.json")]) == 2
    assert "directory of `--json` does not exist" in capsys.readouterr().err


# ------------------------------------------------------------------ pre-generated sessions


def test_session_file_for_rigs_in_any_language(exported, run, tmp_path, capsys):
    out = tmp_path / "session.npy"
    assert main(["sample", "--model", str(exported.files["onnx"]), "--n", "300", "--seed", "9",
                 "--out", str(out), "--session", "--chunk-size", "64"]) == 0
    record = json.loads(out.with_suffix(".json").read_text())
    windows = np.load(out)
    np.testing.assert_array_equal(windows, Sampler(exported.files["onnx"], seed=9).sample(300))
    assert record["shape"] == [300, N_NEURONS, N_BINS] and record["seed"] == 9
    raw = out.read_bytes()[record["data_offset"]:]  # what a C++ rig memory-maps
    i, j, k = 123, 2, 5
    assert raw[(i * N_NEURONS + j) * N_BINS + k] == windows[i, j, k]
    assert len(raw) == windows.size
    import hashlib

    assert record["data_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert record["source"]["kind"] == "onnx" and len(record["source"]["sha256"]) == 64
    # the replay command regenerates the same bytes
    replay = shlex.split(record["replay"])
    assert replay[:2] == ["spikegan", "sample"]
    out.unlink()
    assert main(replay[1:]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["data_sha256"] == record[
        "data_sha256"]
    assert main(["sample", "--model", str(exported.files["onnx"]), "--n", "3", "--out",
                 str(tmp_path / "c.npy"), "--calibrate"]) == 2
    assert "not to --baseline or --model" in capsys.readouterr().err


def test_rig_modules_need_no_tensorflow(exported, tmp_path):
    """The stream, the latency report and a float16 model in a fresh interpreter."""
    code = textwrap.dedent(f"""
        import json, sys
        from spikegan_tf.export.runtime import Sampler
        from spikegan_tf.export.latency import measure_latency
        s = Sampler({str(exported.path / 'model-float16.onnx')!r}, seed=1)
        with s.stream(prefetch=32) as w:
            next(w)
        measure_latency(s, seconds=0.02, pause_s=0.01)
        print(json.dumps({{"tf": "tensorflow" in sys.modules, "keras": "keras" in sys.modules}}))
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout.strip().splitlines()[-1]) == {"tf": False, "keras": False}


def test_cpp_session_player_reads_what_python_wrote(exported, tmp_path):
    """examples/rig_cpp/session_player.cpp, compiled, against numpy on the same session."""
    import shutil

    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    src = Path(__file__).resolve().parents[1] / "examples" / "rig_cpp" / "session_player.cpp"
    exe = tmp_path / "player"
    subprocess.run([cxx, "-O2", "-std=c++17", "-o", str(exe), str(src)], check=True,
                   timeout=120)
    out = tmp_path / "s.npy"
    assert main(["sample", "--model", str(exported.files["onnx"]), "--n", "200", "--seed", "2",
                 "--out", str(out), "--session"]) == 0
    rec = json.loads(out.with_suffix(".json").read_text())
    res = subprocess.run([str(exe), str(out), str(rec["data_offset"]),
                          *(str(d) for d in rec["shape"][1:]), "150", "50"],
                         capture_output=True, text=True, timeout=30, check=True)
    counts = [int(line.split()[1]) for line in res.stdout.splitlines()]
    np.testing.assert_array_equal(counts, np.load(out)[150:200].sum(axis=(1, 2)))
    bad = subprocess.run([str(exe), str(out), str(rec["data_offset"]), "4", "8", "199", "2"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "holds 200 windows" in bad.stderr


@pytest.mark.parametrize("argv", [
    ["latency", "{model}", "--seconds", "0.02"],
    ["sample", "--model", "{model}", "--n", "20", "--out", "{d}/s.npy", "--session"],
    ["simulate", "states", "--time-bins", "500", "--neurons", "3", "--out", "{d}/st.npz"],
])
def test_rig_commands_never_import_tensorflow(exported, tmp_path, argv):
    argv = [a.format(model=exported.files["onnx"], d=tmp_path) for a in argv]
    code = ("import sys\nfrom spikegan_tf.cli import main\nstatus = main(sys.argv[1:])\n"
            "print(status, 'tensorflow' in sys.modules, 'keras' in sys.modules)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    res = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                         timeout=120, env=env)
    assert res.stdout.split()[-3:] == ["0", "False", "False"], res.stderr[-2000:]

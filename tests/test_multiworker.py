"""Multi-machine training with ``MultiWorkerMirroredStrategy`` (issue 17, item 5).

The slow test starts 2 worker processes on localhost (``spikegan train --strategy
multiworker``, one ``TF_CONFIG`` each) and checks that their step, and a resumed
second step, equal the single-process steps on the same global batch, with only
the chief writing the run directory. The cheap tests check the chief decision
and ``TF_CONFIG`` validation exactly, the CLI's one-line error, and -- in this
process, with a one-worker ``MultiWorkerMirroredStrategy`` -- that the strategy
trains like the default one and that a non-chief writes nothing.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from spikegan_tf.cli import main
from spikegan_tf.errors import ConfigError
from spikegan_tf.gan import multiworker
from spikegan_tf.gan.multiworker import is_chief, read_tf_config

TINY = ["--num-features", "8", "--latent-dim", "16", "--batch-size", "16", "--n-critic", "2",
        "--seed", "3", "--eval-every", "0", "--log-every", "1", "--quiet"]


def _tf_config(cluster, task_type="worker", index=0):
    return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": task_type,
                                                                  "index": index}})}


# --------------------------------------------------------------------------- pure logic


@pytest.mark.parametrize("task_type, task_id, has_chief, expected", [
    (None, None, False, True),       # no cluster: one machine
    ("chief", 0, True, True),
    ("worker", 0, False, True),      # worker 0 of a cluster without a chief
    ("worker", 0, True, False),      # ... but not when there is a chief
    ("worker", 1, False, False),
    ("worker", 3, True, False),
    ("evaluator", 0, False, False),
    ("ps", 0, False, False),
])
def test_is_chief(task_type, task_id, has_chief, expected):
    assert is_chief(task_type, task_id, has_chief) is expected


def test_read_tf_config_roles():
    workers = {"worker": ["a:1", "b:2", "c:3"]}
    assert read_tf_config(_tf_config(workers, index=0)).is_chief
    role = read_tf_config(_tf_config(workers, index=2))
    assert (role.task_type, role.task_index, role.n_workers, role.is_chief) == ("worker", 2, 3,
                                                                               False)
    with_chief = {"chief": ["host0:2222"], "worker": ["host1:2222"]}
    assert read_tf_config(_tf_config(with_chief, "chief", 0)).is_chief
    role = read_tf_config(_tf_config(with_chief, "worker", 0))
    assert not role.is_chief and role.n_workers == 2
    assert str(role) == "worker 0 of 2 workers (not the chief)"


_GOOD = {"worker": ["a:1", "b:2"]}


@pytest.mark.parametrize("environ, message", [
    ({}, "The environment variable TF_CONFIG is not set"),
    ({"TF_CONFIG": "  "}, "TF_CONFIG is not set"),
    ({"TF_CONFIG": "{cluster: 1}"}, "TF_CONFIG is not valid JSON"),
    ({"TF_CONFIG": "[1, 2]"}, "TF_CONFIG must be a JSON object. Received list"),
    ({"TF_CONFIG": json.dumps({"task": {"type": "worker", "index": 0}})},
     'TF_CONFIG has no "cluster"'),
    (_tf_config({"worker": ["a:1"], "ps": ["b:2"]}), "has the job 'ps'"),
    (_tf_config({"worker": []}), "the 'worker' job must be a non-empty list"),
    (_tf_config({"worker": ["a"]}), "\"host:port\" addresses. Received ['a']"),
    (_tf_config({"chief": ["a:1", "b:2"]}, "chief"), "at most one chief"),
    ({"TF_CONFIG": json.dumps({"cluster": _GOOD})}, 'TF_CONFIG has no "task"'),
    (_tf_config(_GOOD, "chief"), "the task type 'chief' is not a job of the cluster"),
    (_tf_config(_GOOD, index=2), "task index must be an integer in [0, 1]"),
    (_tf_config(_GOOD, index=-1), "Received -1"),
    (_tf_config(_GOOD, index="0"), "Received '0'"),
    (_tf_config(_GOOD, index=True), "Received True"),
])
def test_read_tf_config_errors_are_one_line(environ, message):
    with pytest.raises(ConfigError) as info:
        read_tf_config(environ)
    text = str(info.value)
    assert message in text and "\n" not in text
    assert "TF_CONFIG" in text


def test_multiworker_strategy_refuses_a_missing_tf_config_before_building():
    with pytest.raises(ConfigError, match="TF_CONFIG is not set"):
        multiworker.multi_worker_strategy({})


def test_cli_multiworker_without_tf_config_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    np.save(tmp_path / "w.npy", np.zeros((32, 4, 8), np.uint8))
    status = main(["train", "--data", str(tmp_path / "w.npy"), "--out", str(tmp_path / "run"),
                   "--strategy", "multiworker", *TINY])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("spikegan train: error: The environment variable TF_CONFIG is not set")
    assert not (tmp_path / "run").exists()
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["localhost:1"]}, "task": {}}')
    assert main(["train", "--data", str(tmp_path / "w.npy"), "--out", str(tmp_path / "run"),
                 "--strategy", "multiworker", *TINY]) == 2
    assert 'TF_CONFIG has no "task"' in capsys.readouterr().err


# --------------------------------------------------------------------------- in this process


@pytest.fixture(scope="module")
def local_multiworker():
    """A one-worker MultiWorkerMirroredStrategy (no TF_CONFIG: this process alone)."""
    import tensorflow as tf

    if os.environ.get("TF_CONFIG"):
        pytest.skip("TF_CONFIG is set in the test environment")
    return tf.distribute.MultiWorkerMirroredStrategy()


def _windows():
    return (np.random.default_rng(0).random((128, 4, 8)) < 0.3).astype(np.uint8)


def test_spikegan_fit_takes_a_multiworker_strategy(local_multiworker):
    from spikegan_tf.gan.estimator import SpikeGAN

    config = dict(n_neurons=4, n_bins=8, num_features=8, latent_dim=16)
    kwargs = dict(steps=1, seed=3, verbose=0, val_fraction=0.0, batch_size=16, n_critic=2,
                  eval_every=0)
    assert multiworker.is_chief_of(local_multiworker)
    assert multiworker.worker_count(local_multiworker) == 1
    multi = SpikeGAN(**config).fit(_windows(), strategy=local_multiworker, **kwargs)
    single = SpikeGAN(**config).fit(_windows(), **kwargs)
    assert multi.trainer_.strategy is local_multiworker and multi.trainer_.is_chief
    for a, b in zip(single.generator_.weights + single.critic_.weights,
                    multi.generator_.weights + multi.critic_.weights, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-6)


def test_stop_agreement_on_one_worker(local_multiworker):
    agree = multiworker.stop_agreement(local_multiworker)
    assert agree(None) is None
    assert agree("SIGTERM") == "SIGTERM" and agree("max_minutes") == "max_minutes"


def test_a_non_chief_writes_nothing_and_trains_the_same(local_multiworker, tmp_path,
                                                        monkeypatch):
    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.train_config import TrainConfig
    from spikegan_tf.gan.trainer import Trainer

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    model = ModelConfig(n_neurons=4, n_bins=8, num_features=8, latent_dim=16)
    config = TrainConfig(batch_size=16, n_critic=2, max_steps=2, eval_every=0, log_every=1,
                         checkpoint_every=1, seed=3)
    data = prepare_data(_windows(), val_fraction=0.0)
    chief = Trainer(model, config, run_dir=tmp_path / "chief", strategy=local_multiworker,
                    verbose=0)
    chief.fit(data)
    worker = Trainer(model, config, run_dir=tmp_path / "worker", strategy=local_multiworker,
                     verbose=0)
    worker.is_chief = False  # as worker 1 of a cluster would be
    saves = []
    real_save = multiworker.WorkerSaves.save
    monkeypatch.setattr(multiworker.WorkerSaves, "save",
                        lambda self, n, models=(): saves.append(n) or real_save(self, n, models))
    assert worker.fit(data).step == 2
    assert saves == [1, 2]  # it took part in every save ...
    assert not (tmp_path / "worker").exists()  # ... but wrote nothing of the run
    assert not list(scratch.glob("spikegan-worker-*"))  # and removed its temporary saves
    assert worker.last_checkpoint_step() == chief.last_checkpoint_step() == 2
    for a, b in zip(chief.generator.weights + chief.critic.weights,
                    worker.generator.weights + worker.critic.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


# --------------------------------------------------------------------------- 2 processes


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _run_workers(tmp, args, n=2, timeout=600):
    """``spikegan train --strategy multiworker ARGS`` in ``n`` local worker processes."""
    cluster = {"worker": [f"localhost:{p}" for p in _free_ports(n)]}
    procs = []
    for i in range(n):
        scratch = tmp / f"tmp-worker{i}"
        scratch.mkdir(exist_ok=True)
        env = dict(os.environ, **_tf_config(cluster, "worker", i), TF_CPP_MIN_LOG_LEVEL="2",
                   TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS="1",
                   TMPDIR=str(scratch))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "spikegan_tf", "train", "--strategy", "multiworker", *args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp))
    outputs = []
    try:
        for p in procs:
            outputs.append(p.communicate(timeout=timeout)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for i, (p, out) in enumerate(zip(procs, outputs, strict=True)):
        assert p.returncode == 0, f"worker {i} exited with {p.returncode}:\n{out}"
        assert not list((tmp / f"tmp-worker{i}").glob("spikegan-worker-*")), "saves left"
    return outputs


def _assert_same_checkpoint(prefix, reference):
    """The weights, step and random stream of two checkpoints agree (rtol 1e-4)."""
    import tensorflow as tf

    a, b = tf.train.load_checkpoint(str(prefix)), tf.train.load_checkpoint(str(reference))
    # the networks' weights are saved once, as the optimisers' trainable variables
    names = [k for k in b.get_variable_to_shape_map()
             if "/_trainable_variables/" in k or k.split("/")[0] in ("step", "rng")]
    assert set(names) <= set(a.get_variable_to_shape_map())
    assert len(names) == 2 + 2 * 6  # conv generator and critic: 3 layers of 2 tensors each
    for name in names:
        np.testing.assert_allclose(a.get_tensor(name), b.get_tensor(name), rtol=1e-4, atol=1e-6,
                                   err_msg=name)


def _metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow  # 2 TensorFlow processes, twice, on 2 busy cores: ~2-3 min
def test_two_workers_step_and_resume_like_one_process(tmp_path):
    np.savez(tmp_path / "w.npz", spikes=_windows())
    data = ["--data", str(tmp_path / "w.npz")]
    # the reference: one process, the same global batch of 16
    assert main(["train", *data, "--out", str(tmp_path / "single"), "--strategy", "default",
                 "--max-steps", "2", "--checkpoint-every", "1", *TINY]) == 0
    single = tmp_path / "single" / "checkpoints"

    run = tmp_path / "run"
    outputs = _run_workers(tmp_path, [*data, "--out", str(run), "--max-steps", "1", *TINY])
    assert "worker 0 of 2 workers (chief" in outputs[0]
    assert "worker 1 of 2 workers (not the chief)" in outputs[1]
    _assert_same_checkpoint(run / "checkpoints" / "ckpt-1", single / "ckpt-1")
    # the chief alone wrote the run: one TensorBoard file, one metrics line per step
    assert sorted(p.name for p in run.iterdir()) == [
        "checkpoints", "config.json", "critic.keras", "generator.keras", "metrics.jsonl",
        "tensorboard"]
    assert len(list((run / "tensorboard").iterdir())) == 1
    assert [r["step"] for r in _metrics(run)] == [1]

    # resumed by both workers from the chief's checkpoint: equals 2 single-process steps
    outputs = _run_workers(tmp_path, ["--out", str(run), "--resume", "--more-steps", "1",
                                      "--quiet"])
    assert all("stopped at step 2 (max_steps)" in out for out in outputs)
    _assert_same_checkpoint(run / "checkpoints" / "ckpt-2", single / "ckpt-2")
    records = _metrics(run)
    assert [r["step"] for r in records] == [1, 2]
    for got, want in zip(records, _metrics(tmp_path / "single"), strict=True):
        for name in ("d_loss", "wasserstein", "gp", "g_loss"):  # the global batch's losses
            assert got[name] == pytest.approx(want[name], rel=1e-4, abs=1e-6)
    assert len(list((run / "tensorboard").iterdir())) == 2  # one per session, the chief's
    assert Path(run / "generator.keras").is_file()

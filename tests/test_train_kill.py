"""kill -9 during training, then resume: at most one checkpoint interval is lost, the model
file still loads, and the resumed run equals the uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import tensorflow as tf

from spikegan_tf.data.splits import prepare_data
from spikegan_tf.gan import rundir
from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.train_config import TrainConfig
from spikegan_tf.gan.trainer import Trainer

MODEL = dict(n_neurons=4, n_bins=8, num_features=8, latent_dim=16)
TRAIN = dict(batch_size=16, checkpoint_every=3, log_every=1, eval_every=0, steps_per_call=1)

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.train_config import TrainConfig
    from spikegan_tf.gan.trainer import Trainer
    from spikegan_tf.data.splits import prepare_data
    data = prepare_data(np.load(sys.argv[1]), val_fraction=0.0)
    Trainer(ModelConfig(**{model}), TrainConfig(max_steps=100000, **{train}),
            run_dir=sys.argv[2], verbose=0).fit(data)
""")


def _logged_steps(path) -> list[int]:
    if not path.exists():
        return []
    steps = []
    for line in path.read_text().splitlines():
        try:
            steps.append(json.loads(line)["step"])
        except json.JSONDecodeError:  # a line being written
            pass
    return steps


def test_kill_9_then_resume_loses_at_most_one_checkpoint_interval(tmp_path):
    windows = (np.random.default_rng(0).random((256, 4, 8)) < 0.3).astype(np.uint8)
    np.save(tmp_path / "x.npy", windows)
    run = tmp_path / "run"
    code = CHILD.format(model=MODEL, train=TRAIN)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "x.npy"), str(run)],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while max(_logged_steps(run / "metrics.jsonl"), default=0) < 7:
            assert child.poll() is None, child.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the child did not train in time"
            time.sleep(0.1)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    last_logged = max(_logged_steps(run / "metrics.jsonl"))
    ckpt_step = int(tf.train.latest_checkpoint(str(run / "checkpoints")).rsplit("-", 1)[1])
    assert ckpt_step % 3 == 0 and 0 <= last_logged - ckpt_step <= 3  # one interval at most

    # the model file of the killed run still loads (written atomically) and generates
    g = rundir.RunDir(run).load_generator()
    z = np.random.default_rng(1).standard_normal((2, MODEL["latent_dim"])).astype("float32")
    probs = np.asarray(g(z))
    assert probs.shape == (2, 4, 8) and np.isfinite(probs).all()

    data = prepare_data(windows, val_fraction=0.0)
    resumed = Trainer(ModelConfig(**MODEL), TrainConfig(max_steps=ckpt_step + 2, **TRAIN),
                      run_dir=run, verbose=0)
    result = resumed.fit(data, resume=True)
    assert result.step == ckpt_step + 2
    assert _logged_steps(run / "metrics.jsonl") == list(range(1, ckpt_step + 3))
    # ... and the resumed run is the run that was never interrupted, bit for bit
    uninterrupted = Trainer(ModelConfig(**MODEL), TrainConfig(max_steps=ckpt_step + 2, **TRAIN),
                            verbose=0)
    uninterrupted.fit(data)
    for a, b in zip(resumed.generator.weights + resumed.critic.weights,
                    uninterrupted.generator.weights + uninterrupted.critic.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(resumed.rng.state.numpy(), uninterrupted.rng.state.numpy())
    np.testing.assert_array_equal(np.asarray(rundir.RunDir(run).load_generator()(z)),
                                  np.asarray(uninterrupted.published_generator()(z)))

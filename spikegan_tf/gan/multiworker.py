"""Training on several machines with ``tf.distribute.MultiWorkerMirroredStrategy``.

Every machine (a **worker**) runs the same ``spikegan train --strategy multiworker``
command with the same data file, seed and ``--out``; the standard ``TF_CONFIG``
environment variable tells each one the cluster and its own task. The step
draws the random numbers of the global batch from the seeded generator on every
worker and each replica (of every worker) trains on its slice, so the training
equals single-machine training with the same seed (``tests/test_multiworker.py``).

Only the **chief** (task type ``"chief"``, or worker 0 of a cluster without one)
writes the run directory: checkpoints, ``.keras`` models, ``config.json``,
``metrics.jsonl`` and TensorBoard. The other workers run the same saves (they
may take part in the checkpoint's collective reads, TF's guidance) into a
temporary directory that is removed at once (:class:`WorkerSaves`). On resume
every worker restores the chief's latest checkpoint: the run directory must be
on a filesystem all workers share.

The stop decision (``max_minutes``, Ctrl-C / SIGTERM on any worker) is agreed by
all workers before each call of the step (:func:`stop_agreement`), so they stop
at the same step instead of waiting forever for each other.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from spikegan_tf.errors import ConfigError
from spikegan_tf.gan.rundir import RunDir

__all__ = [
    "TF_CONFIG",
    "WorkerRole",
    "read_tf_config",
    "is_chief",
    "is_chief_of",
    "worker_count",
    "multi_worker_strategy",
    "stop_agreement",
    "WorkerSaves",
]

TF_CONFIG = "TF_CONFIG"
_EXAMPLE = ('{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}')
_EXPECTED = f"expected JSON such as {_EXAMPLE}"
_JOBS = ("chief", "worker")
_ADDRESS = re.compile(r"^\S+:\d{1,5}$")
_STOPS = (None, "max_minutes", "SIGINT", "SIGTERM")


def is_chief(task_type: str | None, task_id: int | None, has_chief: bool = False) -> bool:
    """Whether the task ``(task_type, task_id)`` writes the run directory.

    The task ``"chief"``; worker 0 when the cluster has no chief job; and a
    process outside any cluster (``task_type`` ``None``).

    Examples
    --------
    >>> is_chief(None, None), is_chief("chief", 0, True), is_chief("worker", 0)
    (True, True, True)
    >>> is_chief("worker", 0, has_chief=True), is_chief("worker", 1), is_chief("evaluator", 0)
    (False, False, False)
    """
    if task_type is None:
        return True
    if task_type == "chief":
        return True
    return task_type == "worker" and task_id == 0 and not has_chief


@dataclass(frozen=True)
class WorkerRole:
    """This process's place in the cluster of ``TF_CONFIG``.

    Attributes
    ----------
    cluster : dict
        Job name (``"chief"``, ``"worker"``) -> ``host:port`` addresses.
    task_type : str
    task_index : int
    """

    cluster: dict[str, list[str]]
    task_type: str
    task_index: int

    @property
    def n_workers(self) -> int:
        """Training processes of the cluster (chief included)."""
        return sum(len(self.cluster.get(job, ())) for job in _JOBS)

    @property
    def is_chief(self) -> bool:
        return is_chief(self.task_type, self.task_index, "chief" in self.cluster)

    def __str__(self) -> str:
        role = "chief, writes the run directory" if self.is_chief else "not the chief"
        return f"{self.task_type} {self.task_index} of {self.n_workers} workers ({role})"


def read_tf_config(environ: Mapping[str, str] | None = None) -> WorkerRole:
    """Parse and check ``TF_CONFIG`` (from ``environ``, default ``os.environ``).

    Raises
    ------
    ConfigError
        One line naming ``TF_CONFIG``, what is wrong and what was expected.

    Examples
    --------
    >>> cfg = '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}'
    >>> str(read_tf_config({"TF_CONFIG": cfg}))
    'worker 1 of 2 workers (not the chief)'
    >>> read_tf_config({})
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.ConfigError: The environment variable TF_CONFIG is not set: \
multi-worker training reads the cluster and this worker's task from it; expected JSON such as \
{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}.
    """
    environ = os.environ if environ is None else environ
    text = environ.get(TF_CONFIG, "")
    if not text.strip():
        raise ConfigError(f"The environment variable {TF_CONFIG} is not set: multi-worker "
                          f"training reads the cluster and this worker's task from it; "
                          f"{_EXPECTED}.")
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{TF_CONFIG} is not valid JSON ({exc.msg} at character {exc.pos}); "
                          f"{_EXPECTED}.") from None
    if not isinstance(cfg, dict):
        raise ConfigError(f"{TF_CONFIG} must be a JSON object. Received "
                          f"{type(cfg).__name__}; {_EXPECTED}.")
    cluster, task = cfg.get("cluster"), cfg.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise ConfigError(f"{TF_CONFIG} has no \"cluster\" (job name -> list of host:port "
                          f"addresses); {_EXPECTED}.")
    for job, addresses in cluster.items():
        if job not in _JOBS:
            raise ConfigError(f"{TF_CONFIG} has the job {job!r}: multi-worker training takes "
                              f"only \"chief\" and \"worker\" jobs; {_EXPECTED}.")
        if (not isinstance(addresses, list) or not addresses
                or not all(isinstance(a, str) and _ADDRESS.match(a) for a in addresses)):
            raise ConfigError(f"{TF_CONFIG}: the {job!r} job must be a non-empty list of "
                              f"\"host:port\" addresses. Received {addresses!r}.")
    if len(cluster.get("chief", ())) > 1:
        raise ConfigError(f"{TF_CONFIG}: a cluster has at most one chief. Received "
                          f"{cluster['chief']!r}.")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ConfigError(f"{TF_CONFIG} has no \"task\" with this worker's \"type\" and "
                          f"\"index\"; {_EXPECTED}.")
    task_type, index = task["type"], task["index"]
    if task_type not in cluster:
        raise ConfigError(f"{TF_CONFIG}: the task type {task_type!r} is not a job of the "
                          f"cluster ({', '.join(map(repr, cluster))}).")
    if isinstance(index, bool) or not isinstance(index, int) \
            or not 0 <= index < len(cluster[task_type]):
        raise ConfigError(f"{TF_CONFIG}: the task index must be an integer in "
                          f"[0, {len(cluster[task_type]) - 1}] (the {task_type!r} addresses). "
                          f"Received {index!r}.")
    return WorkerRole({job: list(a) for job, a in cluster.items()}, task_type, index)


def multi_worker_strategy(environ: Mapping[str, str] | None = None) -> Any:
    """Check ``TF_CONFIG`` (:func:`read_tf_config`), then build the strategy from it.

    Build it before anything else runs TensorFlow ops: collective operations are
    configured when the strategy starts this worker's server.
    """
    import tensorflow as tf

    read_tf_config(environ)
    return tf.distribute.MultiWorkerMirroredStrategy()


def _resolver(strategy: Any) -> Any:
    resolver = getattr(strategy, "cluster_resolver", None)
    return None if resolver is None or resolver.task_type is None else resolver


def is_chief_of(strategy: Any) -> bool:
    """Whether this process writes the run directory under ``strategy``.

    ``True`` for strategies without a cluster (one machine); under a
    ``MultiWorkerMirroredStrategy``, :func:`is_chief` of its cluster resolver's
    ``task_type`` / ``task_id``.
    """
    resolver = _resolver(strategy)
    if resolver is None:
        return True
    jobs = resolver.cluster_spec().jobs
    return is_chief(resolver.task_type, resolver.task_id, "chief" in jobs)


def worker_count(strategy: Any) -> int:
    """Training processes (chief and workers) of ``strategy``'s cluster; 1 without one."""
    resolver = _resolver(strategy)
    if resolver is None:
        return 1
    spec = resolver.cluster_spec()
    return sum(spec.num_tasks(job) for job in _JOBS if job in spec.jobs)


def stop_agreement(strategy: Any) -> Callable[[str | None], str | None]:
    """A function turning this worker's stop reason into the one all workers agree on.

    Each worker votes ``None`` (go on), ``"max_minutes"``, ``"SIGINT"`` or
    ``"SIGTERM"``; the votes are summed over every replica of every worker and
    the agreed reason is the first of those (in that order) that anyone voted
    for. It is a collective: every worker must call it at the same step.
    """
    import tensorflow as tf

    @tf.function
    def _votes(vote: Any) -> Any:
        per_replica = strategy.run(lambda: tf.one_hot(vote, len(_STOPS)))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    def agree(reason: str | None) -> str | None:
        votes = _votes(tf.constant(_STOPS.index(reason), tf.int32)).numpy()
        return next((s for s, n in zip(_STOPS[1:], votes[1:], strict=True) if n > 0), None)

    return agree


class WorkerSaves:
    """What a non-chief worker has instead of the run directory's checkpoint manager.

    :meth:`save` runs the chief's saves (the checkpoint, then the ``.keras``
    models) into a temporary directory and removes it; ``latest_checkpoint``
    follows the chief's (its prefix in the chief's ``checkpoints/``), so that
    every worker takes the same decisions about saving.

    Parameters
    ----------
    checkpoint : tf.train.Checkpoint
    run : RunDir
        The chief's run directory (read only: its latest checkpoint).
    """

    def __init__(self, checkpoint: Any, run: RunDir) -> None:
        import tensorflow as tf

        self.checkpoint, self.run = checkpoint, run
        self.latest_checkpoint = tf.train.latest_checkpoint(str(run.checkpoint_dir))

    def save(self, checkpoint_number: int, models: tuple[Any, ...] = ()) -> str:
        """Save into a temporary directory, remove it, and return the chief's prefix."""
        import tensorflow as tf

        with tempfile.TemporaryDirectory(prefix="spikegan-worker-") as tmp:
            manager = tf.train.CheckpointManager(self.checkpoint, os.path.join(tmp, "checkpoints"),
                                                 max_to_keep=1, checkpoint_name="ckpt")
            manager.save(checkpoint_number=checkpoint_number)
            if models:
                RunDir(tmp).save_models(*models)
        self.latest_checkpoint = str(self.run.checkpoint_dir / f"ckpt-{checkpoint_number}")
        return self.latest_checkpoint

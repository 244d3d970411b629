"""What machine a benchmark ran on: CPU model, SIMD flags and a float32 matmul calibration.

Machines differ from session to session (AVX-512 on one, AVX2 only on the next,
about 4x slower per core), so every benchmark JSON records this, measured in
the same run, and results from different machines are compared through it.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from spikegan_tf.export.latency import cpu_description  # the one the rig's report prints


def matmul_calibration(size: int = 1024, repeats: int = 20) -> dict[str, float]:
    """Float32 GFLOP/s of a ``size``-cubed TensorFlow matmul (wall and per CPU-second)."""
    import tensorflow as tf

    a = tf.random.normal((size, size))
    f = tf.function(lambda a: tf.reduce_sum(tf.matmul(a, a)))
    float(f(a))
    walls, cpus = [], []
    for _ in range(5):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(repeats):
            float(f(a))
        flop = 2.0 * size**3 * repeats
        walls.append(flop / (time.perf_counter() - w0) / 1e9)
        cpus.append(flop / (time.process_time() - c0) / 1e9)
    return {"gflop_per_s": statistics.median(walls), "gflop_per_cpu_s": statistics.median(cpus)}


def machine_record() -> dict[str, Any]:
    """:func:`cpu_description` plus :func:`matmul_calibration` and the load average."""
    return {**cpu_description(), "matmul_float32": matmul_calibration()}


def write_result(out: Any, result: dict[str, Any]) -> None:
    """Write a benchmark's JSON record to ``out`` (creating its directory) and print the path."""
    from pathlib import Path

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(out)

"""Benchmark: the training step with TensorFlow's oneDNN kernels against its Eigen ones.

Why: on an AVX2-only CPU, training ran about 5x slower per core than on the
AVX-512 machine of our committed results (issue 11: 1.9 against 9.6 iterations/s
on the retina configuration) although numpy's float32 matmul was about as fast.
TensorFlow's Linux wheels switch their oneDNN kernels on by default *only* on
CPUs with AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX (``DefaultOneDnnPolicy`` in
``tensorflow/core/util/util.cc``); every other x86 CPU -- AVX2-only Intel cores
before Alder Lake, AMD Zen 1-3 -- runs the convolutions and their gradients on
Eigen. ``import spikegan_tf`` now sets ``TF_ENABLE_ONEDNN_OPTS=1`` unless the
user set it. This benchmark measures what that changes, emulating an AVX2-only
CPU on this one with oneDNN's own dispatcher control (``ONEDNN_MAX_CPU_ISA``)
and OpenBLAS's (``OPENBLAS_CORETYPE=Haswell``, for the numpy calibration):

* ``onednn``: oneDNN with this CPU's full instruction set (what TensorFlow
  already did here if the CPU has VNNI/BF16/AMX);
* ``eigen``: ``TF_ENABLE_ONEDNN_OPTS=0``: what an AVX2-only CPU ran before
  (Eigen's code is the same binary on every x86 CPU);
* ``onednn_avx2``: oneDNN capped at AVX2: what an AVX2-only CPU runs now;
* ``onednn_bfloat16`` / ``onednn_float16`` (on request): ``TrainConfig.mixed_precision``
  ``"bfloat16"`` / ``"float16"`` on this CPU's oneDNN (issue 11's "any numeric format
  that is faster on this CPU").

Each variant runs in its own process (the variables are read when TensorFlow
loads), interleaved round by round, on the CPUs this process may use (run it
under ``taskset -c 1`` for one core). Per variant and configuration: iterations
per wall second and CPU-milliseconds per iteration (medians over rounds), whether
oneDNN was on (TensorFlow's ``IsMklEnabled``), and the float32 matmul GFLOP/s of
TensorFlow and numpy measured in that process.

Configurations: ``retina`` (50 neurons x 32 bins, 128 critic features, 5 critic
updates per iteration, batch 64: ``benchmarks/retina.py``) and ``demo`` (16 x 32,
32 features, 2 critic updates: ``make demo``).

Usage::

    taskset -c 1 python benchmarks/bench_onednn.py     # ~15 minutes on one core
    python benchmarks/bench_onednn.py --configs retina --steps 40 \
        --variants onednn onednn_bfloat16 onednn_float16 --out .../bench_precision.json

Writes ``benchmarks/results/bench_onednn.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

VARIANTS = {
    "onednn": {"TF_ENABLE_ONEDNN_OPTS": "1"},
    # numeric formats (TrainConfig.mixed_precision), on this CPU's oneDNN
    "onednn_bfloat16": {"TF_ENABLE_ONEDNN_OPTS": "1", "BENCH_PRECISION": "bfloat16"},
    "onednn_float16": {"TF_ENABLE_ONEDNN_OPTS": "1", "BENCH_PRECISION": "float16"},
    "eigen": {"TF_ENABLE_ONEDNN_OPTS": "0", "OPENBLAS_CORETYPE": "Haswell"},
    "onednn_avx2": {"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX2",
                    "OPENBLAS_CORETYPE": "Haswell"},
}
CONFIGS = {
    "retina": {"n_neurons": 50, "num_features": 128, "n_critic": 5},
    "demo": {"n_neurons": 16, "num_features": 32, "n_critic": 2},
}


def child(config_name: str, steps: int) -> dict:
    """One measurement, in a process whose environment selects the variant."""
    import numpy as np
    from _machine import matmul_calibration
    from tensorflow.python.util import _pywrap_util_port

    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.export.latency import matmul_calibration as numpy_calibration
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.train_config import TrainConfig
    from spikegan_tf.gan.trainer import Trainer

    spec = CONFIGS[config_name]
    raster = (np.random.default_rng(0).random((20000, spec["n_neurons"])) < 0.04).astype("uint8")
    data = prepare_data(raster, 32, val_fraction=0.0)
    model = ModelConfig(n_neurons=spec["n_neurons"], n_bins=32,
                        num_features=spec["num_features"])
    cfg = TrainConfig(max_steps=10**6, seed=0, n_critic=spec["n_critic"],
                      mixed_precision=os.environ.get("BENCH_PRECISION", False))
    trainer = Trainer(model, cfg, verbose=0)
    trainer.train_steps(data, 20)  # trace and warm up
    w0, c0 = time.perf_counter(), time.process_time()
    trainer.train_steps(data, steps)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return {"onednn_on": bool(_pywrap_util_port.IsMklEnabled()),
            "iterations_per_s": steps / wall, "cpu_ms_per_iteration": 1000 * cpu / steps,
            "tf_matmul_gflop_per_s": matmul_calibration(repeats=10)["gflop_per_s"],
            "numpy_matmul_gflop_per_s": numpy_calibration(repeats=10)["gflop_per_s"]}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=100, help="timed iterations per measurement")
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument("--variants", nargs="+", default=["onednn", "eigen", "onednn_avx2"],
                   choices=list(VARIANTS))
    p.add_argument("--child", choices=list(CONFIGS), help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path,
                   default=Path(__file__).resolve().parent / "results" / "bench_onednn.json")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.steps)))
        return 0
    from _machine import machine_record, write_result

    machine = machine_record()
    cpus = len(os.sched_getaffinity(0))
    print(f"{machine['cpu_model']}, {cpus} CPU(s) allowed: float32 matmul "
          f"{machine['matmul_float32']['gflop_per_s']:.0f} GFLOP/s", flush=True)
    runs: dict[str, dict[str, list[dict]]] = {c: {v: [] for v in args.variants}
                                              for c in args.configs}
    for r in range(args.rounds):
        for name in args.configs:
            for variant in args.variants:
                env = {k: v for k, v in os.environ.items()
                       if k not in ("TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA",
                                    "OPENBLAS_CORETYPE", "BENCH_PRECISION")}
                env.update(VARIANTS[variant])
                out = subprocess.run([sys.executable, __file__, "--child", name,
                                      "--steps", str(args.steps)],
                                     env=env, capture_output=True, text=True, check=True)
                rec = json.loads(out.stdout.strip().splitlines()[-1])
                runs[name][variant].append(rec)
                print(f"round {r}  {name:7s} {variant:12s} oneDNN {str(rec['onednn_on']):5s} "
                      f"{rec['iterations_per_s']:6.2f} it/s  {rec['cpu_ms_per_iteration']:7.1f} "
                      f"CPU-ms/it  TF matmul {rec['tf_matmul_gflop_per_s']:5.0f}  numpy "
                      f"{rec['numpy_matmul_gflop_per_s']:5.0f} GFLOP/s", flush=True)
    summary: dict[str, dict[str, dict]] = {}
    print(f"\n{'config':8s}{'variant':13s}{'it/s':>8s}{'CPU-ms/it':>11s}{'TF GF/s':>9s}"
          f"{'np GF/s':>9s}")
    for name, per in runs.items():
        summary[name] = {}
        for variant, recs in per.items():
            med = {k: statistics.median(r[k] for r in recs)
                   for k in ("iterations_per_s", "cpu_ms_per_iteration",
                             "tf_matmul_gflop_per_s", "numpy_matmul_gflop_per_s")}
            med["onednn_on"] = all(r["onednn_on"] for r in recs)
            summary[name][variant] = med
            print(f"{name:8s}{variant:13s}{med['iterations_per_s']:8.2f}"
                  f"{med['cpu_ms_per_iteration']:11.1f}{med['tf_matmul_gflop_per_s']:9.0f}"
                  f"{med['numpy_matmul_gflop_per_s']:9.0f}")
        if "eigen" in per and "onednn_avx2" in per:
            gain = (summary[name]["onednn_avx2"]["iterations_per_s"]
                    / summary[name]["eigen"]["iterations_per_s"])
            summary[name]["avx2_speedup_onednn_over_eigen"] = gain
            print(f"{name:8s}an AVX2-only CPU, oneDNN over Eigen: {gain:.2f}x")
    write_result(args.out, {"benchmark": "bench_onednn", "machine": machine,
                            "cpus_allowed": cpus, "steps": args.steps, "rounds": args.rounds,
                            "variants": VARIANTS, "configs": CONFIGS,
                            "summary": summary, "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())

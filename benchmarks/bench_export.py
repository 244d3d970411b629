"""Inference speed of the exported generator: ONNX Runtime vs TensorFlow vs TFLite.

For the default 50-neuron x 32-bin generator (random weights: speed does not
depend on training) this measures, in one run:

* single-window latency, p50/p99 over ``--calls`` (2,000) calls, 1 thread:
  ONNX Runtime on the exported polyphase graph (``session.run`` and the rig
  runtime's ``Sampler.stream``, which includes drawing ``z`` and ``u``), ONNX
  Runtime on tf2onnx's conversion of the Keras call as written (the baseline),
  TFLite, and TensorFlow (``tf.function``, TensorFlow's own thread pools);
* throughput at batch 1024 with 2 threads (windows/s, median of ``--repeats``);
* the rig contract (``_rig.py``): the packaged retina50 generator in float32,
  float16 and int8 -- statistical parity against the retina's noise floor,
  single-window latency per precision -- and the prefetching stream in a 1 kHz
  loop for ``--stream-seconds`` (60) while another process keeps one core busy.

The variants are measured interleaved in rounds so that a load change on a
shared machine affects them alike; quote medians and the ratios measured in
the same run. Prints a table and writes ``benchmarks/results/bench_export.json``.

Usage::

    python benchmarks/bench_export.py            # ~5 minutes
    python benchmarks/bench_export.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "bench_export.json"


def percentiles(times: list[tuple[float, float]], cpu_valid: bool) -> dict[str, float]:
    wall = np.asarray([t[0] for t in times]) * 1e6
    out = {"p50_us": float(np.percentile(wall, 50)), "p99_us": float(np.percentile(wall, 99)),
           "min_us": float(wall.min()), "calls": int(wall.size)}
    if cpu_valid:  # thread CPU time: the call's own compute, without preemption by others
        cpu = np.asarray([t[1] for t in times]) * 1e6
        out.update(cpu_p50_us=float(np.percentile(cpu, 50)),
                   cpu_p99_us=float(np.percentile(cpu, 99)))
    return out


def time_calls(fn, n: int) -> list[tuple[float, float]]:
    """Wall-clock and calling-thread CPU time of ``n`` calls."""
    out = []
    for _ in range(n):
        c = time.thread_time()
        t = time.perf_counter()
        fn()
        t = time.perf_counter() - t
        out.append((t, time.thread_time() - c))
    return out


def _generator_flops(cfg) -> int:
    """Multiply-adds x 2 of one window through the polyphase graph (the three GEMMs)."""
    from spikegan_tf.export.graph import plan_generator
    from spikegan_tf.gan.networks import build_generator

    plan = plan_generator(build_generator(cfg, seed=0), cfg)
    flops = 2 * plan.project_weight.size
    bins = plan.bins0
    for block in plan.blocks:
        flops += 2 * bins * block.weight.size
        bins *= 2
    return int(flops)


def _gemm_probe(flops: int):
    """An ONNX model of one Gemm (8, 768) @ (768, N) with about ``flops`` FLOPs."""
    from onnx import TensorProto, helper, numpy_helper

    n = max(1, round(flops / (2 * 8 * 768)))
    w = np.random.default_rng(1).standard_normal((768, n)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"])], "probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 768])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, n])],
        [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=50)
    ap.add_argument("--bins", type=int, default=32)
    ap.add_argument("--calls", type=int, default=2000, help="single-window calls per variant")
    ap.add_argument("--rounds", type=int, default=4, help="interleaved rounds")
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=12, help="batch calls per variant")
    ap.add_argument("--no-tflite", action="store_true")
    ap.add_argument("--stream-seconds", type=float, default=60.0,
                    help="duration of each 1 kHz rig loop (default 60)")
    ap.add_argument("--no-rig", action="store_true", help="skip the rig section")
    ap.add_argument("--quick", action="store_true", help="200 calls, 3 repeats, 3 s loops")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if args.quick:
        args.calls, args.repeats, args.rounds, args.stream_seconds = 200, 3, 2, 3.0

    import onnxruntime as ort
    import tensorflow as tf

    from spikegan_tf._version import __version__
    from spikegan_tf.export.graph import serving_function
    from spikegan_tf.export.metadata import build_metadata
    from spikegan_tf.export.onnx_export import to_onnx_model
    from spikegan_tf.export.runtime import Sampler, session_options
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.networks import build_generator

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _machine import machine_record

    machine = machine_record()
    load_start = os.getloadavg()
    cfg = ModelConfig(n_neurons=args.neurons, n_bins=args.bins)
    gen = build_generator(cfg, seed=0)
    rng = np.random.default_rng(0)  # non-zero biases, like a trained model
    gen.set_weights([w + rng.normal(0, 0.02, w.shape).astype(np.float32)
                     for w in gen.get_weights()])
    meta = build_metadata({"model": cfg.to_dict()}, graph="polyphase")
    tmp = Path(tempfile.mkdtemp(prefix="bench-export-"))
    paths = {"lean": tmp / "lean.onnx", "as_written": tmp / "as_written.onnx"}
    import onnx

    onnx.save(to_onnx_model(gen, cfg, meta, lean=True), str(paths["lean"]))
    onnx.save(to_onnx_model(gen, cfg, meta, lean=False), str(paths["as_written"]))

    shape = (cfg.n_neurons, cfg.n_bins)
    z1 = rng.standard_normal((1, cfg.latent_dim), dtype=np.float32)
    u1 = rng.random((1, *shape), dtype=np.float32)
    zb = rng.standard_normal((args.batch, cfg.latent_dim), dtype=np.float32)
    ub = rng.random((args.batch, *shape), dtype=np.float32)

    def ort_session(path, threads):
        return ort.InferenceSession(str(path), session_options(threads),
                                    providers=["CPUExecutionProvider"])

    single, batch = {}, {}
    for key, path in list(paths.items()):
        s1, s2 = ort_session(path, 1), ort_session(path, 2)
        single[f"onnx_{key}"] = lambda s=s1: s.run(["probs", "spikes"], {"z": z1, "u": u1})
        batch[f"onnx_{key}"] = lambda s=s2: s.run(["probs", "spikes"], {"z": zb, "u": ub})
    # the machine's own tail: one plain Gemm doing the same multiply-adds as the model
    # (it has no graph to optimise; a p99 - p50 gap here is the CPU's, not the model's)
    paths["probe"] = tmp / "probe.onnx"
    onnx.save(_gemm_probe(_generator_flops(cfg)), str(paths["probe"]))
    probe = ort_session(paths["probe"], 1)
    xp = rng.standard_normal((8, 768), dtype=np.float32)
    single["probe_gemm"] = lambda: probe.run(None, {"x": xp})
    stream = Sampler(paths["lean"], seed=0, intra_op_threads=1).stream()
    single["rig_sampler_stream"] = lambda: next(stream)

    @tf.function(input_signature=[tf.TensorSpec([None, cfg.latent_dim], tf.float32),
                                  tf.TensorSpec([None, *shape], tf.float32)])
    def tf_keras(z, u):
        p = gen(z, training=False)
        return p, tf.cast(u < p, tf.uint8)

    tf_lean = serving_function(gen, cfg)
    z1t, u1t, zbt, ubt = (tf.constant(a) for a in (z1, u1, zb, ub))
    single["tf_function_keras"] = lambda: [t.numpy() for t in tf_keras(z1t, u1t)]
    batch["tf_function_keras"] = lambda: [t.numpy() for t in tf_keras(zbt, ubt)]
    single["tf_function_polyphase"] = lambda: [t.numpy() for t in tf_lean(z1t, u1t).values()]
    batch["tf_function_polyphase"] = lambda: [t.numpy() for t in tf_lean(zbt, ubt).values()]

    if not args.no_tflite:
        from spikegan_tf.export.tflite import tflite_runner, write_tflite

        write_tflite(gen, cfg, tmp / "model.tflite")
        r1, r2 = tflite_runner(tmp / "model.tflite", 1), tflite_runner(tmp / "model.tflite", 2)
        single["tflite"] = lambda: r1(z=z1, u=u1)
        batch["tflite"] = lambda: r2(z=zb, u=ub)

    for fn in [*single.values(), *batch.values()]:  # warm-up: allocations, tracing, packing
        for _ in range(3):
            fn()
    for fn in single.values():
        time_calls(fn, 100)

    per_round = max(args.calls // args.rounds, 1)
    lat_times: dict[str, list[tuple[float, float]]] = {k: [] for k in single}
    thr_times: dict[str, list[tuple[float, float]]] = {k: [] for k in batch}
    reps = max(args.repeats // args.rounds, 1)
    for _ in range(args.rounds):
        for key, fn in single.items():
            lat_times[key] += time_calls(fn, per_round)
        for key, fn in batch.items():
            thr_times[key] += time_calls(fn, reps)

    # 1-thread ONNX Runtime and TFLite compute on the calling thread; TensorFlow does not
    latency = {k: percentiles(v, cpu_valid=not k.startswith("tf_"))
               for k, v in lat_times.items()}
    throughput = {}
    for k, v in thr_times.items():
        walls = [t[0] for t in v]
        med = float(np.median(walls))
        throughput[k] = {"median_s": med, "windows_per_s": args.batch / med,
                         "windows_per_s_best": args.batch / float(np.min(walls)),
                         "calls": len(v)}
    base_lat = latency["onnx_as_written"]["p50_us"]
    base_thr = throughput["onnx_as_written"]["windows_per_s"]
    result = {
        "benchmark": "bench_export",
        "model": cfg.to_dict(),
        "batch": args.batch,
        "latency_single_window_1_thread": latency,
        "throughput_2_threads": throughput,
        "ratios": {
            "onnx_polyphase_vs_as_written_p50_speedup":
                base_lat / latency["onnx_lean"]["p50_us"],
            "onnx_polyphase_vs_as_written_throughput":
                throughput["onnx_lean"]["windows_per_s"] / base_thr,
            "onnx_polyphase_vs_tf_keras_throughput":
                throughput["onnx_lean"]["windows_per_s"]
                / throughput["tf_function_keras"]["windows_per_s"],
        },
        "tail_probe": {
            "what": "one ONNX Runtime Gemm (8x768 @ 768xN) with the model's multiply-adds, "
                    "1 thread: the p99 - p50 gap a single compute-bound call shows on this "
                    "machine",
            "flops": _generator_flops(cfg),
            "p99_minus_p50_us": latency["probe_gemm"]["p99_us"] - latency["probe_gemm"]["p50_us"],
            "model_p99_minus_p50_us":
                latency["onnx_lean"]["p99_us"] - latency["onnx_lean"]["p50_us"],
        },
        "targets": {"p99_us_max": 100.0, "windows_per_s_min": 30000.0,
                    "onnx_p99_met": latency["onnx_lean"]["p99_us"] <= 100.0,
                    "onnx_cpu_p99_met": latency["onnx_lean"]["cpu_p99_us"] <= 100.0,
                    "onnx_throughput_met": throughput["onnx_lean"]["windows_per_s"] >= 30000},
        "notes": "TensorFlow runs with its default thread pools (all cores); ONNX Runtime and "
                 "TFLite with 1 thread (latency) / 2 threads (throughput). Shared CPU: timings "
                 "are provisional; compare ratios from the same run.",
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "processor": platform.processor(), "python": sys.version.split()[0],
                    "loadavg_start": load_start, "loadavg_end": os.getloadavg(), **machine},
        "versions": {"spikegan_tf": __version__, "onnxruntime": ort.__version__,
                     "tensorflow": tf.__version__, "onnx": onnx.__version__},
    }
    if not args.no_rig:
        import _rig

        result["rig"] = _rig.run(args.stream_seconds, args.calls, args.rounds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")

    names = {"onnx_lean": "ONNX Runtime, exported graph (polyphase)",
             "rig_sampler_stream": "  rig Sampler.stream() (incl. RNG draws)",
             "onnx_as_written": "ONNX Runtime, tf2onnx of the Keras call",
             "tf_function_keras": "TensorFlow tf.function (Keras model)",
             "tf_function_polyphase": "TensorFlow tf.function (polyphase)",
             "tflite": "TFLite (polyphase)",
             "probe_gemm": "reference: 1 ONNX Gemm, same FLOPs"}
    print(f"generator {cfg.n_neurons} neurons x {cfg.n_bins} bins, latent {cfg.latent_dim}; "
          f"load average {load_start[0]:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
          "CPUs (provisional)")
    nan = float("nan")
    print(f"{'variant':<44} {'p50 us':>8} {'p99 us':>8} {'cpu p50':>8} {'cpu p99':>8} "
          f"{f'windows/s @{args.batch}':>18} {'(best call)':>12}")
    for key, label in names.items():
        if key not in latency and key not in throughput:
            continue
        lat = latency.get(key, {})
        thr = throughput.get(key, {})
        print(f"{label:<44} {lat.get('p50_us', nan):8.1f} {lat.get('p99_us', nan):8.1f} "
              f"{lat.get('cpu_p50_us', nan):8.1f} {lat.get('cpu_p99_us', nan):8.1f} "
              f"{thr.get('windows_per_s', nan):18,.0f} {thr.get('windows_per_s_best', nan):12,.0f}")
    print("p50/p99: wall clock; cpu: the calling thread's CPU time (excludes preemption by "
          "other processes; n/a for TensorFlow's thread pools); windows/s: median call, and "
          "the fastest call")
    tp = result["tail_probe"]
    print(f"tail (p99 - p50): exported graph {tp['model_p99_minus_p50_us']:.0f} us, a plain Gemm "
          f"of the same {tp['flops'] / 1e6:.1f} MFLOP {tp['p99_minus_p50_us']:.0f} us")
    r = result["ratios"]
    print(f"polyphase vs as-written ONNX: p50 {r['onnx_polyphase_vs_as_written_p50_speedup']:.2f}x "
          f"faster, throughput {r['onnx_polyphase_vs_as_written_throughput']:.2f}x; vs TF Keras "
          f"throughput {r['onnx_polyphase_vs_tf_keras_throughput']:.2f}x")
    if "rig" in result:
        import _rig

        _rig.print_table(result["rig"])
    m = result["machine"]
    print(f"machine: {m['cpu_model']}, {' '.join(m['simd_flags'])}; float32 matmul "
          f"{m['matmul_float32']['gflop_per_s']:.0f} GFLOP/s")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Inference speed of the exported generator: ONNX Runtime vs TensorFlow vs TFLite.

For a generator of ``--neurons`` x ``--bins`` (default 50 x 32; random
weights: speed does not depend on training) this measures, in one run:

* parity: the generator goes through ``export_run`` (SavedModel, ONNX and,
  unless ``--no-tflite``, TFLite, each reloaded and compared with the Keras
  generator on ``--parity-windows`` protocol draws: max |probability
  difference| and spikes that differ where ``|p - u| > 1e-6``); then one seed
  is sampled by the Keras generator (``gan.sampling.sample``), the ONNX model
  on the protocol draws and the TF-free rig runtime (``Sampler.sample``), and
  the three spike arrays are compared bin for bin. With
  ``--trained-generator FILE.keras`` (a trained generator of the same shape and
  default ``ModelConfig``, e.g. the one ``scale_fidelity.py --save-generator``
  writes) the same parity is measured on it too (section
  ``parity_trained_generator``): random weights put every probability near
  0.5, a trained model's are those of real spiking;

* single-window latency, p50/p99 over ``--calls`` (2,000) calls, 1 thread:
  ONNX Runtime on the exported polyphase graph (``session.run`` and the rig
  runtime's ``Sampler.stream``, which includes drawing ``z`` and ``u``), ONNX
  Runtime on tf2onnx's conversion of the Keras call as written (the baseline),
  TFLite, and TensorFlow (``tf.function``, TensorFlow's own thread pools);
* throughput at batch ``--batch`` (1024) with ``--batch-threads`` (2) threads
  (windows/s, median of ``--repeats``);
* the rig contract (``_rig.py``): the packaged retina50 generator in float32,
  float16 and int8 -- statistical parity against the retina's noise floor,
  single-window latency per precision -- and the prefetching stream in a 1 kHz
  loop for ``--stream-seconds`` (60) while another process keeps one core busy;
* at any other size than 50 x 32 (or with ``--size-rig``), the rig runtime at
  the benchmark's size: ``measure_latency`` on the exported ``model.onnx``,
  one window per ``n_bins`` ms (a rig consuming 1 ms per bin), on demand and
  from the prefetching stream, for ``--stream-seconds``, and the bins/s the
  runtime makes on one thread (single window and batched) against the 1,000
  bins/s such a rig consumes. No extra busy process is started for it.

The variants are measured interleaved in rounds so that a load change on a
shared machine affects them alike; quote medians and the ratios measured in
the same run. Prints a table and writes ``benchmarks/results/bench_export.json``
(at 50 x 32) or ``benchmarks/results/bench_export_<neurons>x<bins>.json``
(other sizes), or ``--out``.

Usage::

    python benchmarks/bench_export.py            # ~5 minutes
    python benchmarks/bench_export.py --quick    # smoke run
    # issue 17 item 6, on a shared 2-core machine (one thread everywhere):
    TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1 \
        python benchmarks/bench_export.py --neurons 512 --bins 128 --calls 400 \
        --batch 256 --repeats 8 --batch-threads 1 --no-rig --stream-seconds 60
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "bench_export.json"
RETINA_SIZE = (50, 32)  # the packaged retina50 generator the rig section (_rig.py) uses


def default_out(neurons: int, bins: int) -> Path:
    """``bench_export.json`` at 50 x 32, ``bench_export_<neurons>x<bins>.json`` otherwise."""
    if (neurons, bins) == RETINA_SIZE:
        return RESULTS
    return RESULTS.with_name(f"bench_export_{neurons}x{bins}.json")


def export_parity(gen, cfg, tmp: Path, windows: int, seed: int, tflite: bool
                  ) -> tuple[dict, Path]:
    """Export through ``export_run`` and compare Keras, ONNX and the rig runtime on one seed.

    Returns the JSON section and the exported ``model.onnx``.
    """
    from spikegan_tf.export.bundle import export_run
    from spikegan_tf.export.onnx_session import session_options
    from spikegan_tf.export.parity import SPIKE_MARGIN, protocol_inputs
    from spikegan_tf.export.runtime import Sampler
    from spikegan_tf.gan.rundir import GENERATOR_FILE, RunDir
    from spikegan_tf.gan.sampling import iter_sample_chunks

    run = RunDir(tmp / "run")
    run.path.mkdir(parents=True)
    run.write_config(cfg, data={"bin_width": None})
    gen.save(run.path / GENERATOR_FILE)
    formats = "savedmodel,onnx" + (",tflite" if tflite else "")
    t0 = time.perf_counter()
    result = export_run(run.path, tmp / "models", formats, name="bench",
                        parity_windows=windows, parity_seed=seed)
    export_s = time.perf_counter() - t0
    onnx_path = result.files["onnx"]

    # one seed, three samplers: Keras (gan.sampling), the ONNX graph on the protocol
    # draws, and the TF-free runtime drawing its own z and u
    chunks = list(iter_sample_chunks(gen, windows, seed, return_probs=True))
    k_spikes = np.concatenate([c[0] for c in chunks])
    k_probs = np.concatenate([c[1] for c in chunks])
    z, u = protocol_inputs(windows, cfg.latent_dim, cfg.n_neurons, cfg.n_bins, seed)
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), session_options(1),
                                providers=["CPUExecutionProvider"])
    o_probs, o_spikes = sess.run(["probs", "spikes"], {"z": z, "u": u})
    r_spikes, r_probs = Sampler(onnx_path, seed=seed).sample(windows, return_probs=True)
    gap = np.abs(k_probs - u)  # how far each Bernoulli draw is from flipping

    def pair(a_spikes, a_probs, b_spikes, b_probs):
        differ = a_spikes != b_spikes
        n = int(np.count_nonzero(differ))
        return {"probs_max_abs_diff": float(np.max(np.abs(a_probs - b_probs))),
                "spikes_identical": n == 0, "spikes_differing": n,
                "spikes_differing_where_clear": int(np.count_nonzero(differ
                                                                     & (gap > SPIKE_MARGIN))),
                "max_gap_of_differing_bins": float(gap[differ].max()) if n else None}

    same_seed = {
        "seed": seed, "windows": windows, "bins_compared": int(k_spikes.size),
        "bins_within_margin": int(np.count_nonzero(gap <= SPIKE_MARGIN)),
        "margin": SPIKE_MARGIN,
        "keras_vs_onnx": pair(k_spikes, k_probs, o_spikes, o_probs),
        "keras_vs_runtime": pair(k_spikes, k_probs, r_spikes, r_probs),
        "onnx_vs_runtime": pair(o_spikes, o_probs, r_spikes, r_probs),
        "keras_spike_probability": float(k_spikes.mean()),
    }
    return {"export_run_s": export_s, "formats": formats,
            "files_bytes": {k: (v.stat().st_size if v.is_file() else None)
                            for k, v in result.files.items()},
            "export_run_parity": {k: v.to_dict() for k, v in result.parity.items()},
            "same_seed": same_seed}, onnx_path


def size_rig(onnx_path: Path, cfg, seconds: float, bin_ms: float, prefetch: int,
             latency: dict, throughput: dict, batch_threads: int) -> dict:
    """The rig runtime at the benchmark's size: one window per ``n_bins * bin_ms``."""
    from spikegan_tf.export.latency import measure_latency

    period_ms = cfg.n_bins * bin_ms
    report = measure_latency(onnx_path, seconds=seconds, threads=1, period_ms=period_ms,
                             prefetch=prefetch, pause_s=2.0)
    need = 1e3 / bin_ms  # bins per second the rig consumes
    single = latency["rig_sampler_stream"]
    made = {
        "single_window_p50_1_thread": cfg.n_bins / (single["p50_us"] * 1e-6),
        "single_window_p99_1_thread": cfg.n_bins / (single["p99_us"] * 1e-6),
        f"batched_{batch_threads}_threads": (throughput["onnx_lean"]["windows_per_s"]
                                             * cfg.n_bins),
    }
    on_demand, stream = report.modes["on-demand"], report.modes["stream"]
    return {
        "what": f"{cfg.n_neurons} x {cfg.n_bins} exported generator (random weights), one "
                f"window per {period_ms:g} ms tick = {bin_ms:g} ms per bin; 1 ONNX Runtime "
                "thread; no extra busy process started (see the load averages)",
        "bin_ms": bin_ms,
        "bins_per_s_needed": need,
        "bins_per_s_made": made,
        "headroom_single_window_p99": made["single_window_p99_1_thread"] / need,
        "loop": report.to_dict(),
        "keeps_up": {
            "producer_fast_enough": made["single_window_p99_1_thread"] >= need,
            "on_demand_within_window_period": on_demand.max_us < period_ms * 1e3,
            "on_demand_within_1ms_bin": on_demand.over_budget["1ms"] == 0,
            "stream_no_underruns": stream.underruns == 0,
            "stream_within_1ms_bin": stream.over_budget["1ms"] == 0,
        },
    }


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
    ap.add_argument("--batch-threads", type=int, default=2,
                    help="ONNX Runtime / TFLite threads of the batch calls (default 2)")
    ap.add_argument("--repeats", type=int, default=12, help="batch calls per variant")
    ap.add_argument("--no-tflite", action="store_true")
    ap.add_argument("--stream-seconds", type=float, default=60.0,
                    help="duration of each 1 kHz rig loop (default 60)")
    ap.add_argument("--no-rig", action="store_true",
                    help="skip the retina50 rig section (_rig.py)")
    ap.add_argument("--size-rig", action="store_true",
                    help="measure the rig runtime at the benchmark's size even at 50 x 32 "
                         "(on by default at any other size)")
    ap.add_argument("--no-size-rig", action="store_true",
                    help="skip the rig runtime at the benchmark's size")
    ap.add_argument("--bin-ms", type=float, default=1.0,
                    help="rig time per bin for the size rig (default 1 ms)")
    ap.add_argument("--size-rig-prefetch", type=int, default=64,
                    help="windows the size rig's stream keeps ready (default 64)")
    ap.add_argument("--parity-windows", type=int, default=256)
    ap.add_argument("--parity-seed", type=int, default=0)
    ap.add_argument("--trained-generator", type=Path, default=None,
                    help="also measure parity on this trained generator (.keras, same shape)")
    ap.add_argument("--quick", action="store_true", help="200 calls, 3 repeats, 3 s loops")
    ap.add_argument("--out", type=Path, default=None,
                    help="result file (default: results/bench_export.json at 50 x 32, "
                         "results/bench_export_<neurons>x<bins>.json otherwise)")
    args = ap.parse_args(argv)
    if args.out is None:
        args.out = default_out(args.neurons, args.bins)
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
    print(f"parity: export_run and one seed through Keras / ONNX / runtime "
          f"({args.parity_windows} windows)", flush=True)
    parity, exported_onnx = export_parity(gen, cfg, tmp, args.parity_windows,
                                          args.parity_seed, not args.no_tflite)
    parity_trained = None
    if args.trained_generator is not None:
        import keras

        trained = keras.models.load_model(args.trained_generator)
        shape_t = tuple(int(d) for d in trained.outputs[0].shape[1:])
        if shape_t != (cfg.n_neurons, cfg.n_bins):
            raise SystemExit(f"{args.trained_generator} makes {shape_t} windows, not "
                             f"{cfg.n_neurons} x {cfg.n_bins}")
        parity_trained, _ = export_parity(trained, cfg, tmp / "trained", args.parity_windows,
                                          args.parity_seed, not args.no_tflite)
        parity_trained["generator"] = str(args.trained_generator)
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
        s1, s2 = ort_session(path, 1), ort_session(path, args.batch_threads)
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
        r1 = tflite_runner(tmp / "model.tflite", 1)
        r2 = tflite_runner(tmp / "model.tflite", args.batch_threads)
        single["tflite"] = lambda: r1(z=z1, u=u1)
        batch["tflite"] = lambda: r2(z=zb, u=ub)

    print("latency and throughput", flush=True)
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
        "parity": parity,
        **({"parity_trained_generator": parity_trained} if parity_trained else {}),
        "latency_single_window_1_thread": latency,
        f"throughput_{args.batch_threads}_threads": throughput,
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
        "notes": "TensorFlow runs with its default thread pools (all cores, unless "
                 "TF_NUM_INTRAOP_THREADS/TF_NUM_INTEROP_THREADS say otherwise: see "
                 "thread_env); ONNX Runtime and TFLite with 1 thread (latency) / "
                 f"{args.batch_threads} thread(s) (throughput). Shared CPU: timings are "
                 "provisional; compare ratios from the same run.",
        "thread_env": {k: os.environ.get(k) for k in (
            "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")},
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "processor": platform.processor(), "python": sys.version.split()[0],
                    "loadavg_start": load_start, "loadavg_end": os.getloadavg(), **machine},
        "versions": {"spikegan_tf": __version__, "onnxruntime": ort.__version__,
                     "tensorflow": tf.__version__, "onnx": onnx.__version__},
    }
    if (args.neurons, args.bins) == RETINA_SIZE and args.batch_threads == 2:
        result["targets"] = {
            "p99_us_max": 100.0, "windows_per_s_min": 30000.0,
            "onnx_p99_met": latency["onnx_lean"]["p99_us"] <= 100.0,
            "onnx_cpu_p99_met": latency["onnx_lean"]["cpu_p99_us"] <= 100.0,
            "onnx_throughput_met": throughput["onnx_lean"]["windows_per_s"] >= 30000}
    if not args.no_size_rig and (args.size_rig or (args.neurons, args.bins) != RETINA_SIZE):
        print(f"rig runtime at {cfg.n_neurons} x {cfg.n_bins}: {args.stream_seconds:g} s per "
              "mode", flush=True)
        result["rig_at_size"] = size_rig(exported_onnx, cfg, args.stream_seconds, args.bin_ms,
                                         args.size_rig_prefetch, latency, throughput,
                                         args.batch_threads)
    if not args.no_rig:
        import _rig

        result["rig"] = _rig.run(args.stream_seconds, args.calls, args.rounds)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["machine"]["loadavg_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")

    names = {"onnx_lean": "ONNX Runtime, exported graph (polyphase)",
             "rig_sampler_stream": "  rig Sampler.stream() (incl. RNG draws)",
             "onnx_as_written": "ONNX Runtime, tf2onnx of the Keras call",
             "tf_function_keras": "TensorFlow tf.function (Keras model)",
             "tf_function_polyphase": "TensorFlow tf.function (polyphase)",
             "tflite": "TFLite (polyphase)",
             "probe_gemm": "reference: 1 ONNX Gemm, same FLOPs"}
    print_parity(parity)
    if parity_trained:
        print(f"trained generator {parity_trained['generator']}:", end="")
        print_parity(parity_trained)
    print(f"generator {cfg.n_neurons} neurons x {cfg.n_bins} bins, latent {cfg.latent_dim}; "
          f"load average {load_start[0]:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
          "CPUs (provisional)")
    nan = float("nan")
    print(f"{'variant':<44} {'p50 us':>8} {'p99 us':>8} {'cpu p50':>8} {'cpu p99':>8} "
          f"{f'windows/s @{args.batch}x{args.batch_threads}thr':>18} {'(best call)':>12}")
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
    if "rig_at_size" in result:
        print_size_rig(result["rig_at_size"])
    if "rig" in result:
        import _rig

        _rig.print_table(result["rig"])
    m = result["machine"]
    print(f"machine: {m['cpu_model']}, {' '.join(m['simd_flags'])}; float32 matmul "
          f"{m['matmul_float32']['gflop_per_s']:.0f} GFLOP/s")
    print(f"peak RSS {result['peak_rss_mb']:.0f} MB")
    print(f"wrote {args.out}")
    return 0


def print_parity(parity: dict) -> None:
    """Parity rows of the table."""
    print(f"\nparity with the Keras generator (export_run, {parity['export_run_s']:.1f} s):")
    for row in parity["export_run_parity"].values():
        print(f"  {row['format']:<11} probs max |diff| {row['probs_max_abs_diff']:.2e}; "
              f"spikes {row['spikes_mismatched']}/{row['spikes_compared']} differ where "
              f"|p - u| > {row['spike_margin']:g}; ok {row['ok']}")
    ss = parity["same_seed"]
    print(f"seed {ss['seed']}, {ss['windows']} windows ({ss['bins_compared']:,} bins, "
          f"{ss['bins_within_margin']} within {ss['margin']:g} of flipping):")
    for key in ("keras_vs_onnx", "keras_vs_runtime", "onnx_vs_runtime"):
        r = ss[key]
        print(f"  {key:<17} probs max |diff| {r['probs_max_abs_diff']:.2e}; spikes identical "
              f"{r['spikes_identical']} ({r['spikes_differing']} differ, "
              f"{r['spikes_differing_where_clear']} where |p - u| > {ss['margin']:g})")
    print()


def print_size_rig(section: dict) -> None:
    """The rig-at-size rows of the table."""
    loop = section["loop"]
    print(f"\nrig runtime at {loop['n_neurons']} x {loop['n_bins']}: one window per "
          f"{loop['period_ms']:g} ms tick ({section['bin_ms']:g} ms per bin), "
          f"{loop['modes']['stream']['ticks']} ticks per mode: time to get the next window (us)")
    for m in loop["modes"].values():
        under = "" if m["underruns"] is None else f", {m['underruns']} underruns"
        print(f"  {m['mode']:<10} p50 {m['p50_us']:9.1f}  p99 {m['p99_us']:9.1f}  p99.9 "
              f"{m['p999_us']:9.1f}  max {m['max_us']:9.1f}  over 1 ms: "
              f"{m['over_budget']['1ms']}, over 10 ms: {m['over_budget']['10ms']}{under}")
    made = ", ".join(f"{k} {v:,.0f}" for k, v in section["bins_per_s_made"].items())
    print(f"bins/s made: {made}; needed {section['bins_per_s_needed']:,.0f}")
    print("keeps up: " + ", ".join(f"{k} {v}" for k, v in section["keeps_up"].items()))


if __name__ == "__main__":
    sys.exit(main())

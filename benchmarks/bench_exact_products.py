"""Issue 17, point 3: which kernel on this CPU could make the exact lagged products in 60 s.

The pairwise statistics of 100,000 windows of 1,024 neurons x 64 bins need, for lags
0..10, ``sum_l (64 - l) * 100,000 * 1,024^2`` = 68.1 T multiply-adds of 0/1 values as dense
products (``benchmarks/bench_stats_scale.py`` measures the package's path, which enumerates
coincident spike pairs with scipy instead). This measures, on one block of ``--rows`` bins x
1,024 neurons at ``--rate`` (the assemblies data's mean rate is 0.026), the products a
dense exact path could use, their GMAC/s and whether their counts are exact:

* numpy and TensorFlow float32 (exact: every count is below 2**24);
* TensorFlow bfloat16 (AMX on CPUs that have it): its output is bfloat16, so counts above 256
  are rounded, and TensorFlow has no CPU kernel for bfloat16 inputs with a float32 output
  (``BatchMatMulV3``, ``Tout=float32``), which an exact path would need;
* TensorFlow int8 -> int32 (``BatchMatMulV3``) and ONNX Runtime's ``MatMulInteger`` (uint8 and
  int8 -> int32), exact.

For each: the time all 68.1 T multiply-adds would take at that speed (the package's own path
is measured by ``bench_stats_scale.py``). Prints a table and writes ``benchmarks/results/bench_exact_products.json`` with
the machine record. Run it alone on the machine::

    python benchmarks/bench_exact_products.py
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _machine import machine_record, write_result  # noqa: E402

N_NEURONS, WINDOWS, BINS, LAGS = 1024, 100_000, 64, 10
FULL_MACS = sum(BINS - lag for lag in range(LAGS + 1)) * WINDOWS * N_NEURONS ** 2


def _timed(fn, repeats: int) -> tuple[float, object]:
    out = fn()  # warm-up (and the result checked)
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats, out


def _ort_session(dtype: str, rows: int, threads: int):
    import onnxruntime as ort
    from onnx import TensorProto, helper

    ty = {"uint8": TensorProto.UINT8, "int8": TensorProto.INT8}[dtype]
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "B"], ["Y"])], "products",
        [helper.make_tensor_value_info("A", ty, [N_NEURONS, rows]),
         helper.make_tensor_value_info("B", ty, [rows, N_NEURONS])],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, [N_NEURONS, N_NEURONS])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    return ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=16384, help="bins of the measured block")
    p.add_argument("--rate", type=float, default=0.026)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path,
                   default=Path(__file__).parent / "results" / "bench_exact_products.json")
    args = p.parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    x = (np.random.default_rng(0).random((args.rows, N_NEURONS)) < args.rate).astype(np.uint8)
    xf = x.astype(np.float32)
    exact = xf.T @ xf
    macs = args.rows * N_NEURONS ** 2
    rows = []

    def add(name: str, fn, check) -> None:
        try:
            seconds, out = _timed(fn, args.repeats)
        except Exception as exc:  # a kernel this TensorFlow does not have on this CPU
            rows.append({"kernel": name, "error": str(exc).splitlines()[0][:200]})
            print(f"{name:38s} not available: {rows[-1]['error'][:80]}", flush=True)
            return
        gmacs = macs / seconds / 1e9
        is_exact = bool(np.array_equal(np.asarray(check(out), np.float64), exact))
        rows.append({"kernel": name, "seconds": seconds, "gmac_per_s": gmacs, "exact": is_exact,
                     "full_seconds": FULL_MACS / (gmacs * 1e9)})
        print(f"{name:38s} {gmacs:8.1f} GMAC/s  exact {str(is_exact):5s}  "
              f"all lags 0..{LAGS}: {rows[-1]['full_seconds']:7.0f} s", flush=True)

    add("numpy float32", lambda: xf.T @ xf, lambda o: o)
    t32 = tf.constant(xf.T.copy())
    t32b = tf.constant(xf)
    add("tensorflow float32", lambda: tf.matmul(t32, t32b).numpy(), lambda o: o)
    tb = tf.cast(t32, tf.bfloat16)
    tbb = tf.cast(t32b, tf.bfloat16)
    add("tensorflow bfloat16 (bfloat16 out)", lambda: tf.matmul(tb, tbb).numpy(),
        lambda o: o.astype(np.float32))
    add("tensorflow bfloat16 -> float32",
        lambda: tf.raw_ops.BatchMatMulV3(x=tb[None], y=tbb[None], Tout=tf.float32).numpy()[0],
        lambda o: o)
    ti = tf.cast(t32, tf.int8)
    tib = tf.cast(t32b, tf.int8)
    add("tensorflow int8 -> int32",
        lambda: tf.raw_ops.BatchMatMulV3(x=ti[None], y=tib[None], Tout=tf.int32).numpy()[0],
        lambda o: o)
    for dtype in ("uint8", "int8"):
        sess = _ort_session(dtype, args.rows, args.threads)
        a, b = np.ascontiguousarray(x.T).astype(dtype), x.astype(dtype)
        add(f"onnxruntime MatMulInteger {dtype}", lambda s=sess, a=a, b=b: s.run(
            None, {"A": a, "B": b})[0], lambda o: o)
    result = {"benchmark": "bench_exact_products", "machine": machine_record(),
              "rows_measured": args.rows, "rate": args.rate, "threads": args.threads,
              "full_multiply_adds": FULL_MACS, "kernels": rows,
              "note": "full_seconds: the measured speed extrapolated to every dense product "
                      "of lags 0..10 of 100,000 windows x 1,024 neurons x 64 bins (target 60 s); "
                      "the package's own path: bench_stats_scale.json"}
    write_result(args.out, result)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The rig part of ``bench_export.py``: the stream under load, precisions, statistical parity.

Measured on the packaged ``retina50`` generator (real weights) exported in the
three precisions:

* statistical parity of the float16 and int8 variants with the float32 model,
  as ``spikegan export --precision`` checks it, against the noise floor of the
  retina's training part (when the recording is found);
* on-demand single-window latency on 1 thread, p50/p99/p99.9, the three
  precisions interleaved in rounds; throughput at batch 1024 on 2 threads;
* the prefetching stream in a 1 kHz loop for ``seconds`` (60) while another
  process keeps one core busy: underruns, p50/p99/p99.9/max of the time to get
  the next window, ticks over the 1 ms and 10 ms budgets, and the process's
  CPU use with the stream paused; the same loop computing windows on demand
  beside it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

RETINA = (Path(__file__).resolve().parents[2] / "shared" / "data" / "retina"
          / "original_data_num_neurons_50_1.mat")
PRECISIONS = ("float32", "float16", "int8")


def _busy_core() -> subprocess.Popen:
    """Another process keeping one core busy (a spinning Python loop)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def _single_window(paths: dict[str, Path], calls: int, rounds: int) -> dict[str, Any]:
    import onnxruntime as ort

    from spikegan_tf.export.runtime import session_options

    rng = np.random.default_rng(0)
    sessions = {p: ort.InferenceSession(str(f), session_options(1),
                                        providers=["CPUExecutionProvider"])
                for p, f in paths.items()}
    inputs = {i.name: i.shape for i in next(iter(sessions.values())).get_inputs()}
    z = rng.standard_normal((1, inputs["z"][1]), dtype=np.float32)
    u = rng.random((1, *inputs["u"][1:]), dtype=np.float32)
    zb = rng.standard_normal((1024, inputs["z"][1]), dtype=np.float32)
    ub = rng.random((1024, *inputs["u"][1:]), dtype=np.float32)
    sessions2 = {p: ort.InferenceSession(str(f), session_options(2),
                                         providers=["CPUExecutionProvider"])
                 for p, f in paths.items()}
    times: dict[str, list[float]] = {p: [] for p in paths}
    batch: dict[str, list[float]] = {p: [] for p in paths}
    for s in [*sessions.values(), *sessions2.values()]:
        for _ in range(20):
            s.run(None, {"z": z, "u": u})
    for _ in range(rounds):
        for p, s in sessions.items():
            for _ in range(calls // rounds):
                t = time.perf_counter()
                s.run(None, {"z": z, "u": u})
                times[p].append(time.perf_counter() - t)
            t = time.perf_counter()
            sessions2[p].run(None, {"z": zb, "u": ub})
            batch[p].append(time.perf_counter() - t)
    out = {}
    for p in paths:
        us = np.asarray(times[p]) * 1e6
        p50, p99, p999 = np.percentile(us, [50, 99, 99.9])
        out[p] = {"p50_us": float(p50), "p99_us": float(p99), "p999_us": float(p999),
                  "calls": int(us.size), "file_bytes": paths[p].stat().st_size,
                  "windows_per_s_batch1024_2threads": 1024 / float(np.median(batch[p]))}
    return out


def run(seconds: float, calls: int, rounds: int, retina: Path | None = RETINA
        ) -> dict[str, Any]:
    """Measure everything above; return the JSON section."""
    import spikegan_tf.gan.pretrained as pretrained
    from spikegan_tf.export.bundle import export_run
    from spikegan_tf.export.latency import measure_latency

    run_dir = Path(pretrained.__file__).parent / "retina50"
    floor_data, floor_note = None, None
    if retina is not None and Path(retina).is_file():
        from spikegan_tf.data import load_spikes

        raster = load_spikes(retina, key="data").spikes
        floor_data = raster[: int(0.8 * len(raster))]  # what retina50 was trained on
        floor_note = f"{retina} (first 80%), held-out last 10% of it against the rest"
    out_dir = Path(tempfile.mkdtemp(prefix="bench-rig-"))
    if floor_data is not None:
        result = export_run(run_dir, out_dir, "onnx", name="retina50",
                            precision="float16,int8", floor_data=floor_data)
        parity = {k: v.to_dict() for k, v in result.statistical.items()}
        for line in result.lines()[-3:]:
            print(line)
    else:  # no recording: export float32 only and convert without the check
        from spikegan_tf.export.precision import FILES, convert

        result = export_run(run_dir, out_dir, "onnx", name="retina50")
        for p in ("float16", "int8"):
            convert(result.files["onnx"], result.path / FILES[p], p)
        parity, floor_note = None, "retina recording not found: statistical parity not measured"
    paths = {"float32": result.path / "model.onnx",
             "float16": result.path / "model-float16.onnx",
             "int8": result.path / "model-int8.onnx"}
    single = _single_window(paths, calls, rounds)

    busy = _busy_core()
    try:
        time.sleep(0.5)
        report = measure_latency(paths["float32"], seconds=seconds, threads=1, period_ms=1.0,
                                 prefetch=1024, pause_s=5.0)
    finally:
        busy.kill()
        busy.wait()
    return {
        "model": "spikegan_tf.gan.pretrained retina50 (50 neurons x 32 bins)",
        "statistical_parity": parity,
        "floor": floor_note,
        "single_window_1_thread": single,
        "loop_1khz_one_core_busy": report.to_dict(),
        "targets": {
            "stream_underruns": 0, "stream_p99_us_max": 20.0, "stream_p999_us_max": 100.0,
            "met": (report.modes["stream"].underruns == 0
                    and report.modes["stream"].p99_us <= 20.0
                    and report.modes["stream"].p999_us <= 100.0),
        },
    }


def print_table(section: dict[str, Any]) -> None:
    """The rig rows of the benchmark's table."""
    print(f"\n{section['model']}: precisions, 1 thread, one window on demand")
    print(f"{'precision':<10} {'p50 us':>8} {'p99 us':>8} {'p99.9 us':>9} {'MB':>6} "
          f"{'windows/s @1024, 2 thr':>23}   statistical parity (error / training floor)")
    for p, row in section["single_window_1_thread"].items():
        par = (section["statistical_parity"] or {}).get(p)
        ratios = "reference" if p == "float32" else (
            "max {:.2f} ({})".format(max(par["ratios"].values()),
                                     max(par["ratios"], key=par["ratios"].get))
            if par else "not measured")
        print(f"{p:<10} {row['p50_us']:8.1f} {row['p99_us']:8.1f} {row['p999_us']:9.1f} "
              f"{row['file_bytes'] / 1e6:6.2f} {row['windows_per_s_batch1024_2threads']:23,.0f}"
              f"   {ratios}")
    loop = section["loop_1khz_one_core_busy"]
    print(f"\n1 kHz loop, {loop['modes']['stream']['ticks']} ticks, another process keeping one "
          "core busy: time to get the next window (us)")
    for m in loop["modes"].values():
        print("  " + " ".join(f"{k}={v}" for k, v in m.items() if k != "mode") + f"  [{m['mode']}]")
    print(f"stream paused: {100 * loop['idle_cpu_fraction']:.2f}% of one CPU; targets "
          f"(0 underruns, p99 <= 20 us, p99.9 <= 100 us) met: {section['targets']['met']}")

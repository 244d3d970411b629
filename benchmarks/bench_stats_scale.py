"""Statistics at scale: every statistic of 100,000 windows of 1,024 neurons x 64 bins.

The windows (assemblies firing sequences, :func:`spikegan_tf.data.simulate.assemblies`,
one fixed population, a new seed per block of 2,000 windows) are generated block by
block into a temporary ``.npy`` on ``/tmp`` and evaluated from it as a read-only
memory map (6.5 GB, never loaded). Each measurement runs in a fresh subprocess, so
its peak resident memory (``ru_maxrss``) is its own, with 1 and with 2 threads
(``threads=`` and the BLAS thread variables):

* per statistic group, on the first ``--group-windows`` windows (every group
  includes reading the block and finding its spikes);
* the full computation (pairwise statistics on every window) on ``--full-windows``
  windows, extrapolated linearly to all windows unless it ran on all of them
  (the JSON says which);
* the subsample contract, ``compute_statistics(..., pair_windows=--pair-windows)``:
  covariances on that many evenly spaced windows, everything else on all windows.

Prints a table and writes ``benchmarks/results/bench_stats_scale.json`` with the
machine, its float32 matmul calibration and the load averages (the machine may be
shared: CPU seconds are the steadier measure).

Usage::

    python benchmarks/bench_stats_scale.py                  # ~10 minutes on one core
    python benchmarks/bench_stats_scale.py --full-windows 100000   # no extrapolation
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

OUT = Path(__file__).resolve().parent / "results" / "bench_stats_scale.json"
N_NEURONS, N_BINS, BLOCK = 1024, 64, 2000
TARGET_S, TARGET_GB = 60.0, 4.0
GROUPS = {  # label: (wanted sums, max_lag)
    "rates + time course": ({"timecourse"}, 0),
    "P(K)": ({"pk"}, 0),
    "ISI + autocorrelogram": ({"isi", "acg"}, 10),
    "words (10 neurons, 2 bins)": ({"words"}, 0),
    "spike-count correlation": ({"counts"}, 0),
    "covariance (lag 0)": ({"lags"}, 0),
    "covariances, lags 0..10": ({"lags"}, 10),
}


def generate(path: Path, n: int) -> dict:
    """Write ``n`` windows to ``path`` (.npy) block by block; return what was generated."""
    from spikegan_tf.data.simulate.assemblies import assemblies

    w0 = time.perf_counter()
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8,
                                    shape=(n, N_NEURONS, N_BINS))
    spikes = 0
    for k0 in range(0, n, BLOCK):
        m = min(BLOCK, n - k0)
        block = assemblies(m, N_NEURONS, N_BINS, population_seed=0, seed=1 + k0 // BLOCK).spikes
        out[k0:k0 + m] = block
        spikes += int(block.sum(dtype=np.int64))
    out.flush()
    del out
    return {"generator": "assemblies(n, 1024, 64, population_seed=0, seed=1 + block) "
                         f"in blocks of {BLOCK}",
            "n_windows": n, "n_neurons": N_NEURONS, "n_bins": N_BINS,
            "mean_firing_probability": spikes / (n * N_NEURONS * N_BINS),
            "file_gb": path.stat().st_size / 1e9, "generate_wall_s": time.perf_counter() - w0}


def _measure(fn) -> dict:
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return {"wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0}


def _peak_rss_mb() -> dict:
    """``ru_maxrss``, and ``VmHWM``: the peak of this process's own memory map (Linux).

    ``ru_maxrss`` survives ``exec`` and so starts at the parent's size when it forked us;
    the parent therefore stays small (TensorFlow, for the calibration, is imported last).
    """
    out = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    try:
        with open("/proc/self/status") as f:
            hwm = [line.split()[1] for line in f if line.startswith("VmHWM")]
        out["vm_hwm_mb"] = int(hwm[0]) / 1024
    except (OSError, IndexError):  # pragma: no cover - not Linux
        pass
    return out


def child(args: argparse.Namespace) -> dict:
    """One measurement (run in its own process): ``args.mode`` on the memory map."""
    if args.mode == "generate":
        return generate(Path(args.path), args.windows)
    from spikegan_tf.statistics import compute_statistics

    x = np.load(args.path, mmap_mode="r")
    if args.mode == "groups":
        from spikegan_tf.statistics.stream import _source
        from spikegan_tf.statistics.sums import _accumulate

        src = _source(x[: args.windows], None, 1)
        rows = {label: _measure(lambda w=want, L=lag: _accumulate(
                    src, w, max_lag=L, word_neurons=tuple(range(10)), word_bins=2,
                    threads=args.threads))
                for label, (want, lag) in GROUPS.items()}
        rows["compute_statistics (all)"] = _measure(
            lambda: compute_statistics(x[: args.windows], threads=args.threads))
        return {"n_windows": args.windows, "groups": rows}
    data = x[: args.windows]
    pair = args.pair_windows if args.mode == "subsample" else None
    st = {}
    res = _measure(lambda: st.update(s=compute_statistics(data, pair_windows=pair,
                                                          threads=args.threads)))
    res.update(_peak_rss_mb())
    res.update(n_windows=st["s"].n_windows, n_pair_windows=st["s"].n_pair_windows)
    return res


def run_child(path: Path, mode: str, threads: int, windows: int, pair_windows: int = 0) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": str(threads),
           "OPENBLAS_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "TF_NUM_INTRAOP_THREADS": str(threads)}
    cmd = [sys.executable, __file__, "--child", mode, "--path", str(path), "--threads",
           str(threads), "--windows", str(windows), "--pair-windows", str(pair_windows)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=100_000, help="windows generated and evaluated")
    p.add_argument("--group-windows", type=int, default=2000)
    p.add_argument("--full-windows", type=int, default=10_000)
    p.add_argument("--pair-windows", type=int, default=10_000)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--path", default=None, help=argparse.SUPPRESS)
    p.add_argument("--windows", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        args.mode = args.child
        args.threads = int(args.threads)
        print(json.dumps(child(args)))
        return 0
    need = args.n * N_NEURONS * N_BINS
    free = shutil.disk_usage(args.dir).free
    if free < need * 1.1:
        raise SystemExit(f"--dir {args.dir} has {free / 1e9:.1f} GB free; the windows need "
                         f"{need / 1e9:.1f} GB.")
    threads = [int(t) for t in args.threads.split(",")]
    record = {"benchmark": "bench_stats_scale", "load_average_1m_start": os.getloadavg()[0],
              "target": {"wall_s": TARGET_S, "peak_rss_gb": TARGET_GB}}
    work = Path(tempfile.mkdtemp(prefix="spikegan_stats_scale_", dir=args.dir))
    path = work / "windows.npy"
    try:
        record["data"] = run_child(path, "generate", 1, args.n)
        print(f"generated {args.n:,} windows ({record['data']['file_gb']:.1f} GB, mean firing "
              f"probability {record['data']['mean_firing_probability']:.4f}) in "
              f"{record['data']['generate_wall_s']:.0f} s", flush=True)
        record["groups"] = {t: run_child(path, "groups", t, args.group_windows) for t in threads}
        _print_groups(record["groups"])
        full_n = min(args.full_windows, args.n)
        record["full"] = _full(path, threads, full_n, args.n)
        record["subsample"] = {"pair_windows": args.pair_windows, "threads": {
            t: run_child(path, "subsample", t, args.n, args.pair_windows) for t in threads}}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    record["load_average_1m_end"] = os.getloadavg()[0]
    from _machine import machine_record  # imports TensorFlow: after the measurements

    record["machine"] = machine_record()
    record["verdict"] = _verdict(record)
    _print_runs(record)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"{record['verdict']}\nWrote {args.out}")
    return 0


def _full(path: Path, threads: list[int], full_n: int, n: int) -> dict:
    out = {"n_windows_measured": full_n, "extrapolated": full_n < n, "threads": {}}
    if full_n < n:
        out["note"] = (f"measured on the first {full_n:,} windows; times scaled by "
                       f"{n / full_n:g} (every sum is per window), peak memory as measured")
    for t in threads:
        r = run_child(path, "full", t, full_n)
        scale = n / full_n
        r.update(wall_s_all=r["wall_s"] * scale, cpu_s_all=r["cpu_s"] * scale)
        out["threads"][t] = r
    return out


def _verdict(record: dict) -> str:
    lines = []
    for kind in ("full", "subsample"):
        for t, r in record[kind]["threads"].items():
            wall = r.get("wall_s_all", r["wall_s"])
            ok = wall <= TARGET_S and r["peak_rss_mb"] <= TARGET_GB * 1024
            lines.append(f"{kind}, {t} thread(s): {wall:.0f} s, "
                         f"{r['peak_rss_mb'] / 1024:.2f} GB -> {'met' if ok else 'not met'}")
    return "target 60 s / 4 GB: " + "; ".join(lines)


def _print_groups(groups: dict) -> None:
    ts = list(groups)
    n = groups[ts[0]]["n_windows"]
    print(f"\nper statistic group, {n:,} windows (CPU-ms per window; wall s):")
    for label in groups[ts[0]]["groups"]:
        cells = "  ".join(f"{t} thr: {1000 * groups[t]['groups'][label]['cpu_s'] / n:7.3f} "
                          f"CPU-ms/w {groups[t]['groups'][label]['wall_s']:6.2f} s" for t in ts)
        print(f"  {label:30s} {cells}", flush=True)


def _print_runs(record: dict) -> None:
    print(f"\n{'run':34s} {'threads':>7s} {'wall s':>9s} {'CPU s':>9s} {'peak MB':>9s}")
    n = record["data"]["n_windows"]
    for t, r in record["full"]["threads"].items():
        print(f"{'full, ' + format(r['n_windows'], ',') + ' windows':34s} {t:>7} "
              f"{r['wall_s']:9.1f} {r['cpu_s']:9.1f} {r['peak_rss_mb']:9.0f}")
        if record["full"]["extrapolated"]:
            print(f"{'  -> extrapolated to ' + format(n, ','):34s} {t:>7} "
                  f"{r['wall_s_all']:9.1f} {r['cpu_s_all']:9.1f}")
    for t, r in record["subsample"]["threads"].items():
        label = f"all {n:,}, pair_windows={record['subsample']['pair_windows']:,}"
        print(f"{label:34s} {t:>7} {r['wall_s']:9.1f} {r['cpu_s']:9.1f} "
              f"{r['peak_rss_mb']:9.0f}")


if __name__ == "__main__":
    raise SystemExit(main())

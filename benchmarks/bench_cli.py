"""How long the command line makes a user wait: argument errors and a full-retina evaluate.

Issue-12 targets: any argument error in under 1 s (arguments are checked before
TensorFlow is imported); ``spikegan evaluate`` of the full stride-1 retina
(283,041 bins, every 32-bin window) against the authors' DG samples under 15 s wall
on 2 cores. Each command runs in a fresh interpreter, ``--repeats`` times; the
median wall time is reported.

    python benchmarks/bench_cli.py --data ../shared/data/retina

Prints a table and writes ``benchmarks/results/bench_cli.json`` (with the machine's
CPU, SIMD flags and float32 matmul GFLOP/s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_record  # noqa: E402

ERRORS = [["train", "--data", "x.npy", "--bins", "0", "--out", "r"],
          ["evaluate", "--real", "missing.npy", "--out", "e"],
          ["simulate", "uniform", "--neurons", "0", "--out", "x.npy"],
          ["sample", "--run", "r", "--n", "0", "--out", "y.npy"],
          ["info", "missing.npy"]]


def _wall(cmd: list[str], cwd: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - t0, proc.returncode


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path(os.environ.get(
        "SPIKEGAN_RETINA_DIR", Path(__file__).resolve().parents[2] / "shared/data/retina")))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path,
                   default=Path(__file__).resolve().parent / "results" / "bench_cli.json")
    args = p.parse_args()
    exe = [sys.executable, "-m", "spikegan_tf"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for cmd in ERRORS:
            times = [_wall(exe + cmd, tmp) for _ in range(args.repeats)]
            assert all(code == 2 for _, code in times), cmd
            rows.append({"command": " ".join(cmd), "median_wall_s":
                         statistics.median(t for t, _ in times), "target_s": 1.0})
        real = args.data / "original_data_num_neurons_50_1.mat"
        dg = args.data / "DG_num_neurons_50_1.mat"
        if real.exists() and dg.exists():
            cmd = ["evaluate", "--real", str(real), "--key", "data", "--bins", "32",
                   "--generated", str(dg), "--out", str(Path(tmp) / "eval")]
            times = [_wall(exe + cmd, tmp) for _ in range(args.repeats)]
            assert all(code == 0 for _, code in times), cmd
            rows.append({"command": "evaluate full retina (283,041 bins, stride 1) vs DG samples",
                         "median_wall_s": statistics.median(t for t, _ in times),
                         "target_s": 15.0})
    print(f"{'command':70s} {'median s':>9s} {'target':>7s}")
    for r in rows:
        print(f"{r['command'][:70]:70s} {r['median_wall_s']:9.2f} {r['target_s']:7.1f}")
    args.out.write_text(json.dumps({"benchmark": "bench_cli", "machine": machine_record(),
                                    "repeats": args.repeats, "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

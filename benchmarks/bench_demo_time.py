"""How long ``make demo`` makes a new user wait: ``spikegan demo`` timed end to end.

Runs ``spikegan demo --steps N --quiet`` in a fresh interpreter (as ``make demo`` does, with
the machine's default threads) and records its wall time and the training time it prints.

    python benchmarks/bench_demo_time.py --steps 24000

Prints a table and writes ``benchmarks/results/bench_demo_time.json`` (with the machine's
CPU, SIMD flags and float32 matmul GFLOP/s).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_record  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=24000)
    p.add_argument("--out", type=Path,
                   default=Path(__file__).resolve().parent / "results" / "bench_demo_time.json")
    args = p.parse_args()
    machine = machine_record()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "spikegan_tf", "demo", "--out",
                              str(Path(tmp) / "demo"), "--steps", str(args.steps), "--quiet"],
                             capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t0
    trained = re.search(r"(\d+) steps in ([\d.]+) min", run.stdout)
    record = {"benchmark": "bench_demo_time", "machine": machine, "steps": args.steps,
              "wall_s": round(wall, 1),
              "training_min_printed": float(trained.group(2)) if trained else None}
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"{machine['cpu_model']}: {machine['matmul_float32']['gflop_per_s']:.0f} GFLOP/s")
    print(f"spikegan demo --steps {args.steps}: {wall / 60:.1f} min wall, training "
          f"{record['training_min_printed']} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())

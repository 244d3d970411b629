"""Issue 11 item 3: the lazy gradient penalty and the two-time-scale rule against today's default.

Reads the runs of ``benchmarks/results/lazy_gp/``:

* ``bench_demo_lazy.json`` / ``bench_demo_ttur.json`` / ``bench_demo_bf16.json``
  (``bench_demo.py``, the demo's setting: ``uniform``, 16 neurons, 32 critic features;
  ``n_critic=2`` as the demo trains, against ``gp_every=4``, ``n_critic=1`` with the
  critic's learning rate twice the generator's, and bfloat16 compute
  (``mixed_precision="bfloat16"``); seeds 0-2, the uncalibrated generator every 4,000
  iterations);
* ``retina_{default,lazy4,ttur}_seed*/curve.jsonl`` (``retina_curve.py``, 8 CPU-minutes
  each on one core, a point every 1,000 iterations: the published generator and the
  uncalibrated one; ``default`` and ``lazy4`` resumed to 20 CPU-minutes in session 20, the
  same command with ``--cpu-minutes 20``).

For each statistic it interpolates every run's ratio to the floor (in log space,
between its evaluation points) at common CPU-seconds and at common iterations, and
prints per-seed values and the median over seeds of each variant; the same goes to
``benchmarks/results/lazy_gp/summary.json`` with the machine records of the runs::

    python benchmarks/lazy_gp_summary.py
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent / "results" / "lazy_gp"
STATS = ("firing_probability", "covariance", "lag1_covariance", "spike_count_distribution",
         "autocorrelogram", "time_course")


def _at(points: list[dict], key: str, x: float, field: str) -> dict | None:
    """Each statistic's ratio at ``x`` of ``key`` (log-linear interpolation); None if outside."""
    xs = [p[key] for p in points]
    if not xs or x < xs[0] or x > xs[-1]:
        return None
    return {s: float(np.exp(np.interp(x, xs, [np.log(p[field][s]) for p in points])))
            for s in STATS}


def _table(runs: dict[str, dict[int, list[dict]]], key: str, grid: list[float], field: str,
           label: str) -> dict:
    out: dict = {}
    print(f"\n{label}: ratio to the floor at equal {key}")
    print(f"{'variant':10s}{key:>8s}  " + "".join(f"{s[:10]:>12s}" for s in STATS))
    for variant, seeds in runs.items():
        out[variant] = {}
        for x in grid:
            per_seed = {seed: _at(points, key, x, field) for seed, points in seeds.items()}
            if any(v is None for v in per_seed.values()):
                continue
            med = {s: statistics.median(v[s] for v in per_seed.values()) for s in STATS}
            out[variant][str(x)] = {"median": med, "per_seed": per_seed}
            print(f"{variant:10s}{x:8.0f}  " + "".join(f"{med[s]:12.2f}" for s in STATS))
    return out


def _ahead(table: dict) -> dict:
    """Per variant, CPU-s and statistic: in how many seeds it is below the default's ratio."""
    out: dict = {}
    base = table.get("default", {})
    for variant, at in table.items():
        if variant == "default":
            continue
        for x, row in at.items():
            if x not in base:
                continue
            seeds = [k for k in row["per_seed"] if k in base[x]["per_seed"]]
            out.setdefault(variant, {})[x] = {
                s: f"{sum(row['per_seed'][k][s] < base[x]['per_seed'][k][s] for k in seeds)}"
                   f"/{len(seeds)}" for s in STATS}
    return out


def main() -> int:
    result: dict = {"benchmark": "lazy_gp_summary", "machines": {}}
    demo: dict[str, dict[int, list[dict]]] = {}
    for name in ("bench_demo_lazy.json", "bench_demo_ttur.json", "bench_demo_bf16.json"):
        path = HERE / name
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        result["machines"][name] = data["machine"]
        for run in data["runs"]:
            demo.setdefault(run["variant"], {})[run["seed"]] = run["curve"]
    if demo:
        result["demo"] = {
            "cpu_s": _table(demo, "cpu_s", [80, 120, 160, 200], "ratio",
                            "demo setting, uncalibrated generator"),
            "step": _table(demo, "step", [8000, 16000, 24000], "ratio",
                           "demo setting, uncalibrated generator"),
            "cpu_s_per_1000_iterations": {
                v: statistics.median(c[-1]["cpu_s"] / c[-1]["step"] * 1000 for c in s.values())
                for v, s in demo.items()}}
    retina: dict[str, dict[int, list[dict]]] = {}
    for path in sorted(HERE.glob("retina_*_seed*/curve.jsonl")):
        variant, seed = path.parent.name[len("retina_"):].rsplit("_seed", 1)
        points = [json.loads(x) for x in path.read_text().splitlines() if x]
        retina.setdefault(variant, {})[int(seed)] = points
        result["machines"][path.parent.name] = [  # one per session of the run
            x["machine"] for x in json.loads((path.parent / "curve.json").read_text())["sessions"]]
    if retina:
        # 480: the first sessions' 8 CPU-minutes; 1,200: default and lazy4 resumed to 20
        grid = [100, 200, 300, 400, 480, 600, 800, 1000, 1200]
        published = _table(retina, "cpu_s", grid, "ratio", "retina, published generator")
        uncalibrated = _table(retina, "cpu_s", grid, "ratio_uncalibrated",
                              "retina, uncalibrated generator")
        result["retina"] = {
            "published_cpu_s": published,
            "uncalibrated_cpu_s": uncalibrated,
            "seeds_ahead_of_default": {
                "published": _ahead(published), "uncalibrated": _ahead(uncalibrated)},
            "cpu_s_per_1000_iterations": {
                v: statistics.median(p[-1]["cpu_s"] / p[-1]["step"] * 1000 for p in s.values())
                for v, s in retina.items()}}
    for kind, ahead in result.get("retina", {}).get("seeds_ahead_of_default", {}).items():
        print(f"\nretina, {kind}: seeds ahead of the default at equal CPU-s")
        for variant, at in ahead.items():
            for x, counts in at.items():
                print(f"{variant:10s}{float(x):8.0f}  " + "".join(f"{counts[s]:>12s}" for s in STATS))
    for part in ("demo", "retina"):
        if part in result:
            print(f"\n{part}: CPU-s per 1,000 iterations "
                  + ", ".join(f"{v} {c:.0f}" for v, c in
                              result[part]["cpu_s_per_1000_iterations"].items()))
    out = HERE / "summary.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Issue 14 item 5: how large are the seam ratios of real, seamless data?

The seam test (``spikegan_tf.evaluation.seams``) compares the stride-1 windows of a raster that
straddle a generation boundary with as many windows inside one piece, each against real data:
``ratio = error(straddling) / error(within)``. Issue 14 asks for ratios within 1.2x on every
statistic. This script measures what a raster with **no** seams scores: the retina's held-out
split (the last 20%, continuous real data), cut at boundaries every ``--segment`` bins at
``--offsets`` evenly spaced phases, against the training split, exactly as
``benchmarks/raster_retina.py`` tests a generated raster (same split, same 256-bin pieces, same
32-bin windows). The spread of those ratios is the instrument's own noise: a generated raster's
ratio means "seam" only where it lies beyond it.

It then reads every generated raster's seam ratios and AUC committed under
``benchmarks/results/temporal_history/train_seed*/raster_eval*.json`` and counts how many lie
within the real data's range (at most its largest ratio over the phases, per statistic). Writes
``benchmarks/results/seam_null.json``::

    python benchmarks/seam_null.py            # SPIKEGAN_RETINA_DIR or ../shared/data/retina
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_record, write_result  # noqa: E402

HERE = Path(__file__).resolve().parent / "results"
RAW = "original_data_num_neurons_50_1.mat"


def _default_data() -> Path:
    env = os.environ.get("SPIKEGAN_RETINA_DIR")
    base = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data" / "retina"
    return base / RAW


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--segment", type=int, default=256, help="bins between boundaries")
    p.add_argument("--offsets", type=int, default=32, help="phases of the boundaries tried")
    p.add_argument("--out", type=Path, default=HERE / "seam_null.json")
    return p.parse_args(argv)


def _summary(values: list[float]) -> dict:
    v = np.asarray(values, float)
    return {"median": float(np.median(v)), "p05": float(np.quantile(v, 0.05)),
            "p95": float(np.quantile(v, 0.95)), "min": float(v.min()), "max": float(v.max()),
            "share_above_1.2": float(np.mean(v > 1.2))}


def _generated(stats: tuple[str, ...]) -> list[dict]:
    rows = []
    for path in sorted(HERE.glob("temporal_history/train_seed*/raster_eval*.json")):
        d = json.loads(path.read_text())
        for r in d.get("rows", []):
            if "seams" in r:
                rows.append({"file": str(path.relative_to(HERE.parent.parent)),
                             "variant": r.get("variant"), "seed": r.get("seed"),
                             "segment_length": d.get("chunk"),
                             "ratio": {k: r["seams"]["ratio"][k] for k in stats},
                             "auc": r["seams"]["auc"]})
    return rows


def _counts(rows: list[dict], null: dict) -> dict:
    """How many rasters lie within the real data's largest ratio (AUC), and within 1.2x."""
    stats = [k for k in null if k != "auc"]
    within = {k: int(sum(r["ratio"][k] <= null[k]["max"] for r in rows)) for k in stats}
    within["auc"] = int(sum(r["auc"] <= null["auc"]["max"] for r in rows))
    within["n"] = len(rows)
    return {"within_null_max": within,
            "within_1.2": {k: int(sum(r["ratio"][k] <= 1.2 for r in rows)) for k in stats}}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from spikegan_tf.data import load_spikes, split_raster
    from spikegan_tf.evaluation.compare import HEADLINE, as_statistics
    from spikegan_tf.evaluation.seams import seam_report

    machine = machine_record()
    raster = load_spikes(args.data, key="data").spikes
    train, test = split_raster(raster, (0.8, 0.2), gap=32)  # as raster_retina.py
    offsets = np.linspace(0, args.segment, args.offsets, endpoint=False).astype(int)
    ref = as_statistics(train, n_bins=32, label="train")  # once for every phase
    phases = []
    t0 = time.perf_counter()
    print(f"{'offset':>7}" + "".join(f"{k[:12]:>13}" for k in HEADLINE) + f"{'AUC':>7}")
    for off in offsets:
        rep = seam_report(test, ref, args.segment, n_bins=32, offset=int(off), seed=0)
        phases.append({"offset": int(off), "ratio": rep.ratio, "auc": rep.auc,
                       "n_straddling": rep.n_straddling})
        print(f"{off:7d}" + "".join(f"{rep.ratio[k]:13.2f}" for k in HEADLINE)
              + f"{rep.auc:7.3f}", flush=True)
    null = {k: _summary([p["ratio"][k] for p in phases]) for k in HEADLINE}
    null["auc"] = _summary([p["auc"] for p in phases])
    gen = _generated(HEADLINE)
    groups: dict[str, list[dict]] = {}
    for r in gen:
        groups.setdefault(f"{Path(r['file']).name}:{r['variant']}", []).append(r)
    by_group = {name: _counts(rows, null) for name, rows in groups.items()}
    within, within_12 = _counts(gen, null).values()
    result = {"benchmark": "seam_null", "machine": machine, "data": str(args.data.name),
              "split": "first 80% train, last 20% test, 32-bin gap (raster_retina.py)",
              "segment_length": args.segment, "n_bins": 32, "n_time_bins": int(len(test)),
              "offsets": offsets.tolist(), "phases": phases, "null": null,
              "generated": {"n_rasters": len(gen), "within_null_max": within,
                            "within_1.2": within_12, "by_file_and_variant": by_group,
                            "rows": gen},
              "wall_s": time.perf_counter() - t0}
    write_result(args.out, result)
    print("\nreal held-out data, seamless, over", len(phases), "phases: median / 95th pct / max")
    for k in (*HEADLINE, "auc"):
        s = null[k]
        print(f"  {k:26s}{s['median']:7.2f}{s['p95']:7.2f}{s['max']:7.2f}"
              f"   generated rasters within max: {within[k]}/{len(gen)}"
              + (f", within 1.2: {within_12[k]}/{len(gen)}" if k != "auc" else ""))
    print("\nper file and variant: rasters within the real data's largest ratio (AUC)")
    for name, c in by_group.items():
        w = c["within_null_max"]
        print(f"  {name:42s}" + " ".join(f"{w[k]}/{w['n']}" for k in (*HEADLINE, "auc")))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

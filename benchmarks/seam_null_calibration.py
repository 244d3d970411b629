"""How often the seam test's own null flags rasters that have no seams.

A temporal generator's raster is the same whatever its chunks (``tests/test_raster.py``), so
the windows that straddle its generation boundaries are windows like any other: every check
``seam_report(null_phases=K)`` flags there is a false alarm, due with probability
``1 / (K + 1)`` per check if the null holds. Reads the ``raster_retina.py`` outputs given
(their stored ratios and AUCs at the real and the pseudo-boundaries) and counts, over all
rasters, the checks beyond all pseudo-boundaries: the ratios one-sided (above every
pseudo-boundary's, as before session 21) and two-sided (``|log ratio|``, as
``SeamReport.p_values`` now does), and the AUC. Writes ``--out`` and prints the counts::

    python benchmarks/seam_null_calibration.py --out benchmarks/results/temporal_lag200/seam_null_calibration.json \\
        benchmarks/results/temporal_lag200/train_seed*/raster_eval_history_evennull.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from _machine import write_result


def flags(seams: dict) -> dict[str, int]:
    """Checks beyond all pseudo-boundaries: ratios one-sided (the rule before session 21),
    two-sided and the AUC (``SeamReport.beyond_null``'s rule)."""
    from spikegan_tf.evaluation.seams import SeamReport

    one = sum(v > max(seams["null_ratio"][k]) for k, v in seams["ratio"].items())
    now = SeamReport(**seams).beyond_null()
    return {"ratios_one_sided": int(one),
            "ratios_two_sided": int(sum(now[k] for k in seams["ratio"])),
            "auc": int(now["auc"])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("files", type=Path, nargs="+", help="raster_retina.py outputs")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    rows, due, checks = [], 0.0, 0
    for f in args.files:
        for r in json.loads(f.read_text())["rows"]:
            seams = r["seams"]
            if not seams.get("null_phases"):
                continue
            rows.append({"file": str(f), "seed": r["seed"], "variant": r["variant"],
                         "pseudo_boundaries": len(seams["null_phases"]), **flags(seams)})
            due += (len(seams["ratio"]) + 1) / (len(seams["null_phases"]) + 1)
            checks += len(seams["ratio"]) + 1
    total = {k: sum(r[k] for r in rows) for k in ("ratios_one_sided", "ratios_two_sided", "auc")}
    result = {"benchmark": "seam_null_calibration", "rasters": len(rows), "checks": checks,
              "due_by_chance": round(due, 2), "flagged": total,
              "flagged_one_sided": total["ratios_one_sided"] + total["auc"],
              "flagged_two_sided": total["ratios_two_sided"] + total["auc"], "rows": rows}
    print(f"{len(rows)} rasters, {checks} checks, {due:.1f} flags due by chance: one-sided "
          f"{result['flagged_one_sided']}, two-sided {result['flagged_two_sided']}")
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

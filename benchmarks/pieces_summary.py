"""The pieces of expected rasters, side by side: issue 14's contract (a') per run.

Reads ``raster_pieces.py`` results (``RUN/raster_pieces*.json``) of the runs under ``--root``
that match ``--runs`` (comma-separated globs) and prints, per file, the range of each
statistic's ratio over the pieces, how many pieces are within the bound, the whole raster's
ratio and the pieces' ``burstiness_cv2`` (how much their windows' coincidences per spike vary),
beside the training split's. A statistic's bound is ``max(1.5, the largest real block's ratio)``
(the autocorrelogram to lag 64: ``max(2, ...)``; the real blocks of ``--block-floor`` stored
in each file); a run meets (a') when, for every statistic, a majority of its pieces are
within the bound and the whole raster within 1.5x (2x): :func:`pieces_met`. Writes the table
to ``--out`` (JSON). With ``--singles PATTERN`` (e.g. ``"raster_eval_history*.json"``) it also
counts, per such ``raster_retina.py`` file of the runs, the single rasters that meet part (b):
each within the real blocks' bounds of ``--block-floor``, seam AUC <= 0.55 and no seam check
beyond the raster's own null (``raster_history_summary.contract_met``)::

    python benchmarks/pieces_summary.py --root benchmarks/results/critic_head_long \\
        --runs "ctrl_seed*,avm*_seed*" --out benchmarks/results/critic_head_long/pieces_avm.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

#: the six headline statistics and the autocorrelogram to lag 64, as raster_pieces.py names them
STATS = ("firing_probability", "covariance", "lag1_covariance", "spike_count_distribution",
         "autocorrelogram", "time_course", "acg64")


def limit(stat: str) -> float:
    """The contract's bound for ``stat``: 2 for the autocorrelogram to lag 64, else 1.5."""
    return 2.0 if stat == "acg64" else 1.5


def bound(stat: str, block_floor: dict | None) -> float:
    """A piece's bound on ``stat``: 1.5 (``acg64``: 2), or the largest real block's ratio.

    >>> bound("covariance", {"covariance": [0.5, 1.0]}), bound("acg64", None)
    (1.5, 2.0)
    >>> bound("autocorrelogram", {"autocorrelogram": [0.7, 1.7]})
    1.7
    """
    base = limit(stat)
    return max(base, block_floor[stat][1]) if block_floor and stat in block_floor else base


def pieces_met(result: dict) -> dict:
    """Per statistic, the pieces within :func:`bound` and whether (a') holds for it.

    >>> pieces = [{"covariance": c, "acg64": 1.0} for c in (1.2, 1.6, 1.4)]
    >>> met = pieces_met({"pieces": pieces, "whole": {"covariance": 1.3, "acg64": 1.0},
    ...                   "block_floor": None})
    >>> met["covariance"], met["acg64"]["met"]
    ({'within': 2, 'of': 3, 'met': True}, True)
    """
    out = {}
    for stat in STATS:
        if stat not in result["whole"]:
            continue
        b = bound(stat, result["block_floor"])
        within = sum(q[stat] <= b for q in result["pieces"])
        n = len(result["pieces"])
        whole = result["whole"][stat] <= limit(stat)
        out[stat] = {"within": within, "of": n, "met": bool(2 * within > n and whole)}
    return out


def run_files(root: Path, runs: str, patterns: str) -> list[Path]:
    """The files matching ``patterns`` (comma-separated globs) in the run directories under
    ``root`` that match ``runs`` (comma-separated globs), sorted (run by run)."""
    return sorted({f for glob in runs.split(",") if glob for run in root.glob(glob)
                   if run.is_dir() for pattern in patterns.split(",") if pattern
                   for f in run.glob(pattern)})


def single_rows(args: argparse.Namespace, pattern: str) -> list[dict]:
    """Per ``raster_retina.py`` file matching ``pattern`` (comma-separated globs) in the runs:
    which of its rasters meet contract part (b) (:func:`raster_history_summary.contract_met`
    with the real blocks of ``--block-floor``); prints a line per file and the total."""
    from raster_history_summary import beyond_null, contract_met

    floor = (json.loads(args.block_floor.read_text())["summary"] if args.block_floor
             else None)
    out = []
    for f in run_files(args.root, args.runs, pattern):
        rows = json.loads(f.read_text())["rows"]
        beyond = [beyond_null(r["seams"]) for r in rows]
        met = contract_met(rows, beyond, floor)
        out.append({"file": str(f), "seeds": [r["seed"] for r in rows],
                    "beyond_null": beyond, "meets_contract_b": met})
        print(f"{str(f.relative_to(args.root)):<52} (b): {sum(met)} of {len(met)}")
    total = sum(sum(r["meets_contract_b"]) for r in out)
    print(f"single rasters meeting (b): {total} of {sum(len(r['seeds']) for r in out)}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, required=True)
    p.add_argument("--runs", required=True, help="comma-separated globs of run directories")
    p.add_argument("--pattern", default="raster_pieces*.json",
                   help="files read in each run (comma-separated globs)")
    p.add_argument("--out", type=Path, required=True, help="JSON written")
    p.add_argument("--singles", default=None, metavar="PATTERN",
                   help="raster_retina.py files read in each run (comma-separated globs): "
                        "contract (b) per raster")
    p.add_argument("--block-floor", type=Path, default=None,
                   help="raster_floor.py result whose real blocks bound (b)")
    args = p.parse_args(argv)
    files = run_files(args.root, args.runs, args.pattern)
    if not files:
        p.error(f"--runs: no {args.pattern} under {args.root} matches {args.runs!r}")
    rows = []
    print(f"{'file':<44}{'cov range':>12}{'ACG range':>12}{'ACG in':>7}{'acg64 range':>12}"
          f"{'whole cov/ACG/acg64':>21}{'burst CV2':>14}{'train':>7}  (a')")
    for f in files:
        result = json.loads(f.read_text())
        met = pieces_met(result)
        spread = {s: [min(q[s] for q in result["pieces"]), max(q[s] for q in result["pieces"])]
                  for s in met}
        cv2 = [q.get("burstiness_cv2") for q in result["pieces"]]
        train_cv2 = result.get("burstiness_cv2", {}).get("train")
        row = {"file": str(f), "variant": result["variant"], "spread": spread,
               "whole": result["whole"], "within": met, "burstiness_cv2": cv2,
               "train_burstiness_cv2": train_cv2,
               "meets_pieces_contract": all(m["met"] for m in met.values())}
        rows.append(row)
        w = result["whole"]
        cv = ("-" if None in cv2 else f"{min(cv2):.4f}-{max(cv2):.4f}")
        print(f"{str(f.relative_to(args.root)):<44}"
              f"{spread['covariance'][0]:5.2f}-{spread['covariance'][1]:<5.2f}"
              f"{spread['autocorrelogram'][0]:6.2f}-{spread['autocorrelogram'][1]:<5.2f}"
              f"{met['autocorrelogram']['within']:>4}/{met['autocorrelogram']['of']}"
              f"{spread['acg64'][0]:6.2f}-{spread['acg64'][1]:<5.2f}"
              f"{w['covariance']:9.2f}/{w['autocorrelogram']:.2f}/{w['acg64']:.2f}"
              f"{cv:>14}{'-' if train_cv2 is None else f'{train_cv2:.4f}':>7}"
              f"  {row['meets_pieces_contract']}")
    singles = [] if args.singles is None else single_rows(args, args.singles)
    args.out.write_text(json.dumps({"benchmark": "pieces_summary", "runs": args.runs,
                                    "rows": rows, "singles": singles}, indent=1) + "\n")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

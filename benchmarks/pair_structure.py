"""The retina's pairs, grouped as ``raster_pieces.py``'s ``pair_bias`` groups them: what each
group's cross-covariance does over lags, and how often its pairs fire together.

``raster_pieces.py`` found the raster recipe's covariance error in the quarter of pairs the
recording anticorrelates (its rasters make them independent or positively correlated). This
benchmark says what those pairs are in the data: per group (training-split single-bin
covariance quantiles, :data:`raster_pieces.PAIR_QUANTILES`), the mean cross-covariance
``cov(x_i(t), x_j(t + l))`` at a few lags of the training split, and the ratio of the pairs'
same-bin coincidences to those of independent neurons of the same rates. An anticorrelation
that lasts several bins is driven (e.g. ON and OFF cells under one stimulus), one confined to
the same bin would be a sorting artefact (two units that cannot fire together). Writes JSON
with the machine record::

    SPIKEGAN_RETINA_DIR=../shared/data/retina python benchmarks/pair_structure.py \\
        --out benchmarks/results/critic_head_long/pair_structure.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from _machine import machine_record  # noqa: E402
from raster_pieces import PAIR_QUANTILES, pair_groups  # noqa: E402
from retina_curve import RAW, _default_data, retina_splits  # noqa: E402

LAGS = (0, 1, 2, 3, 5, 10, 20, 40, 80)


def cross_covariance(raster: np.ndarray, lag: int) -> np.ndarray:
    """``(N, N)``: ``[i, j] = cov(x_i(t), x_j(t + lag))`` over the raster's pairs of bins.

    >>> x = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    >>> bool(cross_covariance(x, 1)[0, 1] > 0), bool(cross_covariance(x, 0)[0, 1] < 0)
    (True, True)
    """
    x = np.asarray(raster, np.float64)
    a, b = x[:len(x) - lag], x[lag:]
    return (a - a.mean(0)).T @ (b - b.mean(0)) / len(a)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if args.data is None:
        p.error(f"give --data PATH/{RAW} or set SPIKEGAN_RETINA_DIR")
    train, _ = retina_splits(args.data)
    upper = np.triu_indices(train.shape[1], 1)
    same = np.cov(np.asarray(train, np.float64), rowvar=False)[upper]
    edges, which = pair_groups(same)
    rates = np.asarray(train, np.float64).mean(0)
    independent = (rates[:, None] * rates[None, :])[upper]
    lagged = {lag: cross_covariance(train, lag)[upper] for lag in LAGS}
    groups = []
    for k in range(len(edges) - 1):
        sel = which == k
        groups.append({"train_covariance": [float(edges[k]), float(edges[k + 1])],
                       "pairs": int(sel.sum()),
                       "cross_covariance": {str(lag): float(v[sel].mean())
                                            for lag, v in lagged.items()},
                       "together_over_independent": float(
                           ((same[sel] + independent[sel]) / independent[sel]).mean())})
    result = {"benchmark": "pair_structure", "machine": machine_record(),
              "data": str(args.data), "split": "training (first 80%)", "lags": list(LAGS),
              "quantiles": list(PAIR_QUANTILES), "groups": groups}
    print("group (train covariance)  pairs  together/indep  cross-covariance at lags "
          + " ".join(str(lag) for lag in LAGS))
    for g in groups:
        lo, hi = g["train_covariance"]
        print(f"{lo:+.1e}..{hi:+.1e} {g['pairs']:6d} {g['together_over_independent']:14.2f}  "
              + " ".join(f"{v:+.1e}" for v in g["cross_covariance"].values()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Issue 14: is the retina's slow autocorrelogram dip each neuron's own, or shared?

On the training split (first 80%, as ``retina_curve.py`` splits it), the lagged covariance
matrix ``C(l) = mean_t (x(t + l) - r)(x(t) - r)^T`` summed over its diagonal (each neuron with
itself) and over the rest (different neurons), at lags up to 200. A dip that the neurons
share shows in the off-diagonal sum; one of each neuron alone (adaptation) in the diagonal.
Writes ``--out``::

    python benchmarks/shared_dip.py --out benchmarks/results/temporal_lag200/shared_dip.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from _machine import machine_record, write_result
from retina_curve import RAW, _default_data, retina_splits

LAGS = (0, 1, 10, 30, 64, 100, 150, 200)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if args.data is None:
        p.error(f"give --data PATH/{RAW} or set SPIKEGAN_RETINA_DIR")
    train, _ = retina_splits(args.data)
    x = train.astype(np.float64)
    x -= x.mean(axis=0)
    rows = []
    print(f"{'lag':>5} {'own':>10} {'shared':>10}")
    for lag in LAGS:
        c = x[lag:].T @ x[:len(x) - lag] / (len(x) - lag)
        own = float(np.trace(c))
        rows.append({"lag": lag, "own": own, "shared": float(c.sum() - own)})
        print(f"{lag:5d} {own:10.4f} {rows[-1]['shared']:10.4f}")
    result = {"benchmark": "shared_dip", "machine": machine_record(), "train_bins": len(train),
              "rows": rows}
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

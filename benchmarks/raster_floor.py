"""What a perfect model's raster scores under ``raster_retina.py``'s protocol (issue 14, point 5).

``raster_retina.py`` judges one generated raster as long as the held-out split: the six
headline statistics of its stride-1 32-bin windows as multiples of the test-vs-train floor
(target: each <= 1.5x) and the autocorrelogram to lag 64 (target <= 2x). A raster is one
sample: even a model that *is* the data's process would score above 1x, by how much depends
on the statistic and on how slowly the data vary. This benchmark measures it with real data
in the model's place (:func:`spikegan_tf.evaluation.block_floor.block_floor`, what
``spikegan evaluate --block-floor K`` prints): a block of the training split as long as the
held-out split stands in for the raster and the rest of the training split for the training
data (its two pieces joined into one raster: the ~31 windows of 170,000 that straddle the join
are left in), so the block is data the reference never saw, as a generated raster is::

    ratio = distance(block, rest) / distance(held-out, rest)

Blocks start about every half block length (``--step``), evenly spaced from the first bin
of the training split to its last block (the one nearest the held-out split).
A block from the middle of the recording is nearer in time to the reference than the
held-out split (the end of the recording) is, which favours the block when the recording
drifts: read the ratios as what a perfect model scores at best. For simulated, stationary
data (``--data`` of ``simulate.uniform`` / ``simulate.packets`` rasters) there is no drift.

Prints a table and writes JSON (machine record included)::

    SPIKEGAN_RETINA_DIR=../shared/data/retina python benchmarks/raster_floor.py \\
        --out benchmarks/results/raster_floor/retina.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _machine import machine_record  # noqa: E402
from retina_curve import RAW, _default_data, retina_splits  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--step", type=float, default=0.5,
                   help="block start spacing, as a fraction of the block length")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if args.data is None:
        p.error(f"give --data PATH/{RAW} or set SPIKEGAN_RETINA_DIR")

    from spikegan_tf.evaluation import HEADLINE
    from spikegan_tf.evaluation.block_floor import block_floor

    # the split of retina_curve.load_run: first 80% training, last 20% held out, a 32-bin gap
    train, test = retina_splits(args.data)
    length = len(test)
    stats = HEADLINE + ("isi_distribution",)
    n_blocks = int(round((len(train) - length) / max(1.0, args.step * length))) + 1
    t0 = time.process_time()
    floor32 = block_floor(train, test, n_blocks=n_blocks, n_bins=32, statistics=stats)
    floor65 = block_floor(train, test, n_blocks=n_blocks, n_bins=65, max_lag=64,
                          statistics=("autocorrelogram",))
    offsets = floor32.offsets
    result = {"benchmark": "raster_floor", "machine": machine_record(), "data": str(args.data),
              "train_bins": int(len(train)), "block_bins": int(length), "offsets": offsets,
              "cpu_s": round(time.process_time() - t0, 1), "rows": []}
    print(f"{len(offsets)} blocks of {length} bins in a training split of {len(train)}")
    print(f"{'offset':>7} " + "".join(f"{s[:10]:>11}" for s in stats) + f"{'ACG64':>7}")
    total = train.sum(0)  # each block's rest is the training split without it
    for i, offset in enumerate(offsets):
        block = train[offset:offset + length]
        rest_mean = (total - block.sum(0)) / (len(train) - length)
        row = {"offset": offset, "ratio": {s: floor32.ratios[s][i] for s in stats},
               "acg64_ratio": floor65.ratios["autocorrelogram"][i],
               "rate_ratio": float(block.mean() / rest_mean.mean())}
        result["rows"].append(row)
        print(f"{offset:>7} " + "".join(f"{row['ratio'][s]:11.2f}" for s in stats)
              + f"{row['acg64_ratio']:7.2f}", flush=True)
    summary = {**floor32.summary(), "acg64": floor65.summary()["autocorrelogram"]}
    for s in stats:
        summary[s]["within_1.5x"] = floor32.within(1.5, [s])
    summary["acg64"]["within_2x"] = floor65.within(2.0)
    summary["all_six_within_1.5x"] = floor32.within(1.5, HEADLINE)
    summary["blocks"] = len(offsets)
    result["summary"] = summary
    print(f"all six headline statistics within 1.5x in {summary['all_six_within_1.5x']} of "
          f"{len(offsets)} blocks; ACG to lag 64 within 2x in {summary['acg64']['within_2x']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Issue 14: windows and rasters of a temporal generator with a 10- and a 200-lag filter.

A filter longer than the window is solved (with the rates) on long stretches of
the generator's raster, where every bin has the spikes before it; a window is
drawn without them. For each ``retina_curve.py`` temporal run given, publishes
the generator with each filter (``calibrated_copy(..., history_lags=L)``) and
measures the mean rate, over the training split's, of 8,192 windows (sample seed
1; also their first and last 4 bins) and of one raster as long as the held-out
split (sample seed 1).

Writes ``OUT`` (JSON with the machine record)::

    python benchmarks/window_rate_long_filter.py --out benchmarks/results/temporal_lag200/window_rate.json \\
        benchmarks/results/temporal_lag200/train_seed0 benchmarks/results/temporal_lag200/train_seed1
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _machine import machine_record, write_result  # noqa: E402
from retina_curve import RAW, _default_data, load_run  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("curves", type=Path, nargs="+", help="retina_curve.py output directories")
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--lags", default="10,200")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if args.data is None:
        p.error(f"give --data PATH/{RAW} or set SPIKEGAN_RETINA_DIR")

    import keras

    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.gan.calibration import calibrated_copy
    from spikegan_tf.gan.raster import sample_raster
    from spikegan_tf.gan.sampling import sample

    result = {"benchmark": "window_rate_long_filter", "machine": machine_record(), "rows": []}
    print(f"{'run':>40} {'lags':>5} {'windows':>8} {'first 4':>8} {'last 4':>8} {'raster':>8}")
    for curve in args.curves:
        config, train, test = load_run(curve, args.data)
        rate = float(train.mean())
        data = prepare_data(train, config.n_bins, val_fraction=0.0)
        trained = keras.models.load_model(curve / "generator.keras", safe_mode=True,
                                          compile=False)
        for lags in (int(v) for v in args.lags.split(",")):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # the long filter's, measured here
                generator = calibrated_copy(trained, config, data, seed=0, history_lags=lags)
            windows = sample(generator, 8192, seed=1)
            raster = sample_raster(generator, config, len(test), 1)
            row = {"curve": str(curve), "lags": lags,
                   "windows": float(windows.mean()) / rate,
                   "windows_first_4_bins": float(windows[:, :, :4].mean()) / rate,
                   "windows_last_4_bins": float(windows[:, :, -4:].mean()) / rate,
                   "raster": float(raster.mean()) / rate}
            result["rows"].append(row)
            print(f"{str(curve)[-40:]:>40} {lags:5d} {row['windows']:8.3f} "
                  f"{row['windows_first_4_bins']:8.3f} {row['windows_last_4_bins']:8.3f} "
                  f"{row['raster']:8.3f}", flush=True)
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

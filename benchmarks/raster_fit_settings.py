"""Does the spike-history filter's fit limit a temporal generator's raster autocorrelogram?

``raster_retina.py``'s filtered rasters (variant ``history``) carry a filter solved by
:func:`spikegan_tf.gan.history_fit.fit_stationary_history`: a fixed-point iteration
(``iterations``, 25 by default) on ``n_chains`` raster stretches (``history_fit.stretch_count``:
1,024 for up to 51 neurons; 256 before session 39) with common random
numbers. If the remaining autocorrelogram error of the rasters came from that fit (too few
steps, or the stretches' own sampling noise), a longer fit or more stretches would lower it.
For each fit setting (a JSON dict of ``fit_stationary_history`` keywords) this benchmark solves
the filter of a run's published generator, draws one raster ``--long`` times as long as the
held-out split (sample seed 1; the model's expected ratios, with a fraction of one raster's
sampling noise) and scores it and each of its held-out-length pieces against the floor, as
``raster_retina.py`` does (``{"newton": false}``: the plain tap step, as before session 40)::

    python benchmarks/raster_fit_settings.py --data packets.npz \\
        --curve benchmarks/results/retina_recipe_sim/he4late10k_packets_seed0 \\
        --settings '{}' '{"iterations": 75}' '{"n_chains": 1024}' \\
        --out benchmarks/results/retina_recipe_sim/raster_fit_settings_packets_seed0.json

Prints a table and writes JSON (machine record included).
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
from retina_curve import RAW, _default_data, load_run  # noqa: E402

STATS = ("firing_probability", "covariance", "lag1_covariance", "spike_count_distribution",
         "autocorrelogram")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--curve", type=Path, required=True, help="retina_curve.py output directory")
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--settings", nargs="+", default=["{}"],
                   help="fit_stationary_history keywords, one JSON dict per fit")
    p.add_argument("--long", type=int, default=6, metavar="K",
                   help="the raster is K times as long as the held-out split")
    p.add_argument("--lags", type=int, default=10)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if args.data is None:
        p.error(f"give --data PATH/{RAW} or set SPIKEGAN_RETINA_DIR")

    import keras

    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.evaluation.compare import as_statistics, compare
    from spikegan_tf.gan import history_fit
    from spikegan_tf.gan.calibration import calibrated_copy
    from spikegan_tf.gan.raster import sample_raster

    config, train, test = load_run(args.curve, args.data)
    ref = as_statistics(train, n_bins=32, label="train")
    floor = as_statistics(test, like=ref, n_bins=32, label="test")
    data = prepare_data(train, config.n_bins, val_fraction=0.0)
    trained = keras.models.load_model(args.curve / "generator.keras", safe_mode=True,
                                      compile=False)
    result = {"benchmark": "raster_fit_settings", "machine": machine_record(),
              "curve": str(args.curve), "data": str(args.data), "long": args.long,
              "lags": args.lags, "rows": []}
    original = history_fit.fit_stationary_history
    n = len(test)
    print(f"{'setting':>36} {'fit CPU-s':>9} " + "".join(f"{s[:10]:>11}" for s in STATS)
          + "  ACG of each piece")
    try:
        for text in args.settings:
            keywords = json.loads(text)
            report = {}

            def fit(*a, _kw=keywords, _out=report, **k):  # calibrated_copy's fit, with keywords
                _out.update(original(*a, **{**k, **_kw}))
                return _out

            history_fit.fit_stationary_history = fit
            t0 = time.process_time()
            generator = calibrated_copy(trained, config, data, seed=0, history_lags=args.lags)
            fit_s = time.process_time() - t0
            raster = sample_raster(generator, config, args.long * n, 1, chunk=1024)
            pieces = {f"piece {k}": raster[k * n:(k + 1) * n] for k in range(args.long)}
            res = compare(ref, {"long": raster, **pieces}, floor, n_bins=32, statistics=STATS)
            row = {"settings": keywords, "fit_cpu_s": round(fit_s, 1),
                   "fit_autocorrelation_error": float(report["autocorrelation_error"]),
                   "long_ratio": {s: res.ratio("long", s) for s in STATS},
                   "piece_autocorrelogram": [res.ratio(k, "autocorrelogram") for k in pieces]}
            result["rows"].append(row)
            print(f"{text:>36} {fit_s:9.1f} "
                  + "".join(f"{row['long_ratio'][s]:11.2f}" for s in STATS) + "  "
                  + " ".join(f"{v:.2f}" for v in row["piece_autocorrelogram"]), flush=True)
    finally:
        history_fit.fit_stationary_history = original
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

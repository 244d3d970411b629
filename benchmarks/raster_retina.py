"""Issue 14's retina targets: one continuous raster from a temporal generator, against the floor.

Takes the output directory of ``benchmarks/retina_curve.py`` run with
``--model-set architecture=temporal`` (its ``generator.keras`` and the model
settings in ``curve.json``), splits the retina as that benchmark does (first
80% training, last 20% held out), and draws one raster as long as the held-out
split, 256 bins per generator call, so a generation boundary every 256 bins.
Measures, for each sample seed:

* the six headline statistics of its stride-1 32-bin windows, as multiples of
  the test-vs-train floor (target: each <= 1.5x);
* the autocorrelogram to lag 64 (65-bin windows) against its floor (target <= 2x);
* the seam test: straddling/within error ratios (target <= 1.2x) and the seam
  classifier's AUC (target <= 0.55);
* the same seam test on the held-out split itself (real, continuous data cut at
  the same boundaries): the noise of the seam statistics; and each raster's own
  noise, the test repeated at ``--seam-null`` pseudo-boundaries of the same raster
  spread evenly over half a piece (``null_phases_of``; a check beyond all of them is printed);
* the same with the output bias calibrated to the training rates
  (``calibrate_output_bias``), as ``spikegan sample --calibrate`` does, and
  with the rates and a spike-history filter of ``--lags`` lags per neuron solved
  on the training windows (``calibrated_copy(..., history_lags=L)``, what a
  temporal run publishes by default since the filter carries over to rasters); variants
  ``coupling`` and ``same_bin`` add a lag-1 coupling between neurons (and a same-bin one),
  solved with the filter on the raster's stretches (``calibrated_copy(..., coupling=True,
  same_bin=...)``).

Prints a table and writes ``OUT/raster_eval.json`` with the machine record::

    python benchmarks/raster_retina.py --curve benchmarks/results/retina20_temporal_seed0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _machine import machine_record  # noqa: E402
from retina_curve import RAW, _default_data, load_run  # noqa: E402

CHUNK = 256


def floor_statistics(train, test) -> tuple:
    """``(ref32, floor32, ref65, floor65)``: the statistics of the training split (the reference)
    and of the held-out split (the floor) in 32-bin windows, and in 65-bin windows to lag 64
    for the autocorrelogram to lag 64, as every raster of this protocol is scored."""
    from spikegan_tf.evaluation.compare import as_statistics

    ref32 = as_statistics(train, n_bins=32, label="train")
    floor32 = as_statistics(test, like=ref32, n_bins=32, label="test")
    ref65 = as_statistics(train, n_bins=65, max_lag=64, label="train")
    floor65 = as_statistics(test, like=ref65, n_bins=65, max_lag=64, label="test")
    return ref32, floor32, ref65, floor65


def score_raster(raster, refs: tuple, stats: tuple[str, ...]) -> tuple[dict, float]:
    """``(ratios, acg64)``: ``raster``'s ratio to the floor of each of ``stats`` (32-bin windows)
    and of the autocorrelogram to lag 64 (65-bin windows); ``refs`` is :func:`floor_statistics`."""
    from spikegan_tf.evaluation.compare import compare

    ref32, floor32, ref65, floor65 = refs
    res32 = compare(ref32, {"raster": raster}, floor32, n_bins=32, statistics=stats)
    res65 = compare(ref65, {"raster": raster}, floor65, n_bins=65, max_lag=64,
                    statistics=("autocorrelogram",))
    return ({s: res32.ratio("raster", s) for s in stats},
            res65.ratio("raster", "autocorrelogram"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--curve", type=Path, required=True, help="retina_curve.py output directory")
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--seeds", default="1,2,3", help="sample seeds")
    p.add_argument("--lags", type=int, default=10, help="spike-history lags of the 'history' "
                   "variant")
    p.add_argument("--variants", default="uncalibrated,rates,history")
    p.add_argument("--groups", action="store_true",
                   help="also the share of bins in which a group of neurons that fire together "
                        "in the training split (same-bin correlation above 0.5: uniform's) "
                        "fires in part (same_bin_groups.split_share), beside the held-out split's")
    p.add_argument("--out-name", default="raster_eval.json", help="file written in --curve")
    p.add_argument("--long", type=int, default=0, metavar="K",
                   help="also one raster K times as long (sample seed 1; no seam test): the "
                        "model's expected statistics, with less of one raster's sampling noise")
    p.add_argument("--seam-null", type=int, default=32, metavar="K",
                   help="pseudo-boundaries of each raster for the seam test's own noise "
                        "(seam_report(null_phases=K); 0: off)")
    args = p.parse_args(argv)
    if args.data is None:
        p.error(f"give --data PATH/{RAW} or set SPIKEGAN_RETINA_DIR")

    import keras

    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.evaluation.compare import HEADLINE
    from spikegan_tf.evaluation.seams import seam_report
    from spikegan_tf.gan.calibration import calibrated_copy
    from spikegan_tf.gan.history import history_filter
    from spikegan_tf.gan.raster import sample_raster

    config, train, test = load_run(args.curve, args.data)
    refs = floor_statistics(train, test)
    ref32 = refs[0]  # the seam test's reference
    data = prepare_data(train, config.n_bins, val_fraction=0.0)
    stats = HEADLINE + ("isi_distribution",)
    result = {"benchmark": "raster_retina", "machine": machine_record(),
              "curve": str(args.curve), "model": config.to_dict(), "lags": args.lags,
              "length": int(len(test)), "chunk": CHUNK, "rows": [], "fits": {}}
    # the seam statistics' own noise: held-out real data, cut at the same boundaries
    real = seam_report(test, ref32, CHUNK, n_bins=32, seed=0, null_phases=args.seam_null)
    result["real_test_split_seams"] = real.to_dict()
    group = None
    if args.groups:
        from same_bin_groups import groups_of, split_share

        group = groups_of(train)
        result["groups"] = group.tolist()
        shares = result["group_split_share"] = {"train": split_share(train, group),
                                                "test": split_share(test, group)}
        print(f"groups {group.tolist()}: bins split, train {shares['train']:.4f}, "
              f"held-out {shares['test']:.4f}")
    print(f"held-out data at the same boundaries: ratios "
          f"{min(real.ratio.values()):.2f}-{max(real.ratio.values()):.2f}, AUC {real.auc:.3f}")
    print(f"{'seed':>4} {'variant':>12} " + "".join(f"{s[:10]:>11}" for s in stats)
          + f"{'ACG64':>7}{'seam max':>9}{'AUC':>6}{'rate':>7}")
    trained = keras.models.load_model(args.curve / "generator.keras", safe_mode=True,
                                      compile=False)
    if history_filter(trained) is not None:
        # retina_curve.py writes the generator a run publishes: rates and filter calibrated
        result["generator_keras"] = ("published: carries a spike-history filter, which every "
                                     "variant keeps ('uncalibrated' and 'rates' included)")
        print(f"note: {args.curve / 'generator.keras'} is a published generator with a "
              "spike-history filter; every variant keeps it", flush=True)
    for variant in args.variants.split(","):
        t0 = time.process_time()
        filtered = variant in ("history", "coupling", "same_bin")
        generator = (trained if variant == "uncalibrated" else calibrated_copy(
            trained, config, data, seed=0, history_lags=args.lags if filtered else 0,
            coupling=variant in ("coupling", "same_bin"), same_bin=variant == "same_bin"))
        h = history_filter(generator)
        result["fits"][variant] = {
            "cpu_s": round(time.process_time() - t0, 1),
            "filter_median_by_lag": None if h is None else np.median(h, 0).round(3).tolist()}
        for seed in (int(s) for s in args.seeds.split(",")):
            t0 = time.perf_counter()
            fake = sample_raster(generator, config, len(test), seed, chunk=CHUNK)
            ratio, acg64 = score_raster(fake, refs, stats)
            seams = seam_report(fake, ref32, CHUNK, n_bins=32, seed=seed,
                                null_phases=args.seam_null)
            row = {"seed": seed, "variant": variant, "calibrated": variant != "uncalibrated",
                   "ratio": ratio, "acg64_ratio": acg64, "seams": seams.to_dict(),
                   "rate_ratio": float(fake.mean() / train.mean()),
                   "seconds": time.perf_counter() - t0}
            if group is not None:
                row["group_split_share"] = split_share(fake, group)
            result["rows"].append(row)
            worst_seam = max(seams.ratio.values())
            print(f"{seed:>4} {variant:>12} "
                  + "".join(f"{row['ratio'][s]:11.2f}" for s in stats)
                  + f"{row['acg64_ratio']:7.2f}{worst_seam:9.2f}{seams.auc:6.3f}"
                  f"{row['rate_ratio']:7.3f}", flush=True)
            flagged = [k for k, v in seams.beyond_null().items() if v]
            if flagged:
                print(f"     (seed {seed}: beyond all {len(seams.null_phases)} of the raster's own "
                      f"pseudo-boundaries: {', '.join(flagged)})", flush=True)
        if args.long:
            t0 = time.perf_counter()
            fake = sample_raster(generator, config, args.long * len(test), 1, chunk=1024)
            ratio, acg64 = score_raster(fake, refs, stats)
            row = {"seed": 1, "variant": variant, "length_factor": args.long,
                   "calibrated": variant != "uncalibrated",
                   "ratio": ratio, "acg64_ratio": acg64,
                   "rate_ratio": float(fake.mean() / train.mean()),
                   "seconds": time.perf_counter() - t0}
            result.setdefault("long_rows", []).append(row)
            if group is not None:
                row["group_split_share"] = split_share(fake, group)
                print(f"     ({args.long}x {variant}: {row['group_split_share']:.4f} of bins split "
                      "a group)", flush=True)
            print(f"{str(args.long) + 'x':>4} {variant:>12} "
                  + "".join(f"{row['ratio'][s]:11.2f}" for s in stats)
                  + f"{row['acg64_ratio']:7.2f}{'':>9}{'':>6}{row['rate_ratio']:7.3f}", flush=True)
    out = args.curve / args.out_name
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

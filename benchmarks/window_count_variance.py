"""Issue 14: how much a raster's population activity varies from window to window, against the retina.

For each ``retina_curve.py`` temporal run given (``--curves``), draws rasters as long as the
held-out split from its published ``generator.keras`` (sample seeds ``--seeds``, 256 bins per
generator call, as ``raster_retina.py`` does) and measures the variance, over the windows of
``--bins`` bins (stride 1), of a window's population spike count
(:func:`spikegan_tf.statistics.window_count_variance`), as a ratio to the training split's,
with the held-out split's beside it, and each raster's mean rate over the training split's.
A generator whose windows vary too much makes rasters whose rate, and with it P(K), wanders
from one raster to the next. With ``--windows K``, also the same variance over ``K`` independent
windows of the training length (the ones the training step sees) of the run's last checkpoint,
as trained (``uncalibrated``) and with its output bias calibrated to the training rates
(``rates``): where a raster's excess comes from (and for each of ``--bins`` shorter than the
windows, their parts of that length: the scales of ``variance_match_scales``). Prints a table
and writes ``--out`` (JSON with the machine record)::

    python benchmarks/window_count_variance.py --curves benchmarks/results/critic_head_long/head64cm100_seed* \\
        --out benchmarks/results/critic_head_long/window_count_variance.json
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _machine import machine_record, write_result  # noqa: E402
from retina_curve import RAW, _default_data, load_run  # noqa: E402

CHUNK = 256


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--curves", type=Path, nargs="+", required=True)
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--seeds", default="1,2,3", help="sample seeds")
    p.add_argument("--bins", default="32,256", help="window lengths")
    p.add_argument("--windows", type=int, default=0, metavar="K",
                   help="also K independent training-length windows of the last checkpoint")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if args.data is None:
        p.error(f"give --data PATH/{RAW} or set SPIKEGAN_RETINA_DIR")
    import keras

    from spikegan_tf.gan.raster import sample_raster
    from spikegan_tf.statistics import window_count_variance

    bins = [int(b) for b in args.bins.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    result = {"benchmark": "window_count_variance", "machine": machine_record(), "bins": bins,
              "seeds": seeds, "chunk": CHUNK, "runs": {}}
    print(f"{'run':32s} {'seed':>4s} " + "".join(f"{'var' + str(b):>9s}" for b in bins)
          + f"{'rate':>7s}", flush=True)
    for curve in args.curves:
        config, train, test = load_run(curve, args.data)
        ref = {b: window_count_variance(train, n_bins=b) for b in bins}
        held = {b: window_count_variance(test, n_bins=b) / ref[b] for b in bins}
        g = keras.models.load_model(curve / "generator.keras", safe_mode=True, compile=False)
        rows = []
        for seed in seeds:
            x = sample_raster(g, config, len(test), seed, chunk=CHUNK)
            rows.append({"seed": seed,
                         "variance_over_train": {b: window_count_variance(x, n_bins=b) / ref[b]
                                                 for b in bins},
                         "rate_ratio": float(x.mean() / train.mean())})
            print(f"{curve.name:32s} {seed:4d} " + "".join(
                f"{rows[-1]['variance_over_train'][b]:9.2f}" for b in bins)
                + f"{rows[-1]['rate_ratio']:7.3f}", flush=True)
        result["runs"][str(curve)] = {"train_variance": ref, "test_over_train": held,
                                      "rasters": rows}
        if args.windows:
            result["runs"][str(curve)]["windows"] = _checkpoint_windows(curve, config, train,
                                                                        args.windows, bins)
        print(f"{curve.name + ' (held-out split)':32s} {'':4s} "
              + "".join(f"{held[b]:9.2f}" for b in bins)
              + f"{test.mean() / train.mean():7.3f}", flush=True)
    write_result(args.out, result)
    return 0


def _checkpoint_windows(curve: Path, config, train, n: int, bins: list[int]) -> dict:
    """Variance of window counts over ``n`` independent windows of the last checkpoint.

    Whole windows, and for each of ``bins`` that divides the training length, the windows'
    parts of that many bins (``parts_over_train``: over the training windows' parts)."""
    import json

    import tensorflow as tf

    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.gan.calibration import calibrated_copy
    from spikegan_tf.gan.sampling import sample
    from spikegan_tf.gan.train_config import TrainConfig
    from spikegan_tf.gan.trainer import Trainer
    from spikegan_tf.statistics import window_count_variance

    settings = json.loads((curve / "curve.json").read_text())["settings"]
    trainer = Trainer(config, TrainConfig.from_dict(settings["train"]), verbose=0)
    manager = tf.train.CheckpointManager(trainer.checkpoint, str(curve / "checkpoints"), 2)
    trainer.checkpoint.restore(manager.latest_checkpoint).expect_partial()
    data = prepare_data(train, config.n_bins, val_fraction=0.0)
    v = window_count_variance(train, n_bins=config.n_bins)
    parts = {b: config.n_bins // b for b in bins if b < config.n_bins and config.n_bins % b == 0}
    ref = {b: window_count_variance(train, n_bins=config.n_bins, parts=m) for b, m in parts.items()}
    out = {"step": int(trainer.step.numpy()), "n_windows": n, "n_bins": config.n_bins}
    for name, g in (("uncalibrated", trainer.sampling_generator),
                    ("rates", calibrated_copy(trainer.sampling_generator, config, data, seed=0))):
        x = sample(g, n, seed=1)
        out[name] = {"variance_over_train": window_count_variance(x) / v,
                     "parts_over_train": {b: window_count_variance(x, parts=m) / ref[b]
                                          for b, m in parts.items()},
                     "rate_ratio": float(x.mean() / train.mean())}
        print(f"{curve.name:32s} {name:>12s} windows of {config.n_bins}: variance "
              f"{out[name]['variance_over_train']:.2f}, parts of " + ", ".join(
                  f"{b}: {r:.2f}" for b, r in out[name]["parts_over_train"].items())
              + f"; rate {out[name]['rate_ratio']:.3f}", flush=True)
    return out


if __name__ == "__main__":
    sys.exit(main())

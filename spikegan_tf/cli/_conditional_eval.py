"""``spikegan evaluate --run RUN`` for a conditional run: per condition, decoders, tuning.

The run's own data are split again exactly as training split them (file,
keys, ``val_fraction``, ``stride``, seed): the training windows are the
reference, the validation windows the held-out floor. The generator draws one
window for each validation window's condition, so generated and held-out
windows have the same conditions. Then:

* every statistic per condition against that condition's held-out floor
  (labels; covariate-only runs are grouped by quantiles of each window's mean
  covariate), and pooled over conditions as ``spikegan evaluate`` does;
* a stimulus decoder trained on real windows and tested on generated ones and
  the reverse, against real-vs-real accuracy (and R^2 for covariates);
* tuning curves of generated and held-out neurons against the ground truth
  ``tuning`` when the data file has one (``spikegan simulate tuned``).

Writes ``conditional.json``, ``report.md`` (the pooled report plus the
conditional section) and ``conditional.png`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["evaluate_conditional_run", "CONDITIONAL_FILE", "CONDITIONAL_FIGURE"]

CONDITIONAL_FILE = "conditional.json"
CONDITIONAL_FIGURE = "conditional.png"


def _run_data(run: Any) -> tuple[Any, dict[str, Any], Any]:
    """The run's training data split as training split it, its config, and ground-truth tuning."""
    from spikegan_tf.data import load_spikes
    from spikegan_tf.data.io import recording_conditions
    from spikegan_tf.errors import ConfigError
    from spikegan_tf.gan.rundir import split_as_trained

    cfg = run.read_config()
    info = cfg.get("data") or {}
    source = info.get("source")
    if not source or not Path(source).is_file():
        raise ConfigError(f"Run '{run.path}' was trained on '{source}', which is not a readable "
                          "file any more: the conditional evaluation re-reads the run's data.")
    recording = load_spikes(source, key=info.get("key"), bin_width=info.get("bin_width"))
    conditions = recording_conditions(recording, info.get("condition_key"),
                                      info.get("covariate_key"))
    if float(info.get("val_fraction") or 0.0) <= 0:
        raise ConfigError(f"Run '{run.path}' held no validation windows out (val_fraction 0): "
                          "there is no held-out floor to evaluate against.")
    data = split_as_trained(recording, cfg, conditions=conditions)
    tuning = recording.extras.get("tuning")
    return data, cfg, tuning


def evaluate_conditional_run(args: argparse.Namespace) -> int:
    """Evaluate a conditional run against its own held-out windows; write the report."""
    from spikegan_tf.errors import ConfigError
    from spikegan_tf.evaluation import (
        compare_by_condition,
        conditional_markdown,
        covariate_decoding_report,
        covariate_groups,
        decoding_report,
        evaluate,
        plot_conditional,
        tuning_correlation,
        tuning_curves,
    )
    from spikegan_tf.evaluation.report import REPORT_FILE, RESULTS_FILE
    from spikegan_tf.gan.rundir import RunDir
    from spikegan_tf.gan.sampling import sample

    start = time.perf_counter()
    for flag in ("real", "noise_floor", "train", "n", "raster_length", "expected",
                 "seam_length"):
        if getattr(args, flag, None) not in (None, []):
            raise ConfigError(f"`--{flag.replace('_', '-')}` does not apply to a conditional "
                              "run: it is evaluated on its own training data and held-out "
                              "windows, with their conditions.")
    if args.generated:
        raise ConfigError("`--generated` does not apply to a conditional run.")
    run = RunDir(args.run)
    data, cfg, tuning = _run_data(run)
    train, val = data.train.spikes, data.val
    if val is None:
        raise ConfigError(f"Run '{args.run}': its data leave no held-out windows.")
    cond_train, cond_val = data.conditions, data.val_conditions
    t0 = time.perf_counter()
    generated = sample(run.load_generator(), len(val), args.seed, conditions=cond_val)
    print(f"sampled {len(val)} windows from '{args.run}' for the held-out windows' conditions "
          f"in {time.perf_counter() - t0:.1f} s")
    out = Path(args.out)
    label = Path(args.run).resolve().name or "run"
    pooled = evaluate(train, {label: generated}, noise_floor=val, train=train, out_dir=out,
                      notes=args.note, seed=args.seed, max_lag=args.max_lag,
                      n_memorization=args.n_memorization, figures=not args.no_figures,
                      reference_label="real (training split)",
                      noise_floor_label="held-out (validation split)")
    if cond_train.labels is not None:
        lab_train, lab_val = cond_train.labels, cond_val.labels
        grouping = "label"
    else:
        lab_train = covariate_groups(cond_train.covariates)
        lab_val = covariate_groups(cond_val.covariates, reference=cond_train.covariates)
        grouping = "tercile of the window's mean covariate"
    comparison = compare_by_condition(train, lab_train, val, lab_val, generated, lab_val,
                                      max_lag=args.max_lag, generated_label=label)
    decoding = (decoding_report(train, lab_train, val, lab_val, generated, lab_val)
                if cond_train.labels is not None else None)
    cov_decoding = (covariate_decoding_report(train, cond_train.covariates, val,
                                              cond_val.covariates, generated,
                                              cond_val.covariates)
                    if cond_train.covariates is not None else None)
    tuning_r, held_out_r, gen_tuning = None, None, None
    if (tuning is not None and cond_train.labels is not None
            and np.shape(tuning) == (cond_train.n_classes, train.shape[1])):
        gen_tuning = tuning_curves(generated, lab_val, cond_train.n_classes)
        tuning_r = tuning_correlation(gen_tuning, tuning)
        held_out_r = tuning_correlation(tuning_curves(val, lab_val, cond_train.n_classes),
                                        tuning)
    record = {"run": str(run.path), "grouping": grouping,
              "classes": list(cond_train.classes) if cond_train.labels is not None else None,
              "n_covariates": cond_train.n_covariates, "seed": args.seed,
              "per_condition": comparison.to_dict(), "decoding": decoding,
              "covariate_decoding": cov_decoding,
              "tuning_r": {"generated": tuning_r, "held_out": held_out_r}
              if tuning_r is not None else None}
    (out / CONDITIONAL_FILE).write_text(json.dumps(record, indent=2, default=float) + "\n")
    section = conditional_markdown(comparison, decoding, tuning_r=tuning_r,
                                   covariate_decoding=cov_decoding)
    if held_out_r is not None:
        section += (f"\nHeld-out real windows against the same ground truth: "
                    f"r = {held_out_r:.3f}.\n")
    report = out / REPORT_FILE
    report.write_text(report.read_text() + "\n" + section)
    written = [RESULTS_FILE, REPORT_FILE, CONDITIONAL_FILE, *pooled.figures]
    if not args.no_figures:
        try:
            plot_conditional(out / CONDITIONAL_FIGURE, comparison=comparison,
                             tuning=gen_tuning, reference_tuning=tuning)
            written.append(CONDITIONAL_FIGURE)
        except ImportError:
            pass
    _print(comparison, decoding, tuning_r)
    print(f"wrote {', '.join(str(out / f) for f in written)} "
          f"in {time.perf_counter() - start:.1f} s")
    return 0


def _print(comparison: Any, decoding: dict[str, Any] | None, tuning_r: float | None) -> None:
    for stat, row in comparison.summary().items():
        print(f"  {stat:<26} per condition: median {row['median']:.2f}x, max {row['max']:.2f}x "
              "the held-out floor")
    if decoding is not None:
        print(f"  decoding accuracy: real->real {decoding['real_to_real']:.1%}, real->generated "
              f"{decoding['real_to_generated']:.1%} ({decoding['real_to_generated_pp']:+.1f} pp), "
              f"generated->real {decoding['generated_to_real']:.1%} "
              f"({decoding['generated_to_real_pp']:+.1f} pp); chance {decoding['chance']:.1%}")
    if tuning_r is not None:
        print(f"  tuning curves against the ground truth: r = {tuning_r:.3f}")

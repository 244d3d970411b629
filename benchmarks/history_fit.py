"""Does a solved spike-history filter close the retina's autocorrelogram and ISI gap?

Every window generator draws its bins independently given the latent draw, so it cannot make
the retina's refractory neurons or the dip-then-rebound of its bursting ones
(``acg_diagnosis.py``). :func:`spikegan_tf.gan.history.fit_history` gives the published
generator a per-neuron post-spike filter of ``--lags`` bins, solved after training with the
positional offsets so that each neuron's autocorrelation at those lags is the training
windows' (``calibrated_copy(..., positions=True, history_lags=L)``, what
``TrainConfig.calibrate_history`` publishes). For each ``--generator`` (a published
``generator.keras``, positions calibrated: ``retina_curve.py`` output) this compares the
generator as published with the same weights plus the filter:

* the headline ratios to the test-vs-train floor as ``retina_curve.py`` measures them (1,768
  windows), for sample seeds 1-3;
* on ``--n-windows`` windows (low-noise): ACG, ISI and burstiness MAE against the training
  windows beside the held-out split's, and the ACG error against the *held-out* windows (the
  filter is fitted to the training windows' ACG, so its ratio to the training part says little;
  ``acg_vs_test`` divides generated-vs-test by train-vs-test).

With ``--coupling`` it also evaluates the same weights with the filter and a lag-1 coupling
between neurons (``calibrated_copy(..., coupling=True)``, what ``TrainConfig.calibrate_coupling``
publishes), and the low-noise record gives the covariances, lag-1 covariances and P(K) of the
``--n-windows`` windows against the training part (``pair_ratio``) and against the held-out part
(``pair_ratio_vs_test``: generated-vs-test over train-vs-test, which a fit to the training part's
own noise cannot improve). ``--same-bin`` adds the model with a same-bin coupling as well
(``calibrated_copy(..., coupling=True, same_bin=True)``).

Prints a table and writes ``results/history_fit/history_fit.json``::

    python benchmarks/history_fit.py --generator benchmarks/results/history_fit/default_seed0/generator.keras
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
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_record, write_result  # noqa: E402
from acg_diagnosis import N_BINS, burstiness  # noqa: E402
from retina_curve import _default_data  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--generator", type=Path, action="append", required=True)
    p.add_argument("--lags", type=int, default=10)
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--n-windows", type=int, default=30000)
    p.add_argument("--coupling", action="store_true",
                   help="also fit a lag-1 coupling between neurons (model 'coupling')")
    p.add_argument("--same-bin", action="store_true",
                   help="also fit a same-bin coupling with the lag-1 one (model 'same_bin')")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results"
                   / "history_fit" / "history_fit.json")
    args = p.parse_args(argv)
    if args.data is None:
        p.error("give --data PATH or set SPIKEGAN_RETINA_DIR")

    import keras

    from spikegan_tf.data import load_spikes, split_raster, window_view
    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.evaluation.compare import HEADLINE, as_statistics, compare
    from spikegan_tf.gan.calibration import calibrated_copy
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.history import history_coupling, history_filter, split_coupling
    from spikegan_tf.gan.sampling import sample
    from spikegan_tf.statistics import autocorrelogram, isi_distribution

    raster = load_spikes(args.data, key="data").spikes
    train, test = split_raster(raster, (0.8, 0.2), gap=N_BINS)
    n_gen = (len(test) - N_BINS) // N_BINS + 1
    ref = as_statistics(train, n_bins=N_BINS, label="train")
    floor = as_statistics(test, like=ref, n_bins=N_BINS, label="test")
    data = prepare_data(train, N_BINS, val_fraction=0.0)
    train_w = np.ascontiguousarray(window_view(train, N_BINS, N_BINS))
    test_w = np.ascontiguousarray(window_view(test, N_BINS, N_BINS))
    lags = slice(11, None)
    acg_train, acg_test = autocorrelogram(train_w)[lags], autocorrelogram(test_w)[lags]
    isi_train, burst_train = isi_distribution(train_w), burstiness(train_w)
    refractory = np.flatnonzero(burst_train < 1)

    pair_stats = ("covariance", "lag1_covariance", "spike_count_distribution")

    def low_noise(x: np.ndarray) -> dict:
        acg = autocorrelogram(x)[lags]
        burst = burstiness(x)
        # pairwise statistics on many windows, against the training part and against the
        # held-out part (generated-vs-test over train-vs-test: what a fit to the training
        # part's own noise cannot improve)
        vs_train = compare(ref, {"m": x}, floor, statistics=pair_stats)
        vs_test = compare(floor, {"m": x}, ref, statistics=pair_stats)
        return {"rate_ratio": float(x.mean() / train.mean()),
                "pair_ratio": {k: vs_train.ratio("m", k) for k in pair_stats},
                "pair_ratio_vs_test": {k: vs_test.ratio("m", k) for k in pair_stats},
                "acg_mae": float(np.abs(acg - acg_train).mean()),
                "acg_minus_train": (acg - acg_train).round(5).tolist(),
                "acg_vs_test": float(np.abs(acg - acg_test).mean()
                                     / np.abs(acg_train - acg_test).mean()),
                "isi_mae": float(np.abs(isi_distribution(x) - isi_train).mean()),
                "burstiness_mae": float(np.nanmean(np.abs(burst - burst_train))),
                "refractory_burstiness": burst[refractory].round(3).tolist()}

    stats = HEADLINE + ("isi_distribution",)
    seeds = [int(s) for s in args.seeds.split(",")]
    result = {"benchmark": "history_fit", "machine": machine_record(), "lags": args.lags,
              "n_generated": n_gen, "n_windows": args.n_windows, "sample_seeds": seeds,
              "floor": low_noise(test_w), "refractory_neurons": refractory.tolist(),
              "train_refractory_burstiness": burst_train[refractory].round(3).tolist(),
              "runs": {}}
    print(f"held-out floor: ACG MAE {result['floor']['acg_mae']:.4f}, ISI MAE "
          f"{result['floor']['isi_mae']:.5f}, burstiness MAE {result['floor']['burstiness_mae']:.2f}")
    for path in args.generator:
        run = path.parent
        saved = (json.loads((run / "curve.json").read_text())["settings"]
                 if (run / "curve.json").exists() else  # a packaged model's config.json
                 json.loads((run / "config.json").read_text()))
        config = ModelConfig.from_dict(saved["model"])
        published = keras.models.load_model(path, safe_mode=True, compile=False)
        t0 = time.process_time()
        fitted = calibrated_copy(published, config, data, seed=0, positions=True,
                                 history_lags=args.lags)
        fit_cpu = time.process_time() - t0
        h = history_filter(fitted)
        entry = {"fit_cpu_s": round(fit_cpu, 1), "filter_median_by_lag":
                 np.median(h, axis=0).round(3).tolist(), "models": {}}
        models = [("published", published), ("history", fitted)]
        if args.coupling:
            t0 = time.process_time()
            coupled = calibrated_copy(published, config, data, seed=0, positions=True,
                                      history_lags=args.lags, coupling=True)
            entry["coupling_fit_cpu_s"] = round(time.process_time() - t0, 1)
            w = split_coupling(history_coupling(coupled))[1]  # lag 1 (retina50 carries both)
            entry["coupling_abs_quantiles"] = np.quantile(
                np.abs(w[~np.eye(len(w), dtype=bool)]), [0.5, 0.9, 0.99, 1.0]).round(3).tolist()
            models.append(("coupling", coupled))
        if args.same_bin:
            t0 = time.process_time()
            both = calibrated_copy(published, config, data, seed=0, positions=True,
                                   history_lags=args.lags, coupling=True, same_bin=True)
            entry["same_bin_fit_cpu_s"] = round(time.process_time() - t0, 1)
            w0 = history_coupling(both)[0]
            entry["same_bin_abs_quantiles"] = np.quantile(
                np.abs(w0[np.tril(np.ones_like(w0, bool), -1)]), [0.5, 0.9, 0.99, 1.0]
            ).round(3).tolist()
            models.append(("same_bin", both))
        for name, model in models:
            rows = []
            for s in seeds:
                fake = sample(model, n_gen, seed=s)
                res = compare(ref, {"m": fake}, floor, statistics=stats)
                rows.append({"seed": s, "ratio": {k: res.ratio("m", k) for k in stats},
                             "rate_ratio": float(fake.mean() / train.mean())})
            median = {k: float(np.median([r["ratio"][k] for r in rows])) for k in stats}
            big = low_noise(sample(model, args.n_windows, seed=seeds[0]))
            entry["models"][name] = {"per_seed": rows, "median": median, "low_noise": big}
            print(f"{run.name[:20]:20s} {name:9s} " + " ".join(
                f"{k[:6]} {median[k]:5.2f}" for k in stats)
                + " | 30k " + " ".join(f"{k[:6]} {big['pair_ratio'][k]:.2f}/"
                                       f"{big['pair_ratio_vs_test'][k]:.2f}" for k in pair_stats)
                + f" ACG {big['acg_mae']:.4f} (vs test {big['acg_vs_test']:.2f}) ISI "
                f"{big['isi_mae']:.5f} burst {big['burstiness_mae']:.2f} refr "
                f"{big['refractory_burstiness']}", flush=True)
        print(f"{'':20s} fit {fit_cpu:.0f} CPU-s; filter median by lag "
              f"{entry['filter_median_by_lag']}", flush=True)
        result["runs"][str(path)] = entry
        write_result(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where the autocorrelogram error comes from: lag by lag, and neuron by neuron.

The autocorrelogram (ACG) is the one headline statistic no Spike-GAN variant brings near the
retina's noise floor (issue 11). This benchmark splits its error into lags and neurons, for
generated windows of the given runs (their ``generator.keras``, rates calibrated, as the
targets are measured) and for the held-out split (the floor):

* per lag ``l = 1..L``: generated minus training value of the normalised ACG (the
  statistic's definition: coincidences at lag ``l`` / spikes, pooled over neurons);
* per neuron: ``P(spike at t+1 | spike at t) / rate`` in the training data against the
  generated windows, which is where a bursty or refractory neuron shows;
* lag parity: the mean error at lags 3, 5, 7, 9 minus that at lags 4, 6, 8, 10 (a stride-2
  upsampling can treat odd and even lags differently; ``--n-windows 30000`` resolves it);
* the ISI distribution, interval by interval (generated minus training ``P(d)``, ``d = 1..8``,
  and the MAE over all intervals): whether spikes come in adjacent-bin doublets too often;
* refractory neurons (training burstiness below 1: a spike makes the next bin less likely) and
  their generated burstiness, and per neuron the correlation of adjacent bins' logits across
  8,192 latent draws (near 1: probabilities smooth in time, which cannot make a refractory
  neuron).

Prints a table and writes ``results/acg_diagnosis.json`` with the machine record::

    python benchmarks/acg_diagnosis.py --run benchmarks/results/retina_temporal_screen_b \\
        --run benchmarks/results/retina20_seed0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_record, write_result  # noqa: E402
from retina_curve import RAW, _default_data  # noqa: E402

N_BINS = 32


def next_bin_probability(windows: np.ndarray) -> np.ndarray:
    """Per neuron ``P(x(t+1)=1 | x(t)=1)`` inside windows ``(n, N, T)`` (NaN if silent)."""
    x = windows.astype(np.float64)
    pairs = (x[:, :, :-1] * x[:, :, 1:]).sum(axis=(0, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return pairs / x[:, :, :-1].sum(axis=(0, 2))


def burstiness(windows: np.ndarray) -> np.ndarray:
    """Per neuron ``P(x(t+1)=1 | x(t)=1) / P(x=1)`` inside windows ``(n, N, T)`` (NaN if silent)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return next_bin_probability(windows) / windows.mean(axis=(0, 2))


def adjacent_logit_correlation(logits: np.ndarray) -> np.ndarray:
    """Per neuron, the correlation across latent draws of the logits of bins ``t`` and ``t+1``.

    ``logits`` is ``(n_draws, N, T)``; the correlation is averaged over ``t``. Near 1, a
    neuron's firing probability is smooth in time within every draw, so a spike makes the
    next bin about as likely as itself: such a generator cannot make a refractory neuron.
    """
    a, b = logits[:, :, :-1], logits[:, :, 1:]
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (a * b).mean(axis=0) / (a.std(axis=0) * b.std(axis=0))
    return np.nanmean(corr, axis=1)


def retina_windows(data: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The training raster, its disjoint windows and the held-out split's (``retina.py``'s split)."""
    from spikegan_tf.data import load_spikes, split_raster, window_view

    train, test = split_raster(load_spikes(data, key="data").spikes, (0.8, 0.2), gap=N_BINS)
    return (train, np.ascontiguousarray(window_view(train, N_BINS, N_BINS)),
            np.ascontiguousarray(window_view(test, N_BINS, N_BINS)))


def calibrated_generator(run: Path, rates: np.ndarray) -> tuple:
    """A run's ``generator.keras`` with its rates calibrated to ``rates``, and its config."""
    import keras

    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.networks import calibrate_output_bias

    config = ModelConfig.from_dict(json.loads((run / "curve.json").read_text())["settings"]["model"])
    generator = keras.models.load_model(run / "generator.keras", safe_mode=True, compile=False)
    calibrate_output_bias(generator, config, rates, seed=0)
    return generator, config


def run_parser(doc: str, out_name: str) -> argparse.ArgumentParser:
    """``--data``, ``--run`` (repeatable) and ``--out results/OUT_NAME``: the runs to diagnose."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--run", type=Path, action="append", default=[],
                   help="directory with generator.keras and curve.json (retina_curve.py output)")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results"
                   / out_name)
    return p


def parse_run_args(p: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    args = p.parse_args(argv)
    if args.data is None:
        p.error(f"give --data PATH/{RAW} or set SPIKEGAN_RETINA_DIR")
    return args


def main(argv: list[str] | None = None) -> int:
    p = run_parser(__doc__, "acg_diagnosis.json")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--n-windows", type=int, default=None,
                   help="generated windows per run (default: as many as the held-out split "
                        "has disjoint windows, 1,768; more resolve the lag profile)")
    args = parse_run_args(p, argv)

    from spikegan_tf.gan.positions import latent_logits
    from spikegan_tf.gan.sampling import sample
    from spikegan_tf.statistics import autocorrelogram, isi_distribution

    train, train_windows, held_out = retina_windows(args.data)  # disjoint windows
    ref_acg = autocorrelogram(train, n_bins=N_BINS)
    lags = slice(len(ref_acg) // 2 + 1, None)  # positive lags
    ref_burst = burstiness(train_windows)
    ref_isi = isi_distribution(train_windows)
    rates = train.mean(axis=0)
    sets = {"held-out (floor)": held_out}
    smoothness = {}
    for run in args.run:
        generator, config = calibrated_generator(run, rates)
        sets[run.name] = sample(generator, args.n_windows or len(held_out), seed=args.seed)
        smoothness[run.name] = adjacent_logit_correlation(
            latent_logits(generator, config, 8192, seed=args.seed))
    refractory = np.flatnonzero(ref_burst < 1)  # a spike makes the next bin less likely
    result = {"benchmark": "acg_diagnosis", "machine": machine_record(), "n_bins": N_BINS,
              "n_windows": len(held_out), "train_acg": ref_acg[lags].tolist(),
              "train_isi": ref_isi[1:9].tolist(), "sets": {}}
    print(f"{'set':32s} {'MAE':>7s}  generated - train, lags 1..{len(ref_acg) // 2}")
    for label, windows in sets.items():
        diff = autocorrelogram(windows)[lags] - ref_acg[lags]
        isi_diff = isi_distribution(windows) - ref_isi
        burst = burstiness(windows)
        order = np.argsort(-np.abs(burst - ref_burst))
        # lag parity: a stride-2 upsampling can leave odd lags >= 3 apart from even ones
        odd, even = diff[2::2][:4], diff[3::2][:4]  # lags 3, 5, 7, 9 and 4, 6, 8, 10
        result["sets"][label] = {
            "n_windows": len(windows),
            "acg_minus_train": diff.tolist(), "acg_mae": float(np.abs(diff).mean()),
            "odd_minus_even_lags": float(odd.mean() - even.mean()),
            "burstiness": burst.tolist(), "train_burstiness": ref_burst.tolist(),
            "burstiness_mae": float(np.nanmean(np.abs(burst - ref_burst))),
            "isi_minus_train": isi_diff[1:9].tolist(), "isi_mae": float(np.abs(isi_diff).mean()),
            "worst_neurons": order[:5].tolist(),
            "refractory_neurons": refractory.tolist(),
            "refractory_burstiness": burst[refractory].tolist()}
        if label in smoothness:
            result["sets"][label]["adjacent_logit_correlation"] = smoothness[label].tolist()
        print(f"{label:32s} {np.abs(diff).mean():7.4f}  " + " ".join(f"{v:+.3f}" for v in diff)
              + f"  odd - even lags {odd.mean() - even.mean():+.4f}")
        print(f"{'':32s} burstiness MAE {np.nanmean(np.abs(burst - ref_burst)):.2f} "
              f"(train median {np.nanmedian(ref_burst):.1f}); worst neurons "
              + ", ".join(f"{i}: {ref_burst[i]:.1f} -> {burst[i]:.1f}" for i in order[:3]))
        print(f"{'':32s} ISI MAE {np.abs(isi_diff).mean():.5f}; P(d) - train, d = 1..8: "
              + " ".join(f"{v:+.3f}" for v in isi_diff[1:9]))
        print(f"{'':32s} refractory neurons (train burstiness < 1) "
              + ", ".join(f"{i}: {ref_burst[i]:.2f} -> {burst[i]:.2f}" for i in refractory)
              + (f"; adjacent-bin logit correlation, median over neurons "
                 f"{np.nanmedian(smoothness[label]):.3f}" if label in smoothness else ""))
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

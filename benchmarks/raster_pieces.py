"""How much a model's raster varies from stretch to stretch, against real data's own blocks.

Draws one raster ``--long`` K times as long as the held-out split (sample seed 1, the raster of
``raster_retina.py --long K``: the same seed, so its first piece is the scored raster of sample
seed 1) from a run's published generator with the spike-history filter (``--variant history``,
or ``same_bin`` with both couplings), cuts it into K pieces as long as the held-out split and
scores each piece, and the whole raster, against the test-vs-train floor: the six headline
statistics and the autocorrelogram to lag 64. With ``--block-floor`` (a ``raster_floor.py``
result of the same data) it prints beside them the range real blocks of the same length score
in the model's place, and how much each piece's 256-bin windows vary in their burstiness
(``coincidence_cv2``; per spike ``burstiness_cv2``, beside the training and held-out
splits'), and where the whole raster's covariance error lies (``pair_bias``: the pairs
grouped by their training covariance, each group's mean signed error and mean absolute error
beside the held-out split's). A model whose whole raster is near the floor but whose pieces
spread far
wider than real blocks does has stretches that differ from each other more than the recording's
do: the expected raster (``--long``) averages that away, single rasters do not. Writes
``RUN/raster_pieces.json`` (``--out-name``) with the machine record::

    python benchmarks/raster_pieces.py --curve benchmarks/results/critic_head_long/recipe9k_seed0 \\
        --block-floor benchmarks/results/raster_floor/retina.json
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
from raster_retina import floor_statistics, score_raster  # noqa: E402
from retina_curve import RAW, _default_data, load_run  # noqa: E402

#: ``coincidence_cv2``: the squared coefficient of variation of disjoint 256-bin windows'
#: coincidences at lags 1..10 (``window_coincidence_variance``); ``burstiness_cv2``: the same of
#: their coincidences per spike (``per_spike=True``, ``acg_variance_match``'s statistic)
SPREAD_LAGS, SPREAD_BINS = 10, 256
#: ``pair_bias``: quantiles of the training split's single-bin covariances that group the pairs
PAIR_QUANTILES = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)


def pair_groups(reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(edges, group)``: the :data:`PAIR_QUANTILES` of the pairs' ``reference`` covariances
    and each pair's group (``0..len(edges) - 2``, the top edge in the last group).

    >>> edges, group = pair_groups(np.arange(8.0))
    >>> group.tolist()
    [0, 0, 1, 1, 2, 2, 3, 4]
    """
    edges = np.quantile(reference, PAIR_QUANTILES)
    group = np.clip(np.searchsorted(edges, reference, side="right") - 1, 0, len(edges) - 2)
    return edges, group


def pair_bias(raster: np.ndarray, train: np.ndarray, test: np.ndarray) -> dict:
    """Where a raster's single-bin covariance error lies, pair group by pair group.

    The pairs (``i < j``) are grouped by the training split's covariance at
    :data:`PAIR_QUANTILES`; each group has the raster's mean signed error against
    the training split (``mean_error``: > 0, the raster's pairs are more correlated),
    its mean absolute error (``mae``) and the held-out split's (``test_mae``, the
    floor's share); ``slope``: the raster's covariances regressed on the training
    split's through the origin (1: no overall scale error).

    >>> rng = np.random.default_rng(0)
    >>> x = (rng.random((2000, 4)) < 0.3).astype(np.uint8)
    >>> out = pair_bias(x, x, x)
    >>> out["slope"], out["groups"][0]["mae"], out["groups"][0]["pairs"]
    (1.0, 0.0, 2)
    """
    def cov(r: np.ndarray) -> np.ndarray:
        return np.cov(np.asarray(r, np.float64), rowvar=False)

    upper = np.triu_indices(raster.shape[1], 1)
    ref, model, held = (cov(r)[upper] for r in (train, raster, test))
    edges, which = pair_groups(ref)
    groups = [{"train_covariance": [float(edges[k]), float(edges[k + 1])],
               "pairs": int((which == k).sum()),
               "mean_error": float((model - ref)[which == k].mean()),
               "mae": float(np.abs(model - ref)[which == k].mean()),
               "test_mae": float(np.abs(held - ref)[which == k].mean())}
              for k in range(len(edges) - 1)]
    return {"quantiles": list(PAIR_QUANTILES), "groups": groups,
            "slope": round(float(ref @ model / (ref @ ref)), 6)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--curve", type=Path, required=True, help="retina_curve.py output directory")
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--long", type=int, default=5, metavar="K", help="pieces (at least 2)")
    p.add_argument("--variant", choices=("history", "same_bin", "rates"), default="history",
                   help="rates: the published filter removed, each neuron's rate calibrated")
    p.add_argument("--lags", type=int, default=10, help="spike-history lags")
    p.add_argument("--block-floor", type=Path, default=None,
                   help="raster_floor.py result of the same data: real blocks' range")
    p.add_argument("--out-name", default="raster_pieces.json", help="file written in --curve")
    args = p.parse_args(argv)
    if args.data is None:
        p.error(f"give --data PATH/{RAW} or set SPIKEGAN_RETINA_DIR")
    if args.long < 2:
        p.error(f"--long: expected at least 2 pieces, got {args.long}")

    import keras

    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.evaluation.compare import HEADLINE
    from spikegan_tf.gan.calibration import calibrated_copy
    from spikegan_tf.gan.raster import sample_raster
    from spikegan_tf.statistics import window_coincidence_variance

    config, train, test = load_run(args.curve, args.data)
    refs = floor_statistics(train, test)
    trained = keras.models.load_model(args.curve / "generator.keras", safe_mode=True,
                                      compile=False)
    t0 = time.process_time()
    if args.variant == "rates":  # the generator's own rasters: its filter zero, then rates
        from spikegan_tf.gan.history_fit import with_history_filter

        trained = with_history_filter(trained, config, 1)
    generator = calibrated_copy(trained, config, prepare_data(train, config.n_bins,
                                                              val_fraction=0.0),
                                seed=0,
                                history_lags=0 if args.variant == "rates" else args.lags,
                                coupling=args.variant == "same_bin",
                                same_bin=args.variant == "same_bin")
    fit_s = time.process_time() - t0
    T = len(test)
    fake = sample_raster(generator, config, args.long * T, 1, chunk=1024)  # as --long

    def spread(raster: np.ndarray, per_spike: bool = False) -> float:  # windows' burstiness
        return window_coincidence_variance(raster, SPREAD_LAGS, n_bins=SPREAD_BINS,
                                           stride=SPREAD_BINS, per_spike=per_spike)

    def score(raster: np.ndarray) -> dict:
        ratio, acg64 = score_raster(raster, refs, HEADLINE)
        return {**ratio, "acg64": acg64, "coincidence_cv2": spread(raster),
                "burstiness_cv2": spread(raster, per_spike=True)}

    pieces = [score(fake[k * T:(k + 1) * T]) for k in range(args.long)]
    whole = score(fake)
    floor = (json.loads(args.block_floor.read_text())["summary"] if args.block_floor
             else None)
    names = HEADLINE + ("acg64",)
    splits = {name: {"train": spread(train, per_spike), "test": spread(test, per_spike)}
              for name, per_spike in (("coincidence_cv2", False), ("burstiness_cv2", True))}
    result = {"benchmark": "raster_pieces", "machine": machine_record(),
              "curve": str(args.curve), "variant": args.variant,
              "lags": 0 if args.variant == "rates" else args.lags,
              "piece_length": T,
              **{name: {"lags": SPREAD_LAGS, "window": SPREAD_BINS, **v}
                 for name, v in splits.items()},
              "pieces": pieces, "whole": whole, "fit_cpu_s": round(fit_s, 1),
              "pair_bias": pair_bias(fake, train, test),
              "spread": {s: [min(q[s] for q in pieces), max(q[s] for q in pieces)]
                         for s in names},
              "block_floor": None if floor is None else {
                  "file": str(args.block_floor),
                  **{s: [floor[s]["min"], floor[s]["max"]] for s in names}}}
    print(f"{'piece':>6} " + "".join(f"{s[:10]:>11}" for s in names))
    for k, q in enumerate(pieces):
        print(f"{k:>6} " + "".join(f"{q[s]:11.2f}" for s in names))
    print(f"{'whole':>6} " + "".join(f"{whole[s]:11.2f}" for s in names))
    for name, label in (("coincidence_cv2", "coincidence CV^2 (256-bin windows, lags 1-10)"),
                        ("burstiness_cv2", "coincidences per spike, CV^2")):
        print(f"{label}: pieces " + " ".join(f"{q[name]:.4f}" for q in pieces)
              + f"; train {splits[name]['train']:.4f}, test {splits[name]['test']:.4f}")
    for g in result["pair_bias"]["groups"]:
        lo, hi = g["train_covariance"]
        print(f"pairs with train covariance {lo:.1e}..{hi:.1e} ({g['pairs']}): mean error "
              f"{g['mean_error']:+.1e}, MAE {g['mae']:.1e} (held-out split {g['test_mae']:.1e})")
    if floor is not None:
        print(f"{'real':>6} " + "".join(f"{floor[s]['min']:5.2f}-{floor[s]['max']:<5.2f}"
                                        for s in names) + "  (real blocks, min-max)")
    out = args.curve / args.out_name
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What a perfect model scores under the retina protocol: the targets' own noise.

Issue 11's retina targets compare 1,768 generated windows with the training
part, as multiples of the test-vs-train error (the test part's stride-1
windows: 56,571 of them). A model that *is* the training distribution still
has the sampling noise of 1,768 windows. This draws 1,768 windows at random
positions of the training raster (the empirical training distribution, a model
with no error at all) and evaluates them exactly as ``retina_curve.py`` and
``retina_calibrate.py`` evaluate a generator, for ``--seeds`` draws; and
independent neurons at the training rates (exactly stationary, so their
time course has no error either). Each draw also records its mean rate over the training
data's (``mean_rate_ratio``; the target asks for 2%), with the share of draws within 2%. A
statistic whose perfect-model ratio is near the target cannot be told apart from the target
with 1,768 windows.

When the paper authors' baseline samples sit next to ``--data`` (``DG_...`` and
``k_pairwise_...`` of the release), 1,768 windows are drawn from them the same way
(``authors_dg``, ``authors_kpairwise``): issue 11 asks for a model better than the
DG on the autocorrelogram, lag-1 covariances and ISIs under this protocol. Both were
fitted on the whole recording, test part included. ``ours_dg`` is the package's 2-state
dichotomized Gaussian (its default) fitted on the training part only, each draw of
1,768 windows from its own sampling seed.

    python benchmarks/retina_protocol_floor.py --data ../shared/data/retina/original_data_num_neurons_50_1.mat

Prints a table and writes ``benchmarks/results/retina_protocol_floor.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_record  # noqa: E402

#: the release's baseline samples: name -> (file pattern next to --data, key); (time, neurons)
BASELINES = {"authors_dg": ("DG_*.mat", "data"),
             "authors_kpairwise": ("k_pairwise_*.mat", "samples_batch_all")}


def _windows(raster: np.ndarray, starts: np.ndarray, n_bins: int) -> np.ndarray:
    """Windows ``(n, neurons, n_bins)`` of a raster ``(time, neurons)`` at the given starts."""
    return np.stack([raster[a:a + n_bins].T for a in starts])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--key", default="data")
    p.add_argument("--seeds", type=int, default=10, help="draws of 1,768 windows")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results"
                   / "retina_protocol_floor.json")
    args = p.parse_args()

    from spikegan_tf.data import load_spikes, split_raster
    from spikegan_tf.evaluation.compare import HEADLINE, as_statistics, compare

    stats = HEADLINE + ("isi_distribution",)
    machine = machine_record()
    raster = load_spikes(args.data, key=args.key).spikes
    n_bins = 32
    train, test = split_raster(raster, (0.8, 0.2), gap=n_bins)
    n_gen = (len(test) - n_bins) // n_bins + 1
    ref = as_statistics(train, n_bins=n_bins, label="train")
    floor = as_statistics(test, like=ref, n_bins=n_bins, label="test")
    rates = train.mean(axis=0)
    from spikegan_tf.baselines import DichotomizedGaussian

    dg = DichotomizedGaussian().fit(train, n_bins=n_bins, seed=0)
    baselines = {}
    for name, (pattern, key) in BASELINES.items():
        for path in sorted(args.data.parent.glob(pattern)):
            baselines[name] = load_spikes(path, key=key).spikes
    names = ("perfect", "independent", "ours_dg", *baselines)
    rows = []
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        starts = rng.integers(0, len(train) - n_bins + 1, n_gen)
        perfect = _windows(train, starts, n_bins)
        independent = (rng.random((n_gen, raster.shape[1], n_bins))
                       < rates[None, :, None]).astype(np.uint8)
        drawn = {name: _windows(x, rng.integers(0, len(x) - n_bins + 1, n_gen), n_bins)
                 for name, x in baselines.items()}
        ours = dg.sample(n_gen, seed=1000 + seed)
        sets = {"perfect": perfect, "independent": independent, "ours_dg": ours, **drawn}
        res = compare(ref, sets, floor, statistics=stats)
        for name in names:
            rows.append({"model": name, "seed": seed,
                         "ratio": {s: res.ratio(name, s) for s in stats},
                         "mean_rate_ratio": float(sets[name].mean() / train.mean())})
        print(f"seed {seed}  perfect " + " ".join(
            f"{s[:8]} {rows[-len(names)]['ratio'][s]:5.2f}" for s in stats), flush=True)
    summary = {}
    for name in names:
        summary[name] = {}
        for s in stats:
            v = np.array([r["ratio"][s] for r in rows if r["model"] == name])
            summary[name][s] = {"median": float(np.median(v)), "min": float(v.min()),
                                "max": float(v.max()),
                                "share_above_1.5": float(np.mean(v > 1.5))}
        r = np.array([row["mean_rate_ratio"] for row in rows if row["model"] == name])
        summary[name]["mean_rate_ratio"] = {  # issue 11: the mean rate within 2% of the data's
            "median": float(np.median(r)), "min": float(r.min()), "max": float(r.max()),
            "share_within_2pct": float(np.mean(np.abs(r - 1) <= 0.02))}
    for name, m in summary.items():
        print(f"{name:11s} median " + " ".join(f"{s[:8]} {v['median']:5.2f}" for s, v in m.items()))
        print(f"{'':11s} max    " + " ".join(f"{s[:8]} {v['max']:5.2f}" for s, v in m.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "retina_protocol_floor", "machine": machine, "n_generated": n_gen,
        "baselines": {**{name: "authors' samples, fitted on the whole recording (test included)"
                         for name in baselines},
                      "ours_dg": "DichotomizedGaussian() (2 states), fitted on the training part"},
        "n_floor_windows": int(floor.n_windows), "rows": rows, "summary": summary},
        indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

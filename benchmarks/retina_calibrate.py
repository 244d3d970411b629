"""Does calibrating the output bias to the data's rates help on the retina? Packaged weights.

Also evaluates the "positions calibrated" generator: one logit offset per
(neuron, bin) on top, so that each neuron's mean in each bin of the window is
the training windows' (:mod:`spikegan_tf.gan.positions`, ``TrainConfig.calibrate_positions``).

Evaluates the packaged ``retina50`` generator as shipped and with each neuron's
output bias shifted so that its mean rate is the training part's
(:func:`spikegan_tf.gan.networks.calibrate_output_bias`), exactly as
``benchmarks/retina_curve.py`` evaluates (1,769 generated windows against the
training part, as multiples of the test-vs-train floor), for sample seeds 1-3.

    python benchmarks/retina_calibrate.py --data ../shared/data/retina/original_data_num_neurons_50_1.mat

The committed ``results/retina_calibrate.json`` was measured on the step-17,000 weights
*before* they were calibrated and packaged (the packaged output bias minus the recorded
``shift_logits``). ``--generator RUN/generator.keras`` (repeatable) evaluates other runs,
e.g. the 20-minute seeds of ``retina_curve.py``; ``--out`` then names another file.

Prints a table and writes ``benchmarks/results/retina_calibrate.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_record  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--key", default="data")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--generator", type=Path, action="append", default=None,
                   help="generator.keras of a retina run (repeatable; default: the packaged "
                        "retina50 as shipped, which is already calibrated)")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results"
                   / "retina_calibrate.json")
    args = p.parse_args()

    from spikegan_tf import SpikeGAN
    from spikegan_tf.data import load_spikes, split_raster
    from spikegan_tf.evaluation.compare import HEADLINE, as_statistics, compare
    from spikegan_tf.gan.networks import build_generator, calibrate_output_bias
    from spikegan_tf.gan.sampling import sample

    stats = HEADLINE + ("isi_distribution",)
    machine = machine_record()
    raster = load_spikes(args.data, key=args.key).spikes
    n_bins = 32
    train, test = split_raster(raster, (0.8, 0.2), gap=n_bins)
    n_gen = (len(test) - n_bins) // n_bins + 1
    ref = as_statistics(train, n_bins=n_bins, label="train")
    floor = as_statistics(test, like=ref, n_bins=n_bins, label="test")
    if args.generator:
        from spikegan_tf.gan import rundir

        sources = [(str(g), rundir.RunDir(g.parent).load_generator()) for g in args.generator]
        from spikegan_tf.gan.config import ModelConfig

        run = args.generator[0].parent
        config = (rundir.RunDir(run).model_config() if (run / "config.json").exists() else
                  ModelConfig.from_dict(json.loads((run / "curve.json").read_text())
                                        ["settings"]["model"]))  # a retina_curve.py output
    else:
        gan = SpikeGAN.pretrained("retina50")
        sources, config = [("retina50", gan.generator_)], gan.config
    from spikegan_tf.gan.positions import calibrate_position_offsets, with_position_offsets
    from spikegan_tf.statistics import time_course

    target = time_course(train, n_bins=n_bins)  # the training windows' (stride 1)
    names = ("as shipped", "rates calibrated", "positions calibrated")
    rows, shifts, offsets = [], {}, {}
    for source, raw in sources:
        cal = build_generator(config)  # the weights without positional offsets, if any
        cal.set_weights([w.numpy() for w in raw.weights
                         if not w.path.startswith("position_")])
        shifts[source] = calibrate_output_bias(cal, config, train.mean(axis=0), seed=0).tolist()
        pos = build_generator(config)
        pos.set_weights(cal.get_weights())
        pos = with_position_offsets(pos, config)
        offsets[source] = calibrate_position_offsets(pos, config, target, seed=0).tolist()
        for seed in (int(s) for s in args.seeds.split(",")):
            for name, gen in zip(names, (raw, cal, pos), strict=True):
                fake = sample(gen, n_gen, seed=seed)
                res = compare(ref, {"m": fake}, floor, statistics=stats)
                rows.append({"generator": source, "model": name, "seed": seed,
                             "ratio": {s: res.ratio("m", s) for s in stats},
                             "rate_ratio": float(fake.mean() / train.mean())})
                print(f"{name:17s} seed {seed}  " + " ".join(
                    f"{s[:8]} {rows[-1]['ratio'][s]:5.2f}" for s in stats)
                    + f"  rate/data {rows[-1]['rate_ratio']:.3f}", flush=True)
    median = {name: {s: float(np.median([r["ratio"][s] for r in rows if r["model"] == name]))
                     for s in stats} for name in names}
    for name, m in median.items():
        print(f"median {name:17s} " + " ".join(f"{s[:8]} {v:5.2f}" for s, v in m.items()))
    args.out.write_text(json.dumps({"benchmark": "retina_calibrate", "machine": machine,
                                    "shift_logits": shifts, "position_logits": offsets,
                                    "rows": rows,
                                    "median": median}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What the true model scores in the demo's setting: the simulator against its own floor.

``spikegan demo`` (and ``bench_demo.py``) compare a model's windows, as many as
are held out (1,638), with the training windows, as multiples of the
held-out-vs-training error. The simulator itself is the perfect model: it
draws its parameters from the seed before any window, so a longer simulation
with the same seed is the same model. This evaluates ``--draws`` fresh sets of
1,638 of its windows exactly as the demo evaluates a generator, next to
independent neurons at the training rates, for each seed. Where the true model
scatters around 1.0, "better than the independent model" is a coin toss.

    python benchmarks/demo_truth.py --seeds 0,1,2

Prints a table and writes ``benchmarks/results/demo_truth.json``.
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
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--draws", type=int, default=20, help="fresh sets of windows per seed")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results"
                   / "demo_truth.json")
    args = p.parse_args()

    from spikegan_tf.baselines import IndependentBernoulli
    from spikegan_tf.data import simulate, split_windows
    from spikegan_tf.evaluation.compare import HEADLINE, as_statistics, compare

    machine = machine_record()
    runs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        sim = simulate.uniform(8192, 16, 32, seed=seed)  # the demo's dataset
        train, held_out = split_windows(sim.spikes, (0.8, 0.2), seed=seed)
        n = len(held_out)
        more = simulate.uniform(n * args.draws, 16, 32, seed=seed)  # the same model
        for key in ("group_rates", "group_correlations", "neuron_order"):
            if not np.array_equal(more.ground_truth[key], sim.ground_truth[key]):
                raise SystemExit(f"the simulator's {key} changed with the sample size")
        ref = as_statistics(train, label="train")
        floor = as_statistics(held_out, like=ref, label="held-out")
        fakes = {f"truth {i}": more.spikes[i * n:(i + 1) * n] for i in range(args.draws)}
        fakes["independent"] = IndependentBernoulli().fit(train, seed=seed).sample(n, seed=seed)
        res = compare(ref, fakes, floor, statistics=HEADLINE)
        truth = np.array([[res.ratio(f"truth {i}", s) for s in HEADLINE]
                          for i in range(args.draws)])
        indep = {s: res.ratio("independent", s) for s in HEADLINE}
        run = {"seed": seed, "n_windows": n, "independent": indep,
               "truth": {s: {"median": float(np.median(truth[:, j])),
                             "min": float(truth[:, j].min()), "max": float(truth[:, j].max()),
                             "share_below_independent": float(np.mean(truth[:, j] < indep[s]))}
                         for j, s in enumerate(HEADLINE)}}
        runs.append(run)
        print(f"seed {seed}  truth median " + " ".join(
            f"{s[:8]} {run['truth'][s]['median']:5.2f}" for s in HEADLINE))
        print(f"{'':8s}truth range  " + " ".join(
            f"{s[:8]} {run['truth'][s]['min']:.2f}-{run['truth'][s]['max']:.2f}"
            for s in HEADLINE))
        print(f"{'':8s}independent  " + " ".join(f"{s[:8]} {indep[s]:5.2f}" for s in HEADLINE))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "demo_truth", "machine": machine,
                                    "draws": args.draws, "runs": runs}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

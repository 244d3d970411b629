"""Where the time-course error comes from: each neuron's expected rate at each position of the window.

A generator of a stationary process should give every bin of the window the same
expected firing probability. This averages the generator's probabilities over
``--n`` latent draws (no sampling noise from Bernoulli draws) and reports, per
neuron, the relative spread across bins; and, averaged over neurons, the profile
across the window and its period-2 and period-4 components (the two stride-2
upsampling layers). Default: the packaged ``retina50``; ``--run DIR`` any run.

    python benchmarks/time_course_pattern.py [--run runs/demo/run]

Prints a summary and writes ``benchmarks/results/time_course_pattern.json``
(``--out`` for another name).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_record  # noqa: E402


def profile(generator, latent_dim: int, n: int, seed: int = 0) -> dict:
    """Relative expected-rate profile of a generator (see the module docstring)."""
    z = np.random.default_rng(seed).standard_normal((n, latent_dim)).astype("float32")
    p = np.concatenate([np.asarray(generator(z[i:i + 2000], training=False))
                        for i in range(0, n, 2000)]).mean(axis=0)  # (neurons, bins)
    rel = p / p.mean(axis=1, keepdims=True)
    mean = rel.mean(axis=0)
    return {"per_neuron_relative_sd_median": float(np.median(rel.std(axis=1))),
            "profile_over_neurons": [round(float(v), 4) for v in mean],
            "period2_means": [round(float(mean[k::2].mean()), 4) for k in range(2)],
            "period4_means": [round(float(mean[k::4].mean()), 4) for k in range(4)]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, default=None)
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results"
                   / "time_course_pattern.json")
    args = p.parse_args()
    from spikegan_tf import SpikeGAN

    gan = SpikeGAN.pretrained("retina50") if args.run is None else SpikeGAN.load(args.run)
    res = profile(gan.generator_, gan.config.latent_dim, args.n)
    print(f"{args.run or 'retina50'}: per-neuron relative SD across bins (median) "
          f"{res['per_neuron_relative_sd_median']:.3f}")
    print("profile over neurons x100: "
          + " ".join(str(round(v * 100)) for v in res["profile_over_neurons"]))
    print(f"period-2 means {res['period2_means']}, period-4 means {res['period4_means']}")
    args.out.write_text(json.dumps({"benchmark": "time_course_pattern", "machine":
                                    machine_record(), "source": str(args.run or "retina50"),
                                    "n_latent_draws": args.n, **res}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

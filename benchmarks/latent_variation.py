"""How much generators' probabilities vary with their latent input (the stuck check's threshold).

``spikegan_tf.gan.stuck.latent_variation`` (64 latent draws, seed 0) of the published
generators (``generator.keras``) of ``retina_curve.py`` runs that stayed at an independent model
of the rates and of runs that learnt, and of freshly initialised generators of the settings
those runs used (seed 0). ``spikegan_tf.gan.stuck.STUCK_VARIATION`` sits between the groups.
Prints a table and writes ``--out`` with the machine record::

    python benchmarks/latent_variation.py --out benchmarks/results/latent_variation.json
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _machine import machine_record, write_result  # noqa: E402

RESULTS = Path(__file__).parent / "results"
#: (run directory under results/, what it did: "stuck" or "learnt")
RUNS = (("retina_recipe_sim/uniform5k_seed0", "stuck"),
        ("retina_recipe_sim/packets5k_seed0", "stuck"),
        ("retina_recipe_sim/fullhe4k_packets_seed0", "stuck"),
        ("retina_recipe_sim/s20to4k_seed0", "learnt"),
        ("retina_recipe_sim/outinit/he_seed0", "learnt"),
        ("retina_recipe_sim/fullhe4k_uniform_seed0", "learnt"),
        ("retina_recipe_sim/packets_screen/he_4layers_seed0", "learnt"),
        ("critic_head_long/fullhe9k_seed0", "learnt"),
        ("critic_head_long/head64cm100vrs4acg10ema9k_seed1", "learnt"))
#: fresh generators: (label, ModelConfig fields besides 16 neurons x 32 bins)
FRESH = (("conv (default)", {}),
         ("temporal, 4 layers", {"architecture": "temporal"}),
         ("temporal, 6 layers", {"architecture": "temporal", "temporal_layers": 6}),
         ("temporal, 6 He layers", {"architecture": "temporal", "temporal_layers": 6,
                                    "temporal_init": "he"}))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=RESULTS / "latent_variation.json")
    args = p.parse_args(argv)
    import keras

    import spikegan_tf.gan.history_fit  # noqa: F401  (registers the layers of published models)
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.networks import build_generator
    from spikegan_tf.gan.stuck import STUCK_VARIATION, latent_variation

    machine = machine_record()
    rows = []
    for run, state in RUNS:
        path = RESULTS / run / "generator.keras"
        if not path.is_file():
            print(f"{run}: no generator.keras (not in git: rerun the run), skipped")
            continue
        g = keras.models.load_model(path, safe_mode=True, compile=False)
        rows.append({"run": run, "state": state, "latent_variation": latent_variation(g)})
    for label, fields in FRESH:
        g = build_generator(ModelConfig(n_neurons=16, n_bins=32, **fields), seed=0)
        rows.append({"run": f"fresh: {label}", "state": "fresh",
                     "latent_variation": latent_variation(g)})
    for r in rows:
        print(f"{r['run']:50s} {r['state']:7s} {r['latent_variation']:8.4f}")
    write_result(args.out, {"benchmark": "latent_variation", "machine": machine,
                            "threshold": STUCK_VARIATION, "n_samples": 64, "seed": 0,
                            "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Is a temporal run's generator stuck at an independent model of the rates?

For ``retina_curve.py`` output directories (``--curves``), restores each run's
latest checkpoint and measures, on 256 training windows and 256 generated ones
(the training generator, not the average; sample seed 0):

* the critic's gap ``mean D(real) - mean D(fake)`` and the norm of its input
  gradient at the fakes (a WGAN-GP critic is held near norm 1);
* the spread of the generated firing probabilities (a generator that ignores
  its latent input draws every bin from nearly one probability);
* the root mean square of the output layer's kernel (``logits``) against the
  standard deviation it was initialised with: a kernel that has not grown
  leaves the logits at their bias, whatever the latent input;
* layer by layer, the standard deviation over latent draws of each output
  (mean over positions and features), for the trained generator and for a
  freshly initialised one of the same settings (seed 0): where the latent
  input's signal fades.

Writes ``--out`` (JSON with the machine record) and prints a table::

    python benchmarks/generator_stuck.py --data /tmp/uniform.npz \\
        --curves benchmarks/results/retina_recipe_sim/uniform5k_seed0 \\
        --out benchmarks/results/retina_recipe_sim/generator_stuck.json
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _machine import machine_record, write_result  # noqa: E402


def diagnose(curve: Path, raster: np.ndarray, n: int = 256) -> dict:
    """The measurements above for one run directory."""
    import tensorflow as tf

    from spikegan_tf.data import split_raster
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.train_config import TrainConfig
    from spikegan_tf.gan.trainer import Trainer

    settings = json.loads((curve / "curve.json").read_text())["settings"]
    model = ModelConfig.from_dict(settings["model"])
    train_settings = {k: v for k, v in settings["train"].items()
                      if k in TrainConfig.__dataclass_fields__}
    trainer = Trainer(model, TrainConfig(**{**train_settings, "max_steps": None,
                                            "max_minutes": 1.0}), verbose=0)
    latest = tf.train.latest_checkpoint(str(curve / "checkpoints"))
    trainer.checkpoint.restore(latest).expect_partial()
    train, _ = split_raster(raster, (0.8, 0.2), gap=32)
    rng = np.random.default_rng(0)
    starts = rng.integers(0, len(train) - model.n_bins, n)
    real = np.stack([train[s:s + model.n_bins].T for s in starts]).astype(np.float32)
    z = rng.standard_normal((n, model.latent_dim)).astype(np.float32)
    p = trainer.generator(z, training=False).numpy()
    fake = (rng.random(p.shape) < p).astype(np.float32)
    d_real = trainer.critic(real, training=False).numpy().ravel()
    d_fake = trainer.critic(fake, training=False).numpy().ravel()
    x = tf.constant(fake)
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = tf.reduce_sum(trainer.critic(x, training=False))
    grad = tape.gradient(score, x).numpy()
    kernel = trainer.generator.get_layer("logits").kernel.numpy()
    fresh = Trainer(model, trainer.config, verbose=0).generator
    return {"curve": str(curve), "checkpoint": Path(latest).name,
            "step": int(trainer.step.numpy()),
            "critic_gap": float(d_real.mean() - d_fake.mean()),
            "critic_grad_norm": float(np.sqrt((grad ** 2).sum(axis=(1, 2))).mean()),
            "probability_quantiles": np.quantile(p, [0.0, 0.01, 0.5, 0.99, 1.0]).round(4).tolist(),
            "probability_sd_over_latents": float(p.std(axis=0).mean()),
            "logits_kernel_rms": float(np.sqrt((kernel ** 2).mean())),
            "init_stddev": model.init_stddev,
            "latent_signal_by_layer": {"trained": latent_signal(trainer.generator, z),
                                       "initial": latent_signal(fresh, z)}}


def latent_signal(generator, z: np.ndarray) -> dict[str, float]:
    """Per layer of ``generator``, the standard deviation of its output over the latent draws
    ``z`` (mean over the other axes)."""
    import keras

    layers = generator.layers[1:]
    outputs = keras.Model(generator.input, [layer.output for layer in layers])(z)
    return {layer.name: round(float(np.asarray(out).std(axis=0).mean()), 5)
            for layer, out in zip(layers, outputs, strict=True)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--curves", nargs="+", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True, help=".npz with the raster under `data`")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)

    from spikegan_tf.data import load_spikes

    raster = load_spikes(args.data, key="data").spikes
    result = {"benchmark": "generator_stuck", "machine": machine_record(),
              "data": str(args.data), "runs": []}
    print(f"{'run':>28} {'step':>5} {'gap':>7} {'|grad|':>6} {'p 1-99%':>13} {'sd(z)':>6} "
          f"{'kernel':>7}")
    for curve in args.curves:
        row = diagnose(curve, raster)
        result["runs"].append(row)
        q = row["probability_quantiles"]
        print(f"{curve.name:>28} {row['step']:5d} {row['critic_gap']:7.2f} "
              f"{row['critic_grad_norm']:6.2f} {q[1]:6.3f}-{q[3]:.3f} "
              f"{row['probability_sd_over_latents']:6.3f} {row['logits_kernel_rms']:7.4f}",
              flush=True)
        for when, signal in row["latent_signal_by_layer"].items():
            print(f"{'':>28} {when}: " + " ".join(f"{k} {v:.3g}" for k, v in signal.items()
                                                 if not k.startswith(("tconv", "to_"))))
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Prototype: a spike-history output for the retina's autocorrelogram (issues 11 and 14).

Spike-GAN's generator gives every bin a firing probability and draws the bins
independently given the latent noise, so a burst (a spike making the next bins
likely) must be built from the probabilities alone. On the retina the
generated autocorrelogram is too high at lag 1 and too low at lags 2-10
(``results/acg_diagnosis.json``). This prototype adds a GLM-style history term
to the output, drawn bin after bin inside the generator::

    p(t) = sigmoid(a(t) + sum_k h[n, k] x(t-1-k)),  x(t) = [u(t) < p(t)]

with a per-neuron filter ``h`` (``--history`` bins, starting at 0, so training
starts from the ordinary generator; ``--history-scale`` speeds up its learning) and a straight-through gradient through each
draw, as the critic's input already has. The generator then outputs spikes, so
the trainer's own Bernoulli view of them is the identity. It is not in the
package: the draws are inside the model, which the sampling protocol (the same
seed gives the same spikes in Keras, ONNX and the rig runtime) does not allow yet.

Trains the default model on the retina split of ``retina_curve.py`` and, every
``--eval-every`` iterations, evaluates 1,769 generated windows with the
output bias calibrated to the training rates (a few fixed-point steps in logit
space, since the rates are no longer a closed form of the bias), against the
test-vs-train floor. Writes ``OUT/curve.json`` (points, settings, machine)::

    python benchmarks/history_output.py --minutes 20 --out benchmarks/results/retina_history8
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
from _machine import machine_record  # noqa: E402
from retina_curve import _default_data  # noqa: E402


def history_layer_class():
    import keras
    import tensorflow as tf

    class SpikeHistory(keras.layers.Layer):
        """Probabilities ``(batch, N, T)`` -> spikes drawn bin by bin with a history term."""

        def __init__(self, n_neurons: int, n_bins: int, history: int, scale: float, **kw):
            super().__init__(**kw)
            self.n_neurons, self.n_bins, self.history = n_neurons, n_bins, history
            self.scale = scale  # h = scale * weight: Adam moves h by ~scale * lr per step
            self.seed = keras.random.SeedGenerator(0)

        def build(self, input_shape):
            self.h = self.add_weight(shape=(self.n_neurons, self.history), initializer="zeros",
                                     name="h")

        def call(self, p):
            p = tf.clip_by_value(tf.cast(p, tf.float32), 1e-6, 1 - 1e-6)
            a = tf.math.log(p) - tf.math.log1p(-p)
            u = keras.random.uniform(tf.shape(p), seed=self.seed)
            past: list = []
            out = []
            for t in range(self.n_bins):
                logit = a[:, :, t]
                for k, x in enumerate(reversed(past[-self.history:])):
                    logit = logit + self.scale * self.h[:, k] * x
                q = tf.sigmoid(logit)
                s = tf.cast(u[:, :, t] < q, tf.float32)
                x = q + tf.stop_gradient(s - q)
                past.append(x)
                out.append(x)
            return tf.stack(out, axis=-1)

    return SpikeHistory


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--minutes", type=float, default=20.0)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--history", type=int, default=8, help="bins of the history filter (0: off)")
    p.add_argument("--history-scale", type=float, default=10.0,
                   help="h = SCALE * weight, so that Adam moves h SCALE times faster")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)

    import keras
    from scipy.special import logit

    import spikegan_tf.gan.networks as networks
    from spikegan_tf.data import load_spikes, split_raster
    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.evaluation.compare import HEADLINE, as_statistics, compare
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.sampling import sample
    from spikegan_tf.gan.train_config import TrainConfig
    from spikegan_tf.gan.trainer import Trainer

    machine = machine_record()
    print(f"{machine['cpu_model']}: float32 matmul "
          f"{machine['matmul_float32']['gflop_per_s']:.0f} GFLOP/s", flush=True)
    raster = load_spikes(args.data, key="data").spikes
    n_bins = 32
    train, test = split_raster(raster, (0.8, 0.2), gap=n_bins)
    n_gen = (len(test) - n_bins) // n_bins + 1
    ref = as_statistics(train, n_bins=n_bins, label="train")
    floor = as_statistics(test, like=ref, n_bins=n_bins, label="test")
    target = train.mean(axis=0).astype(np.float64)

    model = ModelConfig(n_neurons=raster.shape[1], n_bins=n_bins, num_features=128)
    cfg = TrainConfig(max_steps=None, max_minutes=args.minutes, eval_every=0, seed=args.seed,
                      calibrate_rates=False)
    build = networks.build_generator
    SpikeHistory = history_layer_class()

    def build_with_history(config, **kw):
        base = build(config, **kw)
        if not args.history:
            return base
        out = SpikeHistory(config.n_neurons, config.n_bins, args.history, args.history_scale,
                           name="history")(base.output)
        return keras.Model(base.inputs, out, name="generator")

    networks.build_generator = build_with_history
    trainer = Trainer(model, cfg, verbose=0)
    networks.build_generator = build
    data = prepare_data(train, n_bins, val_fraction=0.0)
    trainer.init_output_bias(data)
    bias = networks.output_bias_layer(trainer.generator, model).bias

    def calibrated_sample(seed: int) -> tuple[np.ndarray, list[float]]:
        """Shift the output bias (fixed-point steps in logit space), sample, restore the bias."""
        saved = bias.numpy().copy()
        z = np.random.default_rng(seed).standard_normal((8192, model.latent_dim), np.float32)
        errs = []
        for _ in range(6):
            rates = np.concatenate([np.asarray(trainer.generator(z[i:i + 2048]))
                                    for i in range(0, len(z), 2048)]).mean(axis=(0, 2))
            errs.append(float(np.abs(rates / target - 1).max()))
            step = logit(np.clip(target, 1e-4, 1 - 1e-4)) - logit(np.clip(rates, 1e-4, 1 - 1e-4))
            bias.assign((bias.numpy() + step).astype(np.float32))
        fake = sample(trainer.generator, n_gen, seed=seed)
        bias.assign(saved)
        return fake, errs

    args.out.mkdir(parents=True, exist_ok=True)
    stats = HEADLINE + ("isi_distribution",)
    points = []
    cpu = 0.0
    deadline = time.monotonic() + 60 * args.minutes
    print(f"{'step':>6s}{'CPU-s':>7s}" + "".join(f"{s[:10]:>11s}" for s in HEADLINE), flush=True)
    while time.monotonic() < deadline:
        c0 = time.process_time()
        trainer.train_steps(data, args.eval_every)
        cpu += time.process_time() - c0
        step = int(trainer.step.numpy())
        raw = sample(trainer.generator, n_gen, seed=args.seed + 1)
        cal, errs = calibrated_sample(args.seed + 1)
        res = compare(ref, {"raw": raw, "calibrated": cal}, floor, statistics=stats)
        point = {"step": step, "cpu_s": round(cpu, 1),
                 "ratio": {s: res.ratio("calibrated", s) for s in stats},
                 "ratio_uncalibrated": {s: res.ratio("raw", s) for s in stats},
                 "rate_ratio": float(cal.mean() / train.mean()),
                 "rate_ratio_uncalibrated": float(raw.mean() / train.mean()),
                 "calibration_max_rel_error": errs,
                 "history_filter_mean": (
                     (args.history_scale * np.asarray(trainer.generator.get_layer("history").h))
                     .mean(axis=0).round(3).tolist() if args.history else [])}
        points.append(point)
        (args.out / "curve.json").write_text(json.dumps({
            "benchmark": "history_output", "machine": machine,
            "settings": {"history": args.history, "history_scale": args.history_scale,
                         "seed": args.seed, "train": cfg.to_dict(),
                         "model": model.to_dict(), "n_generated": n_gen},
            "points": points}, indent=1) + "\n")
        r = point["ratio"]
        print(f"{step:6d}{cpu:7.0f}" + "".join(f"{r[s]:11.2f}" for s in HEADLINE)
              + f"  h {point['history_filter_mean'][:4]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Issue 14: how a critic's input gradient splits between its paths (head, scales, counts...).

A critic with ``critic_head_units = U`` scores a window as ``w_f . features +
w_h . head(features)``: the first term is the paper's sum over 13-bin patches,
the second sees the whole window. The gradient penalty holds the norm of the
*sum's* input gradient near 1, so the head could take the patch path's share of
it (and with it the generator's pressure on local statistics such as P(K)), or
the two could add or cancel. For each ``retina_curve.py`` run (``--curve``,
repeat it), the critic and generator of its last checkpoint are restored; at
the penalty's interpolates of ``--batch`` real training windows and as many
generated ones (Bernoulli spikes of the raw generator), the script splits the
score into its paths (:func:`spikegan_tf.gan.networks.critic_paths`: the
patches, each coarser scale of a multi-scale critic, the head) and records the
median per-window norm of each path's input gradient and of their sum, and the
median cosine between each path's gradient and the other paths' summed
(negative: they cancel), and each path's share of the mean score gap between
the real and the generated windows (which path tells them apart). The paper's
critic has one path.

Writes ``OUT`` (JSON with the machine record) and prints a table::

    python benchmarks/critic_gradient_share.py --curve benchmarks/results/critic_head_long/head64_seed1 \\
        --curve benchmarks/results/critic_head_long/nohead_seed0 \\
        --out benchmarks/results/critic_head_long/critic_gradient_share.json
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _machine import machine_record, write_result  # noqa: E402
from retina_curve import RAW, _default_data, load_config, load_run  # noqa: E402


def median_norm(g: np.ndarray) -> float:
    """Median over windows of the norm of each window's gradient ``(batch, features)``."""
    return float(np.median(np.linalg.norm(g, axis=1)))


def median_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Median over windows of the cosine between two gradients."""
    return float(np.median((a * b).sum(1) / (np.linalg.norm(a, axis=1)
                                             * np.linalg.norm(b, axis=1) + 1e-30)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--curve", type=Path, action="append", required=True,
                   help="retina_curve.py output directory (repeat for several runs)")
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if args.data is None:
        p.error(f"give --data PATH/{RAW} or set SPIKEGAN_RETINA_DIR")

    import tensorflow as tf

    from spikegan_tf.gan.networks import (
        build_critic,
        build_generator,
        critic_path_names,
        critic_paths,
    )

    result = {"benchmark": "critic_gradient_share", "machine": machine_record(),
              "batch": args.batch, "seed": args.seed, "runs": {}}
    _, train, _ = load_run(args.curve[0], args.data)  # every run: the same split
    for curve in args.curve:
        config = load_config(curve)
        generator, critic = build_generator(config, seed=0), build_critic(config, seed=0)
        path = tf.train.latest_checkpoint(str(curve / "checkpoints"))
        tf.train.Checkpoint(generator=generator, critic=critic).restore(path).expect_partial()
        rng = np.random.default_rng(args.seed)
        starts = rng.integers(0, len(train) - config.n_bins, args.batch)
        real = np.stack([train[s:s + config.n_bins].T for s in starts]).astype("float32")
        z = rng.standard_normal((args.batch,) + tuple(generator.inputs[0].shape[1:]))
        probs = generator(z.astype("float32"), training=False).numpy()
        fake = (rng.random(probs.shape) < probs).astype("float32")
        alpha = rng.random((args.batch, 1, 1)).astype("float32")
        x_hat = tf.constant(real + alpha * (fake - real))
        split = critic_paths(critic, config)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x_hat)
            terms = split(x_hat)
            sums = [tf.reduce_sum(t) for t in tf.unstack(terms, axis=1)]  # windows do not mix
        grads = [tape.gradient(t, x_hat).numpy().reshape(args.batch, -1) for t in sums]
        gap = np.asarray(split(real)).mean(0) - np.asarray(split(fake)).mean(0)
        whole = np.sum(grads, axis=0)  # the score's gradient: the paths' summed
        names = critic_path_names(config)
        row = {"checkpoint": Path(path).name, "paths": names,
               "grad_norm": {n: median_norm(g) for n, g in zip(names, grads, strict=True)},
               "grad_norm_total": median_norm(whole),
               # how much of the mean real-minus-fake score each path makes
               "score_gap": {n: float(v) for n, v in zip(names, gap, strict=True)},
               # each path's gradient against the other paths' summed: < 0, they cancel
               "cosine_with_the_rest": {n: median_cosine(g, whole - g)
                                        for n, g in zip(names, grads, strict=True)}
               if len(grads) > 1 else {}}
        result["runs"][curve.name] = row
        print(f"{curve.name:>14} {row['checkpoint']:>10} total {row['grad_norm_total']:.3f} "
              + " ".join(f"{n} {v:.3f}" + (f" (cos {row['cosine_with_the_rest'][n]:+.2f})"
                                            if row["cosine_with_the_rest"] else "")
                         for n, v in row["grad_norm"].items())
              + "; score gap " + " ".join(f"{n} {v:.2f}" for n, v in row["score_gap"].items()),
              flush=True)
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

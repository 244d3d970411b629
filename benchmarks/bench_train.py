"""Benchmark: WGAN-GP generator iterations per second on the retina configuration.

Configuration: 50 neurons x 32 bins, semi-convolutional critic with 128/256
features, latent 128, batch 64, 5 critic updates per generator update (one
"iteration" = 5 critic updates + 1 generator update).

Variants, measured in the same process, interleaved round by round so that a
change in the machine's load hits all of them alike:

* ``baseline``: the straightforward Keras 3 WGAN-GP step, a ``tf.function``
  that loops over the critic updates in Python (a fresh ``G(z)`` under the tape
  and three separate critic calls per update, the gradient penalty by a nested
  tape), fed real batches from a ``tf.data`` pipeline;
* ``ours_plain``: :class:`spikegan_tf.gan.trainer.Trainer`, one iteration per call;
* ``ours``: the trainer as it runs by default (``steps_per_call=10``): the
  fake batches of all critic updates from one generator call, real windows
  gathered inside the graph, the critic updates in a graph loop, several
  iterations per call;
* ``ours_xla``: the same, XLA-compiled (``jit_compile=True``).

None of them changes the mathematics (same losses, same updates). For each
variant we report the median over rounds of iterations per wall-clock second
and per CPU second of the process (``time.process_time``, all threads): on a
shared machine the wall-clock rate depends on the other jobs; the CPU rate much
less. FLOPs per iteration are counted from the layer shapes (multiply-adds x 2,
backward = 2 x forward, double backprop of the penalty = 2 x its first
backward); GFLOP/s = FLOPs per iteration x iterations per second.

Usage::

    python benchmarks/bench_train.py            # ~3 minutes on 2 cores
    python benchmarks/bench_train.py --rounds 3 --iters 5 --variants baseline ours

Writes ``benchmarks/results/bench_train.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from _machine import cpu_description, matmul_calibration  # noqa: E402

VARIANTS = ("baseline", "ours_plain", "ours", "ours_xla")


# --------------------------------------------------------------------------- FLOPs


def forward_flops(config) -> tuple[float, float]:
    """Forward FLOPs per sample of (generator, critic) from the layer shapes."""
    import keras

    from spikegan_tf.gan.networks import build_critic, build_generator

    def count(model) -> float:
        total = 0.0
        for layer in model.layers:
            if isinstance(layer, keras.layers.Conv1DTranspose):
                length_in = layer.input.shape[1]
                total += 2 * length_in * layer.kernel_size[0] * layer.input.shape[2] * layer.filters
            elif isinstance(layer, keras.layers.Conv1D):
                length_out = layer.output.shape[1]
                total += (2 * length_out * layer.kernel_size[0] * layer.input.shape[2]
                          * layer.filters)
            elif isinstance(layer, keras.layers.Dense):
                total += 2 * layer.input.shape[-1] * layer.units
        return float(total)

    return count(build_generator(config)), count(build_critic(config))


def iteration_flops(config, batch: int, n_critic: int) -> dict[str, float]:
    """Model FLOPs of one generator iteration (n_critic critic updates + 1 generator update)."""
    g, d = forward_flops(config)
    # critic update: G forward; D forward on real, fake, x_hat; backward of the
    # penalty's input gradient (1 x D); weight gradients of the 3 forwards (2 x 3 D)
    # and of the input-gradient graph (2 x D)
    critic_update = batch * (g + 3 * d + d + 2 * 3 * d + 2 * d)
    generator_update = batch * 3 * (g + d)
    return {"generator_forward_per_sample": g, "critic_forward_per_sample": d,
            "critic_update": critic_update, "generator_update": generator_update,
            "iteration": n_critic * critic_update + generator_update}


# --------------------------------------------------------------------------- baseline


class StraightforwardWGANGP:
    """The textbook Keras 3 / TF2 WGAN-GP step (what one writes first)."""

    def __init__(self, config, windows: np.ndarray, batch: int, n_critic: int, seed: int):
        import keras
        import tensorflow as tf

        from spikegan_tf.gan.networks import build_critic, build_generator

        self.g = build_generator(config, seed=seed)
        self.d = build_critic(config, seed=seed + 1)
        self.g_opt = keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9)
        self.d_opt = keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9)
        self.latent, self.batch, self.n_critic = config.latent_dim, batch, n_critic
        ds = (tf.data.Dataset.from_tensor_slices(windows).shuffle(4096, seed=seed).repeat()
              .map(lambda x: tf.cast(x, tf.float32)).batch(batch, drop_remainder=True)
              .batch(n_critic).prefetch(2))
        self.batches = iter(ds)
        self.step = tf.function(self._step)

    def _step(self, real_batches):
        import tensorflow as tf

        for i in range(self.n_critic):
            real = real_batches[i]
            z = tf.random.normal((self.batch, self.latent))
            with tf.GradientTape() as tape:
                fake = self.g(z, training=True)
                d_real = self.d(real, training=True)
                d_fake = self.d(fake, training=True)
                alpha = tf.random.uniform((self.batch, 1, 1))
                x_hat = real + alpha * (fake - real)
                with tf.GradientTape() as gp_tape:
                    gp_tape.watch(x_hat)
                    d_hat = self.d(x_hat, training=True)
                grads = gp_tape.gradient(d_hat, x_hat)
                norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2]))
                gp = tf.reduce_mean((norm - 1.0) ** 2)
                d_loss = tf.reduce_mean(d_fake) - tf.reduce_mean(d_real) + 10.0 * gp
            d_grads = tape.gradient(d_loss, self.d.trainable_variables)
            self.d_opt.apply_gradients(zip(d_grads, self.d.trainable_variables, strict=True))
        z = tf.random.normal((self.batch, self.latent))
        with tf.GradientTape() as tape:
            g_loss = -tf.reduce_mean(self.d(self.g(z, training=True), training=True))
        g_grads = tape.gradient(g_loss, self.g.trainable_variables)
        self.g_opt.apply_gradients(zip(g_grads, self.g.trainable_variables, strict=True))
        return d_loss, g_loss

    def run(self, n: int) -> None:
        for _ in range(n):
            d_loss, _ = self.step(next(self.batches))
        float(d_loss)  # wait for the result


# --------------------------------------------------------------------------- ours


class Ours:
    def __init__(self, config, data, batch: int, n_critic: int, seed: int, *,
                 steps_per_call: int, jit: bool):
        from spikegan_tf.gan.train_config import TrainConfig
        from spikegan_tf.gan.trainer import Trainer

        self.trainer = Trainer(config, TrainConfig(batch_size=batch, n_critic=n_critic,
                                                   seed=seed, steps_per_call=steps_per_call,
                                                   jit_compile=jit), verbose=0)
        self.data, self.per_call = data, steps_per_call

    def run(self, n: int) -> None:
        done = 0
        while done < n:
            k = min(self.per_call, n - done)
            self.trainer.train_steps(self.data, k)
            done += k


def matmul_peak(size: int = 1024, repeats: int = 20) -> dict[str, float]:
    """Achievable float32 GFLOP/s of a large matmul: the ceiling for compute-bound steps."""
    return matmul_calibration(size, repeats)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per variant (5)")
    parser.add_argument("--iters", type=int, default=10, help="iterations per round (10)")
    parser.add_argument("--xla-iters", type=int, default=1,
                        help="iterations per round of ours_xla (1: XLA on CPU is very slow)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--upsampling", choices=("resize", "transpose"), default=None,
                        help="generator upsampling (default: ModelConfig's, transpose)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" /
                                             "bench_train.json"))
    args = parser.parse_args(argv)

    import tensorflow as tf

    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.gan.config import ModelConfig

    config = ModelConfig(n_neurons=50, n_bins=32, num_features=128, latent_dim=128,
                         **({} if args.upsampling is None else {"upsampling": args.upsampling}))
    batch, n_critic, seed = 64, 5, 0
    raster = (np.random.default_rng(seed).random((50_000, 50)) < 0.05).astype(np.uint8)
    data = prepare_data(raster, 32, val_fraction=0.0)
    windows = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(
        raster, 32, axis=0)[:20_000])  # (n, neurons, bins) for the tf.data baseline
    flops = iteration_flops(config, batch, n_critic)

    runners = {}
    compile_s = {}
    for name in args.variants:
        t0 = time.perf_counter()
        if name == "baseline":
            runner = StraightforwardWGANGP(config, windows, batch, n_critic, seed)
        else:
            runner = Ours(config, data, batch, n_critic, seed,
                          steps_per_call=1 if name == "ours_plain" else 10,
                          jit=name == "ours_xla")
        runner.run(1 if name == "ours_xla" else min(args.iters, 10))  # trace, warm up
        compile_s[name] = time.perf_counter() - t0
        runners[name] = runner
        print(f"{name}: traced and warmed up in {compile_s[name]:.1f} s", flush=True)

    wall: dict[str, list[float]] = {n: [] for n in runners}
    cpu: dict[str, list[float]] = {n: [] for n in runners}
    for r in range(args.rounds):
        for name, runner in runners.items():
            n = args.xla_iters if name == "ours_xla" else args.iters
            w0, c0 = time.perf_counter(), time.process_time()
            runner.run(n)
            wall[name].append(n / (time.perf_counter() - w0))
            cpu[name].append(n / (time.process_time() - c0))
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(
            f"{n} {wall[n][-1]:.2f} it/s" for n in runners), flush=True)

    n_cpus = os.cpu_count() or 1
    peak = matmul_peak()
    rows = []
    base = statistics.median(wall["baseline"]) if "baseline" in wall else None
    base_cpu = statistics.median(cpu["baseline"]) if "baseline" in cpu else None
    for name in runners:
        med, med_cpu = statistics.median(wall[name]), statistics.median(cpu[name])
        rows.append({
            "variant": name,
            "iters_per_s_median": med,
            "iters_per_s_rounds": wall[name],
            "iters_per_cpu_s_median": med_cpu,
            "gflop_per_s": med * flops["iteration"] / 1e9,
            "gflop_per_cpu_s": med_cpu * flops["iteration"] / 1e9,
            "speedup_vs_baseline": None if base is None else med / base,
            "cpu_speedup_vs_baseline": None if base_cpu is None else med_cpu / base_cpu,
            "warmup_s": compile_s[name],
        })
    print()
    print(f"FLOPs per iteration: {flops['iteration'] / 1e9:.2f} GFLOP "
          f"(G forward {flops['generator_forward_per_sample'] / 1e6:.2f} MFLOP/sample, "
          f"D forward {flops['critic_forward_per_sample'] / 1e6:.2f} MFLOP/sample)")
    print(f"float32 matmul (1024^3) reference: {peak['gflop_per_s']:.1f} GFLOP/s, "
          f"{peak['gflop_per_cpu_s']:.1f} GFLOP per CPU-second")
    print(f"{'variant':<12}{'it/s':>8}{'x base':>8}{'GFLOP/s':>9}"
          f"{'it/CPU-s':>10}{'x base':>8}{'GFLOP/CPU-s':>13}")
    for row in rows:
        sp = row["speedup_vs_baseline"]
        csp = row["cpu_speedup_vs_baseline"]
        print(f"{row['variant']:<12}{row['iters_per_s_median']:>8.2f}"
              f"{'' if sp is None else f'{sp:.2f}':>8}{row['gflop_per_s']:>9.1f}"
              f"{row['iters_per_cpu_s_median']:>10.2f}{'' if csp is None else f'{csp:.2f}':>8}"
              f"{row['gflop_per_cpu_s']:>13.1f}")
    result = {
        "benchmark": "bench_train",
        "config": {"model": config.to_dict(), "batch_size": batch, "n_critic": n_critic},
        "flops": flops,
        "matmul_peak": peak,
        "rounds": args.rounds,
        "iters_per_round": args.iters,
        "results": rows,
        "machine": {**cpu_description(), "platform": platform.platform(),
                    "tensorflow": tf.__version__, "cpu_count": n_cpus,
                    "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
                    "gpus": [d.name for d in tf.config.list_logical_devices("GPU")]},
        "note": "provisional when load_average exceeds cpu_count (shared machine)",
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

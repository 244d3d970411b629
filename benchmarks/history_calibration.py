"""Would a spike-history term at sampling time close the retina's ACG and ISI gap? An analysis.

The retina's autocorrelogram (ACG) and ISI errors are the ones no Spike-GAN variant brings near
the floor. ``acg_diagnosis.py`` shows their shape: generated spikes come in adjacent-bin doublets
too often (ISI ``P(1)`` about +0.03, ``P(2)``, ``P(3)`` about -0.02 to -0.03; ACG lag 1 +0.01 to
+0.02). A generator that outputs firing probabilities and then draws each bin independently
cannot make a spike lower (or raise) its own neuron's next-bin probability. This benchmark asks
how much of the gap that explains, without training: it takes a run's generator (rates
calibrated, as ``acg_diagnosis.py`` evaluates it), draws its probabilities ``p`` for ``--n-windows``
windows, and redraws the spikes bin after bin with ``logit p_i(t) + b_i + h_i x_i(t-1)``,
solving ``b_i`` and ``h_i`` per neuron (alternating bisections, common random numbers) so that
each neuron's rate and its ``P(x(t+1) = 1 | x(t) = 1)`` are the training windows'. Reported: ACG
and ISI MAE against the training windows, before and after, beside the held-out floor.

This is a measurement of a mechanism, not a package feature (the window generator, its exports
and the rig runtime draw all bins at once)::

    python benchmarks/history_calibration.py --run benchmarks/results/kernel_screen/k5_seed1

Prints a table and writes ``benchmarks/results/history_calibration.json``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_record, write_result  # noqa: E402
from acg_diagnosis import (  # noqa: E402
    calibrated_generator,
    next_bin_probability,
    parse_run_args,
    retina_windows,
    run_parser,
)


def draw(logits: np.ndarray, u: np.ndarray, b: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Spikes ``(n, N, T)``: bin ``t`` fires when ``u < sigmoid(logit + b + h * x(t-1))``."""
    x = np.zeros(logits.shape, np.uint8)
    prev = np.zeros(logits.shape[:2])
    for t in range(logits.shape[2]):
        p = 1.0 / (1.0 + np.exp(-(logits[:, :, t] + b + h * prev)))
        x[:, :, t] = u[:, :, t] < p
        prev = x[:, :, t]
    return x


def _bisect(f, lo: np.ndarray, hi: np.ndarray, target: np.ndarray, steps: int) -> np.ndarray:
    """Per-element bisection of an increasing ``f`` for ``f(v) = target``."""
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        above = f(mid) > target
        hi, lo = np.where(above, mid, hi), np.where(above, lo, mid)
    return 0.5 * (lo + hi)


def solve(logits: np.ndarray, u: np.ndarray, rate: np.ndarray, cond: np.ndarray,
          rounds: int = 3, steps: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """``b, h`` per neuron so that the drawn spikes have these rates and next-bin probabilities."""
    n = logits.shape[1]
    b, h = np.zeros(n), np.zeros(n)

    def bias_for(h: np.ndarray) -> np.ndarray:
        return _bisect(lambda v: draw(logits, u, v, h).mean(axis=(0, 2)), np.full(n, -3.0),
                       np.full(n, 3.0), rate, steps)

    def history_for(b: np.ndarray) -> np.ndarray:
        return _bisect(lambda v: next_bin_probability(draw(logits, u, b, v)), np.full(n, -6.0),
                       np.full(n, 6.0), cond, steps)

    for _ in range(rounds):
        b = bias_for(h)
        h = history_for(b)
    b = bias_for(h)
    return b, h


def main(argv: list[str] | None = None) -> int:
    p = run_parser(__doc__, "history_calibration.json")
    p.add_argument("--n-windows", type=int, default=20000)
    p.add_argument("--seed", type=int, default=1)
    args = parse_run_args(p, argv)

    from spikegan_tf.gan.positions import latent_logits
    from spikegan_tf.statistics import autocorrelogram, isi_distribution

    train, train_w, held_out = retina_windows(args.data)
    ref_acg, ref_isi = autocorrelogram(train_w), isi_distribution(train_w)
    lags = slice(len(ref_acg) // 2 + 1, None)

    def errors(x: np.ndarray) -> dict:
        acg, isi = autocorrelogram(x)[lags] - ref_acg[lags], isi_distribution(x) - ref_isi
        return {"acg_mae": float(np.abs(acg).mean()), "isi_mae": float(np.abs(isi).mean()),
                "acg_minus_train": acg.tolist(), "isi_minus_train": isi[1:9].tolist()}

    result = {"benchmark": "history_calibration", "machine": machine_record(),
              "n_windows": args.n_windows, "floor": errors(held_out), "runs": {}}
    print(f"{'set':24s} {'ACG MAE':>8s} {'ISI MAE':>8s}")
    print(f"{'held-out (floor)':24s} {result['floor']['acg_mae']:8.4f} "
          f"{result['floor']['isi_mae']:8.5f}")
    rate, cond = train_w.mean(axis=(0, 2)), np.nan_to_num(next_bin_probability(train_w))
    for run in args.run:
        gen, config = calibrated_generator(run, train.mean(axis=0))
        logits = latent_logits(gen, config, args.n_windows, seed=args.seed)
        u = np.random.default_rng(args.seed + 1).random(logits.shape)
        zero = np.zeros(logits.shape[1])
        before = errors(draw(logits, u, zero, zero))
        b, h = solve(logits, u, rate, cond)
        u2 = np.random.default_rng(args.seed + 2).random(logits.shape)  # fresh draws to evaluate
        after = errors(draw(logits, u2, b, h))
        result["runs"][str(run)] = {"n_windows": len(logits), "independent_bins": before,
                                    "history": after, "b": b.tolist(), "h": h.tolist()}
        for label, e in (("independent bins", before), ("+ history (solved)", after)):
            print(f"{run.name[:12] + ' ' + label:24s} {e['acg_mae']:8.4f} {e['isi_mae']:8.5f}  "
                  "ACG lags 1-5 " + " ".join(f"{v:+.3f}" for v in e["acg_minus_train"][:5])
                  + "  ISI d=1-3 " + " ".join(f"{v:+.3f}" for v in e["isi_minus_train"][:3]))
        print(f"{'':24s} h median {np.median(h):+.2f} (10-90%: {np.quantile(h, 0.1):+.2f}.."
              f"{np.quantile(h, 0.9):+.2f})")
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

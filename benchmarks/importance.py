"""Importance maps on the ``packets`` dataset: accuracy, packet recovery and speed.

For each packet dataset (one mode, two modes) this benchmark

1. simulates ``--n-train + --n-maps`` windows of 32 neurons x 32 bins
   (:func:`spikegan_tf.data.simulate.packets`), keeping the last ``--n-maps`` for
   the maps (same neurons, same packet sets, never seen in training);
2. trains Spike-GAN (:class:`spikegan_tf.gan.trainer.Trainer`, the paper's defaults)
   for ``--minutes`` minutes;
3. computes shuffle maps (the paper's method, window 8, step 2, 5 shuffles)
   and gradient maps of the held-out windows, and an untrained critic's
   shuffle maps as a control;
4. reports the ROC AUC of importance for packet spikes vs background spikes
   (``packet_mask`` of the simulation; target >= 0.85), and whether
   :func:`spikegan_tf.importance.recover_packets` recovers the packet neuron
   set(s) (a set counts as recovered when a distinct recovered set has
   precision >= 0.9 and recall >= 0.75 against it; the Jaccard index is
   reported too) and
   their firing order (Spearman correlation of the time of each neuron's
   importance in the aligned average with its true position).

Speed: the time of the shuffle maps of ``--n-maps`` (1,000) windows with the
default settings (target < 60 s on 2 CPU cores), against a reference-style
implementation (one critic call per sample scoring every perturbation, as in
the authors' code) timed on a few samples in the same run.

Prints a table and writes ``benchmarks/results/importance.json``. Timings are
wall-clock on whatever machine runs it; the load average is recorded with them.

Usage::

    python benchmarks/importance.py --minutes 10
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "importance.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0,
                   help="training budget per dataset in minutes (default 10)")
    p.add_argument("--modes", type=int, nargs="+", default=[1, 2], choices=[1, 2],
                   help="packet datasets to run (default: 1 2)")
    p.add_argument("--n-train", type=int, default=8192, help="training windows (8192)")
    p.add_argument("--n-maps", type=int, default=1000, help="held-out windows mapped (1000)")
    p.add_argument("--n-control", type=int, default=200,
                   help="windows mapped with the untrained critic (200)")
    p.add_argument("--n-reference", type=int, default=10,
                   help="windows timed with the reference-style implementation (10)")
    p.add_argument("--group-size", type=int, default=18, help="neurons per packet (18)")
    p.add_argument("--firing-rate", type=float, default=0.05, help="background rate (0.05)")
    p.add_argument("--packet-prob", type=float, default=None,
                   help="one-mode packet onset probability (simulator default 0.05)")
    p.add_argument("--percentile", type=float, default=95.0,
                   help="threshold percentile of packet recovery (95)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--save-maps", type=Path, default=None,
                   help="also save maps, spikes and ground truth of each dataset to DIR/"
                        "packets_<modes>.npz (for inspection)")
    return p.parse_args(argv)


def reference_style_seconds(critic, spikes, window=8, step=2, n_shuffles=5, seed=0) -> float:
    """Time the authors' structure: per sample, build all n_neurons x n_windows x
    n_shuffles perturbations (no-ops included) and score them in one critic call."""
    from spikegan_tf.importance import window_starts

    rng = np.random.default_rng(seed)
    n, n_neurons, n_bins = spikes.shape
    starts = window_starts(n_bins, window, step)
    t0 = time.perf_counter()
    for i in range(n):
        sample = spikes[i].astype("float32")
        batch = np.repeat(sample[None], n_neurons * starts.size * n_shuffles + 1, axis=0)
        r = 1
        for j in range(n_neurons):
            for t in starts:
                for _ in range(n_shuffles):
                    seg = batch[r, j, t:t + window]
                    batch[r, j, t:t + window] = seg[rng.permutation(window)]
                    r += 1
        scores = critic(batch, training=False).numpy()[:, 0]
        _ = np.abs(scores[1:] - scores[0])
    return time.perf_counter() - t0


def jaccard(a, b) -> float:
    a, b = set(int(v) for v in a), set(int(v) for v in b)
    return len(a & b) / max(len(a | b), 1)


def order_spearman(average: np.ndarray, truth_order: np.ndarray) -> float:
    """Spearman correlation between true firing position and importance-weighted time."""
    from scipy.stats import spearmanr

    t = np.arange(average.shape[1])
    rows = average[truth_order]
    mass = rows.sum(1)
    keep = mass > 0
    if keep.sum() < 3:
        return float("nan")
    centre = (rows[keep] * t).sum(1) / mass[keep]
    return float(spearmanr(np.arange(truth_order.size)[keep], centre).statistic)


def run_mode(mode: int, args: argparse.Namespace) -> dict:
    from spikegan_tf.data.simulate import packets
    from spikegan_tf.data.splits import prepare_data
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.train_config import TrainConfig
    from spikegan_tf.gan.trainer import Trainer
    from spikegan_tf.importance import importance_maps, recover_packets, spike_auc

    kw = {} if mode == 2 or args.packet_prob is None else {"packet_prob": args.packet_prob}
    sim = packets(args.n_train + args.n_maps, 32, 32, group_size=args.group_size,
                  firing_rate=args.firing_rate, n_modes=mode, seed=args.seed, **kw)
    x, mask = sim.spikes, sim.packet_mask
    train_x, ev, ev_mask = x[:args.n_train], x[args.n_train:], mask[args.n_train:]
    truth = sim.ground_truth["packet_neurons"]  # (n_sets, group_size), firing order
    out: dict = {"n_modes": mode, "params": sim.params,
                 "spike_rate": float(ev.mean()),
                 "packet_spike_fraction": float(ev_mask.sum() / ev.sum())}

    trainer = Trainer(ModelConfig(n_neurons=32, n_bins=32),
                      TrainConfig(max_steps=None, max_minutes=args.minutes, eval_every=0,
                                  seed=args.seed), verbose=1)
    ctrl = ev[:args.n_control]
    control = importance_maps(trainer.critic, ctrl, seed=args.seed)
    out["auc_untrained_critic"] = spike_auc(control, ctrl, ev_mask[:args.n_control])

    result = trainer.fit(prepare_data(train_x, val_fraction=0.0))
    out["train_steps"] = result.step
    out["train_seconds"] = round(result.seconds, 1)
    critic = trainer.critic

    importance_maps(critic, ev[:2], seed=args.seed)  # trace once, outside the timing
    t0 = time.perf_counter()
    maps = importance_maps(critic, ev, seed=args.seed)
    out["shuffle_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    grads = importance_maps(critic, ev, method="gradient")
    out["gradient_seconds"] = time.perf_counter() - t0
    out["auc_shuffle"] = spike_auc(maps, ev, ev_mask)
    out["auc_gradient"] = spike_auc(grads, ev, ev_mask)

    if args.save_maps is not None:
        args.save_maps.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(args.save_maps / f"packets_{mode}.npz", maps=maps, gradient=grads,
                            spikes=ev, packet_mask=ev_mask, packet_neurons=truth,
                            packet_mode=sim.ground_truth.get("packet_mode", np.zeros(0))[
                                args.n_train:])
    rec = recover_packets(maps, ev, percentile=args.percentile, n_modes=mode, seed=args.seed)
    truth_sets = [truth[0]] if mode == 1 and truth.shape[0] == 1 else list(truth)
    if mode == 1:
        # one-mode data with several disjoint sets: recover_packets sees one packet type
        # whose neurons are the union of the sets
        truth_sets = [np.concatenate(truth_sets)]
    found = [s.tolist() for s in rec.neuron_sets]
    matches = []
    for k, t in enumerate(truth_sets):
        scores = [jaccard(t, f) for f in found] or [0.0]
        best = int(np.argmax(scores))
        got = set(found[best]) if best < len(found) else set()
        hits = len(got & {int(v) for v in t})
        entry = {"true_set": sorted(int(v) for v in t), "best_match": best,
                 "jaccard": scores[best], "precision": hits / max(len(got), 1),
                 "recall": hits / len(t)}
        if best < len(found):
            entry["order_spearman"] = order_spearman(
                rec.mode_averages[best], np.asarray(truth[k] if mode == 2 else truth[0]))
        matches.append(entry)
    out["recovered_sets"] = found
    out["set_matches"] = matches
    out["recovery_criterion"] = "precision >= 0.9 and recall >= 0.75, distinct matches"
    out["all_sets_recovered"] = bool(
        all(m["precision"] >= 0.9 and m["recall"] >= 0.75 for m in matches)
        and len({m["best_match"] for m in matches}) == len(matches))
    if mode == 2 and "packet_mode" in sim.ground_truth:
        true_mode = sim.ground_truth["packet_mode"][args.n_train:]
        det = rec.labels >= 0
        agree = float((rec.labels[det] == true_mode[det]).mean()) if det.any() else 0.0
        out["mode_label_agreement"] = max(agree, 1.0 - agree)

    ref = ev[:args.n_reference]
    ref_s = reference_style_seconds(critic, ref, seed=args.seed)
    t0 = time.perf_counter()
    importance_maps(critic, ref, seed=args.seed)
    ours_small = time.perf_counter() - t0
    out["reference_style_seconds_per_window"] = ref_s / ref.shape[0]
    out["reference_style_seconds_1000_extrapolated"] = 1000 * ref_s / ref.shape[0]
    out["speedup_vs_reference_style"] = (ref_s / ref.shape[0]) / (
        out["shuffle_seconds"] / ev.shape[0])
    out["ours_on_reference_windows_seconds"] = ours_small
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import tensorflow as tf

    load_start = os.getloadavg()
    results = []
    for mode in args.modes:
        print(f"--- packets, {mode} mode(s): training {args.minutes:g} min ...", flush=True)
        results.append(run_mode(mode, args))
    load_end = os.getloadavg()

    print()
    head = (f"{'modes':>5} {'steps':>6} {'AUC shuffle':>11} {'AUC grad':>8} {'AUC untrained':>13} "
            f"{'sets recovered':>14} {'prec/recall/Jaccard':>28} {'maps s':>7} {'grad s':>7} "
            f"{'ref-style s*':>12} {'speedup':>7}")
    print(head)
    for r in results:
        jac = ",".join(f"{m['precision']:.2f}/{m['recall']:.2f}/{m['jaccard']:.2f}"
                       for m in r["set_matches"])
        print(f"{r['n_modes']:>5} {r['train_steps']:>6} {r['auc_shuffle']:>11.3f} "
              f"{r['auc_gradient']:>8.3f} {r['auc_untrained_critic']:>13.3f} "
              f"{str(r['all_sets_recovered']):>14} {jac:>28} {r['shuffle_seconds']:>7.1f} "
              f"{r['gradient_seconds']:>7.2f} "
              f"{r['reference_style_seconds_1000_extrapolated']:>12.1f} "
              f"{r['speedup_vs_reference_style']:>6.1f}x")
    print(f"maps of {args.n_maps} windows of 32 x 32 (window 8, step 2, 5 shuffles); "
          f"* reference style extrapolated from {args.n_reference} windows; "
          f"load average {load_start[0]:.1f} -> {load_end[0]:.1f} on {os.cpu_count()} CPUs")

    payload = {
        "benchmark": "importance",
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "map_settings": {"method": "shuffle", "window": 8, "step": 2, "n_shuffles": 5},
        "targets": {"auc": 0.85, "seconds_1000_windows": 60},
        "results": results,
        "environment": {
            "python": sys.version.split()[0], "tensorflow": tf.__version__,
            "platform": platform.platform(), "cpus": os.cpu_count(),
            "load_average_start": load_start, "load_average_end": load_end,
        },
        "caveat": "timings are wall-clock on a shared machine: provisional",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

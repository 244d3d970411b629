"""Closed-loop rig loop on the TF-free runtime: one generated window per tick.

Runs on a rig computer with only numpy and onnxruntime (no TensorFlow): every
``--period-ms`` it takes the next spike window of an exported generator from
the prefetching stream (a background producer keeps ``--prefetch`` windows
ready, so the loop never waits for the model), hands it to ``stimulate()``
(replace it with the call that drives your stimulator), and keeps time with a
deadline clock. At the end it prints the time to get a window, deadline
misses and stream underruns, and writes a session log holding the seed and a
checksum of every window, so that the session can be replayed and verified
window for window::

    spikegan export --run runs/retina --format onnx --out models --name retina
    python examples/rig_closed_loop.py models/retina/1/model.onnx --ticks 2000 --log session.json
    python examples/rig_closed_loop.py --replay session.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time

import numpy as np

from spikegan_tf.errors import SpikeGANError
from spikegan_tf.export.runtime import Sampler


def stimulate(window: np.ndarray) -> int:
    """Placeholder for the rig's output: here, count the spikes of the window's first bin.

    ``window`` is uint8 ``(n_neurons, n_bins)``; a real rig would turn it into
    stimulation commands (e.g. one light pulse per spike per bin).
    """
    return int(window[:, 0].sum())


def wait_until(deadline: float) -> None:
    """Sleep coarsely, then spin, so the loop wakes within a few microseconds."""
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            return
        if left > 0.002:
            time.sleep(left - 0.001)


def run(model: str, seed: int | None, ticks: int, period_ms: float, log: str | None,
        prefetch: int = 1024) -> int:
    sampler = Sampler(model, seed=seed, intra_op_threads=1)
    print(f"{sampler}; bin width {sampler.bin_width} s; replay with --seed {sampler.seed}")
    with sampler.stream(prefetch=prefetch) as windows:
        windows.fill()  # start the loop with a full buffer
        summary = _loop(windows, ticks, period_ms)
        summary["stream_underruns"] = windows.underruns
    print(f"{ticks} ticks of {period_ms} ms: time to get a window p50 "
          f"{summary['generate_p50_us']:.1f} us, p99 {summary['generate_p99_us']:.1f} us, "
          f"{summary['deadline_misses']} deadline misses, {summary['stream_underruns']} "
          "stream underruns")
    if log:
        with open(log, "w") as fh:
            json.dump({**sampler.record(), **summary}, fh, indent=2)
        print(f"session log: {log}")
    return 0


def _loop(windows, ticks: int, period_ms: float) -> dict:
    digest = hashlib.sha256()
    latencies = np.empty(ticks)
    misses = 0
    period = period_ms / 1e3
    next_tick = time.perf_counter() + period
    for i in range(ticks):
        wait_until(next_tick)
        start = time.perf_counter()
        window = next(windows)[0]  # (n_neurons, n_bins)
        stimulate(window)
        done = time.perf_counter()
        latencies[i] = done - start
        digest.update(window.tobytes())
        if done > next_tick + period:  # not ready by the next tick
            misses += 1
        next_tick += period
        if next_tick < done:  # fell behind (e.g. the OS preempted us): re-anchor, no burst
            next_tick = done
    lat_us = latencies * 1e6
    return {"ticks": ticks, "period_ms": period_ms, "deadline_misses": misses,
            "generate_p50_us": float(np.percentile(lat_us, 50)),
            "generate_p99_us": float(np.percentile(lat_us, 99)),
            "windows_sha256": digest.hexdigest()}


def replay(log: str) -> int:
    with open(log) as fh:
        record = json.load(fh)
    sampler = Sampler(record["model"], seed=record["seed"])
    if sampler.record()["sha256"] != record["sha256"]:
        print("warning: the model file changed since the session was recorded")
    windows = sampler.sample(record["windows_drawn"])
    digest = hashlib.sha256()
    for window in windows:
        digest.update(window.tobytes())
    same = digest.hexdigest() == record["windows_sha256"]
    print(f"replayed {len(windows)} windows with seed {record['seed']}: "
          f"{'identical' if same else 'DIFFERENT'}")
    return 0 if same else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Closed-loop rig loop on spikegan's ONNX runtime.")
    ap.add_argument("model", nargs="?", help="model.onnx written by `spikegan export`")
    ap.add_argument("--seed", type=int, default=None, help="session seed (default: fresh)")
    ap.add_argument("--ticks", type=int, default=1000)
    ap.add_argument("--period-ms", type=float, default=1.0)
    ap.add_argument("--prefetch", type=int, default=1024,
                    help="windows the stream keeps ready (default 1024)")
    ap.add_argument("--log", default=None, help="write the session log (JSON) here")
    ap.add_argument("--replay", default=None, metavar="LOG",
                    help="regenerate a logged session and check it is identical")
    args = ap.parse_args(argv)
    if not args.replay and not args.model:
        ap.error("give MODEL.onnx (or --replay LOG)")
    try:
        if args.replay:
            return replay(args.replay)
        return run(args.model, args.seed, args.ticks, args.period_ms, args.log, args.prefetch)
    except (SpikeGANError, OSError, ValueError, KeyError) as exc:  # one line, no traceback
        what = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        name = f": '{exc.filename}'" if isinstance(exc, OSError) and exc.filename else ""
        if isinstance(exc, KeyError):
            what = f"the session log lacks the key {exc}"
        print(f"{ap.prog}: error: {what}{name}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

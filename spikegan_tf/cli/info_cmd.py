"""``spikegan info``: what a spike file holds, as the loader sees it.

Example::

    spikegan info recording.mat --key data --bin-width 0.02

Prints the shape and the layout inferred (raster or windows), the key used,
firing probabilities per bin (and spikes per second when the bin width is
known), sparsity and the file's other arrays. Uses the same loader as every
other command, so a file ``info`` reads is a file ``train`` reads.
"""

from __future__ import annotations

import argparse
from typing import Any

from spikegan_tf.cli._args import Number


def register(subparsers: Any) -> None:
    """Add the ``info`` subcommand."""
    p = subparsers.add_parser(
        "info",
        help="describe a spike file: shape, layout, firing rates, sparsity",
        description="Load a spike file (.npy, .npz, .mat, .csv, .nwb) with the loader every "
        "command uses and describe it.",
    )
    p.add_argument("file", help="spike file")
    p.add_argument("--key", default=None,
                   help="array inside a .npz/.mat file (default: 'spikes', else the only one)")
    p.add_argument("--bin-width", type=Number("--bin-width", float, 0, open_min=True), default=None,
                   help="seconds per bin: needed for spike times (.csv/.nwb); gives rates in "
                        "spikes per second")
    p.add_argument("--neurons-first", action="store_true",
                   help="the file stores the raster as (neurons, time bins)")
    p.add_argument("--start", type=Number("--start", float), default=None,
                   help="spike times: origin of the first bin (s; default 0)")
    p.add_argument("--stop", type=Number("--stop", float), default=None,
                   help="spike times: stop (s)")
    p.add_argument("--clip", action="store_true",
                   help="keep one spike per bin where a bin holds several")
    p.set_defaults(func=handle)


def describe(rec: Any) -> list[str]:
    """Lines describing a :class:`~spikegan_tf.data.SpikeRecording`."""
    import json
    from pathlib import Path

    import numpy as np

    spikes = rec.spikes
    lines = [f"file:        {rec.source}"]
    fmt = Path(rec.source).suffix.lower() if rec.source else "(memory)"
    lines.append(f"format:      {fmt}" + (f", key '{rec.key}'" if rec.key else ""))
    if rec.is_raster:
        t, n = spikes.shape
        lines.append(f"layout:      raster (time bins, neurons) = ({t}, {n})")
        n_cells = t
        if t < n:
            lines.append(
                "note:        more neurons than time bins: if the file is stored "
                "(neurons, time bins), pass --neurons-first"
            )
        axes = (0,)
    else:
        s, n, b = spikes.shape
        lines.append(f"layout:      windows (samples, neurons, bins) = ({s}, {n}, {b})")
        n_cells = s * b
        axes = (0, 2)
    per_neuron = spikes.mean(axis=axes, dtype=np.float64)
    total = int(spikes.sum(dtype=np.int64))
    lines.append(f"neurons:     {n}")
    lines += _spike_time_lines(rec)
    ids = rec.extras.get("unit_ids")
    by_id = ids is not None and len(ids) == n  # name units by their ids, not by column

    def label(i: int) -> str:
        return f"unit {ids[i]}" if by_id else f"neuron {i}"
    lines.append(f"spikes:      {total} in all: {n} neurons x {n_cells} bins each "
                 f"({total / n:.6g} per neuron on average)")
    lines.append(
        f"firing probability per bin: mean {per_neuron.mean():.4g}, min {per_neuron.min():.4g} "
        f"({label(int(per_neuron.argmin()))}), max {per_neuron.max():.4g} "
        f"({label(int(per_neuron.argmax()))})"
    )
    if rec.bin_width:
        hz = per_neuron / rec.bin_width
        lines.append(
            f"firing rate: mean {hz.mean():.4g} spikes/s, min {hz.min():.4g}, max {hz.max():.4g} "
            f"(bin width {rec.bin_width:g} s)"
        )
    else:
        lines.append("firing rate: bin width unknown (give --bin-width for spikes/s)")
    zeros = 1.0 - total / spikes.size
    silent = int((per_neuron == 0).sum())
    lines.append(f"sparsity:    {100 * zeros:.2f}% of entries are 0; {silent} silent neurons")
    meta = rec.extras.get("metadata")
    others = {k: v for k, v in rec.extras.items() if k not in ("metadata", *_SPIKE_TIME_KEYS)}
    if others:
        shown = ", ".join(
            f"{k} {tuple(v.shape)} {v.dtype}" for k, v in sorted(others.items())
        )
        lines.append(f"other arrays: {shown}")
    if meta is not None and meta.ndim == 0:
        try:
            info = json.loads(str(meta))
            if info.get("format") == "spikegan_tf.data.simulate":
                params = ", ".join(f"{k}={v}" for k, v in info.get("params", {}).items())
                lines.append(f"simulated:   {info.get('dataset')} ({params})")
        except (ValueError, AttributeError):
            pass
    return lines


_SPIKE_TIME_KEYS = ("unit_ids", "time_span", "spike_time_range")


def _spike_time_lines(rec: Any) -> list[str]:
    """Time span, duration and unit ids of a raster binned from spike times."""
    span = rec.extras.get("time_span")
    if span is None or len(span) != 2 or not rec.bin_width:
        return []
    t0, t1 = (float(x) for x in span)
    line = (f"time span:   {t0:g} to {t1:g} s, duration {t1 - t0:g} s "
            f"({rec.spikes.shape[0]} bins of {rec.bin_width:g} s)")
    first_last = rec.extras.get("spike_time_range")
    if first_last is not None and len(first_last) == 2:
        line += f"; spikes from {float(first_last[0]):g} to {float(first_last[1]):g} s"
    lines = [line]
    ids = rec.extras.get("unit_ids")
    if ids is not None:
        shown = ", ".join(str(i) for i in ids[:30]) + (" ..." if len(ids) > 30 else "")
        lines.append(f"unit ids:    {shown} (columns 0 to {len(ids) - 1} in this order)")
    return lines


def handle(args: argparse.Namespace) -> int:
    """Run the subcommand; return the exit status."""
    from spikegan_tf.data import load_spikes

    rec = load_spikes(
        args.file,
        key=args.key,
        neurons_first=args.neurons_first,
        bin_width=args.bin_width,
        start=args.start,
        stop=args.stop,
        clip=args.clip,
    )
    print("\n".join(describe(rec)))
    return 0

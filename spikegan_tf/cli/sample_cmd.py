"""``spikegan sample``: draw binary windows from a trained run (or a baseline) to ``.npy``.

Examples::

    spikegan sample --run runs/retina --n 100000 --seed 0 --out samples.npy
    spikegan sample --run runs/retina --n 1000000 --seed 1 --out big.npy --chunk-size 16384
    spikegan sample --baseline dg.npz --n 10000 --seed 0 --out dg_samples.npy
    spikegan sample --run runs/tuned --n 1000 --condition 3 --seed 0 --out stim3.npy
    spikegan sample --run runs/tuned --conditions trials.npz --seed 0 --out trials.npy
    spikegan sample --model models/retina/1/model.onnx --n 3600000 --seed 7 \
        --out session.npy --session        # a 1 kHz rig's hour, pre-generated
    spikegan sample --run runs/retina_temporal --raster --length 3600000 --seed 0 \
        --out hour.npy                     # one continuous raster (T, neurons)

``--raster --length T`` draws one continuous raster ``(T, neurons)`` from a run
of the ``temporal`` architecture (a stationary generator: no window
boundaries, no seams), generated chunk by chunk into the memory-mapped file.

``--model`` samples an exported ONNX model with the TF-free runtime (the same
windows as ``--run`` for the same seed, wherever float round-off cannot flip a
draw). ``--session`` also writes ``<out>.json``, the session's replay record:
seed, source and its SHA-256, shape, byte layout and the offset of the first
window in the ``.npy`` (so a C++, Bonsai or LabVIEW rig can memory-map the raw
bytes), the data's SHA-256, and the command that regenerates it.

Windows ``(n, neurons, bins)`` uint8 are Bernoulli draws from the generator's
firing probabilities under the package's sampling protocol (the same seed gives
the same windows in every runtime); ``--threshold P`` gives ``p > P`` instead.
They are written chunk by chunk into a memory-mapped ``.npy``, so a million
windows of 50 x 32 need a few hundred MB of memory, not the 1.6 GB of the file.
"""

from __future__ import annotations

import argparse
from typing import Any

from spikegan_tf._atomic import atomic_path
from spikegan_tf.cli._args import Number

RASTER_CHUNK = 4096  # spikegan_tf.gan.sampling.RASTER_CHUNK (not imported: no TF at parse time)


def register(subparsers: Any) -> None:
    """Add the ``sample`` subcommand."""
    p = subparsers.add_parser(
        "sample",
        help="draw spike windows from a trained run (or a baseline model) into a .npy file",
        description=(
            "Draw N binary windows (N, neurons, bins) from the generator of a run directory "
            "(Bernoulli draws from its firing probabilities, seeded) or from a fitted baseline "
            "model, and write them to a .npy file chunk by chunk."
        ),
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", help="run directory of `spikegan train` (generator.keras)")
    src.add_argument("--baseline", help="fitted baseline model (.npz of `spikegan baseline`)")
    src.add_argument("--model", help="exported ONNX model (model.onnx of `spikegan export`); "
                                     "needs no TensorFlow")
    p.add_argument("--n", type=Number("--n", minimum=1), default=None,
                   help="number of windows (or --raster --length T)")
    p.add_argument("--raster", action="store_true",
                   help="one continuous raster (T, neurons) instead of windows; needs a run or "
                        "model of the temporal architecture and --length")
    p.add_argument("--length", type=Number("--length", minimum=1), default=None,
                   help="with --raster: time bins T of the raster")
    p.add_argument("--seed", type=Number("--seed", minimum=0), default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, help="output .npy file")
    p.add_argument("--threshold", type=Number("--threshold", float, 0, 1), default=None,
                   help="deterministic spikes p > THRESHOLD instead of Bernoulli draws")
    p.add_argument("--calibrate", action="store_true",
                   help="with --run: first shift each neuron's output bias so that it fires at "
                        "its rate in the run's training data (as SpikeGAN.calibrate_rates; runs "
                        "trained with --calibrate-rates, the default, are calibrated already)")
    p.add_argument("--chunk-size", type=Number("--chunk-size", minimum=1), default=None,
                   help="windows (with --raster: bins) generated per generator call "
                        "(default: 8192 windows, fewer for large windows so that a chunk holds "
                        "at most 2**24 bins; 4096 bins with --raster)")
    cond = p.add_mutually_exclusive_group()
    cond.add_argument("--condition", default=None, metavar="LABEL",
                      help="conditional model: the label every window is drawn for (one of "
                           "the classes it was trained on)")
    cond.add_argument("--conditions", default=None, metavar="FILE",
                      help="conditional model: each window's conditions, an .npz with "
                           "'labels' (n,) and/or 'covariates' (n, bins[, C]), or an .npy of "
                           "either; --n defaults to their number")
    p.add_argument("--session", action="store_true",
                   help="also write OUT's replay record (.json beside the .npy): seed, source, "
                        "byte layout and offset for memory-mapping from any language, checksum")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the subcommand; return the exit status."""
    import time
    from pathlib import Path

    import numpy as np

    from spikegan_tf.errors import ConfigError
    n, seed, chunk = args.n, args.seed, args.chunk_size  # checked by their Number types
    if args.raster:
        if args.length is None or n is not None:
            raise ConfigError("`--raster` takes the raster's length as `--length T` (time bins), "
                              "not `--n`.")
    elif args.length is not None:
        raise ConfigError("`--length` applies to `--raster`; windows are counted with `--n`.")
    elif n is None and args.conditions is None:
        raise ConfigError("Give the number of windows with `--n N` (or `--raster --length T`).")
    if (args.condition is not None or args.conditions is not None) and args.baseline:
        raise ConfigError("`--condition`/`--conditions` apply to a conditional run (--run) or "
                          "its export (--model), not to a baseline.")
    out = Path(args.out)
    if out.suffix != ".npy":
        raise ConfigError(f"`--out` must be a .npy file. Received '{out}'.")
    if out.parent and not out.parent.exists():
        raise ConfigError(f"The directory of `--out` does not exist: '{out.parent}'.")
    start = time.perf_counter()
    if args.run is None and args.threshold is not None:
        raise ConfigError("`--threshold` applies to a Keras generator (--run), not to "
                          "--baseline or --model.")
    if args.run is None and args.calibrate:
        raise ConfigError("`--calibrate` applies to a Keras generator (--run), not to "
                          "--baseline or --model (calibrate the run, then export it).")
    onnx_record = None  # the rig runtime's record of the ONNX model it loaded and hashed
    if args.raster:
        return _raster(args, out, start)
    conditions = None
    if args.run is not None:
        from spikegan_tf.cli._conditions import run_conditions

        n, conditions = run_conditions(args, n)
    with atomic_path(out) as tmp:
        if args.run is not None:
            what = _sample_run(args.run, n, seed, chunk, args.threshold, tmp, args.calibrate,
                               conditions)
        elif args.model is not None and (args.condition is not None
                                         or args.conditions is not None):
            from spikegan_tf.cli._conditions import sample_onnx_conditional

            what, onnx_record, n = sample_onnx_conditional(args, n, tmp, _write_npy)
        elif args.model is not None:
            what, onnx_record = _sample_onnx(args.model, n, seed, chunk, tmp)
        else:
            what = _sample_baseline(args.baseline, n, seed, tmp)
    x = np.load(out, mmap_mode="r")
    n = len(x)
    print(f"wrote {n} windows of {x.shape[1]} neurons x {x.shape[2]} bins from {what} "
          f"(seed {seed}) to {out} in {time.perf_counter() - start:.1f} s")
    if args.session:
        record = _write_session_record(args, out, x, onnx_record)
        print(f"session record: {record}")
    return 0


def _raster(args: argparse.Namespace, out: Any, start: float) -> int:
    import time

    import numpy as np

    from spikegan_tf.errors import ConfigError

    if args.baseline is not None:
        raise ConfigError("`--raster` needs a run or an exported model of the temporal "
                          "architecture; baselines draw independent windows.")
    if args.threshold is not None and args.run is None:
        raise ConfigError("`--threshold` applies to a Keras generator (--run).")
    onnx_record = None
    with atomic_path(out) as tmp:
        if args.run is not None:
            what = _raster_run(args, tmp)
        else:
            what, onnx_record = _raster_onnx(args, tmp)
    x = np.load(out, mmap_mode="r")
    print(f"wrote a continuous raster of {x.shape[0]} bins x {x.shape[1]} neurons from {what} "
          f"(seed {args.seed}) to {out} in {time.perf_counter() - start:.1f} s")
    if args.session:
        print(f"session record: {_write_session_record(args, out, x, onnx_record)}")
    return 0


def _raster_run(args: argparse.Namespace, tmp: Any) -> str:
    from spikegan_tf.errors import ConfigError
    from spikegan_tf.gan.raster import sample_raster
    from spikegan_tf.gan.rundir import RunDir

    config = RunDir(args.run).model_config()
    if config.architecture != "temporal":  # refused before TensorFlow loads
        raise ConfigError(f"Run '{args.run}' has the {config.architecture!r} architecture, "
                          "which draws independent windows; continuous rasters need a run "
                          "trained with --architecture temporal.")
    generator = _run_generator(args.run, args.calibrate)
    _write_npy(tmp, (args.length, config.n_neurons), lambda out: sample_raster(
        generator, config, args.length, args.seed, threshold=args.threshold,
        chunk=args.chunk_size or RASTER_CHUNK, out=out))
    return f"the generator of {args.run}" + (" (rates calibrated)" if args.calibrate else "")


def _raster_onnx(args: argparse.Namespace, tmp: Any) -> tuple[str, dict]:
    from spikegan_tf.export.raster_runtime import RasterSampler

    sampler = RasterSampler(args.model, seed=args.seed, chunk=args.chunk_size or RASTER_CHUNK)
    _write_npy(tmp, (args.length, sampler.n_neurons),
               lambda out: sampler.sample(args.length, out=out))
    return f"the ONNX raster model {sampler.path}", sampler.record()


def _write_npy(tmp: Any, shape: tuple[int, ...], draw: Any) -> None:
    """Create the uint8 ``.npy`` memory map ``tmp`` of ``shape``, let ``draw(out)`` fill it,
    and flush it (chunk by chunk on disk, whatever its size)."""
    import numpy as np

    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
    try:
        draw(out)
        out.flush()
    finally:
        del out


def _run_generator(run: str, calibrate: bool) -> Any:
    """The run's generator; with ``calibrate``, its output bias set to the training rates."""
    from spikegan_tf.gan.rundir import RunDir

    run_dir = RunDir(run)
    # checked before the generator loads: a refusal costs no TensorFlow
    rates = _training_rates(run) if calibrate else None
    generator = run_dir.load_generator()
    if rates is not None:
        from spikegan_tf.gan.networks import calibrate_output_bias

        calibrate_output_bias(generator, run_dir.model_config(), rates, seed=0)
    return generator


def _training_rates(run: str) -> Any:
    from spikegan_tf.errors import ConfigError
    from spikegan_tf.gan.rundir import RunDir

    rates = RunDir(run).neuron_rates()
    if rates is None:
        raise ConfigError(f"Run '{run}' has no per-neuron training rates in its config.json "
                          "(written before they were stored): calibrate in Python with "
                          "SpikeGAN.calibrate_rates(training_spikes).")
    return rates


def _sample_onnx(path: str, n: int, seed: int, chunk: int, tmp: Any) -> tuple[str, dict]:
    from spikegan_tf.export.runtime import Sampler

    sampler = Sampler(path, seed=seed, chunk_size=chunk)
    chunk = sampler.chunk_size

    def draw(out: Any) -> None:
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            out[start:start + m] = sampler.sample(m)

    _write_npy(tmp, (n, sampler.n_neurons, sampler.n_bins), draw)
    return f"the ONNX model {sampler.path}", sampler.record()


def _sha256(path: Any) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_session_record(args: argparse.Namespace, out: Any, x: Any,
                          onnx_record: dict | None = None) -> Any:
    """Write ``<out>.json``: what a rig in any language needs to use and replay the session."""
    import json
    import shlex
    from pathlib import Path

    from spikegan_tf._version import __version__

    if args.run is not None:
        from spikegan_tf.gan.rundir import RunDir

        run = RunDir(Path(args.run).resolve())
        kind, path, model_file = "run", run.path, run.generator_path
        bin_width = (run.read_config().get("data") or {}).get("bin_width")
        model_sha = _sha256(model_file)
    elif onnx_record is not None:
        kind, path = "onnx", Path(args.model).resolve()
        model_file, bin_width = Path(onnx_record["model"]).resolve(), onnx_record["bin_width"]
        model_sha = onnx_record["sha256"]
    else:
        kind, path = "baseline", Path(args.baseline).resolve()
        model_file, bin_width, model_sha = path, None, _sha256(path)
    flag = {"run": "--run", "onnx": "--model", "baseline": "--baseline"}[kind]
    if x.ndim == 2:  # one continuous raster
        size = ["--raster", "--length", str(int(x.shape[0]))]
        layout = {"raster_file": Path(out).name, "shape": [int(d) for d in x.shape],
                  "layout": "bin t, neuron j is the byte at data_offset + t * n_neurons + j; "
                            "values 0/1"}
    else:
        n, n_neurons, n_bins = (int(d) for d in x.shape)
        size = ["--n", str(n)]
        layout = {"windows_file": Path(out).name, "shape": [n, n_neurons, n_bins],
                  "layout": "window i, neuron j, bin k is the byte at data_offset + "
                            "(i * n_neurons + j) * n_bins + k; values 0/1"}
    replay = ["spikegan", "sample", flag, str(path), *size, "--seed", str(args.seed),
              "--out", str(Path(out).resolve()), "--session"]
    if args.calibrate:
        replay.append("--calibrate")
    if args.condition is not None:
        replay += ["--condition", str(args.condition)]
    if args.conditions is not None:
        replay += ["--conditions", str(Path(args.conditions).resolve())]
    if args.threshold is not None:
        replay += ["--threshold", str(args.threshold)]
    record = {
        "format": "spikegan-session", "format_version": 1,
        **layout, "dtype": "uint8", "order": "C",
        "data_offset": int(x.offset),
        "data_sha256": _sha256(out),
        "seed": int(args.seed),
        "source": {"kind": kind, "path": str(path), "file": str(model_file),
                   "sha256": model_sha},
        "calibrated": bool(args.calibrate), "threshold": args.threshold,
        "bin_width": bin_width,
        "package_version": __version__,
        "replay": shlex.join(replay),
    }
    target = Path(out).with_suffix(".json")
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")
    return target


def _sample_run(run: str, n: int, seed: int | None, chunk: int, threshold: float | None,
                tmp: Any, calibrate: bool = False, conditions: Any = None) -> str:
    from spikegan_tf.gan.sampling import sample

    generator = _run_generator(run, calibrate)
    _, n_neurons, n_bins = tuple(generator.outputs[0].shape)
    _write_npy(tmp, (n, int(n_neurons), int(n_bins)), lambda out: sample(
        generator, n, seed, chunk_size=chunk, threshold=threshold, out=out,
        conditions=conditions))
    return f"the generator of {run}" + (" (rates calibrated)" if calibrate else "")


def _sample_baseline(path: str, n: int, seed: int | None, tmp: Any) -> str:
    from spikegan_tf import baselines
    from spikegan_tf.validation import check_windows

    model = baselines.load(path)
    windows = check_windows(model.sample(n, seed=seed), "baseline samples")

    def copy(out: Any) -> None:
        out[:] = windows

    _write_npy(tmp, windows.shape, copy)
    return f"the baseline model {path}"

"""``spikegan evaluate``: how close are generated spikes to real ones, next to a noise floor?

Examples::

    # training split as reference, held-out split as noise floor, two models
    spikegan evaluate --real train.npy --bins 32 --noise-floor test.npy --train train.npy \\
        --generated spikegan.npy --generated dg.npy --labels spikegan,dg --out eval/

    # sample 20000 windows from a trained run and evaluate them
    spikegan evaluate --real train.npy --run runs/retina --n 20000 --seed 0 --out eval/

    # one continuous raster of a temporal run: stride-1 windows, lags to 64, seam test
    spikegan evaluate --real train.npy --noise-floor test.npy --run runs/temporal \
        --raster-length 56000 --bins 65 --max-lag 64 --out eval/

    # the same, plus that raster drawn on to 5x its length: the model's expected ratios,
    # apart from one raster's sampling noise (about the floor's own at the held-out length)
    spikegan evaluate --real train.npy --noise-floor test.npy --run runs/temporal \
        --raster-length 56000 --expected 5 --bins 32 --out eval/

    # a conditional run: per condition, decoders, tuning curves (its own data and split)
    spikegan evaluate --run runs/tuned --out eval/

    # 100,000 windows of 1,024 neurons x 64 bins (6.5 GB .npy, memory-mapped): pairwise
    # statistics from 10,000 evenly spaced windows of every set, the rest from all windows
    spikegan evaluate --real train.npy --noise-floor test.npy --generated model.npy \
        --pair-windows 10000 --out eval/

Rasters ``(time, neurons)`` are cut into windows of ``--bins`` bins every
``--stride`` bins (without copying); windows files must have the reference's
neurons x bins. Writes ``results.json``, ``report.md`` and the figures into ``--out``.
``.npy`` files larger than 1 GiB are memory-mapped (read-only) and summarised block by
block, so sets larger than the memory can be evaluated; ``--pair-windows K`` bounds the
cost of the pairwise statistics, which grows with the neuron pairs times the lags.
"""

from __future__ import annotations

import argparse
from typing import Any

from spikegan_tf.cli._args import Number

_DEFAULT_MAX_RUN_SAMPLES = 100_000
RASTER_EVAL_CHUNK = 256  # bins per generator call of --raster-length: a seam every 256 bins
_MIN_SEAMS = 21  # the seam classifier needs 20 boundaries


def register(subparsers: Any) -> None:
    """Add the ``evaluate`` subcommand."""
    p = subparsers.add_parser(
        "evaluate",
        help="compare generated spikes with real data and a held-out noise floor",
        description=(
            "Compare the statistics of generated windows (files, or samples of a run's "
            "generator) with real data: firing rates, covariances, lagged covariances, P(K), "
            "autocorrelogram, time course, ISIs, words, spike-count correlations. With "
            "--noise-floor (held-out real data) every error is also given as a multiple of "
            "the held-out data's error; with --train, generated windows are checked for "
            "copies of training windows. Writes results.json, report.md and figures."
        ),
    )
    p.add_argument("--real", default=None, metavar="FILE",
                   help="real spikes, the reference (raster or windows; .npy .npz .mat ...); "
                        "not for a conditional --run, which is evaluated on its own data")
    p.add_argument("--key", default=None, help="array name inside --real (.npz/.mat)")
    p.add_argument("--bins", type=Number("--bins", minimum=1), default=None, metavar="T",
                   help="window length for rasters (default: the generated windows' length)")
    p.add_argument("--stride", type=Number("--stride", minimum=1), default=1, metavar="S",
                   help="step between raster windows (default 1: every window)")
    p.add_argument("--generated", action="append", default=[], metavar="FILE",
                   help="generated windows (repeat for several models)")
    p.add_argument("--labels", default=None, metavar="A,B,...",
                   help="comma-separated labels of the --generated files (default: file names)")
    p.add_argument("--noise-floor", default=None, metavar="FILE",
                   help="held-out real spikes (e.g. the last 20%% of the recording)")
    p.add_argument("--train", default=None, metavar="FILE",
                   help="training spikes, for the memorisation check")
    p.add_argument("--run", default=None, metavar="RUN",
                   help="run directory of `spikegan train`: sample its generator")
    p.add_argument("--n", type=Number("--n", minimum=1), default=None, metavar="N",
                   help="windows to sample from --run (default: as many as the reference has, "
                        f"at most {_DEFAULT_MAX_RUN_SAMPLES})")
    p.add_argument("--raster-length", type=Number("--raster-length", minimum=1), default=None,
                   metavar="T",
                   help="with --run of the temporal architecture: evaluate one continuous "
                        f"raster of T bins (generated {RASTER_EVAL_CHUNK} bins at a time) "
                        "instead of independent windows, with the seam test across its "
                        "generation boundaries")
    p.add_argument("--expected", type=Number("--expected", minimum=2), default=None,
                   metavar="K",
                   help="with --raster-length T: also score the same seed's raster drawn on to "
                        "K*T bins (its first T bins are the raster above), labelled "
                        "'RUN (Kx long: expected)': the model's expected ratios, with 1/sqrt(K) of "
                        "one raster's sampling noise, which at the held-out split's length is "
                        "about the floor's own (no seam test or block floor for it)")
    p.add_argument("--seed", type=Number("--seed", minimum=0), default=0, metavar="K",
                   help="seed of the --run samples and the memorisation subsample (default 0)")
    p.add_argument("--max-lag", type=Number("--max-lag", minimum=1), default=None, metavar="L",
                   help="largest lag of the lagged covariances / autocorrelogram (default 10)")
    p.add_argument("--pair-windows", type=Number("--pair-windows", minimum=1), default=None,
                   metavar="K",
                   help="pairwise statistics (covariance, correlation, lagged covariances) of "
                        "every set -- reference, noise floor and generated alike -- from at "
                        "most K evenly spaced windows; every other statistic from all windows "
                        "(default: all windows). The report states 'pairwise statistics from "
                        "K of N windows'")
    p.add_argument("--n-memorization", type=Number("--n-memorization", minimum=1), default=1000, metavar="N",
                   help="windows per set checked for memorisation (default 1000)")
    p.add_argument("--seam-length", type=Number("--seam-length", minimum=4), default=None,
                   metavar="L",
                   help="the --generated rasters were made L bins at a time: add the seam test "
                        "(statistics of windows across piece boundaries against those inside, "
                        "and a classifier's AUC) to the report, in seams.json")
    p.add_argument("--seam-null", type=Number("--seam-null", minimum=0), default=16, metavar="K",
                   help="repeat the seam test at up to K pseudo-boundaries of each raster, where "
                        "no window meets a real one (pieces of at least 4x the window): the "
                        "raster's own noise, printed beside each ratio; SEAM marks a check "
                        "beyond all of them (default 16; 0: off)")
    p.add_argument("--block-floor", type=Number("--block-floor", minimum=0), default=0,
                   metavar="K",
                   help="what a perfect model's raster scores: K blocks of the --real raster, "
                        "each as long as the generated raster, left out of the reference and "
                        "scored against it with the --noise-floor raster as the floor, as the "
                        "generated raster is; printed beside its ratios, in block_floor.json "
                        "(needs --real and --noise-floor rasters and generated rasters of one "
                        "length; default 0: off)")
    p.add_argument("--note", action="append", default=[], metavar="TEXT",
                   help="a note for the report (repeatable)")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.set_defaults(func=handle)


def _load(path: str, key: str | None = None) -> Any:
    from spikegan_tf.data import load_spikes

    return load_spikes(path, key=key)


def _shape(rec: Any, bins: int | None) -> tuple[int, int | None]:
    """(neurons, bins) of the windows a loaded file gives."""
    if rec.kind == "windows":
        return tuple(rec.spikes.shape[1:])
    return (rec.spikes.shape[1], bins)


def handle(args: argparse.Namespace) -> int:
    """Run the subcommand; return the exit status."""
    import time
    from pathlib import Path

    import numpy as np

    from spikegan_tf.errors import ConfigError, SpikeDataError
    from spikegan_tf.evaluation.report import FIGURE_FILE, REPORT_FILE, RESULTS_FILE, evaluate

    start = time.perf_counter()
    if args.run is not None:
        from spikegan_tf.gan.rundir import RunDir

        if RunDir(args.run).model_config().conditional:
            from spikegan_tf.cli._conditional_eval import evaluate_conditional_run

            if args.pair_windows is not None:
                raise ConfigError("`--pair-windows` does not apply to a conditional run, which "
                                  "is evaluated on its own training and held-out windows: "
                                  "leave it out.")

            return evaluate_conditional_run(args)
    if args.real is None:
        raise ConfigError("`--real FILE` is required (the reference spikes), except for a "
                          "conditional --run.")
    if not args.generated and args.run is None:
        raise ConfigError("Nothing to evaluate: give --generated FILE (repeatable) and/or --run RUN.")
    seed, stride, bins = args.seed, args.stride, args.bins  # checked by their Number types
    if args.n is not None and args.run is None:
        raise ConfigError("`--n` sets how many windows to sample from --run; give --run too.")
    if args.raster_length is not None and (args.run is None or args.n is not None):
        raise ConfigError("`--raster-length T` draws one raster from --run (instead of --n "
                          "windows); give --run and no --n.")
    if args.raster_length is not None and args.raster_length < _MIN_SEAMS * RASTER_EVAL_CHUNK:
        raise ConfigError(f"`--raster-length` must be at least {_MIN_SEAMS * RASTER_EVAL_CHUNK} "
                          f"bins ({_MIN_SEAMS} generation boundaries for the seam test). "
                          f"Received {args.raster_length}.")
    if args.expected is not None and args.raster_length is None:
        raise ConfigError("`--expected K` draws the --raster-length raster on to K times its "
                          f"length; give --raster-length T too. Received --expected "
                          f"{args.expected} without it.")
    n_mem = args.n_memorization

    labels = [Path(f).stem for f in args.generated]
    if args.labels is not None:
        labels = [s.strip() for s in args.labels.split(",")]
        if len(labels) != len(args.generated) or not all(labels):
            raise ConfigError(
                f"`--labels` must give one non-empty label per --generated file: "
                f"{len(args.generated)} file(s), received {args.labels!r}."
            )

    real = _load(args.real, args.key)
    generated = {}
    for label, path in zip(labels, args.generated, strict=True):
        if label in generated:
            raise ConfigError(f"Two --generated files have the label '{label}': use --labels.")
        generated[label] = _load(path)

    # the window length: --bins, else the windows given (real, generated), else the run's
    windows_given = [rec for rec in generated.values() if rec.kind == "windows"]
    run_cfg = None
    if args.run is not None:
        from spikegan_tf.gan.rundir import RunDir

        run_cfg = RunDir(args.run).model_config()
        if args.raster_length is not None and run_cfg.architecture != "temporal":
            raise ConfigError(f"Run '{args.run}' has the {run_cfg.architecture!r} architecture, "
                              "which draws independent windows; `--raster-length` needs a "
                              "temporal run.")
    if bins is None:
        if real.kind == "windows":
            bins = real.spikes.shape[2]
        elif windows_given:
            bins = windows_given[0].spikes.shape[2]
        elif run_cfg is not None:
            bins = run_cfg.n_bins
        elif real.kind == "raster":
            raise ConfigError(
                f"'{args.real}' is a raster: give --bins T to cut it into windows of T bins."
            )
    if args.seam_length is not None:
        rasters = [rec for rec in generated.values() if rec.kind == "raster"]
        if len(rasters) != len(generated) or not rasters:
            raise ConfigError("`--seam-length` tests long generated rasters: every --generated "
                              "file must be a raster (time bins, neurons).")
    block_length = _block_floor_length(args, real, generated) if args.block_floor else None
    n_neurons = _shape(real, bins)[0]
    for rec in generated.values():
        got = _shape(rec, bins)
        if got != (n_neurons, bins):
            raise SpikeDataError(
                f"--generated '{rec.source}' holds windows of {got[0]} neurons x {got[1]} bins, "
                f"but the reference '{args.real}' has {n_neurons} neurons x {bins} bins."
            )

    def n_windows_of(rec: Any) -> int:
        if rec.kind == "windows":
            return rec.spikes.shape[0]
        return max(0, (rec.spikes.shape[0] - bins) // stride + 1)

    expected, notes = {}, list(args.note)  # --expected's raster: scored, no seam test or blocks
    if args.run is not None and args.raster_length is not None:
        if run_cfg.n_neurons != n_neurons:
            raise SpikeDataError(f"The run '{args.run}' generates {run_cfg.n_neurons} neurons, "
                                 f"but the reference '{args.real}' has {n_neurons}.")
        from spikegan_tf.gan.raster import sample_raster
        from spikegan_tf.gan.rundir import RunDir

        label = Path(args.run).resolve().name or "run"
        expected_label = f"{label} ({args.expected}x long: expected)" if args.expected else None
        for taken in (label, expected_label):
            if taken in generated:
                raise ConfigError(f"A --generated file has the label '{taken}', which the "
                                  f"--run raster takes: give it another with --labels.")
        t0 = time.perf_counter()
        # one draw: the --expected raster continues the scored one (the same seed's bins)
        length = args.raster_length * (args.expected or 1)
        raster = sample_raster(RunDir(args.run).load_generator(), run_cfg, length, seed,
                               chunk=RASTER_EVAL_CHUNK)
        generated[label] = raster[:args.raster_length]
        print(f"sampled a continuous raster of {args.raster_length} bins from '{args.run}' "
              + (f"(drawn on to {length} bins for --expected) " if args.expected else "")
              + f"in {time.perf_counter() - t0:.1f} s")
        if args.expected:
            expected[expected_label] = raster
            notes.append(
                f"'{expected_label}' is the raster '{label}' drawn on to {length} bins (the "
                f"same seed; its first {args.raster_length} bins are '{label}'): the model's "
                f"expected ratios with 1/sqrt({args.expected}) of one raster's sampling noise; "
                "no seam test or block floor for it"
                + (f"; its pairwise statistics, like every set's, from at most "
                   f"{args.pair_windows} windows, so they keep more of that noise"
                   if args.pair_windows else "") + ".")
    elif args.run is not None:
        if (run_cfg.n_neurons, run_cfg.n_bins) != (n_neurons, bins):
            raise SpikeDataError(
                f"The run '{args.run}' generates windows of {run_cfg.n_neurons} neurons x "
                f"{run_cfg.n_bins} bins, but the reference '{args.real}' has {n_neurons} "
                f"neurons x {bins} bins."
            )
        n = (args.n if args.n is not None
             else min(_DEFAULT_MAX_RUN_SAMPLES, max(1, n_windows_of(real))))
        from spikegan_tf.gan.rundir import RunDir
        from spikegan_tf.gan.sampling import sample

        label = Path(args.run).resolve().name or "run"
        if label in generated:
            label = f"run:{label}"
        t0 = time.perf_counter()
        generated[label] = sample(RunDir(args.run).load_generator(), n, seed)
        print(f"sampled {n} windows from '{args.run}' in {time.perf_counter() - t0:.1f} s")

    def spikes(rec: Any) -> Any:
        return rec if isinstance(rec, np.ndarray) else rec.spikes

    floor = _load(args.noise_floor) if args.noise_floor else None
    train = _load(args.train) if args.train else None
    for rec, opt in ((floor, "--noise-floor"), (train, "--train")):
        if rec is None:
            continue
        got = _shape(rec, bins)
        if got != (n_neurons, bins):
            raise SpikeDataError(
                f"{opt} '{rec.source}' holds {got[0]} neurons x {got[1]} bins, but the reference "
                f"'{args.real}' has {n_neurons} neurons x {bins} bins."
            )
    if block_length is not None and floor.kind != "raster":
        raise ConfigError(f"`--block-floor` needs a held-out raster (time bins, neurons): "
                          f"--noise-floor '{args.noise_floor}' holds windows.")
    result = evaluate(
        spikes(real),
        {label: spikes(rec) for label, rec in {**generated, **expected}.items()},
        noise_floor=spikes(floor) if floor is not None else None,
        train=spikes(train) if train is not None else None,
        out_dir=args.out,
        n_bins=bins,
        stride=stride,
        notes=notes,
        seed=seed,
        max_lag=args.max_lag,
        pair_windows=args.pair_windows,
        n_memorization=n_mem,
        figures=not args.no_figures,
        reference_label=f"real ({Path(args.real).name})",
        noise_floor_label=f"held-out ({Path(args.noise_floor).name})" if floor else "held-out",
    )
    _print_summary(result)
    out = Path(args.out)
    written = [RESULTS_FILE, REPORT_FILE] + list(result.figures)
    if args.seam_length is not None:
        written.append(_seams(args.seam_length, real, generated, out, seed, floor,
                              args.seam_null))
    elif args.raster_length is not None:
        written.append(_seams(RASTER_EVAL_CHUNK, real, {label: generated[label]}, out, seed,
                              floor, args.seam_null))
    if block_length is not None:
        written.append(_block_floor(args, real, floor, block_length, result, list(generated),
                                    out, bins, stride))
    print(f"wrote {', '.join(str(out / f) for f in written)} "
          f"in {time.perf_counter() - start:.1f} s")
    if not args.no_figures and FIGURE_FILE not in result.figures:
        print("(no figures: matplotlib is not installed; pip install 'spikegan-tf[plot]')")
    return 0


SEAM_REFERENCE = "held-out data at the same boundaries"


def _block_floor_length(args: argparse.Namespace, real: Any, generated: dict[str, Any]) -> int:
    """The block length of ``--block-floor``: the generated rasters' one length, checked early."""
    from spikegan_tf.errors import ConfigError

    lengths = {rec.spikes.shape[0] for rec in generated.values() if rec.kind == "raster"}
    if args.raster_length is not None:
        lengths.add(args.raster_length)
    if args.noise_floor is None or real.kind != "raster":
        raise ConfigError("`--block-floor` cuts blocks from the reference and scores them against "
                          "a held-out raster: give --real and --noise-floor rasters.")
    if any(rec.kind != "raster" for rec in generated.values()) or (
            args.run is not None and args.raster_length is None):
        raise ConfigError("`--block-floor` scores blocks as long as the generated raster: give "
                          "generated rasters (--raster-length, or --generated rasters), not "
                          "windows.")
    if len(lengths) != 1:
        raise ConfigError("`--block-floor` needs generated rasters of one length. Received "
                          f"lengths {sorted(lengths)}.")
    length = lengths.pop()
    if 2 * length > real.spikes.shape[0]:
        raise ConfigError(f"`--block-floor` needs the --real raster to hold two blocks of the "
                          f"generated raster's {length} bins: '{args.real}' has "
                          f"{real.spikes.shape[0]}.")
    return length


def _block_floor(args: argparse.Namespace, real: Any, floor: Any, length: int, result: Any,
                 labels: list[str], out: Any, bins: int, stride: int) -> str:
    """Score the ``--block-floor`` blocks of the reference; print and write ``block_floor.json``
    (beside the ratios of the generated sets ``labels``, all of the blocks' length)."""
    import json

    from spikegan_tf._atomic import atomic_path
    from spikegan_tf.evaluation.block_floor import block_floor
    from spikegan_tf.evaluation.compare import HEADLINE

    rep = block_floor(real.spikes, floor.spikes, length=length, n_blocks=args.block_floor,
                      n_bins=bins, stride=stride, max_lag=args.max_lag,
                      pair_windows=args.pair_windows)
    generated = {label: {name: result.ratio(label, name) for name in HEADLINE}
                 for label in labels}
    print("\n".join(rep.lines(generated)))
    print(f"all six within 1.5x in {rep.within(1.5)} of {len(rep.offsets)} blocks")
    with atomic_path(out / "block_floor.json") as tmp:
        tmp.write_text(json.dumps({**rep.to_dict(), "within_1.5x": rep.within(1.5),
                                   "generated": generated}, indent=2) + "\n")
    return "block_floor.json"


def _seams(length: int, real: Any, generated: dict[str, Any], out: Any, seed: int,
           floor: Any = None, null_phases: int = 0) -> str:
    """Seam test of every generated raster; print it and write ``seams.json``.

    With a held-out raster (``--noise-floor``) long enough for the test, the same
    test on it, cut at the same boundaries (:data:`SEAM_REFERENCE`): real data
    have no seams, so its ratios and AUC are the test's own noise. ``null_phases``
    repeats the test at pseudo-boundaries of each raster (``--seam-null``).
    """
    import json

    import numpy as np

    from spikegan_tf._atomic import atomic_path
    from spikegan_tf.evaluation.compare import as_statistics
    from spikegan_tf.evaluation.seams import seam_report

    runs = dict(generated)
    floor_spikes = getattr(floor, "spikes", floor)
    if isinstance(floor_spikes, np.ndarray) and floor_spikes.ndim == 2 and (
            floor_spikes.shape[0] >= _MIN_SEAMS * length):
        runs[SEAM_REFERENCE] = floor_spikes
    reports = {}
    n_bins = min(length // 2, 32)
    ref = as_statistics(real.spikes, n_bins=n_bins, label="reference")  # once for every raster
    for label, rec in runs.items():
        raster = getattr(rec, "spikes", rec)
        rep = seam_report(raster, ref, length, n_bins=n_bins, seed=seed, null_phases=null_phases)
        print(f"{label}: " + "\n".join(rep.lines()))
        if null_phases and not rep.null_phases:
            print(f"(no pseudo-boundaries for --seam-null: the raster is too short for the "
                  f"checks at another phase of its {length}-bin pieces)")
        reports[label] = rep.to_dict()
    with atomic_path(out / "seams.json") as tmp:
        tmp.write_text(json.dumps(reports, indent=2) + "\n")
    return "seams.json"


def _print_summary(result: Any) -> None:
    from spikegan_tf.evaluation.compare import HEADLINE

    rows = result.rows
    width = max(len(s) for s in HEADLINE) + 2
    print("mean absolute error vs " + result.reference_label
          + (" (x noise floor)" if result.noise_floor_label else ""))
    table = {}
    for label in rows:
        cells = []
        for name in HEADLINE:
            m = result.metrics[label][name]
            cell = f"{m.mae:.2e}"
            if result.noise_floor_label and label != result.noise_floor_label:
                cell += f" ({m.ratio_to_floor:.2f}x)"
            cells.append(cell)
        table[label] = cells
    # every column as wide as its whole label (never cut) and its widest cell
    widths = {label: 2 + max(len(label), *map(len, cells)) for label, cells in table.items()}
    print(" " * width + "".join(f"{label:>{widths[label]}}" for label in rows))
    for i, name in enumerate(HEADLINE):
        print(f"{name:<{width}}" + "".join(f"{table[label][i]:>{widths[label]}}"
                                           for label in rows))

"""Package the generator of a retina convergence curve as ``spikegan_tf/gan/pretrained/retina50``.

Copies ``generator.keras`` of a ``retina_curve.py`` output directory, writes the
``config.json`` that :meth:`spikegan_tf.SpikeGAN.load` reads, and a ``README.md``
with the training, the evaluation of the packaged weights (the curve's last point:
ratio of each statistic's error to the test-vs-train noise floor) and the data's
citation::

    python benchmarks/make_pretrained.py --curve benchmarks/results/retina_curve_default

``--step N --generator FILE`` packages the weights of an earlier point of the curve
(``FILE`` must hold that point's generator); ``--calibrate DATA`` shifts each neuron's
output bias so that its mean rate is the training part's
(:func:`spikegan_tf.gan.networks.calibrate_output_bias`) and evaluates the packaged weights
again, as the curve does. ``--positions`` (with ``--calibrate``) also calibrates each (neuron, bin)
(:mod:`spikegan_tf.gan.positions`), and ``--history L`` (with ``--positions``) a spike-history
filter of ``L`` lags per neuron (:mod:`spikegan_tf.gan.history`), and ``--coupling`` (with
``--history``) a lag-1 coupling between neurons, and ``--same-bin`` (with ``--coupling``) a
same-bin coupling as well. The shipped ``retina50`` was built with::

    python benchmarks/make_pretrained.py --curve benchmarks/results/retina_curve_default \
        --step 17000 --generator spikegan_tf/gan/pretrained/retina50/generator.keras \
        --calibrate ../shared/data/retina/original_data_num_neurons_50_1.mat --positions \
        --history 10 --coupling --same-bin

(the shipped file was then the step-17,000 weights with their rates calibrated; calibrating
the rates again moves them by at most the Monte-Carlo error of the latent draws).

The shipped files are written atomically; nothing of the recording itself is copied.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMES = {"firing_probability": "firing probability per neuron",
         "covariance": "single-bin covariances",
         "lag1_covariance": "lag-1 cross-covariances",
         "spike_count_distribution": "population spike count P(K)",
         "autocorrelogram": "autocorrelogram (lags 1-10)",
         "time_course": "time course within the window",
         "isi_distribution": "inter-spike intervals"}

CITATION = ("Marre O, Tkacik G, et al. (2014). Multi-electrode array recording from salamander "
            "retinal ganglion cells. IST Austria. (The 50-neuron subset distributed with the "
            "Spike-GAN reference release: Molano-Mazon M, Onken A, Piasini E, Panzeri S (2018). "
            "Synthesizing realistic neural population activity patterns using Generative "
            "Adversarial Networks. ICLR.)")


def _calibrate(path: Path, settings: dict, data: Path, positions: bool, history: int,
               coupling: bool, same_bin: bool, step: int) -> dict:
    """Calibrate the generator in ``path`` (of training ``step``) in place; its evaluation as the
    curve does it."""
    from spikegan_tf.data import load_spikes, split_raster
    from spikegan_tf.evaluation.compare import HEADLINE, as_statistics, compare
    from spikegan_tf.gan import rundir
    from spikegan_tf.gan.config import ModelConfig
    from spikegan_tf.gan.networks import calibrate_output_bias
    from spikegan_tf.gan.sampling import sample

    model = ModelConfig.from_dict(settings["model"])
    raster = load_spikes(data, key="data").spikes
    train, test = split_raster(raster, (0.8, 0.2), gap=model.n_bins)
    gen = rundir.RunDir(path.parent).load_generator()
    calibrate_output_bias(gen, model, train.mean(axis=0), seed=0)
    if positions:  # and each (neuron, bin): TrainConfig.calibrate_positions
        from spikegan_tf.gan.positions import calibrate_position_offsets, with_position_offsets
        from spikegan_tf.statistics import time_course

        gen = with_position_offsets(gen, model)
        calibrate_position_offsets(gen, model, time_course(train, n_bins=model.n_bins), seed=0)
    if history:  # and a spike-history filter: TrainConfig.calibrate_history
        from spikegan_tf.data.splits import prepare_data
        from spikegan_tf.gan.calibration import calibrated_copy

        gen = calibrated_copy(gen, model, prepare_data(train, model.n_bins, val_fraction=0.0),
                              seed=0, positions=True, history_lags=history, coupling=coupling,
                              same_bin=same_bin)
    rundir.save_model(gen, path, step)
    ref = as_statistics(train, n_bins=model.n_bins, label="train")
    floor = as_statistics(test, like=ref, n_bins=model.n_bins, label="test")
    n_gen = (len(test) - model.n_bins) // model.n_bins + 1
    fake = sample(gen, n_gen, seed=settings["train"]["seed"] + 1)
    stats = HEADLINE + ("isi_distribution",)
    res = compare(ref, {"m": fake}, floor, statistics=stats)
    return {"ratio": {s: res.ratio("m", s) for s in stats},
            "rate_ratio": float(fake.mean() / train.mean()), "calibrated": True,
            "positions": positions, "history_lags": history, "coupling": coupling,
            "same_bin": same_bin}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--curve", required=True, type=Path, help="output directory of retina_curve.py")
    p.add_argument("--name", default="retina50")
    p.add_argument("--step", type=int, default=None, help="curve point (default: the last)")
    p.add_argument("--generator", type=Path, default=None,
                   help="that point's generator.keras (default: the curve's latest)")
    p.add_argument("--calibrate", type=Path, default=None, metavar="DATA",
                   help="the recording (.mat, key 'data'): calibrate the output bias to its "
                        "training part's rates and evaluate again")
    p.add_argument("--positions", action="store_true",
                   help="with --calibrate, also calibrate each (neuron, bin) to the training "
                        "windows' time course (TrainConfig.calibrate_positions)")
    p.add_argument("--history", type=int, default=0, metavar="LAGS",
                   help="with --positions, also give it a spike-history filter of LAGS bins "
                        "per neuron (TrainConfig.calibrate_history)")
    p.add_argument("--coupling", action="store_true",
                   help="with --history, also a lag-1 coupling between neurons "
                        "(TrainConfig.calibrate_coupling)")
    p.add_argument("--same-bin", action="store_true",
                   help="with --coupling, also a same-bin coupling (TrainConfig.calibrate_same_bin)")
    args = p.parse_args()
    if args.positions and args.calibrate is None:
        p.error("--positions needs --calibrate DATA")
    if args.history and not args.positions:
        p.error("--history needs --positions")
    if args.coupling and not args.history:
        p.error("--coupling needs --history")
    if args.same_bin and not args.coupling:
        p.error("--same-bin needs --coupling")
    state = json.loads((args.curve / "curve.json").read_text())
    points = {pt["step"]: pt for pt in state["points"]}
    point = dict(points[max(points) if args.step is None else args.step])
    settings = state["settings"]
    machine = state["sessions"][-1]["machine"]
    dest = ROOT / "spikegan_tf" / "gan" / "pretrained" / args.name
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    source = args.generator or args.curve / "generator.keras"
    shutil.copyfile(source, tmp / "generator.keras")
    calibrated = ""
    if args.calibrate is not None:
        before = point
        point = {**point, **_calibrate(tmp / "generator.keras", settings, args.calibrate,
                                       args.positions, args.history, args.coupling,
                                       args.same_bin, point["step"])}
        calibrated = (
            "\n\n**Rates calibrated.** After training, each neuron's output bias was shifted so "
            "that its mean firing probability over 8,192 latent draws is the training part's "
            "(`spikegan_tf.gan.networks.calibrate_output_bias`; weights otherwise those of the curve)"
            + ("" if not args.positions else
               ", and one logit offset per (neuron, bin) was added so that each neuron's mean in "
               "each bin of the window is the training windows' over 16,384 latent draws "
               "(`spikegan_tf.gan.positions`, as `TrainConfig.calibrate_positions` publishes "
               "runs)")
            + ("" if not args.history else
               f", and a spike-history filter of {args.history} bins per neuron, solved with "
               "those offsets so that each neuron's autocorrelation at lags "
               f"1-{args.history} is the training windows' (its spikes are drawn bin after bin; "
               "`spikegan_tf.gan.history`, as `TrainConfig.calibrate_history` publishes runs)")
            + ("" if not args.coupling else
               ", and a lag-1 coupling between neurons, solved with the filter so that each "
               "pair's coincidences one bin apart are the training windows' (as "
               "`TrainConfig.calibrate_coupling` publishes runs)")
            + ("" if not args.same_bin else
               ", and a same-bin coupling (the neurons of a bin drawn in index order), solved "
               "with them so that each pair's coincidences in the same bin are the training "
               "windows' (as `TrainConfig.calibrate_same_bin` publishes runs)")
            + ". "
            "Before calibration the same evaluation gave "
            + ", ".join(f"{before['ratio'][k]:.2f}" for k in point["ratio"])
            + f" (rate ratio {before['rate_ratio']:.3f}); "
            "`benchmarks/results/retina_calibrate.json` repeats it for sample seeds 1-3.")
    data = {"kind": "raster", "n_neurons": settings["model"]["n_neurons"],
            "n_bins": settings["model"]["n_bins"],
            "source": "original_data_num_neurons_50_1.mat (first 80% of the time bins)"}
    config = {"model": settings["model"], "train": settings["train"], "data": data,
              "pretrained": {"name": args.name, "step": point["step"],
                             "cpu_seconds": point["cpu_s"], "ratio_to_floor": point["ratio"],
                             "rate_ratio": point["rate_ratio"],
                             "curve": str(args.curve.resolve().relative_to(ROOT))}}
    (tmp / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    rows = "\n".join(f"| {NAMES[k]} | {v:.2f} |" for k, v in point["ratio"].items())
    calib = machine["matmul_float32"]["gflop_per_s"]
    (tmp / "README.md").write_text(f"""# `{args.name}`: Spike-GAN of 50 salamander retinal ganglion cells

```python
from spikegan_tf import SpikeGAN
windows = SpikeGAN.pretrained("{args.name}").sample(1000, seed=0)  # (1000, 50, 32) of 0/1
```

**Data.** 50 retinal ganglion cells of the salamander retina under natural-movie stimulation,
283,041 binary time bins (mean firing probability 0.038 per bin; the bin width is not given
in the release). Trained on 32-bin windows (stride 1) of the first 80% of the recording; the
last 20% (after a 32-bin gap) is the held-out test set that defines the noise floor.

**Training.** The package's default settings (`{settings["recipe"]}` recipe: the critic sees
Bernoulli spikes with a straight-through gradient, Adam lr
{settings["train"]["learning_rate"]:g}, batch {settings["train"]["batch_size"]}, n_critic
{settings["train"]["n_critic"]}, output bias started at the data's rates) and
{settings["model"]["num_features"]} critic features; {point["step"]:,} generator iterations,
{point["cpu_s"] / 60:.0f} CPU-minutes on a 2-core "{machine["cpu_model"]}" (float32 matmul
{calib:.0f} GFLOP/s measured in the last session of the run; the run was resumed in chunks).
Curve and settings: `{config["pretrained"]["curve"]}/curve.json` (these weights are its
point at step {point["step"]:,}).{calibrated}

**Evaluation of these weights** (1,769 generated windows, seed {settings["train"]["seed"] + 1},
against the training split; each number is the model's mean absolute error divided by the
test-vs-train error, so 1.0 is as close as held-out data of the same recording):

| statistic | x noise floor |
|---|---|
{rows}

Mean generated firing probability / training data's: {point["rate_ratio"]:.3f}.
Single evaluations fluctuate from checkpoint to checkpoint (see the curve's PNG); the
ratios above are of the packaged weights only.

**Citation of the data.** {CITATION}
""")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    print(f"wrote {dest} (step {point['step']}, {point['cpu_s'] / 60:.0f} CPU-min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The flags of ``spikegan train``: its parser, and which config field each flag sets.

:mod:`spikegan_tf.cli.train_cmd` runs the command; this module only declares it.
"""

from __future__ import annotations

import argparse
from typing import Any

from spikegan_tf.cli._args import Number

# flag -> (section, field) for settings stored in config.json
_MODEL_FLAGS = {
    "architecture": "architecture",
    "upsampling": "upsampling",
    "num_features": "num_features",
    "num_layers": "num_layers",
    "latent_dim": "latent_dim",
    "kernel_size": "kernel_size",
    "num_units": "num_units",
    "latent_channels": "latent_channels",
    "temporal_layers": "temporal_layers",
    "temporal_features": "temporal_features",
    "latent_scales": "latent_scales",
    "temporal_init": "temporal_init",
    "critic_lags": "critic_lags",
    "critic_neuron_filters": "critic_neuron_filters",
    "critic_neuron_kernel": "critic_neuron_kernel",
    "critic_head_units": "critic_head_units",
    "critic_scales": "critic_scales",
    "critic_counts": "critic_counts",
    "label_dim": "label_dim",
}
_TRAIN_FLAGS = {
    "max_steps": "max_steps",
    "max_minutes": "max_minutes",
    "seed": "seed",
    "batch_size": "batch_size",
    "n_critic": "n_critic",
    "lr": "learning_rate",
    "gp_weight": "gp_weight",
    "jit_compile": "jit_compile",
    "mixed_precision": "mixed_precision",
    "init_output_bias": "init_output_bias",
    "critic_input": "critic_input",
    "ema_decay": "ema_decay",
    "ema_start": "ema_start",
    "lr_decay_steps": "lr_decay_steps",
    "gp_every": "gp_every",
    "gp_per_path": "gp_per_path",
    "count_match": "count_match",
    "count_match_max": "count_match_max",
    "variance_match": "variance_match",
    "variance_match_relative": "variance_match_relative",
    "variance_match_scales": "variance_match_scales",
    "variance_match_start": "variance_match_start",
    "acg_match": "acg_match",
    "acg_match_lags": "acg_match_lags",
    "acg_match_start": "acg_match_start",
    "acg_variance_match": "acg_variance_match",
    "acg_variance_match_lags": "acg_variance_match_lags",
    "acg_variance_match_start": "acg_variance_match_start",
    "pair_match": "pair_match",
    "pair_match_start": "pair_match_start",
    "publish": "publish",
    "critic_lr": "critic_learning_rate",
    "calibrate_rates": "calibrate_rates",
    "calibrate_positions": "calibrate_positions",
    "calibrate_history": "calibrate_history",
    "calibrate_coupling": "calibrate_coupling",
    "calibrate_same_bin": "calibrate_same_bin",
    "checkpoint_every": "checkpoint_every",
    "checkpoint_minutes": "checkpoint_minutes",
    "keep_checkpoints": "keep_checkpoints",
    "eval_every": "eval_every",
    "log_every": "log_every",
}
# parameter -> flag, for errors about a parameter (spikegan_tf.params.ParamError)
_PARAM_FLAGS = {
    **{name: "--" + flag.replace("_", "-") for flag, name in {**_MODEL_FLAGS,
                                                            **_TRAIN_FLAGS}.items()},
    "n_bins": "--bins", "val_fraction": "--val-fraction", "stride": "--stride",
    "more_steps": "--more-steps",
}
_DEFAULT_MAX_STEPS = 20000  # spikegan_tf.gan.train_config.DEFAULT_MAX_STEPS (not imported: no TF here)


def add_train_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand's parser (its flags and help) and return it."""
    p = subparsers.add_parser(
        "train",
        help="train Spike-GAN (WGAN-GP) on spike data; resumable",
        description=(
            "Train Spike-GAN on a spike file. Rasters are windowed and split in time, window "
            "files are split by sample. Writes a run directory (--out) with checkpoints, the "
            "generator and critic (.keras), metrics.jsonl and TensorBoard logs. Ctrl-C/SIGTERM "
            "saves a checkpoint and stops; --resume continues. On --resume, settings not given "
            "are taken from the run."
        ),
    )
    d = p.add_argument_group("data")
    d.add_argument("--data", default=None,
                   help="spike file (.npy/.npz/.mat/.csv/.nwb); optional with --resume")
    d.add_argument("--key", default=None, help="array name inside .npz/.mat files")
    d.add_argument("--bins", type=Number("--bins", minimum=1), default=None,
                   help="time bins per window (required for a raster file; 256 with "
                        "--recipe raster)")
    d.add_argument("--bin-width", type=Number("--bin-width", float, 0, open_min=True), default=None,
                   help="seconds per bin (needed to bin spike times from .csv/.nwb)")
    d.add_argument("--neurons-first", action="store_true",
                   help="the file stores the raster as (neurons, time_bins)")
    d.add_argument("--val-fraction",
                   type=Number("--val-fraction", float, 0, 1, open_max=True), default=None,
                   help="fraction held out for validation (default 0.1)")
    d.add_argument("--stride", type=Number("--stride", minimum=1), default=None,
                   help="bins between the starts of training windows of a raster (default 1)")
    d.add_argument("--condition-key", default=None,
                   help="conditional model: array of the same file with each window's label "
                        "(stimulus id, trial type; per time bin for a raster), or the label "
                        "column of --trials-table")
    d.add_argument("--covariate-key", default=None,
                   help="conditional model: array of the same file with each window's "
                        "covariates (n, bins[, C]); (time_bins[, C]) for a raster; or "
                        "numeric columns of --trials-table, comma-separated")
    d.add_argument("--trials-table", default=None, metavar="CSV",
                   help="conditions from a CSV table with a header row and one row per window "
                        "(per time bin for a raster), in the file's order; --condition-key "
                        "and --covariate-key name its columns")
    r = p.add_argument_group("run")
    r.add_argument("--out", required=True, help="run directory")
    r.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its latest checkpoint")
    r.add_argument("--max-steps", type=Number("--max-steps", minimum=0), default=None,
                   help=f"stop at this total number of generator steps (default "
                        f"{_DEFAULT_MAX_STEPS} without --max-minutes, or the run's on --resume)")
    r.add_argument("--max-minutes", "--minutes", dest="max_minutes",
                   type=Number("--max-minutes", float, 0, open_min=True), default=None,
                   help="stop after this many minutes of this session (alone: no step limit)")
    r.add_argument("--more-steps", type=Number("--more-steps", minimum=1), default=None,
                   metavar="N",
                   help="with --resume: train N steps beyond the latest checkpoint (e.g. to "
                        "extend a finished run)")
    r.add_argument("--seed", type=Number("--seed", minimum=0), default=None,
                   help="random seed (default 0)")
    r.add_argument("--checkpoint-every",
                   type=Number("--checkpoint-every", minimum=1), default=None,
                   help="steps between checkpoints (default 1000)")
    r.add_argument("--checkpoint-minutes",
                   type=Number("--checkpoint-minutes", float, 0, open_min=True), default=None,
                   help="also checkpoint after this many minutes, whichever comes first "
                        "(default 5)")
    r.add_argument("--keep-checkpoints",
                   type=Number("--keep-checkpoints", minimum=1), default=None,
                   help="checkpoints kept (default 3)")
    r.add_argument("--eval-every", type=Number("--eval-every", minimum=0), default=None,
                   help="steps between validation evaluations, 0 = never (default 1000)")
    r.add_argument("--log-every", type=Number("--log-every", minimum=1), default=None,
                   help="steps between metric logs (default 50)")
    r.add_argument("--quiet", action="store_true", help="no progress line")
    m = p.add_argument_group("model (defaults: the paper's)")
    m.add_argument("--architecture", choices=("conv", "fc", "temporal"), default=None,
                   help="semi-convolutional (conv, default), fully connected (fc), or temporal: "
                        "a stationary generator (dilated convolutions over a latent sequence) "
                        "that also draws continuous rasters of any length "
                        "(spikegan sample --raster)")
    m.add_argument("--upsampling", choices=("resize", "transpose"), default=None,
                   help="generator upsampling of the conv architecture (default transpose)")
    m.add_argument("--num-features", type=Number("--num-features", minimum=1), default=None,
                   help="critic features of the first layer, doubled per layer (default 128)")
    m.add_argument("--num-layers", type=Number("--num-layers", minimum=1), default=None,
                   help="convolutional layers (default 2)")
    m.add_argument("--latent-dim", type=Number("--latent-dim", minimum=1), default=None,
                   help="latent dimension (default 128)")
    m.add_argument("--kernel-size", type=Number("--kernel-size", minimum=1), default=None,
                   help="kernel width (default 5)")
    m.add_argument("--num-units", type=Number("--num-units", minimum=1), default=None,
                   help="units per layer of the fc architecture (default 512)")
    m.add_argument("--latent-channels", type=Number("--latent-channels", minimum=1),
                   default=None, help="temporal: latent features per time bin (default 8)")
    m.add_argument("--temporal-layers", type=Number("--temporal-layers", minimum=1),
                   default=None, help="temporal: dilated convolutions, dilations 1, 2, 4, ... "
                                      "(default 4: a receptive field of 61 bins at kernel 5)")
    m.add_argument("--temporal-features", type=Number("--temporal-features", minimum=1),
                   default=None, help="temporal: features per dilated convolution (default 64)")
    m.add_argument("--critic-lags", type=Number("--critic-lags", minimum=0), default=None,
                   help="give the critic each neuron's lagged self-coincidences up to this lag "
                        "(0: the paper's critic)")
    m.add_argument("--critic-neuron-filters", type=Number("--critic-neuron-filters", minimum=0),
                   default=None,
                   help="give the critic this many learnt temporal filters per neuron, each "
                        "neuron alone at full resolution (0: the paper's critic)")
    m.add_argument("--critic-neuron-kernel", type=Number("--critic-neuron-kernel", minimum=1),
                   default=None, help="width in bins of those filters (default 8)")
    m.add_argument("--critic-head-units", type=Number("--critic-head-units", minimum=0),
                   default=None,
                   help="a hidden layer of this many units beside the critic's features, into its "
                        "score, so it sees whole windows (0: the paper's critic, a sum over "
                        "13-bin patches)")
    m.add_argument("--critic-scales", type=Number("--critic-scales", minimum=1), default=None,
                   help="a multi-scale critic: its convolutions also on the window averaged over "
                        "2, 4, ..., 2**(S-1) bins, so its patches reach 13 * 2**(S-1) bins "
                        "(1: the paper's critic)")
    m.add_argument("--critic-counts", type=Number("--critic-counts", minimum=0), default=None,
                   help="give the critic each window's histogram of population spike counts per "
                        "bin, 0 .. C-1 and C or more, so it asks for P(K) directly (0: the "
                        "paper's critic)")
    m.add_argument("--label-dim", type=Number("--label-dim", minimum=1), default=None,
                   help="size of the generator's label embedding (conditional models; 16)")
    m.add_argument("--latent-scales", type=Number("--latent-scales", minimum=1), default=None,
                   help="temporal: time scales of the latent sequence, smoothed over 1, 2, ..., "
                        "2**(S-1) bins (default 1: white noise)")
    m.add_argument("--temporal-init", choices=("glorot", "he"), default=None,
                   help="temporal: initialiser of the dilated convolutions (default glorot; he "
                        "keeps the latent input's variation through deep stacks)")
    t = p.add_argument_group("optimisation")
    t.add_argument("--recipe", choices=("default", "paper", "raster"), default=None,
                   help="paper: exactly the paper's settings (Adam 1e-4, output starting at "
                        "0.5, the critic fed probabilities, resize-convolution upsampling). "
                        "raster: for long continuous rasters (a six-layer temporal generator "
                        "on 256-bin windows of a raster, batch 16, the count and variance "
                        "terms, the autocorrelogram term and weight average from step 7,000, "
                        "the burstiness-spread and pair terms from step 9,000). "
                        "Other flags override it. "
                        "default: this package's defaults")
    t.add_argument("--batch-size", type=Number("--batch-size", minimum=1), default=None,
                   help="batch size (default 64)")
    t.add_argument("--n-critic", type=Number("--n-critic", minimum=1), default=None,
                   help="critic updates per generator update (default 5)")
    t.add_argument("--lr", type=Number("--lr", float, 0, open_min=True), default=None,
                   help="Adam learning rate (default 3e-4; the paper's 1e-4)")
    t.add_argument("--critic-input", choices=("spikes", "probabilities"), default=None,
                   help="what the critic sees of generated windows: Bernoulli spikes with a "
                        "straight-through gradient (default), or the probabilities (the paper)")
    t.add_argument("--ema-decay", type=Number("--ema-decay", float, 0, 1, open_max=True),
                   default=None,
                   help="sample a moving average of the generator's weights with this decay "
                        "(0: the last iterate; default 0.999 with conditions or the temporal "
                        "architecture, else 0)")
    t.add_argument("--ema-start", type=Number("--ema-start", minimum=0), default=None,
                   metavar="STEP",
                   help="start the weight average at this step (before it the average is the "
                        "weights themselves; default 0)")
    t.add_argument("--lr-decay-steps", type=Number("--lr-decay-steps", minimum=1), default=None,
                   help="anneal the learning rates to 0 with a half cosine over this many "
                        "iterations (default: constant, as in the paper)")
    t.add_argument("--gp-every", type=Number("--gp-every", minimum=1), default=None,
                   help="the gradient penalty on every k-th critic update only, k times its "
                        "weight (lazy; default 1: every update, as in the paper)")
    t.add_argument("--gp-per-path", action=argparse.BooleanOptionalAction, default=None,
                   help="with a critic of several paths (--critic-head-units, --critic-scales), "
                        "one gradient penalty per path instead of one on their sum "
                        "(default: off)")
    t.add_argument("--count-match", type=Number("--count-match", float, 0), default=None,
                   metavar="WEIGHT",
                   help="add WEIGHT x the squared distance between the generated and the "
                        "training distributions of population counts per bin, P(K), to the "
                        "generator's loss (needs --critic-input spikes; default 0: off)")
    t.add_argument("--count-match-max", type=Number("--count-match-max", minimum=1),
                   default=None, metavar="C",
                   help="--count-match's last class is C or more spikes in a bin (default 16)")
    t.add_argument("--variance-match", type=Number("--variance-match", float, 0), default=None,
                   metavar="WEIGHT",
                   help="add WEIGHT x the squared relative error of the variance, over windows, "
                        "of a window's population spike count to the generator's loss: the slow "
                        "fluctuations long rasters show (needs --critic-input spikes; default 0: "
                        "off)")
    t.add_argument("--variance-match-relative", action=argparse.BooleanOptionalAction,
                   default=None,
                   help="--variance-match matches the variance over the squared mean count "
                        "(unchanged when every rate is scaled alike, as calibration does) "
                        "instead of the variance (default: off)")
    t.add_argument("--variance-match-scales", type=Number("--variance-match-scales", minimum=1),
                   default=None, metavar="S",
                   help="--variance-match matches the variance at S time scales: the window, "
                        "its halves, quarters, ... (n_bins divisible by 2^(S-1); default 1)")
    t.add_argument("--variance-match-start", type=Number("--variance-match-start", minimum=0),
                   default=None, metavar="STEP",
                   help="--variance-match applies from this step on (default 0)")
    t.add_argument("--acg-match", type=Number("--acg-match", float, 0), default=None,
                   metavar="WEIGHT",
                   help="add WEIGHT x the squared error, relative to its mean, of the generated "
                        "autocorrelogram (a neuron's coincidences with itself at lags "
                        "1..--acg-match-lags inside a window) to the generator's loss "
                        "(default 0: off)")
    t.add_argument("--acg-match-lags", type=Number("--acg-match-lags", minimum=1), default=None,
                   metavar="L",
                   help="--acg-match's lags, smaller than the window (default min(64, bins - 1))")
    t.add_argument("--acg-match-start", type=Number("--acg-match-start", minimum=0),
                   default=None, metavar="STEP",
                   help="--acg-match applies from this step on (default 0)")
    t.add_argument("--acg-variance-match", type=Number("--acg-variance-match", float, 0),
                   default=None, metavar="WEIGHT",
                   help="add WEIGHT x the squared relative error of how much the windows' "
                        "burstiness varies (the squared coefficient of variation of a window's "
                        "coincidences per spike at lags 1..--acg-variance-match-lags; needs "
                        "--critic-input spikes) to the generator's loss (default 0: off)")
    t.add_argument("--acg-variance-match-lags",
                   type=Number("--acg-variance-match-lags", minimum=1), default=None,
                   metavar="L", help="--acg-variance-match's lags, smaller than the window "
                                     "(default min(10, bins - 1))")
    t.add_argument("--acg-variance-match-start",
                   type=Number("--acg-variance-match-start", minimum=0), default=None,
                   metavar="STEP", help="--acg-variance-match applies from this step on "
                                        "(default 0)")
    t.add_argument("--pair-match", type=Number("--pair-match", float, 0), default=None,
                   metavar="WEIGHT",
                   help="add WEIGHT x the squared errors of the pairs' coincidences in the "
                        "same bin and one bin apart (the moments behind the covariances), each "
                        "over its Poisson variance, to the generator's loss (default 0: off)")
    t.add_argument("--pair-match-start", type=Number("--pair-match-start", minimum=0),
                   default=None, metavar="STEP",
                   help="--pair-match applies from this step on (default 0)")
    t.add_argument("--publish", choices=("last", "best"), default=None,
                   help="publish the last step's generator (default), or the one with the best "
                        "validation score so far (errors over the held-out floor; needs a "
                        "validation split; writes best.json)")
    t.add_argument("--critic-lr", type=Number("--critic-lr", float, 0, open_min=True),
                   default=None,
                   help="the critic's learning rate, if it should differ from --lr (a "
                        "two-time-scale rule, usually with --n-critic 1)")
    t.add_argument("--calibrate-rates", action=argparse.BooleanOptionalAction, default=None,
                   help="publish generator.keras with its rates calibrated to the training "
                        "windows, per neuron (per label with labels; checkpoints stay "
                        "uncalibrated; default: on, except for runs conditioned on covariates "
                        "alone)")
    t.add_argument("--calibrate-positions", action=argparse.BooleanOptionalAction, default=None,
                   help="with calibrated rates, also calibrate each neuron's rate in each bin "
                        "of the window, so the published model's time course is the training "
                        "windows' (default: on for unconditional conv and fc models)")
    t.add_argument("--calibrate-history", type=Number("--calibrate-history", minimum=0),
                   default=None, metavar="LAGS",
                   help="with calibrated positions (conv) or rates (temporal), also give the "
                        "published model a per-neuron spike-history filter of LAGS bins, "
                        "solved so that each neuron's autocorrelation is the training "
                        "windows'; a temporal model's rasters carry it across chunks (0: none; "
                        "default: 10 for unconditional conv and temporal models)")
    t.add_argument("--calibrate-coupling", action=argparse.BooleanOptionalAction, default=None,
                   help="with the spike-history filter of a conv model, also solve a lag-1 "
                        "coupling between neurons, so that each pair's coincidences one bin "
                        "apart are the training windows' (default: on for conv models with a "
                        "filter)")
    t.add_argument("--calibrate-same-bin", action=argparse.BooleanOptionalAction, default=None,
                   help="with the coupling, also solve a same-bin coupling (the neurons of a "
                        "bin drawn in index order), so that each pair's coincidences in the "
                        "same bin are the training windows' (default: on with the coupling)")
    t.add_argument("--gp-weight", type=Number("--gp-weight", float, 0), default=None,
                   help="gradient penalty weight (default 10)")
    t.add_argument("--jit-compile", action="store_true", default=None,
                   help="XLA-compile the training step")
    t.add_argument("--mixed-precision", nargs="?", const=True, default=None,
                   choices=("float16", "bfloat16"),
                   help="float16 compute with float32 weights (GPUs with tensor cores); "
                        "'--mixed-precision bfloat16': bfloat16 compute (CPUs with AVX512-BF16 "
                        "or AMX)")
    t.add_argument("--paper-init", dest="init_output_bias", action="store_false", default=None,
                   help="start the generator's output at sigmoid(0) = 0.5 as the paper did, "
                        "instead of at the training data's firing rates (the default)")
    t.add_argument("--strategy", choices=("auto", "default", "mirrored", "multiworker"),
                   default="auto",
                   help="auto: MirroredStrategy over all GPUs when there are several; "
                        "multiworker: across machines, from the TF_CONFIG environment variable "
                        "(the same command on every machine; --batch-size is global)")
    return p

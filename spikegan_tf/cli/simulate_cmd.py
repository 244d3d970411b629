"""``spikegan simulate``: write one of the paper's simulated datasets to an ``.npz``.

Examples::

    spikegan simulate uniform --neurons 16 --bins 32 --samples 8192 --seed 0 --out uniform.npz
    spikegan simulate packets --neurons 32 --bins 64 --group-size 8 --packet-prob 0.05 \\
        --seed 0 --out packets.npz
    spikegan simulate packets --modes 2 --neurons 32 --group-size 18 --out two_modes.npz
    spikegan simulate states --time-bins 200000 --neurons 20 --dwell 100 --out states.npz
    spikegan simulate tuned --neurons 40 --bins 32 --samples 16384 --stimuli 8 --seed 0 \\
        --out tuned.npz
    spikegan simulate assemblies --neurons 1000 --bins 64 --samples 8192 --assemblies 40 \\
        --assembly-size 50 --sequence-length 8 --seed 0 --out assemblies.npz

The file holds ``spikes`` ``(samples, neurons, bins)`` uint8 (``states``: a raster
``(time bins, neurons)``), the ground truth arrays (see ``spikegan_tf.data.simulate`` and
``spikegan_tf.data.states``) and a JSON ``metadata`` string. ``tuned`` adds each window's
stimulus id ``labels`` and trace ``covariates``: train a conditional model on it with
``--condition-key labels --covariate-key covariates``. ``assemblies`` is a large
population in overlapping assemblies firing sequences, with exact firing probabilities
and covariances (``spikegan_tf.data.simulate.assemblies``); ``--population-seed`` with
another ``--seed`` gives held-out windows of the same population.
"""

from __future__ import annotations

import argparse
from typing import Any

from spikegan_tf.cli._args import Number, flag_error


def _common(p: argparse.ArgumentParser, *, zero_rate: bool) -> None:
    p.add_argument("--neurons", type=Number("--neurons", minimum=1), default=16, help="number of neurons (16)")
    p.add_argument("--bins", type=Number("--bins", minimum=1), default=32, help="time bins per sample (32)")
    p.add_argument("--samples", type=Number("--samples", minimum=1), default=8192, help="number of samples (8192)")
    p.add_argument("--seed", type=Number("--seed", minimum=0), default=0, help="random seed (0)")
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument("--group-size", type=Number("--group-size", minimum=1), default=4,
                   help="neurons per correlated group / per packet (4)")
    p.add_argument("--firing-rate",
                   type=Number("--firing-rate", float, 0, 1, open_min=not zero_rate,
                               noun="a probability"), default=0.25,
                   help="mean firing probability per bin before the refractory period (0.25)")
    p.add_argument("--refractory-period", type=Number("--refractory-period", minimum=0), default=2,
                   help="bins of silence after each spike (2)")
    p.add_argument("--spread", type=Number("--spread", float, 0, 1, open_max=True), default=0.5,
                   help="relative half-width of the per-group/neuron parameter draws (0.5)")
    p.add_argument("--no-shuffle", action="store_true",
                   help="keep groups/packet neurons adjacent instead of shuffling neuron order")


def register(subparsers: Any) -> None:
    """Add the ``simulate`` subcommand."""
    p = subparsers.add_parser(
        "simulate",
        help="write a simulated dataset (the paper's uniform or packets; states; tuned; "
        "assemblies) to .npz",
        description=(
            "Simulate one of the datasets of Molano-Mazon et al. (2018) and save spikes "
            "(samples, neurons, bins) with their ground truth in an .npz file."
        ),
    )
    sub = p.add_subparsers(dest="dataset", metavar="DATASET")
    sub.required = True
    u = sub.add_parser(
        "uniform",
        help="correlated groups with a refractory period",
        description="Neurons in correlated groups, group rates and correlations drawn around "
        "the given means, refractory period, shuffled neuron order.",
    )
    _common(u, zero_rate=False)
    u.add_argument("--correlation",
                   type=Number("--correlation", float, 0, 1, noun="a probability"), default=0.9,
                   help="mean within-group correlation parameter (0.9)")
    u.set_defaults(func=handle)
    k = sub.add_parser(
        "packets",
        help="background firing plus packets of neurons firing in sequence",
        description="Background firing with a refractory period plus packets: group-size "
        "neurons firing one after the other. --modes 2: one packet per sample from one of "
        "two neuron sets.",
    )
    _common(k, zero_rate=True)
    k.add_argument("--packet-prob",
                   type=Number("--packet-prob", float, 0, 1, noun="a probability"), default=None,
                   help="probability that a free packet set starts a packet in a bin "
                        "(--modes 1 only; default 0.05)")
    k.add_argument("--modes", type=int, choices=(1, 2), default=1,
                   help="1: packets at random times; 2: one packet per sample from one of "
                        "two neuron sets (1)")
    k.set_defaults(func=handle)
    st = sub.add_parser(
        "states",
        help="a raster driven by slow hidden up/down states (correlations beyond one window)",
        description="A hidden two-state chain switching every --dwell bins on average; given "
        "the state, neurons fire independently at their down or up probability. Writes a "
        "raster (time bins, neurons) with the exact lagged covariances as ground truth: the "
        "test set for continuous spike trains.",
    )
    st.add_argument("--time-bins", type=Number("--time-bins", minimum=1), default=200_000,
                    help="raster length (200000)")
    st.add_argument("--neurons", type=Number("--neurons", minimum=1), default=20,
                    help="number of neurons (20)")
    st.add_argument("--dwell", type=Number("--dwell", float, 2, open_min=True), default=100.0,
                    help="mean bins a state lasts (100)")
    st.add_argument("--low", type=Number("--low", float, 0, 1, open_min=True, open_max=True,
                                         noun="a probability"), default=0.02,
                    help="mean firing probability per bin in the down state (0.02)")
    st.add_argument("--high", type=Number("--high", float, 0, 1, open_min=True, open_max=True,
                                          noun="a probability"), default=0.12,
                    help="mean firing probability per bin in the up state (0.12)")
    st.add_argument("--spread", type=Number("--spread", float, 0, 1, open_max=True),
                    default=0.5, help="relative half-width of the per-neuron draws (0.5)")
    st.add_argument("--seed", type=Number("--seed", minimum=0), default=0, help="random seed (0)")
    st.add_argument("--out", required=True, help="output .npz file")
    st.set_defaults(func=handle)
    _register_tuned(sub)
    _register_assemblies(sub)


def _register_tuned(sub: Any) -> None:
    t = sub.add_parser(
        "tuned",
        help="a population tuned to discrete stimuli and a continuous trace (conditional data)",
        description="Each window shows one of --stimuli stimuli (angles around the circle) "
        "and carries a continuous stimulus trace; neurons have von-Mises-like tuning "
        "curves, a gain to the trace and stimulus-dependent noise correlations. The file "
        "holds the stimulus of each window ('labels'), its trace ('covariates') and the "
        "exact tuning curves and per-stimulus noise covariances.",
    )
    t.add_argument("--neurons", type=Number("--neurons", minimum=1), default=40,
                   help="number of neurons (40)")
    t.add_argument("--bins", type=Number("--bins", minimum=1), default=32,
                   help="time bins per sample (32)")
    t.add_argument("--samples", type=Number("--samples", minimum=1), default=16384,
                   help="number of samples (16384)")
    t.add_argument("--stimuli", type=Number("--stimuli", minimum=1), default=8,
                   help="number of discrete stimuli (8)")
    t.add_argument("--seed", type=Number("--seed", minimum=0), default=0, help="random seed (0)")
    t.add_argument("--population-seed", type=Number("--population-seed", minimum=0),
                   default=None, help="seed of the population only (default --seed): another "
                   "--seed with the same --population-seed gives held-out windows of the same "
                   "population")
    t.add_argument("--out", required=True, help="output .npz file")
    t.add_argument("--firing-rate",
                   type=Number("--firing-rate", float, 0, 1, open_min=True, open_max=True,
                               noun="a probability"), default=0.04,
                   help="mean baseline firing probability per bin (0.04)")
    t.add_argument("--tuning-strength", type=Number("--tuning-strength", float, 0), default=0.8,
                   help="mean tuning amplitude, logit units (0.8)")
    t.add_argument("--covariate-gain", type=Number("--covariate-gain", float, 0), default=0.5,
                   help="mean absolute gain to the trace, logit units (0.5)")
    t.add_argument("--time-constant", type=Number("--time-constant", float, 0), default=4.0,
                   help="correlation time of the trace in bins; 0: white (4)")
    t.add_argument("--factors", type=Number("--factors", minimum=0), default=4,
                   help="number of shared noise factors (4)")
    t.add_argument("--noise-std", type=Number("--noise-std", float, 0), default=1.0,
                   help="scale of the noise factor loadings, logit units (1)")
    t.add_argument("--noise-modulation", type=Number("--noise-modulation", float, 0),
                   default=1.0, help="stimulus dependence of the noise loadings; 0: none (1)")
    t.add_argument("--noise-time-constant", type=Number("--noise-time-constant", float, 0),
                   default=4.0, help="correlation time of the noise factors in bins (4)")
    t.add_argument("--spread", type=Number("--spread", float, 0, 1, open_max=True),
                   default=0.5, help="relative half-width of the per-neuron draws (0.5)")
    t.add_argument("--unbalanced", action="store_true",
                   help="draw each window's stimulus uniformly instead of equal counts")
    t.add_argument("--max-lag", type=Number("--max-lag", minimum=0), default=1,
                   help="lags of the ground-truth lagged covariances (1)")
    t.set_defaults(func=handle)


def _register_assemblies(sub: Any) -> None:
    a = sub.add_parser(
        "assemblies",
        help="a large population in overlapping assemblies firing sequences (exact ground "
        "truth)",
        description="Neurons with log-normal background rates, in --assemblies overlapping "
        "assemblies of --assembly-size random members. An assembly starts its sequence in a "
        "bin with probability about --activation-rate; each member then fires at its own lag "
        "(0 .. --sequence-length - 1 bins after the onset) with probability --participation. "
        "The file holds the memberships, lags, onsets and the exact firing probabilities "
        "and (without a refractory period) same-bin covariances.",
    )
    a.add_argument("--neurons", type=Number("--neurons", minimum=1), default=1000,
                   help="number of neurons (1000)")
    a.add_argument("--bins", type=Number("--bins", minimum=1), default=64,
                   help="time bins per sample (64)")
    a.add_argument("--samples", type=Number("--samples", minimum=1), default=8192,
                   help="number of samples (8192)")
    a.add_argument("--seed", type=Number("--seed", minimum=0), default=0, help="random seed (0)")
    a.add_argument("--population-seed", type=Number("--population-seed", minimum=0),
                   default=None, help="seed of the population only (default --seed): another "
                   "--seed with the same --population-seed gives held-out windows of the same "
                   "population")
    a.add_argument("--out", required=True, help="output .npz file")
    a.add_argument("--assemblies", type=Number("--assemblies", minimum=0), default=40,
                   help="number of assemblies (40)")
    a.add_argument("--assembly-size", type=Number("--assembly-size", minimum=1), default=50,
                   help="members per assembly, drawn at random: assemblies overlap (50)")
    a.add_argument("--sequence-length", type=Number("--sequence-length", minimum=1),
                   default=8, help="bins a sequence spans; 1: synchronous assemblies (8)")
    a.add_argument("--activation-rate",
                   type=Number("--activation-rate", float, 0, 1, open_max=True,
                               noun="a probability"), default=0.01,
                   help="mean probability per bin that an assembly starts its sequence (0.01)")
    a.add_argument("--participation",
                   type=Number("--participation", float, 0, 1, noun="a probability"),
                   default=0.5, help="probability that a member fires in a sequence (0.5)")
    a.add_argument("--background-rate",
                   type=Number("--background-rate", float, 0, 0.5, noun="a probability"),
                   default=0.01, help="median background firing probability per bin (0.01)")
    a.add_argument("--rate-log-sd", type=Number("--rate-log-sd", float, 0, 5), default=1.0,
                   help="standard deviation of the log background rates (1)")
    a.add_argument("--spread", type=Number("--spread", float, 0, 1, open_max=True),
                   default=0.5, help="relative half-width of the activation-rate draws (0.5)")
    a.add_argument("--refractory-period", type=Number("--refractory-period", minimum=0),
                   default=0, help="bins of silence after each spike; covariances are exact "
                   "only with 0 (0)")
    a.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the subcommand; return the exit status."""
    import time
    from pathlib import Path

    from spikegan_tf.data import simulate
    from spikegan_tf.errors import ConfigError

    out = Path(args.out)
    if out.suffix != ".npz":
        raise ConfigError(f"`--out` must be a .npz file. Received '{out}'.")
    if args.dataset == "states":
        return _states(args, out)
    if args.dataset == "tuned":
        return _tuned(args, out)
    if args.dataset == "assemblies":
        return _assemblies(args, out)
    common = dict(
        group_size=args.group_size,
        firing_rate=args.firing_rate,
        refractory_period=args.refractory_period,
        spread=args.spread,
        shuffle_neurons=not args.no_shuffle,
        seed=args.seed,
    )
    start = time.perf_counter()
    try:
        if args.dataset == "uniform":
            sim = simulate.uniform(args.samples, args.neurons, args.bins,
                                   correlation=args.correlation, **common)
        else:
            sim = simulate.packets(args.samples, args.neurons, args.bins,
                                   packet_prob=args.packet_prob, n_modes=args.modes, **common)
    except ConfigError as exc:  # name the flags, not the Python arguments
        raise flag_error(exc, _FLAGS) from None
    elapsed = time.perf_counter() - start
    path = sim.save(out)
    n, n_neurons, n_bins = sim.spikes.shape
    rate = float(sim.spikes.mean())
    print(
        f"wrote {n} samples of {args.dataset} ({n_neurons} neurons x {n_bins} bins, seed "
        f"{args.seed}) to {path} in {elapsed:.1f} s; mean firing probability {rate:.4f} "
        f"per bin; ground truth: {', '.join(sorted(sim.ground_truth))}"
    )
    sizes = sim.ground_truth.get("group_sizes")
    if sizes is not None and len(sizes) > 1 and sizes[-1] != sizes[0]:
        last = "an independent neuron" if sizes[-1] == 1 else f"a group of {sizes[-1]}"
        print(f"note: {n_neurons} neurons are not a multiple of --group-size {sizes[0]}: "
              f"{len(sizes) - 1} groups of {sizes[0]} and {last} (ground truth "
              "'group_sizes')")
    return 0


def _states(args: argparse.Namespace, out: Any) -> int:
    from spikegan_tf.data.states import states
    from spikegan_tf.errors import ConfigError

    try:
        sim = states(args.time_bins, args.neurons, dwell=args.dwell, low=args.low,
                     high=args.high, spread=args.spread, seed=args.seed)
    except ConfigError as exc:
        raise flag_error(exc, _FLAGS) from None
    path = sim.save(out)
    t, n = sim.spikes.shape
    print(f"wrote a states raster of {t} time bins x {n} neurons (dwell {args.dwell:g} bins, "
          f"seed {args.seed}) to {path}; mean firing probability {sim.spikes.mean():.4f} per "
          f"bin; ground truth: {', '.join(sorted(sim.ground_truth))}")
    return 0


def _tuned(args: argparse.Namespace, out: Any) -> int:
    import time

    import numpy as np

    from spikegan_tf.data.simulate import tuned
    from spikegan_tf.errors import ConfigError

    start = time.perf_counter()
    try:
        sim = tuned(args.samples, args.neurons, args.bins, n_stimuli=args.stimuli,
                    firing_rate=args.firing_rate, tuning_strength=args.tuning_strength,
                    covariate_gain=args.covariate_gain, time_constant=args.time_constant,
                    n_factors=args.factors, noise_std=args.noise_std,
                    noise_modulation=args.noise_modulation,
                    noise_time_constant=args.noise_time_constant, spread=args.spread,
                    balanced=not args.unbalanced, max_lag=args.max_lag,
                    population_seed=args.population_seed, seed=args.seed)
    except ConfigError as exc:
        raise flag_error(exc, _FLAGS) from None
    elapsed = time.perf_counter() - start
    path = sim.save(out)
    n, n_neurons, n_bins = sim.spikes.shape
    gt = sim.ground_truth
    tuning = gt["tuning"]
    iu = np.triu_indices(n_neurons, 1)
    corr = gt["noise_correlations"][:, iu[0], iu[1]]
    corr_text = (f"; same-bin noise correlations {np.median(corr):.3f} median, "
                 f"{np.abs(corr).max():.3f} largest" if corr.size else "")
    print(
        f"wrote {n} samples of tuned ({n_neurons} neurons x {n_bins} bins, {args.stimuli} "
        f"stimuli, seed {args.seed}) to {path} in {elapsed:.1f} s; firing probability per "
        f"bin {tuning.min():.3f}..{tuning.max():.3f} across stimuli and neurons (mean "
        f"{sim.spikes.mean():.4f}){corr_text}; condition 'labels', covariate 'covariates'; "
        f"ground truth: {', '.join(sorted(gt))}"
    )
    return 0


def _assemblies(args: argparse.Namespace, out: Any) -> int:
    import time

    import numpy as np

    from spikegan_tf.data.simulate import assemblies
    from spikegan_tf.errors import ConfigError

    start = time.perf_counter()
    try:
        sim = assemblies(args.samples, args.neurons, args.bins, n_assemblies=args.assemblies,
                         assembly_size=args.assembly_size,
                         sequence_length=args.sequence_length,
                         activation_rate=args.activation_rate,
                         participation=args.participation,
                         background_rate=args.background_rate, rate_log_sd=args.rate_log_sd,
                         spread=args.spread, refractory_period=args.refractory_period,
                         population_seed=args.population_seed, seed=args.seed)
    except ConfigError as exc:
        raise flag_error(exc, _FLAGS) from None
    elapsed = time.perf_counter() - start
    path = sim.save(out)
    n, n_neurons, n_bins = sim.spikes.shape
    gt = sim.ground_truth
    p = gt["expected_rates"]
    per_neuron = gt["membership"].sum(axis=0)
    cov = gt.get("expected_covariance")
    corr_text = ""
    if cov is not None and n_neurons > 1:
        sd = np.sqrt(np.diag(cov).astype(np.float64))
        iu = np.triu_indices(n_neurons, 1)
        corr = cov[iu] / (sd[iu[0]] * sd[iu[1]])
        corr_text = (f"; same-bin correlations {np.count_nonzero(corr)} pairs nonzero, "
                     f"{corr.max(initial=0.0):.3f} largest")
    print(
        f"wrote {n} samples of assemblies ({n_neurons} neurons x {n_bins} bins, "
        f"{args.assemblies} assemblies of {args.assembly_size}, seed {args.seed}) to {path} "
        f"in {elapsed:.1f} s; firing probability per bin {p.min():.4f}..{p.max():.3f} "
        f"(median {np.median(p):.4f}, mean of the spikes {sim.spikes.mean():.4f}); "
        f"{per_neuron.mean():.2f} assemblies per neuron ({np.count_nonzero(per_neuron == 0)} "
        f"neurons in none){corr_text}; ground truth: {', '.join(sorted(gt))}"
    )
    return 0


# parameter -> flag, for errors about parameters (spikegan_tf.params)
_FLAGS = {
    "n_time_bins": "--time-bins", "low": "--low", "high": "--high", "dwell": "--dwell",
    "n_samples": "--samples", "n_neurons": "--neurons", "n_bins": "--bins",
    "group_size": "--group-size", "firing_rate": "--firing-rate",
    "correlation": "--correlation", "refractory_period": "--refractory-period",
    "spread": "--spread", "packet_prob": "--packet-prob", "n_modes": "--modes",
    "seed": "--seed",
    "n_stimuli": "--stimuli", "tuning_strength": "--tuning-strength",
    "covariate_gain": "--covariate-gain", "time_constant": "--time-constant",
    "n_factors": "--factors", "noise_std": "--noise-std", "noise_modulation": "--noise-modulation",
    "noise_time_constant": "--noise-time-constant", "max_lag": "--max-lag",
    "population_seed": "--population-seed",
    "n_assemblies": "--assemblies", "assembly_size": "--assembly-size",
    "sequence_length": "--sequence-length", "activation_rate": "--activation-rate",
    "participation": "--participation", "background_rate": "--background-rate",
    "rate_log_sd": "--rate-log-sd",
}

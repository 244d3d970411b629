"""``TrainConfig``: the hyper-parameters of WGAN-GP training, its recipes and resume rules.

``TrainConfig.from_recipe("paper")`` is the paper's training exactly; the
defaults are what the committed benchmarks measured best. The fields that
change the mathematics (``_RESUME_FIXED``) must match to resume a run
(:func:`check_resumable`); the others (stopping, logging, speed) may change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from spikegan_tf.errors import ConfigError
from spikegan_tf.gan.config import ModelConfig, dataclass_from_dict
from spikegan_tf.gan.positions import positional
from spikegan_tf.params import Boolean, Integer, Options, Real, validate_params

__all__ = ["DEFAULT_MAX_STEPS", "RECIPES", "TrainConfig", "check_resumable", "complete_message",
           "continuation_settings", "coupling_capable", "history_capable", "recipe_settings",
           "resume_diff"]


# TrainConfig fields that change the mathematics of training: resuming a run
# with other values is an error. The others (stopping, logging, speed) may change.
#: Steps of a run given neither ``max_steps`` nor ``max_minutes``.
DEFAULT_MAX_STEPS = 20000


class _Unset:
    """Default of ``TrainConfig.max_steps``: resolved in ``__post_init__``."""

    def __repr__(self) -> str:
        return f"{DEFAULT_MAX_STEPS} unless max_minutes is given"


_UNSET: Any = _Unset()

_RESUME_FIXED = ("batch_size", "n_critic", "gp_weight", "learning_rate", "beta_1", "beta_2",
                 "seed", "mixed_precision", "critic_input", "ema_decay", "lr_decay_steps",
                 "gp_every", "critic_learning_rate", "gp_per_path", "count_match",
                 "count_match_max", "variance_match", "variance_match_relative",
                 "variance_match_scales", "acg_match", "acg_match_lags", "ema_start",
                 "variance_match_start", "acg_match_start", "acg_variance_match",
                 "acg_variance_match_lags", "acg_variance_match_start", "pair_match",
                 "pair_match_start")
# what a run written before a setting existed did (its config.json lacks the key)
_RESUME_LEGACY = {"critic_input": "probabilities", "ema_decay": 0.0, "lr_decay_steps": None,
                  "gp_every": 1, "critic_learning_rate": None, "gp_per_path": False,
                  "count_match": 0.0, "count_match_max": 16, "variance_match": 0.0,
                  "variance_match_relative": False, "variance_match_scales": 1,
                  "acg_match": 0.0, "acg_match_lags": None, "ema_start": 0,
                  "variance_match_start": 0, "acg_match_start": 0, "acg_variance_match": 0.0,
                  "acg_variance_match_lags": None, "acg_variance_match_start": 0,
                  "pair_match": 0.0, "pair_match_start": 0}
#: The generator's extra loss terms, in the order their values are reported.
GENERATOR_TERMS = ("count_match", "variance_match", "acg_match", "acg_variance_match",
                   "pair_match")
#: The settings that count steps from a run's first step, and the setting each one starts.
TERM_STARTS = {"variance_match_start": "variance_match", "acg_match_start": "acg_match",
               "acg_variance_match_start": "acg_variance_match", "pair_match_start": "pair_match",
               "ema_start": "ema_decay"}
# settings that change nothing unless another one is on: (setting, the one that switches it on)
_RESUME_INERT = {"count_match_max": "count_match", "variance_match_relative": "variance_match",
                 "variance_match_scales": "variance_match", "acg_match_lags": "acg_match",
                 "acg_variance_match_lags": "acg_variance_match", **TERM_STARTS}
_CRITIC_INPUTS = ("spikes", "probabilities")
_POSITIVE = Real(min=0, min_open=True)
#: What each field accepts (checked by :func:`spikegan_tf.params.validate_params`).
_CONSTRAINTS = {
    "batch_size": Integer(min=1),
    "n_critic": Integer(min=1),
    "gp_weight": Real(min=0),
    "learning_rate": _POSITIVE,
    "beta_1": Real(min=0, max=1, max_open=True),
    "beta_2": Real(min=0, max=1, max_open=True),
    "max_steps": [Integer(min=0), None],
    "max_minutes": [_POSITIVE, None],
    "seed": Integer(min=0),
    "jit_compile": Boolean(),
    "mixed_precision": [Boolean(), Options("float16", "bfloat16")],
    "checkpoint_every": Integer(min=1),
    "checkpoint_minutes": [_POSITIVE, None],
    "keep_checkpoints": Integer(min=1),
    "eval_every": Integer(min=0),
    "eval_samples": Integer(min=1),
    "log_every": Integer(min=1),
    "steps_per_call": Integer(min=1),
    "init_output_bias": Boolean(),
    "critic_input": Options(*_CRITIC_INPUTS),
    "ema_decay": [Real(min=0, max=1, max_open=True), None],
    "ema_start": Integer(min=0),
    "lr_decay_steps": [Integer(min=1), None],
    "gp_every": Integer(min=1),
    "gp_per_path": Boolean(),
    "count_match": Real(min=0),
    "count_match_max": Integer(min=1),
    "variance_match": Real(min=0),
    "variance_match_relative": Boolean(),
    "variance_match_scales": Integer(min=1),
    "variance_match_start": Integer(min=0),
    "acg_match": Real(min=0),
    "acg_match_lags": [Integer(min=1), None],
    "acg_match_start": Integer(min=0),
    "acg_variance_match": Real(min=0),
    "acg_variance_match_lags": [Integer(min=1), None],
    "acg_variance_match_start": Integer(min=0),
    "pair_match": Real(min=0),
    "pair_match_start": Integer(min=0),
    "publish": Options("last", "best"),
    "critic_learning_rate": [_POSITIVE, None],
    "calibrate_rates": [Boolean(), None],
    "calibrate_positions": [Boolean(), None],
    "calibrate_history": [Integer(min=0), None],
    "calibrate_coupling": [Boolean(), None],
    "calibrate_same_bin": [Boolean(), None],
}
#: What ``None`` ("auto") resolves to, off / on (``TrainConfig.resolve``): averaging is on for
#: conditional and temporal models, calibrating for every model.
#: Averaging: measured better for conditional models (``benchmarks/results/conditional_tuned/``)
#: and for the temporal generator's rasters on the retina (9 of 18 rasters meet the six headline
#: statistics against 3 of 18 for the same runs' last iterates at two checkpoints,
#: ``results/critic_head_long/head64cm100vrs4ema{8k,9k,9klast}_seed*``), mixed for the
#: convolutional window model in the demo's setting (``results/bench_demo_ema_{a,b}.json``).
#: Calibrating: better on the retina in 12 of 12 rate, covariance, lag-1 and time-course pairs
#: (``results/retina20_calibrate.json``, ``results/retina_calibrate.json``) and on the demo's
#: rates (``results/bench_demo_calibrated.json``).
_AUTO = {"ema_decay": (0.0, 0.999), "calibrate_rates": (True, True)}


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of WGAN-GP training.

    The defaults are the paper's except where a committed benchmark measured
    better: ``learning_rate`` 3e-4 (not 1e-4), ``init_output_bias`` and
    ``critic_input="spikes"``. ``TrainConfig.from_recipe("paper")`` gives the
    paper's settings exactly.

    Parameters
    ----------
    batch_size : int
        Global batch size (split over the replicas of a distribution strategy).
    n_critic : int
        Critic updates per generator update.
    gp_weight : float
        Weight of the gradient penalty (``lambda``).
    learning_rate, beta_1, beta_2 : float
        Adam's parameters, the same for both networks.
    max_steps : int, optional
        Stop after this many steps (generator iterations) in total, counting
        the steps of the run being resumed. Default: ``DEFAULT_MAX_STEPS``
        (20000) when ``max_minutes`` is not given, else no step limit, so that
        a time budget alone is never cut short by a step cap.
    max_minutes : float, optional
        Stop after this many minutes of this session (checkpointing first).
    seed : int
        Seed of the initial weights and of every random draw of training.
    jit_compile : bool
        XLA-compile the training loop.
    mixed_precision : bool or {"float16", "bfloat16"}
        ``True`` or ``"float16"``: build the models with the ``mixed_float16``
        policy (float16 compute, float32 weights, losses and penalty) and scale
        the losses (GPUs with tensor cores). ``"bfloat16"``: the
        ``mixed_bfloat16`` policy, no loss scaling needed (bfloat16 has float32's
        range); faster on CPUs with AVX512-BF16 or AMX (on the retina model
        128 against 174 CPU-ms per iteration on one AVX512-BF16 core, where
        float16 took 1,088: ``benchmarks/results/bench_precision.json``).
    checkpoint_every : int
        Steps between checkpoints (and between ``.keras`` model saves).
    checkpoint_minutes : float, optional
        Also checkpoint when this many minutes have passed since the last
        checkpoint (whichever of the two comes first), so that ``kill -9``
        loses at most this much work on a slow machine; ``None`` disables it.
    keep_checkpoints : int
        Checkpoints kept in ``checkpoints/`` (the latest ones).
    eval_every : int
        Steps between validation evaluations (0 disables them).
    eval_samples : int
        At most this many generated windows per evaluation (and no more than
        the validation windows).
    log_every : int
        Steps between lines of ``metrics.jsonl`` / TensorBoard points.
    steps_per_call : int
        Steps per ``tf.function`` call (fewer Python round trips; checkpoints,
        evaluations and logs still happen at their exact steps).
    init_output_bias : bool
        When a new run starts (step 0), set the generator's output bias to the
        logit of each neuron's firing probability in the training data
        (:func:`spikegan_tf.gan.networks.set_output_bias`), so that it starts at the
        data's rates. Not in the paper; ``False`` reproduces its initialisation.
    critic_input : {"spikes", "probabilities"}
        What the critic sees of a generated window. ``"spikes"``: Bernoulli
        draws ``u < p`` of the generator's probabilities, with a
        straight-through gradient (:func:`spikegan_tf.gan.losses.critic_view`),
        so that real and fake windows are both binary. ``"probabilities"``:
        the probabilities themselves, as in the paper, which biases the
        generated rates low.
    ema_decay : float, optional
        ``d > 0`` keeps an exponential moving average of the generator's
        weights (``w_ema <- d w_ema + (1 - d) w`` after every generator update,
        with ``d`` warmed up as ``min(d, (1 + t) / (10 + t))``), and that
        average is the generator that is validated, saved and sampled
        (Yazici et al. 2019: averaging damps the oscillation of GAN training).
        0 samples the last iterate, as the paper does. ``None`` (the default)
        is 0.999 for a conditional or temporal model and 0 otherwise (:meth:`resolve`).
    ema_start : int
        ``S``: the average follows the weights themselves (``d = 0``) up to
        step ``S`` and averages from there (``t`` still the step), as if it
        were switched on in a continuation of the run at step ``S``. 0 (the
        default): from the first step.
    lr_decay_steps : int, optional
        ``S``: anneal both learning rates from ``learning_rate`` to 0 with a
        half cosine over ``S`` generator iterations (the critic's over its
        ``n_critic * S`` updates; Loshchilov & Hutter 2017), then hold them at 0.
        The schedule follows the optimizers' step counters, which checkpoints
        keep, so a resumed run continues it. ``None`` (the default) keeps the
        rates constant, as the paper does.
    gp_every : int
        ``k``: the gradient penalty on every ``k``-th critic update only, with
        ``k`` times its weight (lazy regularisation, Karras et al. 2020), counted
        over all critic updates of the run. The penalty's double backward pass
        is about half of a critic update's arithmetic, so ``k > 1`` makes the
        step cheaper; 1 (the default) is the paper's penalty on every update.
    gp_per_path : bool
        With a critic whose score sums several paths (``critic_head_units``,
        ``critic_scales``, ``critic_counts``;
        :func:`spikegan_tf.gan.networks.critic_paths`), one
        gradient penalty per path, each path's input gradient held near norm 1
        on its own, as the separate discriminators of multi-scale GANs are
        (MelGAN, Kumar et al. 2019). With one penalty on their sum (``False``,
        the default) the paths can cancel each other's gradients: the trained
        head of ``benchmarks/results/critic_head_long/`` opposes its patch sum
        (``critic_gradient_share.json``). Costs one more input gradient per
        extra path.
    count_match : float
        ``lambda >= 0``: add ``lambda * sum_k (f_k - t_k)^2`` to the generator's
        loss, where ``t`` is the training data's distribution of population
        counts per bin (the fraction of bins in which exactly ``k`` neurons
        spike, ``k < count_match_max``, and ``count_match_max`` or more) and
        ``f`` the same over the generator's batch of spikes (feature matching,
        Salimans et al. 2016, on one statistic, P(K)). Its gradient at each
        spike is what flipping that spike does to ``f``
        (:class:`spikegan_tf.gan.networks.CountHistogram`), passed to the
        probabilities straight-through, as the critic's is. A Wasserstein critic
        spends little of its Lipschitz budget on P(K), because moving a few
        spikes between bins is a short distance however large against the noise
        floor (``benchmarks/results/critic_head_long/critic_gradient_share_counts.json``).
        Needs ``critic_input="spikes"``. 0 (the default): the paper's loss.
    count_match_max : int
        ``C`` of ``count_match``: the distribution's last class is ``C`` or more spikes.
    variance_match : float
        ``lambda >= 0``: add ``lambda * ((Var - v) / v)^2`` to the generator's
        loss, where ``v`` is the variance, over the training windows, of a
        window's population spike count (all neurons, all its bins) and ``Var``
        the same of the generator's spikes, estimated without bias from the two
        halves of each batch (:func:`spikegan_tf.gan.losses.variance_match_terms`).
        The slow fluctuations of a population's activity set it; a generator
        whose windows vary too much from one to the next makes long rasters
        whose rate, and with it P(K), wanders
        (``benchmarks/results/critic_head_long/``). Needs
        ``critic_input="spikes"`` and ``batch_size >= 4``. 0 (the default): off.
    variance_match_relative : bool
        Match the variance over the squared mean count, ``Var / M^2`` (the
        squared coefficient of variation), instead of the variance: a
        generator whose rates fall short, and are calibrated at publication,
        reaches its variance target before calibration and overshoots it
        after (``benchmarks/results/critic_head_long/window_count_variance_sources.json``);
        scaling every rate alike leaves ``Var / M^2`` nearly unchanged.
        False (the default): the variance.
    variance_match_scales : int
        ``s``: match the variance at ``s`` time scales, the whole window and its
        halves, quarters, ... down to parts of ``n_bins / 2^(s-1)`` bins (each
        part's population count, pooled over the parts of a batch half), the
        loss the mean of the scales' terms. The count variance of ``L``-bin
        windows sums the population autocorrelogram to lag ``L``, so several
        scales hold its shape as well as its area: with one scale, the
        generators matched the 256-bin variance by turning the retina's
        correlation at lags 20-40 negative
        (``benchmarks/results/critic_head_long/``). Each target is the
        expected value of the batch estimate on the training windows (parts of
        one window are correlated, which lowers a pooled variance). ``n_bins``
        must be divisible by ``2^(s-1)``. 1 (the default): the whole window.
    variance_match_start : int
        ``S``: ``variance_match`` applies from the step ``S`` on (the
        generator iterations ``S, S + 1, ...``, the first of them the one after
        a checkpoint at step ``S``; before them its weight is 0), as if a run
        without it were continued with it from its checkpoint at step ``S``.
        With the autocorrelogram term, it held a four-layer generator at the
        independent state on ``packets`` from the first step, which it left
        without them (``benchmarks/RESULTS.md``, "The raster recipe from
        scratch"). 0 (the default): from the first step.
    acg_match : float
        ``lambda >= 0``: add ``lambda * sum_l ((C_l - c_l) / m)^2 / L`` to the
        generator's loss, where ``c_l`` is the training windows' mean
        coincidence of a neuron with itself ``l`` bins later (``x_i(t) x_i(t +
        l)`` over neurons and the pairs of bins inside a window; the
        unnormalised autocorrelogram), ``l = 1..L``, ``m`` its mean over the
        lags, and ``C_l`` the same of the generator's probabilities, estimated
        without bias from the two halves of each batch
        (:func:`spikegan_tf.gan.losses.acg_match_terms`). The retina's
        autocorrelogram has a trough at lags 20-25 and a second rise at 30-35;
        the long-raster generators' stayed above it from lag 15 to 35, most of
        their error to lag 64 (``benchmarks/results/critic_head_long/``,
        ``slow_variance_head64cm100vrs4*ema8k_seed*.json``). 0 (the default): off.
    acg_match_lags : int, optional
        ``L`` of ``acg_match``, smaller than ``n_bins``. ``None`` (the
        default): ``min(64, n_bins - 1)``.
    acg_match_start : int
        ``S``: ``acg_match`` applies from the step ``S`` on, as
        ``variance_match_start``. 0 (the default): from the first step.
    acg_variance_match : float
        ``lambda >= 0``: add ``lambda * ((R - r) / r)^2`` to the generator's
        loss, where ``r`` is the squared coefficient of variation, over the
        training windows, of a window's short-lag coincidences per spike
        (``x_i(t) x_i(t + l)`` summed over its neurons, its in-window pairs and
        ``l = 1..L``, divided by its spike count: how bursty the window is,
        whatever its rate; :func:`spikegan_tf.statistics.window_coincidence_variance`
        with ``per_spike=True``) and ``R`` the same of the generator's spikes,
        estimated without bias from the two halves of each batch as
        ``variance_match`` does (:func:`spikegan_tf.gan.losses.window_coincidences`).
        ``acg_match`` holds the autocorrelogram's mean, this its spread from
        window to window: the raster recipe's generator matched the retina's
        autocorrelogram on average while its 256-bin windows' coincidences per
        spike varied ten times as much as the recording's (0.065 against 0.0061),
        so that held-out-length stretches of its rasters scored the
        autocorrelogram 0.4-4.2x the floor where real stretches score 0.7-1.5x
        (``benchmarks/results/critic_head_long/``). Needs
        ``critic_input="spikes"`` and ``batch_size >= 4``. 0 (the default): off.
    acg_variance_match_lags : int, optional
        ``L`` of ``acg_variance_match``, smaller than ``n_bins``. ``None`` (the
        default): ``min(10, n_bins - 1)``, the autocorrelogram's lags in the
        paper's statistics.
    acg_variance_match_start : int
        ``S``: ``acg_variance_match`` applies from the step ``S`` on, as
        ``variance_match_start``. 0 (the default): from the first step.
    pair_match : float
        ``lambda >= 0``: add ``lambda * sum ((M - m)^2 / m) / sum m`` to the
        generator's loss, where ``m`` are the training windows' mean
        coincidences of two different neurons in the same bin and one bin apart
        (``x_i(t) x_j(t + l)``, ``l = 0, 1``, ``i != j``: the raw moments behind
        the single-bin and lag-1 covariances; :func:`spikegan_tf.statistics.
        pair_coincidences`) and ``M`` the same of the generator's probabilities,
        estimated without bias from the two halves of each batch
        (:func:`spikegan_tf.gan.losses.pair_match_terms`): each pair's error
        over its coincidences' Poisson variance, so that pairs that rarely fire
        together count as much as the covariances' error does. The raster
        recipe's rasters kept the retina's covariances at 1.4-1.8x the floor in
        every held-out-length stretch, rising with training: pairs the recording
        leaves uncorrelated or anticorrelated came out positively correlated and
        its strongest pairs too weak (``benchmarks/RESULTS.md``, "Pairs"). 0
        (the default): off.
    pair_match_start : int
        ``S``: ``pair_match`` applies from the step ``S`` on, as
        ``variance_match_start``. 0 (the default): from the first step.
    publish : {"last", "best"}
        Which generator the run publishes (``generator.keras``,
        ``SpikeGAN.generator_``). ``"last"`` (the default): the last step's.
        ``"best"``: the one with the best validation score so far, the mean over
        the validation errors (firing rates, covariances, P(K)) of each error
        divided by the same error of as many training windows against the
        validation windows (the held-out floor: 1 is as close as the data
        themselves); the published model, calibrated as it is published, is
        the one validated. Each improvement is published at once, with
        ``best.json`` (its step, score and errors) in the run directory, and a
        resumed run keeps it until it beats it. A GAN's errors wander between
        checkpoints (``benchmarks/results/critic_head_long/*/curve.jsonl``).
        Needs validation windows and ``eval_every``; one calibration per
        evaluation.
    critic_learning_rate : float, optional
        The critic's Adam learning rate when it should differ from the
        generator's ``learning_rate`` (a two-time-scale update rule, Heusel et
        al. 2017, usually with ``n_critic=1``). ``None`` (the default): both
        networks use ``learning_rate``.
    calibrate_rates : bool, optional
        Write the run's ``generator.keras`` (and give ``SpikeGAN.generator_``)
        with its firing rates calibrated to the training windows: each label's
        logit offsets (:func:`spikegan_tf.gan.conditioning.calibrate_label_offsets`)
        or, without labels, the output bias
        (:func:`spikegan_tf.gan.networks.calibrate_output_bias`). Training and
        its checkpoints are untouched, so a resumed run continues exactly.
        ``None`` (the default) calibrates every model except one conditioned
        on covariates alone (:meth:`resolve`).
    calibrate_positions : bool, optional
        With ``calibrate_rates``, also give the published generator one logit
        offset per (neuron, bin), so that its time course is the training
        windows' (:mod:`spikegan_tf.gan.positions`): a window generator's
        expected rate otherwise varies with the position in the window.
        Unconditional ``"conv"`` and ``"fc"`` generators only (the
        ``"temporal"`` one is stationary by construction). ``None`` (the
        default) turns it on for those whenever rates are calibrated.
    calibrate_history : int, optional
        With ``calibrate_positions`` on a ``"conv"`` generator, or with
        ``calibrate_rates`` on an unconditional ``"temporal"`` one, also give
        the published generator a spike-history filter of this many lags per
        neuron, solved with the offsets so that each neuron's autocorrelation at
        lags ``1..calibrate_history`` is the training windows'; its spikes are
        then drawn bin after bin, in a continuous raster with the drive of all
        its earlier spikes (:mod:`spikegan_tf.gan.history`). A generator draws
        its bins independently given the latent draw and cannot make a
        refractory or a bursting neuron. A temporal generator trained on a raster
        may have a filter longer than its windows and 10 lags: beyond lag 10 it is
        a few smooth bumps per neuron fitted on the raster's long windows
        (:func:`spikegan_tf.gan.history_fit.history_basis`); its rates are then
        right in rasters only (windows fire too often; the fit warns). ``0``: none. ``None`` (the default):
        ``spikegan_tf.gan.history.DEFAULT_HISTORY_LAGS`` (10) where it can
        have one (:func:`history_capable`), else 0.
    calibrate_coupling : bool, optional
        With ``calibrate_history`` on a ``"conv"`` generator, also a lag-1
        coupling between neurons, solved with the filter so that each pair's
        coincidences one bin apart are the training windows' (a generalised
        linear model's coupling term; :mod:`spikegan_tf.gan.history`); on a
        ``"temporal"`` generator, carried along its continuous rasters. ``None``
        (the default): on for ``"conv"`` generators with a filter, up to
        ``spikegan_tf.gan.history.MAX_COUPLED_NEURONS`` (2,048) neurons (its sums exact in
        float32; more is refused).
    calibrate_same_bin : bool, optional
        With ``calibrate_coupling``, also a same-bin coupling (the neurons of a
        bin drawn in index order, each pushed by those drawn before it), solved
        with the rest so that each pair's log odds ratio of firing in the same bin
        is the training windows'. ``None`` (the default): with the coupling, up to
        ``spikegan_tf.gan.history.SAME_BIN_DEFAULT_NEURONS`` (256) neurons (its
        draw takes a few rounds of an ``N x N`` product per bin; more than
        ``MAX_SAME_BIN_NEURONS``, 1,024, is refused). Measured:
        ``benchmarks/results/same_bin/``.

    Examples
    --------
    >>> TrainConfig().n_critic, TrainConfig().gp_weight, TrainConfig().batch_size
    (5, 10.0, 64)
    >>> TrainConfig().max_steps, TrainConfig(max_minutes=20).max_steps
    (20000, None)
    >>> TrainConfig(batch_size=0)
    Traceback (most recent call last):
    ...
    spikegan_tf.params.ParamError: `batch_size` must be an integer >= 1. Received 0.
    """

    batch_size: int = 64
    n_critic: int = 5
    gp_weight: float = 10.0
    learning_rate: float = 3e-4
    beta_1: float = 0.0
    beta_2: float = 0.9
    max_steps: int | None = _UNSET  # type: ignore[assignment]  # see __post_init__
    max_minutes: float | None = None
    seed: int = 0
    jit_compile: bool = False
    mixed_precision: bool | str = False
    checkpoint_every: int = 1000
    checkpoint_minutes: float | None = 5.0
    keep_checkpoints: int = 3
    eval_every: int = 1000
    eval_samples: int = 8192
    log_every: int = 50
    steps_per_call: int = 10
    init_output_bias: bool = True
    critic_input: str = "spikes"
    ema_decay: float | None = None
    ema_start: int = 0
    lr_decay_steps: int | None = None
    gp_every: int = 1
    gp_per_path: bool = False
    count_match: float = 0.0
    count_match_max: int = 16
    variance_match: float = 0.0
    variance_match_relative: bool = False
    variance_match_scales: int = 1
    variance_match_start: int = 0
    acg_match: float = 0.0
    acg_match_lags: int | None = None
    acg_match_start: int = 0
    acg_variance_match: float = 0.0
    acg_variance_match_lags: int | None = None
    acg_variance_match_start: int = 0
    pair_match: float = 0.0
    pair_match_start: int = 0
    publish: str = "last"
    critic_learning_rate: float | None = None
    calibrate_rates: bool | None = None
    calibrate_positions: bool | None = None
    calibrate_history: int | None = None
    calibrate_coupling: bool | None = None
    calibrate_same_bin: bool | None = None

    def __post_init__(self) -> None:
        if self.max_steps is _UNSET:  # not given: a step cap only without a time budget
            object.__setattr__(self, "max_steps",
                               DEFAULT_MAX_STEPS if self.max_minutes is None else None)
        validate_params(_CONSTRAINTS, dataclasses.asdict(self))
        if self.max_steps is None and self.max_minutes is None:
            raise ConfigError("Set `max_steps` or `max_minutes` (or both): training needs a "
                              "stopping rule.")

    def resolve(self, model_config: ModelConfig) -> TrainConfig:
        """This configuration with every "auto" (``None``) setting made concrete for a model.

        Examples
        --------
        >>> TrainConfig().resolve(ModelConfig(n_neurons=4, n_bins=8)).ema_decay
        0.0
        >>> cfg = TrainConfig().resolve(ModelConfig(n_neurons=4, n_bins=8, n_classes=3))
        >>> cfg.ema_decay, cfg.calibrate_rates, cfg.calibrate_positions
        (0.999, True, False)
        >>> TrainConfig().resolve(ModelConfig(n_neurons=4, n_bins=8, architecture="temporal")
        ...                       ).ema_decay
        0.999
        """
        on = {"ema_decay": model_config.conditional or model_config.architecture == "temporal",
              "calibrate_rates": model_config.conditional}
        auto = {name: values[int(bool(on[name]))]
                for name, values in _AUTO.items() if getattr(self, name) is None}
        if auto.get("calibrate_rates") and model_config.conditional and not model_config.n_classes:
            auto["calibrate_rates"] = False  # covariates alone: no per-label offsets to move
        if self.calibrate_positions is None:
            rates = auto.get("calibrate_rates", self.calibrate_rates)
            auto["calibrate_positions"] = bool(rates and positional(model_config))
        if self.calibrate_history is None:
            from spikegan_tf.gan.history import DEFAULT_HISTORY_LAGS

            positions = auto.get("calibrate_positions", self.calibrate_positions)
            rates = auto.get("calibrate_rates", self.calibrate_rates)
            auto["calibrate_history"] = DEFAULT_HISTORY_LAGS if history_capable(
                model_config, rates, positions) else 0
        if self.calibrate_coupling is None:
            history = auto.get("calibrate_history", self.calibrate_history)
            # a temporal generator's raster can carry one, but on the retina it traded the
            # autocorrelogram for the covariances (results/temporal_history/
            # train_seed*/raster_eval_coupling.json): on request only
            from spikegan_tf.gan.history import MAX_COUPLED_NEURONS

            auto["calibrate_coupling"] = coupling_capable(model_config, history) and (
                model_config.architecture == "conv") and (
                model_config.n_neurons <= MAX_COUPLED_NEURONS)
        if self.calibrate_same_bin is None:
            from spikegan_tf.gan.history import SAME_BIN_DEFAULT_NEURONS

            auto["calibrate_same_bin"] = bool(auto.get(
                "calibrate_coupling", self.calibrate_coupling)) and (
                model_config.n_neurons <= SAME_BIN_DEFAULT_NEURONS)
        if self.acg_match_lags is None:
            auto["acg_match_lags"] = max(1, min(64, model_config.n_bins - 1))
        if self.acg_variance_match_lags is None:
            auto["acg_variance_match_lags"] = max(1, min(10, model_config.n_bins - 1))
        return dataclasses.replace(self, **auto) if auto else self

    @property
    def compute_policy(self) -> str | None:
        """The networks' Keras dtype policy (``None``: float32), from ``mixed_precision``.

        Examples
        --------
        >>> [TrainConfig(mixed_precision=m).compute_policy for m in (False, True, "bfloat16")]
        [None, 'mixed_float16', 'mixed_bfloat16']
        """
        if not self.mixed_precision:
            return None
        return "mixed_bfloat16" if self.mixed_precision == "bfloat16" else "mixed_float16"

    @property
    def scales_losses(self) -> bool:
        """Whether the losses are scaled (float16 compute: its range is narrow)."""
        return self.compute_policy == "mixed_float16"

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_recipe(cls, recipe: str, **overrides: Any) -> TrainConfig:
        """A configuration from a named recipe (:data:`RECIPES`), with ``overrides`` on top.

        ``"paper"`` is exactly the paper's training (Adam 1e-4, betas 0 and
        0.9, batch 64, 5 critic updates, penalty 10, output at 0.5, the critic
        fed probabilities), whatever this package's defaults become;
        ``"default"`` is this package's defaults.

        Examples
        --------
        >>> cfg = TrainConfig.from_recipe("paper", max_steps=10)
        >>> cfg.learning_rate, cfg.critic_input, cfg.init_output_bias, cfg.max_steps
        (0.0001, 'probabilities', False, 10)
        """
        return cls(**{**recipe_settings(recipe)["train"], **overrides})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build a configuration from :meth:`to_dict` output, rejecting unknown keys.

        Examples
        --------
        >>> TrainConfig.from_dict({"batch_size": 16}).batch_size
        16
        """
        return dataclass_from_dict(cls, data, "training configuration")


#: Named recipes: the training settings (``"train"``, see ``TrainConfig.from_recipe``) and
#: model settings (``"model"``, :class:`~spikegan_tf.gan.config.ModelConfig` fields) each one fixes.
#: ``"paper"`` is the paper's reference implementation (resize-convolution upsampling).
#: ``"raster"`` is for long continuous rasters: a six-layer temporal generator trained on
#: 256-bin windows, a critic with a 64-unit head, the spike-count, four-scale variance and
#: autocorrelogram terms and the weight average, the last two from step 7,000, and the
#: burstiness-spread and pair terms from step 9,000: the settings the retina's best rasters
#: were reached with, there as a chain of continuations (``benchmarks/RESULTS.md``, "The
#: autocorrelogram told to the generator", "Pairs"), which the late starts make one run. Its
#: dilated layers keep Keras' Glorot initialisation: on the retina the He-initialised stack
#: met every single-raster target in 2 of 6 rasters against 5 of 6 for the same seeds ("The
#: late starts, with and without He-initialised layers"), though without He this stack did not
#: start on ``uniform`` ("Stuck, not slow"; training warns when a generator is in that state,
#: and ``temporal_init="he"`` is one flag).
RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "default": {"train": {}, "model": {}},
    "paper": {"train": {"batch_size": 64, "n_critic": 5, "gp_weight": 10.0,
                        "learning_rate": 1e-4, "beta_1": 0.0, "beta_2": 0.9,
                        "init_output_bias": False, "critic_input": "probabilities"},
              "model": {"upsampling": "resize"}},
    "raster": {"train": {"batch_size": 16, "count_match": 100.0, "variance_match": 1.0,
                         "variance_match_relative": True, "variance_match_scales": 4,
                         "acg_match": 10.0, "acg_match_start": 7000, "ema_decay": 0.999,
                         "ema_start": 7000, "acg_variance_match": 0.1,
                         "acg_variance_match_start": 9000, "pair_match": 10.0,
                         "pair_match_start": 9000},
               "model": {"architecture": "temporal", "n_bins": 256, "latent_scales": 5,
                         "temporal_layers": 6, "critic_head_units": 64}},
}


def recipe_settings(recipe: str) -> dict[str, dict[str, Any]]:
    """The ``"train"`` and ``"model"`` settings of a named recipe (copies).

    Examples
    --------
    >>> recipe_settings("raster")["model"]["architecture"]
    'temporal'
    >>> recipe_settings("fast")
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.ConfigError: `recipe` must be one of ('default', 'paper', 'raster'). \
Received 'fast'.
    """
    if recipe not in RECIPES:
        raise ConfigError(f"`recipe` must be one of {tuple(RECIPES)}. Received {recipe!r}.")
    return {part: dict(settings) for part, settings in RECIPES[recipe].items()}


#: Settings a loaded model's further training does not take from its saved run: stopping,
#: logging, checkpointing and the machine's speed options.
_NOT_CONTINUED = ("max_steps", "max_minutes", "jit_compile", "mixed_precision",
                  "checkpoint_every", "checkpoint_minutes", "keep_checkpoints", "eval_every",
                  "eval_samples", "log_every", "steps_per_call")
#: The "auto" settings in the order :meth:`TrainConfig.resolve` derives them.
_AUTO_ORDER = ("ema_decay", "calibrate_rates", "calibrate_positions", "calibrate_history",
               "calibrate_coupling", "calibrate_same_bin", "acg_match_lags",
               "acg_variance_match_lags")


def continuation_settings(saved: dict[str, Any], model_config: ModelConfig) -> dict[str, Any]:
    """The training settings a saved run's model is trained further with.

    ``saved`` is a run's ``config.json`` ``"train"`` section (resolved, as
    written); keys it lacks (a run from before they existed) take what such a
    run did. Stopping, logging, checkpointing and speed options are left to
    the new call, and an "auto" setting is kept only where it differs from
    what :meth:`TrainConfig.resolve` derives from the settings before it, so a
    later ``calibrate_rates=False`` takes the calibrations that depend on it along.
    The starts (``*_start``) stay counted from the saved run's first step
    (:func:`starts_after` moves them for a continuation that counts from 0).

    Examples
    --------
    >>> model = ModelConfig(n_neurons=4, n_bins=8)
    >>> saved = TrainConfig(batch_size=16, calibrate_history=0).resolve(model).to_dict()
    >>> kept = continuation_settings(saved, model)
    >>> kept["batch_size"], kept["calibrate_history"]
    (16, 0)
    >>> "calibrate_rates" in kept, "eval_every" in kept
    (False, False)
    """
    fields = {**_RESUME_LEGACY, **saved}
    kept = {k: v for k, v in fields.items() if k not in _NOT_CONTINUED and k not in _AUTO_ORDER}
    decided: dict[str, Any] = {}
    for name in _AUTO_ORDER:
        probe = TrainConfig.from_dict({**kept, **decided, **{n: None for n in _AUTO_ORDER
                                                              if n not in decided}})
        derived = getattr(probe.resolve(model_config), name)
        decided[name] = None if fields.get(name) == derived else fields.get(name)
    return {**kept, **{k: v for k, v in decided.items() if v is not None}}


def starts_after(settings: dict[str, Any], step: int | None) -> dict[str, int]:
    """The starts (``*_start``) of ``settings`` for a run that goes on from ``step`` steps.

    A continuation of trained weights counts its steps from 0: each start is
    moved back by ``step``, so what was on after ``step`` steps is on from its
    first step. ``None`` (the steps not known): every start is taken as passed.

    Examples
    --------
    >>> [starts_after({"acg_match_start": 700}, s)["acg_match_start"] for s in (500, 900, None)]
    [200, 0, 0]
    """
    return {name: 0 if step is None else max(0, int(settings.get(name, 0)) - int(step))
            for name in TERM_STARTS}


def history_capable(model_config: ModelConfig, calibrate_rates: Any,
                    calibrate_positions: Any) -> bool:
    """Whether a run's published generator can carry a spike-history filter.

    A ``"conv"`` generator with its positions calibrated, or an unconditional
    ``"temporal"`` one with its rates calibrated.

    Examples
    --------
    >>> history_capable(ModelConfig(n_neurons=2, n_bins=8), True, True)
    True
    >>> history_capable(ModelConfig(n_neurons=2, n_bins=8, architecture="temporal"), True, False)
    True
    >>> history_capable(ModelConfig(n_neurons=2, n_bins=8, architecture="fc"), True, True)
    False
    """
    if model_config.architecture == "conv":
        return bool(calibrate_positions)
    return (model_config.architecture == "temporal" and not model_config.conditional
            and bool(calibrate_rates))


def coupling_capable(model_config: ModelConfig, calibrate_history: Any) -> bool:
    """Whether a run's published generator can carry a coupling: a ``"conv"`` or a
    ``"temporal"`` generator with a spike-history filter.

    Examples
    --------
    >>> coupling_capable(ModelConfig(n_neurons=2, n_bins=8), 10), coupling_capable(
    ...     ModelConfig(n_neurons=2, n_bins=8, architecture="temporal"), 0)
    (True, False)
    """
    return bool(calibrate_history) and model_config.architecture in ("conv", "temporal")


def resume_diff(saved: dict[str, Any], now: dict[str, Any]) -> str:
    """What a resume would change of the settings it must keep (``""``: nothing).

    ``saved`` and ``now`` are ``TrainConfig.to_dict()``-like: the settings of
    ``_RESUME_FIXED``, except one that changes nothing while the setting that
    switches it on is off in both (``count_match_max`` without ``count_match``).

    Examples
    --------
    >>> resume_diff(TrainConfig(count_match_max=4).to_dict(), TrainConfig().to_dict())
    ''
    >>> resume_diff(TrainConfig(count_match=1.0, count_match_max=4).to_dict(),
    ...             TrainConfig(count_match=1.0).to_dict())
    'count_match_max: saved 4, now 16'
    """
    keys = [k for k in _RESUME_FIXED
            if k not in _RESUME_INERT or saved.get(_RESUME_INERT[k]) or now.get(_RESUME_INERT[k])]
    return _diff({k: saved.get(k) for k in keys}, {k: now.get(k) for k in keys})


def check_resumable(run: Any, saved: dict[str, Any], model_config: ModelConfig | None = None,
                    train_config: TrainConfig | None = None,
                    data_info: dict[str, Any] | None = None) -> None:
    """Raise :class:`ConfigError` when a run cannot resume with these settings.

    ``saved`` is the run's ``config.json``; each of ``model_config``,
    ``train_config`` (the fields that change the mathematics) and ``data_info``
    (the data's shape) is compared when given, so that a caller can refuse
    before loading or summarising any data.
    """
    if model_config is not None:
        saved_model = ModelConfig.from_dict(saved["model"])
        if saved_model != model_config:
            diff = _diff(saved_model.to_dict(), model_config.to_dict())
            raise ConfigError(f"Cannot resume '{run}': the model configuration differs from the "
                              f"saved one ({diff}).")
    if train_config is not None:
        saved_train = saved.get("train", {})
        model = model_config or (ModelConfig.from_dict(saved["model"]) if saved.get("model")
                                 else None)
        now = (train_config if model is None else train_config.resolve(model)).to_dict()
        diff = resume_diff({k: saved_train.get(k, _RESUME_LEGACY.get(k)) for k in _RESUME_FIXED},
                           now)
        if diff:
            raise ConfigError(f"Cannot resume '{run}': training settings that change the "
                              f"mathematics differ from the saved ones ({diff}).")
    if data_info is not None:
        saved_data = saved.get("data", {})
        keys = ("kind", "n_neurons", "n_bins", "n_train", "stride")
        diff = _diff({k: saved_data.get(k) for k in keys}, {k: data_info.get(k) for k in keys})
        if diff:
            raise ConfigError(f"Cannot resume '{run}': the training data differs from the run's "
                              f"({diff}).")


def complete_message(run: Any, step: int, max_steps: int) -> str:
    """What to say when a resumed run had already reached ``max_steps``.

    Examples
    --------
    >>> print(complete_message("runs/x", 2000, 2000))  # doctest: +NORMALIZE_WHITESPACE
    The run in 'runs/x' is complete: it reached max_steps=2000 (checkpoint at step 2000), so
    there is nothing to train. To extend it, resume with N more steps (`spikegan train --out
    runs/x --resume --more-steps N`, or `SpikeGAN.fit(..., resume=True, steps=N)`), or with a
    larger total (`--max-steps M`, M > 2000).
    """
    return (f"The run in '{run}' is complete: it reached max_steps={max_steps} (checkpoint at "
            f"step {step}), so there is nothing to train. To extend it, resume with N more "
            f"steps (`spikegan train --out {run} --resume --more-steps N`, or "
            f"`SpikeGAN.fit(..., resume=True, steps=N)`), or with a larger total "
            f"(`--max-steps M`, M > {step}).")


def _diff(saved: dict[str, Any], now: dict[str, Any]) -> str:
    return "; ".join(f"{k}: saved {saved.get(k)!r}, now {now.get(k)!r}"
                     for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k))

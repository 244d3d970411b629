"""Solving a generator's spike-history filter after training (:mod:`spikegan_tf.gan.history`).

With common random numbers, alternate fixed-point steps in logit space move each (neuron,
bin) positional offset towards the training windows' rate and each filter tap towards the
training windows' autocorrelation of its neuron at its lag (:func:`fit_history`, window
generators). A ``"temporal"`` generator, stationary, gets one offset per neuron instead and
is fitted on long stretches of its own continuous raster, where the filter's drive runs on
across the bins (:func:`with_history_filter`, :func:`fit_stationary_history`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.history import (
    COUPLING_LAYER,
    DEFAULT_HISTORY_LAGS,
    HISTORY_LAYER,
    _draw_time_major,
    history_coupling,
    history_filter,
    neuron_coincidences,
    quantize_coupling,
)
from spikegan_tf.gan.positions import draws_within

__all__ = ["fit_history", "fit_stationary_history", "pair_coincidences", "with_history_filter",
           "raster_logits", "stationary_rate_offsets", "settle_offsets", "fit_uniforms",
           "stretch_count", "history_basis", "same_bin_log_odds", "same_bin_target", "SETTLE_STEPS",
           "MAX_BURST_PROBABILITY", "SAME_BIN_PRIOR"]

#: Offset-only steps :func:`fit_history` takes after the last filter step.
SETTLE_STEPS = 8
#: The longest coupling step (times the log ratio) once a same-bin coupling is fitted.
PAIR_DAMPING_MAX = 1.0
#: Pseudo-coincidences (a table of independent bins holding this many) that shrink the
#: training windows' same-bin log odds ratios towards 0 (:func:`same_bin_log_odds`). Groups of
#: ``uniform`` that always fire together need the few bins where one member fires alone to
#: count: with 20 (the lift's ``pair_prior``) a trained generator's raster split 2.3% of bins'
#: groups, with 1, 0.5% (the data 0.19%).
SAME_BIN_PRIOR = 1.0
#: Offset-only steps after the last filter step when a same-bin coupling is fitted: a
#: neuron's rate then follows the offsets of the neurons it fires with, which the per-neuron
#: secant step does not see (8 left the demo's rates 2% high; 24, 1%).
SAME_BIN_SETTLE_STEPS = 24
#: The longest secant step of the offsets after a fit with a same-bin coupling, as a multiple
#: of the plain one (4 otherwise): a neuron that nearly always fires with the one before it in
#: its bin shows a tenth of its offset's step (with 4, the demo's rates stayed up to 1.5% off
#: after 24 steps; with 16, 0.5%). A neuron whose error grew takes the plain step instead:
#: without that, on the retina's generator after 1,000 iterations, 16 overshot into a regime
#: where the couplings drive each other (rates 9.8x the data's; 1.01x with the fallback). Not
#: for the other fits: it silenced the bistable, self-exciting neuron of
#: ``tests/test_history.py``'s capped-filter raster.
SAME_BIN_SECANT_MAX_STEP = 16.0
#: A coupled fit whose settled rates stay further than this (relative, in some neuron and bin)
#: from the data's is dropped for the filter alone (:func:`_solve`): the couplings ran away.
#: Fits that work end within a few percent; a runaway one 4-10x off.
RUNAWAY_RATE_ERROR = 0.5
#: In a continuous raster, the most a neuron may fire right after spikes at every excitatory
#: lag of its filter: its positive taps are scaled down so that its 99th-percentile logit plus
#: their sum stays at or below logit(MAX_BURST_PROBABILITY). Without it a self-exciting filter
#: can lock a neuron into firing for good (a GLM's runaway excitation); a window starts afresh
#: every window and needs no cap. At 0.9 it held about 15 of the retina's 50 neurons below
#: their autocorrelation (``benchmarks/results/temporal_history/train_seed*/``:
#: ``raster_eval_history_cap09.json`` against ``raster_eval_history.json``).
MAX_BURST_PROBABILITY = 0.99
#: A long filter's bumps (:func:`history_basis`) step this fraction of a tap's step: with whole
#: steps (0.7) a 200-lag filter of the retina's temporal generator cycled between two states
#: 10 iterations apart; with 0.3 of them (all steps 0.3) it settled within 15.
BUMP_DAMPING = 0.43
#: The raster stretches a temporal generator's filter and rates are settled on: this many
#: stretches of STRETCH_BINS counted bins, each after BURN_IN bins drawn but not counted.
STRETCHES, STRETCH_BINS, BURN_IN = 256, 1024, 256
#: Up to this many stretches, as many as the calibrations' memory budget holds of their float32
#: logits (:func:`stretch_count`; 1,024 for the retina's 50 neurons), never fewer than
#: STRETCHES. The filter fitted on 256 stretches carries their sampling noise into every raster
#: drawn with it: on the retina's raster recipe at 12,000 iterations, fits with seeds 0/1/2 gave
#: one generator's long raster an autocorrelogram 2.42/0.41/1.99x the floor, 1.84/0.56/1.29x on
#: 1,024 (``benchmarks/results/critic_head_long/fit_seeds_avspw10_seed*.json``).
MAX_STRETCHES = 1024
#: The smallest slope a tap's Newton step divides by (:func:`fit_stationary_history`): a
#: step at most 5x the plain one.
TAP_MIN_SLOPE = 0.2


def stretch_count(n_neurons: int, n_bins: int = STRETCH_BINS + BURN_IN) -> int:
    """The stretches of ``n_bins`` bins a filter of ``n_neurons`` neurons is fitted on.

    :func:`spikegan_tf.gan.positions.draws_within` the calibrations' budget
    (``MAX_CALIBRATION_BYTES``) of float32 logits.

    >>> stretch_count(50), stretch_count(100), stretch_count(1000)
    (1024, 524, 256)
    """
    return draws_within(MAX_STRETCHES, STRETCHES, 4 * int(n_bins) * int(n_neurons))


def history_basis(lags: int, free: int = DEFAULT_HISTORY_LAGS) -> np.ndarray | None:
    """The filter's parameters as rows over its ``lags`` lags, or ``None``: one per lag.

    A long filter (Pillow et al. 2008) keeps a tap per lag ``1..free`` and, beyond,
    raised cosines in log-lag, one per octave or so, centred from lag ``free + 1`` to
    ``lags`` and summing to 1 between them: a few smooth parameters per neuron where a
    tap per lag would fit the noise of its autocorrelogram at long lags (one tap per
    lag to 30 lags was worse than 10 on the retina,
    ``benchmarks/results/temporal_history/train_seed0/raster_eval_history30.json``).
    ``None`` when ``lags <= free + 3`` (a tap per lag, as before).

    Examples
    --------
    >>> b = history_basis(200)
    >>> b.shape, bool(np.allclose(b[:10, :10], np.eye(10)))
    ((16, 200), True)
    >>> bool(np.allclose(b[10:, 10:].sum(axis=0), 1.0))   # lags 11..200 are covered evenly
    True
    >>> history_basis(10) is None and history_basis(13) is None
    True
    """
    if lags <= free + 3:
        return None
    n_bumps = max(2, int(np.ceil(np.log2(lags / free))) + 1)
    centres = np.linspace(np.log(free + 1), np.log(lags), n_bumps)
    width = centres[1] - centres[0]
    x = np.log(np.arange(free + 1, lags + 1))
    d = np.clip((x[None, :] - centres[:, None]) / width, -1.0, 1.0)
    bumps = 0.5 * (1 + np.cos(np.pi * d))
    basis = np.zeros((free + n_bumps, lags))
    basis[:free, :free] = np.eye(free)
    basis[free:, free:] = bumps
    return basis


def fit_uniforms(seed: int | None, shape: tuple[int, ...]) -> np.ndarray:
    """The uniforms the history calibrations draw their common random numbers from."""
    return np.random.default_rng(np.random.SeedSequence(seed or 0, spawn_key=(7,))).random(
        shape, dtype=np.float32)


def settle_offsets(base: np.ndarray, u: np.ndarray, h: np.ndarray, goal: np.ndarray,
                   offsets: np.ndarray, steps: int, skip: int = 0,
                   coupling: np.ndarray | None = None, max_scale: float = 4.0,
                   ) -> tuple[np.ndarray, float]:
    """Move logit offsets so that spikes drawn with the filter ``h`` fire at ``expit(goal)``.

    (And with the lag-1 ``coupling``, when given.)

    ``base`` and ``u`` are time-major ``(T, n, N)``; ``offsets`` and ``goal`` are
    ``(T, 1, N)`` (one offset per bin and neuron) or ``(1, 1, N)`` (one per
    neuron). Each step moves the offsets by ``goal - logit(rate)``, each
    neuron's mean step scaled by how much of the previous one its rate showed
    (a secant step: with a refractory filter a neuron's rate follows its offsets
    only in part, with a self-exciting one more than fully; the scale is clipped to
    [1/4, max_scale]; with ``max_scale`` above 4, a neuron whose error grew takes the
    plain step, scale 1). The first ``skip`` bins are drawn but not counted (a burn-in of
    stretches that start without history). Returns the offsets and the largest
    relative rate error measured at the last step.
    """
    from scipy.special import expit, logit

    axes = (1,) if offsets.shape[0] > 1 else (0, 1)  # the draws (and bins) a rate averages
    target = expit(goal)
    rate_err = float("nan")
    settle = None  # (mean logit error, mean step) per neuron at the last step
    for _ in range(steps):
        logits = base + offsets
        _, q = _draw_time_major(expit(logits).astype(np.float32), u, h, logit=logits,
                                coupling=coupling)
        rate = np.clip(q[skip:].mean(axis=axes, keepdims=True, dtype=np.float64), 1e-6, 1 - 1e-6)
        rate_err = float(np.max(np.abs(rate / target - 1)))
        step = goal - logit(rate)
        mean_err = step.mean(axis=0)  # (1, N)
        if settle is not None:  # how much of the last mean step each neuron's rate showed
            moved = np.abs(settle[1]) > 1e-6
            gain = np.where(moved, (settle[0] - mean_err) / np.where(moved, settle[1], 1), 1)
            scale = 1 / np.clip(gain, 1 / max_scale, 4.0)
            if max_scale > 4.0:  # a long secant step can throw coupled neurons into
                # driving each other: a neuron whose error grew takes the plain step
                scale = np.where(np.abs(mean_err) > np.abs(settle[0]), 1.0, scale)
            step = step + (scale - 1) * mean_err
        settle = (mean_err, step.mean(axis=0))
        offsets = offsets + step.astype(np.float32)
    return offsets, rate_err


def _expected_autocorrelation(x: np.ndarray, q: np.ndarray, lags: int,
                              prior_spikes: float, reach: np.ndarray | None = None,
                              gain: bool = False) -> Any:
    """:func:`neuron_autocorrelation` with ``x(t + l)`` replaced by its probability ``q``.

    ``x`` and ``q`` are time-major ``(T, n, N)``.
    ``E[x(t) x(t + l)] = E[x(t) q(t + l)]`` (``q(t + l)`` is drawn given the
    past, ``x(t)`` included), with less sampling noise. With ``prior_spikes``
    pseudo-spikes whose coincidences are the neuron's rate, as the targets have
    (``reach``: see :func:`_relative`).
    """
    t, s, n = np.nonzero(x)  # time-major (T, n, N): the spikes; x(t) q(t + l) over them
    coinc = np.zeros((q.shape[2], lags))
    square = np.zeros((q.shape[2], lags))
    for lag in range(1, lags + 1):
        keep = t + lag < q.shape[0]
        after = q[t[keep] + lag, s[keep], n[keep]]
        coinc[:, lag - 1] = np.bincount(n[keep], weights=after, minlength=q.shape[2])
        if gain:
            square[:, lag - 1] = np.bincount(n[keep], weights=after * after,
                                             minlength=q.shape[2])
    spikes = q.sum(axis=(0, 1), dtype=np.float64)
    relative = _relative(coinc, spikes, spikes / (q.shape[0] * q.shape[1]), prior_spikes, reach)
    if not gain:
        return relative
    # d log(coinc) / d h_l = sum x(t) q(t+l) (1 - q(t+l)) / sum x(t) q(t+l)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(coinc > 0, 1.0 - square / coinc, 1.0)
    return relative, slope


def _reach(n_bins: int, lags: int) -> np.ndarray:
    """The share of a sequence's ``n_bins`` bins that have a bin ``l`` later, ``l = 1..lags``.

    1 for lags the sequence does not reach (nothing to count there).
    """
    share = (n_bins - np.arange(1, lags + 1)) / n_bins
    return np.where(share > 0, share, 1.0)


def _relative(coinc: np.ndarray, spikes: np.ndarray, rate: np.ndarray,
              prior_spikes: float, reach: np.ndarray | None = None) -> np.ndarray:
    """Per (neuron, lag), coincidences per spike over the neuron's rate, shrunk towards 1.

    ``(coinc / rate + m) / (spikes + m)`` with ``m = prior_spikes`` pseudo-spikes
    of a neuron without history (whose coincidences per spike are its rate): 1
    for no history, below 1 for a refractory lag, above for a bursting one.
    With ``reach`` (``(lags,)``, :func:`_reach`), only that share of the spikes
    counts at each lag (those with a bin ``l`` later in their sequence), so that
    sequences of different lengths compare.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(rate[:, None] > 0, coinc / rate[:, None], 0.0)
    counted = spikes[:, None] if reach is None else spikes[:, None] * reach[None, :]
    return (scaled + prior_spikes) / (counted + prior_spikes + 1e-12)


def pair_coincidences(windows: np.ndarray, *, lag: int = 1, chunk: int = 4096
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair counts ``lag`` bins apart (1 or 0: the same bin) of windows ``(n, N, T)``: ``(C, S, rate)``.

    ``C[i, j] = sum x_i(t + lag) x_j(t)`` over windows and ``t < T - lag``, ``S[j]``
    the spikes of ``j`` at those ``t``, ``rate`` each neuron's firing probability.

    Examples
    --------
    >>> x = np.array([[[1, 0, 1], [0, 1, 1]]], np.uint8)
    >>> C, S, r = pair_coincidences(x)
    >>> C.tolist(), S.tolist()
    ([[0.0, 1.0], [1.0, 1.0]], [1.0, 1.0])
    >>> pair_coincidences(x, lag=0)[0].tolist()
    [[2.0, 1.0], [1.0, 2.0]]
    """
    n, n_neurons, n_bins = windows.shape
    C = np.zeros((n_neurons, n_neurons))
    S = np.zeros(n_neurons)
    total = np.zeros(n_neurons)
    for i in range(0, n, chunk):
        x = np.asarray(windows[i:i + chunk], dtype=np.float32)
        total += x.sum(axis=(0, 2))
        before = np.moveaxis(x[:, :, :n_bins - lag], 1, 2).reshape(-1, n_neurons)
        after = np.moveaxis(x[:, :, lag:], 1, 2).reshape(-1, n_neurons)
        C += after.T @ before
        S += before.sum(axis=0)
    return C, S, total / max(n * n_bins, 1)


def _pair_ratio(C: np.ndarray, S: np.ndarray, rate: np.ndarray, prior: float) -> np.ndarray:
    """``(C + prior) / (E + prior)``, ``E[i, j] = S[j] rate[i]``: coincidences of each
    pair over what independent neurons at these rates would give, shrunk towards 1 by
    ``prior`` pseudo-coincidences."""
    return (C + prior) / (rate[:, None] * S[None, :] + prior)


def _solve(base: np.ndarray, u: np.ndarray, goal: np.ndarray, target: np.ndarray,
           active: np.ndarray, lags: int, *, iterations: int, damping: float, bound: float,
           prior_spikes: float, reach: np.ndarray | None = None, cap: bool = False,
           skip: int = 0, pair_target: np.ndarray | None = None, pair_prior: float = 20.0,
           same_target: np.ndarray | None = None, basis: np.ndarray | None = None,
           newton: bool = True,
           ) -> tuple[np.ndarray, np.ndarray, float, float, np.ndarray | None]:
    """The fixed-point steps of :func:`fit_history` on time-major logits ``base (T, n, N)``.

    ``goal`` is ``(T, 1, N)`` (an offset per bin and neuron) or ``(1, 1, N)``
    (one per neuron); ``active`` says which neurons ``(N,)`` or taps ``(N, L)``
    are fitted (the others stay 0); ``cap`` applies :data:`MAX_BURST_PROBABILITY`;
    the first ``skip`` bins are a burn-in, drawn but not counted. With ``pair_target``
    (``(N, N)``, :func:`_pair_ratio` of the training windows), a lag-1 coupling is
    fitted too: each off-diagonal entry moves by ``damping * log`` of the target over the
    generated ratio (the generated counts shrunk by ``pair_prior`` pseudo-coincidences,
    so that a rare pair moves slowly), on the coupling's grid. With ``same_target`` as well
    (the training windows' same-bin log odds ratios, :func:`same_bin_log_odds`), a same-bin
    coupling too, each entry by its target less the generated log odds ratio (``coupling``
    ``(2, N, N)``), each pair's damping halved when its step changes sign. With ``basis``
    (``(P, L)``, :func:`history_basis`), the filter is
    ``theta @ basis`` and each parameter ``theta (N, P)`` moves by its rows' weighted mean of
    the lags' steps (a parameter is fitted where all of its lags are ``active``). With
    ``newton``, each tap's step is divided by its slope (:func:`fit_stationary_history`).
    Returns ``(offsets, h, rate_error, autocorrelation_error, coupling)`` (``coupling``
    ``None`` without a target).
    """
    from scipy.special import expit, logit

    axes = (1,) if goal.shape[0] > 1 else (0, 1)  # the draws (and bins) a rate averages
    ceiling = (logit(MAX_BURST_PROBABILITY) - np.percentile(base, 99, axis=(0, 1))  # (N,)
               if cap else None)
    if active.ndim == 1:
        active = np.broadcast_to(active[:, None], (base.shape[2], lags))
    offsets = np.zeros(goal.shape, np.float32)
    h = np.zeros((base.shape[2], lags), np.float32)
    # the filter is theta @ basis; one tap per lag (the identity) without a basis
    basis = np.eye(lags) if basis is None else basis
    theta = np.zeros((base.shape[2], basis.shape[0]), np.float32)
    # a bump moves a neuron's drive over tens of lags, and so its rate and every lag's
    # coincidences: its steps are shortened (BUMP_DAMPING), else the fit cycles
    bump_damping = np.where(basis.sum(axis=1) > 1, BUMP_DAMPING, 1.0)
    # a parameter is fitted where all of its lags are
    active_theta = (~active.astype(bool)).astype(float) @ (basis > 0).T.astype(float) == 0
    w = None if pair_target is None else np.zeros(
        (base.shape[2],) * 2 if same_target is None else (2, *(base.shape[2],) * 2), np.float32)
    acg_err = float("nan")
    pair_damping, last_pair = damping, None
    newton_ok, last_err = np.full(base.shape[2], bool(newton)), None
    for _ in range(iterations):
        logits = base + offsets
        x, q = _draw_time_major(expit(logits).astype(np.float32), u, h, logit=logits,
                                coupling=w)
        rate = np.clip(q[skip:].mean(axis=axes, keepdims=True, dtype=np.float64), 1e-6, 1 - 1e-6)
        offsets += (goal - logit(rate)).astype(np.float32)
        if w is not None:
            step = _pair_step(x[skip:], q[skip:], pair_target, pair_prior)
            if same_target is not None:
                step = np.stack([_same_bin_step(x[skip:], q[skip:], same_target), step])
                # all pairs step at once, each as if alone: where their effects add up
                # (the retina) a step overshoots and the pair's step changes sign; then halve
                # that pair's damping, else lengthen it again, up to PAIR_DAMPING_MAX (slowly
                # saturating pairs; Rprop's rule). One damping for all pairs, halved whenever
                # their mean error grew, fell to 0 within 25 steps where the filter's steps
                # moved the pairs' coincidences (uniform's groups that always fire together)
                if last_pair is not None:
                    pair_damping = np.where(step * last_pair < 0, pair_damping / 2,
                                            np.minimum(pair_damping * 1.25, PAIR_DAMPING_MAX))
                last_pair = step
            step = np.clip(pair_damping * step, -1.0, 1.0)
            w = quantize_coupling(w + step)
        generated = _expected_autocorrelation(x[skip:], q[skip:], lags, prior_spikes, reach,
                                              gain=newton)
        gain = 1.0
        if newton:
            generated, slope = generated
        errors = np.abs(generated - target) * active
        acg_err = float(errors.sum() / max(active.sum(), 1))
        if newton:
            # a Newton step: a tap moves its lag's coincidences by only this slope of its log
            # (a neuron that nearly always fires there hardly fires more), so divide by it; a
            # neuron whose error grew (a self-exciting one thrown towards locking into bursts)
            # takes the plain step from then on
            neuron_err = errors.sum(axis=1)
            if last_err is not None:
                newton_ok &= neuron_err <= last_err
            last_err = neuron_err
            gain = np.where(newton_ok[:, None], np.clip(slope, TAP_MIN_SLOPE, 1.0), 1.0)
        step = np.where(active, np.clip(damping * np.log((target + 1e-6) / (generated + 1e-6))
                                        / gain, -1, 1), 0)
        theta = np.clip(theta + np.where(active_theta, step @ basis.T / basis.sum(axis=1), 0)
                        * bump_damping, -bound, bound)
        if cap:
            room = np.maximum(ceiling - offsets.max(axis=(0, 1)), 0.0)  # (N,)
            # (with a basis, the excitatory parameters' taps: never fewer than the filter's)
            excite = (np.maximum(theta, 0) @ basis).sum(axis=1)
            shrink = np.where(excite > room, room / np.maximum(excite, 1e-12), 1.0)
            theta = np.where(theta > 0, theta * shrink[:, None], theta)
        theta = theta.astype(np.float32)
        h = (theta @ basis).astype(np.float32)
    # the filter is fixed: the offsets alone, to it
    settle, scale = ((SETTLE_STEPS, 4.0) if same_target is None
                     else (SAME_BIN_SETTLE_STEPS, SAME_BIN_SECANT_MAX_STEP))
    offsets, rate_err = settle_offsets(base, u, h, goal, offsets, settle, skip, w, scale)
    if w is not None and not rate_err <= RUNAWAY_RATE_ERROR:
        # positive couplings that drive each other (a GLM's runaway excitation: strong
        # population bursts the generator's probabilities do not carry) leave no offsets
        # that give the data's rates; solve again without them
        import warnings

        warnings.warn(f"The couplings between neurons could not be solved without runaway "
                      f"excitation (a rate {rate_err:.0%} off the training data's); the "
                      "generator is published with its spike-history filter alone.",
                      UserWarning, stacklevel=3)
        offsets, h, rate_err, acg_err, _ = _solve(
            base, u, goal, target, active, lags, iterations=iterations, damping=damping,
            bound=bound, prior_spikes=prior_spikes, reach=reach, cap=cap, skip=skip, basis=basis,
            newton=newton)
        w = np.zeros_like(w)
    return offsets, h, rate_err, acg_err, w


def _pair_step(x: np.ndarray, q: np.ndarray, target: np.ndarray, prior: float) -> np.ndarray:
    """The lag-1 coupling's undamped step from time-major spikes ``x`` and probabilities ``q``
    ``(T, n, N)``.

    The generated counts use ``E[x_j(t) x_i(t + 1)] = E[x_j(t) q_i(t + 1)]`` (less noise);
    the step is ``log((target E + prior) / (C + prior))``, zero on the diagonal (the filter's
    lag-1 tap); the caller damps and clips it.
    """
    n_neurons, n_bins = q.shape[2], q.shape[0]
    before = x[:n_bins - 1].reshape(-1, n_neurons).astype(np.float32)
    after = q[1:].reshape(-1, n_neurons)
    C = after.T @ before  # (i, j)
    S = before.sum(axis=0, dtype=np.float64)
    rate = q.mean(axis=(0, 1), dtype=np.float64)
    step = np.log((target * rate[:, None] * S[None, :] + prior) / (C + prior))
    return step - np.diag(np.diag(step))


def same_bin_log_odds(C: np.ndarray, S: np.ndarray, R: np.ndarray, n_bins: float,
                      prior: float = 0.0) -> np.ndarray:
    """Each pair's log odds ratio of firing in the same bin, ``(N, N)``.

    ``C[i, j]`` bins where both fired, ``S[j]`` and ``R[i]`` the bins where ``j`` and ``i``
    fired, of ``n_bins``: ``log(n11 n00 / (n10 n01))``, each cell plus half a bin (never
    infinite), after ``prior`` pseudo-coincidences: a table of ``prior / (r_i r_j)``
    independent bins at the rates ``r = S / n_bins`` added to the counts. Unlike the
    coincidences over their expected number (the lag-1 coupling's target), the odds ratio
    of a pair does not move with the rates: a pair that always fires together has the same
    (large) one whatever its rate, and a logistic coupling moves it by about its own step.

    Examples
    --------
    >>> C = np.array([[2.0, 1.0], [1.0, 2.0]])   # 4 bins: (1, 1), (1, 0), (0, 1), (0, 0)
    >>> S = R = np.array([2.0, 2.0])
    >>> float(same_bin_log_odds(C, S, R, 4)[0, 1])   # independent: 0
    0.0
    >>> C = np.array([[2.0, 2.0], [2.0, 2.0]])   # always together: (2.5 * 2.5) / (0.5 * 0.5)
    >>> bool(np.isclose(same_bin_log_odds(C, S, R, 4)[0, 1], np.log(25)))
    True
    """
    C, S, R = (np.asarray(a, np.float64) for a in (C, S, R))
    n11, n10, n01 = C, S[None, :] - C, R[:, None] - C
    n00 = n_bins - S[None, :] - R[:, None] + C
    if prior:
        r_j, r_i = S[None, :] / n_bins, R[:, None] / n_bins
        m = prior / np.maximum(r_i * r_j, 1e-12)
        n11, n10 = n11 + m * r_i * r_j, n10 + m * (1 - r_i) * r_j
        n01, n00 = n01 + m * r_i * (1 - r_j), n00 + m * (1 - r_i) * (1 - r_j)
    cells = [np.maximum(c, 0.0) + 0.5 for c in (n11, n00, n10, n01)]
    return np.log(cells[0]) + np.log(cells[1]) - np.log(cells[2]) - np.log(cells[3])


def same_bin_target(windows: np.ndarray, prior: float = SAME_BIN_PRIOR) -> np.ndarray:
    """The same-bin coupling's target: windows' ``(n, N, T)`` same-bin log odds ratios ``(N, N)``.

    :func:`same_bin_log_odds` of their :func:`pair_coincidences` in the same bin, shrunk by
    ``prior`` pseudo-coincidences (:data:`SAME_BIN_PRIOR`).

    Examples
    --------
    >>> x = np.array([[[1, 1, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0]]], np.uint8)
    >>> t = same_bin_target(x, prior=0.0)
    >>> bool(np.isclose(t[1, 0], np.log(25))), bool(np.isclose(t[2, 0], 0.0))
    (True, True)
    """
    C, S, rate = pair_coincidences(windows, lag=0)
    n_bins = windows.shape[0] * windows.shape[2]
    return same_bin_log_odds(C, S, rate * n_bins, n_bins, prior)


def _same_bin_step(x: np.ndarray, q: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The same-bin coupling's undamped step: the target log odds ratios (:func:`same_bin_log_odds`)
    less those of time-major spikes ``x`` and probabilities ``q`` ``(T, n, N)``, lower triangle.

    The counts use ``q_i`` for ``x_i`` (``q_i`` knows ``x_j`` for ``j < i``: less noise). The
    difference is in logit units, so it needs no scaling for saturation (the coincidences
    over their expected number did: a pair that nearly always fires together moved them by a
    tenth of its coupling's step), and a pair's rates running behind their offsets during the
    fit no longer read as coincidences too many or too few.
    """
    n_neurons = q.shape[2]
    before = x.reshape(-1, n_neurons).astype(np.float32)
    after = q.reshape(-1, n_neurons)
    C = after.T @ before
    generated = same_bin_log_odds(C, before.sum(axis=0, dtype=np.float64),
                                  after.sum(axis=0, dtype=np.float64), len(before))
    return np.tril(target - generated, -1)


def fit_history(generator: Any, config: ModelConfig, windows: np.ndarray, time_course: Any, *,
                n_samples: int = 8192, seed: int | None = 0, iterations: int = 25,
                damping: float = 0.7, bound: float = 8.0,
                prior_spikes: float = 20.0, pair_prior: float = 20.0) -> dict[str, Any]:
    """Solve the filter and the positional offsets of ``generator`` (in place).

    ``generator`` has both layers (:func:`spikegan_tf.gan.positions.with_position_offsets`
    with ``history_lags``). With common random numbers (``n_samples`` latent
    and uniform draws from ``seed``), alternate fixed-point steps in logit
    space: each (neuron, bin) offset moves by ``logit(target) - logit(rate)``,
    each filter tap by ``damping * log(target / generated)`` of the neuron's
    autocorrelation at that lag (:func:`spikegan_tf.gan.history.neuron_autocorrelation`
    of ``windows``), clipped to ``[-bound, bound]``; then :data:`SETTLE_STEPS`
    steps of the offsets alone (:func:`settle_offsets`). The targets carry ``prior_spikes`` pseudo-spikes
    whose coincidences are the neuron's rate (no history): a neuron with few
    spikes keeps a filter near 0 instead of one fitted to their noise.

    A generator that also has a lag-1 coupling (``with_position_offsets(...,
    coupling=True)``) gets it solved in the same steps, so that each pair's
    coincidences one bin apart, over what independent neurons would give, are the
    training windows' (:func:`pair_coincidences`, both shrunk towards independence
    by ``pair_prior`` pseudo-coincidences); one with a same-bin coupling as well
    (``same_bin=True``) gets that solved too, against the same-bin log odds ratios
    (:func:`same_bin_log_odds`).

    Returns
    -------
    dict
        ``rate_error`` (largest relative error of a (neuron, bin) rate) and
        ``autocorrelation_error`` (mean absolute error over neurons and lags of
        the coincidences per spike relative to the rate, shrunk as above) at the
        last iteration, and ``iterations``.
    """
    from scipy.special import logit

    from spikegan_tf.gan.positions import latent_logits, position_layer

    h0 = history_filter(generator)
    positions = position_layer(generator)
    if h0 is None or positions is None:
        raise ValueError("the generator has no spike-history filter; build it with "
                         "`with_position_offsets(..., history_lags=L)` first.")
    lags = h0.shape[1]
    target_rate = np.clip(np.asarray(time_course, dtype=np.float64), 1e-6, 1 - 1e-6)
    coinc, spikes = neuron_coincidences(windows, lags)
    target = _relative(coinc, spikes, spikes / max(windows.shape[0] * windows.shape[2], 1),
                       prior_spikes)
    history = generator.get_layer(HISTORY_LAYER)
    history.bias.assign(np.zeros_like(history.bias.numpy()))  # logits below see no filter
    pair_target, same_target, coupling = _pair_targets(generator, windows, pair_prior)
    base = np.ascontiguousarray(np.moveaxis(  # time-major (T, n, N)
        latent_logits(generator, config, n_samples, seed).astype(np.float32), 2, 0))
    u = fit_uniforms(seed, base.shape)
    active = spikes > 0  # silent neurons keep a zero filter
    goal = logit(target_rate.T[:, None, :])
    offsets, h, rate_err, acg_err, w = _solve(base, u, goal, target, active, lags,
                                              iterations=iterations, damping=damping,
                                              bound=bound, prior_spikes=prior_spikes,
                                              pair_target=pair_target, pair_prior=pair_prior,
                                              same_target=same_target, newton=False)
    offsets = offsets[:, 0, :].T  # (N, T)
    positions.bias.assign((positions.bias.numpy() + offsets.T.ravel()).astype(
        positions.bias.dtype))
    history.bias.assign(h.T.ravel().astype(history.bias.dtype))
    if w is not None:
        coupling.bias.assign(w.ravel().astype(coupling.bias.dtype))
    return {"rate_error": rate_err, "autocorrelation_error": acg_err, "iterations": iterations}


def _pair_targets(generator: Any, windows: np.ndarray, prior: float
                  ) -> tuple[np.ndarray | None, np.ndarray | None, Any]:
    """The lag-1 and same-bin pair targets of a generator's coupling and its layer, zeroed.

    ``(None, None, None)`` without a coupling; the same-bin target is ``None`` without one.
    """
    w = history_coupling(generator)
    if w is None:
        return None, None, None
    layer = generator.get_layer(COUPLING_LAYER)
    layer.bias.assign(np.zeros_like(layer.bias.numpy()))  # the logits below see none
    same = None if w.ndim == 2 else same_bin_target(windows)
    return _pair_ratio(*pair_coincidences(windows), prior), same, layer


def with_history_filter(generator: Any, config: ModelConfig, lags: int, *,
                        coupling: bool = False, same_bin: bool = False) -> Any:
    """A ``"temporal"`` generator with a (zero) spike-history filter of ``lags`` lags per neuron.

    The filter is the bias of a frozen layer (:data:`~spikegan_tf.gan.history.HISTORY_LAYER`)
    fed an exact zero made from ``z`` and multiplied back to zero before the
    sigmoid, so the probabilities (and the raster model,
    :func:`spikegan_tf.gan.networks.build_raster_generator`) are unchanged and
    the model loads in safe mode. With ``coupling`` (and ``same_bin``), also a
    (zero) lag-1 (and same-bin) coupling between neurons, the bias of another such
    layer (:data:`~spikegan_tf.gan.history.COUPLING_LAYER`). The new model shares
    ``generator``'s layers; one that has what is asked for already is returned as
    is (one with a filter of other lags, or without the coupling asked for, is rebuilt
    around the same logits, its filter zero).

    Examples
    --------
    >>> from spikegan_tf.gan.networks import build_generator
    >>> cfg = ModelConfig(n_neurons=3, n_bins=8, architecture="temporal", temporal_layers=2)
    >>> g = build_generator(cfg, seed=0)
    >>> f = with_history_filter(g, cfg, 4)
    >>> history_filter(f).shape
    (3, 4)
    >>> z = np.random.default_rng(0).standard_normal((2, cfg.latent_dim)).astype("float32")
    >>> bool(np.array_equal(f(z).numpy(), g(z).numpy()))
    True
    """
    import keras
    from keras import layers

    from spikegan_tf.gan.positions import add_coupling_layer, carries_coupling

    same_bin = bool(same_bin and coupling)
    present = history_filter(generator)
    if present is not None and present.shape[1] == lags and carries_coupling(generator, coupling,
                                                                               same_bin):
        return generator
    if config.architecture != "temporal" or config.conditional:
        raise ValueError("with_history_filter is for unconditional 'temporal' generators "
                         "(window generators carry the filter with their positional offsets: "
                         f"with_position_offsets); received architecture={config.architecture!r}"
                         f"{' with conditions' if config.conditional else ''}.")
    if present is not None:  # rebuilt around the same logits
        logits = generator.get_layer("history_logits").input[0]
    else:
        logits = generator.get_layer("sigmoid").input  # (batch, bins, n_neurons)
    dtype = logits.dtype
    z = generator.inputs[0]
    frozen = {"trainable": False, "kernel_initializer": "zeros", "dtype": dtype}
    zero = layers.Dense(1, use_bias=False, name="history_input", **frozen)(z)  # exactly 0
    h = layers.Dense(lags * config.n_neurons, bias_initializer="zeros", name=HISTORY_LAYER,
                     **frozen)(zero)  # the filter, as its bias
    back = layers.Dense(1, use_bias=False, name="history_zero", **frozen)(h)  # 0 again
    if coupling:
        back = add_coupling_layer(zero, back, config.n_neurons, same_bin)
    back = layers.Reshape((1, 1), dtype=dtype, name="history_grid")(back)
    out = layers.Add(dtype=dtype, name="history_logits")([logits, back])
    out = layers.Activation("sigmoid", dtype="float32", name="sigmoid")(out)
    probs = layers.Permute((2, 1), dtype="float32", name="probs")(out)
    return keras.Model(z, probs, name=generator.name)


def raster_logits(generator: Any, config: ModelConfig, n_chains: int, n_bins: int,
                  seed: int | None, batch_size: int = 32) -> np.ndarray:
    """Logits ``(n_bins, n_chains, n_neurons)`` float32 of ``n_chains`` seeded raster stretches.

    Time-major, from a ``"temporal"`` generator's raster model on latent
    sequences ``default_rng(seed).standard_normal((n_chains, n_bins +
    receptive_field - 1, latent_channels))`` (float32).
    """
    from scipy.special import logit

    from spikegan_tf.gan.networks import build_raster_generator

    raster = build_raster_generator(generator, config)
    z = np.random.default_rng(seed).standard_normal(
        (n_chains, n_bins + config.receptive_field - 1, config.latent_channels)).astype("float32")
    out = np.empty((n_bins, n_chains, config.n_neurons), np.float32)
    for i in range(0, n_chains, batch_size):
        p = np.asarray(raster(z[i:i + batch_size], training=False), dtype=np.float64)
        out[:, i:i + len(p)] = np.moveaxis(logit(np.clip(p, 1e-12, 1 - 1e-12)), 1, 0)
    return out


def fit_stationary_history(generator: Any, config: ModelConfig, windows: np.ndarray,
                           rates: Any, *, n_chains: int | None = None,
                           chain_bins: int = STRETCH_BINS, burn_in: int = BURN_IN,
                           rate_draws: int = 32768, seed: int | None = 0,
                           iterations: int = 25, damping: float = 0.7, bound: float = 8.0,
                           prior_spikes: float = 20.0, pair_prior: float = 20.0,
                           newton: bool = True) -> dict[str, Any]:
    """Solve the filter and the per-neuron output bias of a ``"temporal"`` generator (in place).

    :func:`fit_history` for a stationary generator (:func:`with_history_filter`
    first): the spikes are drawn on ``n_chains`` (``None``: :func:`stretch_count`)
    stretches of ``chain_bins`` bins of its continuous raster (:func:`raster_logits`), where
    each spike's drive runs on as in :func:`spikegan_tf.gan.raster.sample_raster` (after
    ``burn_in`` bins drawn but not counted: a stretch starts without history,
    and a strongly bursting neuron takes hundreds of bins to forget it).

    One offset per neuron is added to its output bias. The bias is first
    calibrated to ``rates`` without the filter on ``rate_draws`` independent
    windows (fewer for large populations:
    :func:`spikegan_tf.gan.positions.calibration_samples`); the offsets then
    move each neuron's rate on the stretches back to what it was there without
    the filter. The filter moves each neuron's coincidences per spike relative
    to its rate at lags ``1..L`` to those of ``windows`` (the training
    windows), both counted per spike that has a bin ``l`` later in its sequence
    (taps at lags the windows do not reach stay 0). With ``newton`` (the default), a
    tap's damped log step is divided by its lag's slope, ``1 - sum x(t) q(t+l)^2 / sum
    x(t) q(t+l)`` (:data:`TAP_MIN_SLOPE` at least): a neuron that nearly always fires
    there moves its coincidences by only that share of the step, and the plain step
    (``newton=False``, as before session 40) had not converged in 25 iterations on
    ``packets`` (lags 3-5 1% off, the raster's autocorrelogram 1.8x the floor); a neuron
    whose error grows takes the plain step from then on. Beyond lag
    :data:`~spikegan_tf.gan.history.DEFAULT_HISTORY_LAGS` the filter is a few smooth
    bumps per neuron (:func:`history_basis`), each fitted to its lags' mean step: the
    slow self-inhibition of a neuron whose autocorrelogram dips for hundreds of bins
    needs windows that long (a raster's, cut by
    :func:`spikegan_tf.gan.calibration.calibrated_copy`). A neuron's excitatory taps
    are capped together (:data:`MAX_BURST_PROBABILITY`), so no filter can lock
    it into firing. A generator with a coupling
    (``with_history_filter(..., coupling=True)``) gets it solved in the same
    steps, to the windows' pair coincidences one bin apart (and same-bin log odds
    ratios), as :func:`fit_history` solves a window generator's.

    Returns
    -------
    dict
        As :func:`fit_history`.
    """
    from spikegan_tf.gan.networks import calibrate_output_bias, output_bias_layer

    h0 = history_filter(generator)
    if h0 is None:
        raise ValueError("the generator has no spike-history filter; build it with "
                         "`with_history_filter(generator, config, lags)` first.")
    lags = h0.shape[1]
    target_rate = np.clip(np.asarray(rates, dtype=np.float64).ravel(), 1e-6, 1 - 1e-6)
    coinc, spikes = neuron_coincidences(windows, lags)
    target = _relative(coinc, spikes, spikes / max(windows.shape[0] * windows.shape[2], 1),
                       prior_spikes, _reach(windows.shape[2], lags))
    history = generator.get_layer(HISTORY_LAYER)
    history.bias.assign(np.zeros_like(history.bias.numpy()))
    pair_target, same_target, coupling = _pair_targets(generator, windows, pair_prior)
    # the rates without the filter, on many independent latent draws (windows: their mean
    # rate varies by 1% between sets of 8,192 on the retina, rare bursts weighing heavily)...
    calibrate_output_bias(generator, config, target_rate, n_samples=rate_draws, seed=seed)
    # ...and, on the stretches, the rates they have there without the filter
    base, u, goal = _stretches(generator, config, n_chains, chain_bins, burn_in, seed)
    # taps the training windows reach (lags shorter than a window) of neurons that fire
    active = (spikes > 0)[:, None] & (np.arange(1, lags + 1) < windows.shape[2])[None, :]
    offsets, h, rate_err, acg_err, w = _solve(base, u, goal, target,
                                              active, lags, iterations=iterations,
                                              damping=damping, bound=bound,
                                              prior_spikes=prior_spikes,
                                              reach=_reach(chain_bins, lags), cap=True,
                                              skip=burn_in, pair_target=pair_target,
                                              pair_prior=pair_prior, same_target=same_target,
                                              basis=history_basis(lags), newton=newton)
    bias = output_bias_layer(generator, config).bias
    bias.assign((bias.numpy() + offsets[0, 0]).astype(bias.dtype))
    history.bias.assign(h.T.ravel().astype(history.bias.dtype))
    if w is not None:
        coupling.bias.assign(w.ravel().astype(coupling.bias.dtype))
    return {"rate_error": rate_err, "autocorrelation_error": acg_err, "iterations": iterations}


def _stretches(generator: Any, config: ModelConfig, n_chains: int | None, chain_bins: int,
               burn_in: int, seed: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time-major logits and uniforms of the raster stretches, and each neuron's goal logit.

    The goal ``(1, 1, N)`` is the stretches' own rate without the filter (after the
    burn-in): the sampling error of their few, slowly varying latent draws (2% on the
    retina), which the filtered rates on the same draws share. Matching it, rather than the
    target rate the bias was calibrated to on independent windows, cancels that error (a
    control variate).
    """
    from scipy.special import expit, logit

    if n_chains is None:
        n_chains = stretch_count(config.n_neurons, burn_in + chain_bins)
    base = raster_logits(generator, config, n_chains, burn_in + chain_bins, seed)
    u = fit_uniforms(seed, base.shape)
    plain = np.clip(expit(base[burn_in:]).mean(axis=(0, 1), dtype=np.float64), 1e-6, 1 - 1e-6)
    return base, u, logit(plain)[None, None, :]


def stationary_rate_offsets(generator: Any, config: ModelConfig, h: np.ndarray, steps: int, *,
                            n_chains: int | None = None, chain_bins: int = STRETCH_BINS,
                            burn_in: int = BURN_IN, seed: int | None = 0,
                            coupling: np.ndarray | None = None) -> np.ndarray:
    """Per-neuron logit offsets ``(N,)`` that give a filtered ``"temporal"`` generator's raster
    the rates its probabilities have without the filter ``h`` (and the ``coupling``).

    :func:`settle_offsets` on the stretches of :func:`fit_stationary_history`;
    :func:`spikegan_tf.gan.networks.calibrate_output_bias` calls it after calibrating
    those probabilities.
    """
    base, u, goal = _stretches(generator, config, n_chains, chain_bins, burn_in, seed)
    offsets, _ = settle_offsets(base, u, h, goal, np.zeros(goal.shape, np.float32), steps,
                                burn_in, coupling)
    return offsets[0, 0].astype(np.float64)

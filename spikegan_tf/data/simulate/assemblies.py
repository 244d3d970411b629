"""A large population in overlapping assemblies that fire sequences, with a log-normal spread
of rates and exact ground truth.

Generative model (every draw independent of every other unless stated):

- **Population** (fixed by ``population_seed``). Neuron ``n`` has a background firing
  probability ``b_n`` per bin, log-normal: ``background_rate * exp(rate_log_sd * Z)``,
  clipped to at most 0.5. Each of the ``n_assemblies`` assemblies ``a`` has
  ``assembly_size`` members drawn at random without replacement, independently of the
  other assemblies, so assemblies overlap and a neuron belongs to ``Binomial(n_assemblies,
  assembly_size / n_neurons)`` of them. The members of ``a``, in a random order, form its
  sequence: member ``k`` (``0 .. assembly_size - 1``) has the lag ``l[a, n] = floor(k *
  sequence_length / assembly_size)`` bins. Assembly ``a`` has an activation probability
  ``pi_a`` per bin, drawn uniformly within ``+-spread`` (relative) of ``activation_rate``.
- **Windows.** Assembly ``a`` starts its sequence in bin ``s`` (an *onset*) with
  probability ``pi_a``, for every bin; then each member ``n`` fires in bin ``s + l[a, n]``
  with probability ``participation`` (``q``). Besides, neuron ``n`` fires in every bin with
  probability ``b_n``. A bin holds a spike if any of these events puts one there (the
  output is 0/1).
- **Refractory period** (``refractory_period = d > 0``): after a spike a neuron is silent
  for ``d`` bins; an event in a silent bin is lost.

Window edges: onsets are drawn from ``sequence_length - 1`` bins before the window, so
sequences that started before the window show up in it and the process is stationary in
every bin of every window. With ``d > 0`` each neuron starts ``4 d`` bins before the window
in the stationary state of its own dead-time chain (so its firing probability is exact in
every bin) and the joint state has ``4 d`` bins to settle.

Exact ground truth. For one neuron, the events in different bins involve disjoint sets
of independent draws (each assembly acts on ``n`` at one lag only), so before the
refractory period neuron ``n`` fires independently in each bin with the *drive*
probability::

    h_n = 1 - (1 - b_n) prod_a (1 - pi_a q) ** M[a, n]         (M: membership)

and its firing probability is ``p_n = h_n / (1 + d h_n)`` (the dead-time chain; ``h_n``
for ``d = 0``). With ``d = 0`` the lagged covariances are exact too: ``x_i(t)`` and
``x_j(t + l)`` share a draw only through an assembly holding both with ``l[a, j] - l[a, i]
= l`` (same onset), so::

    cov(x_i(t), x_j(t + l)) = (1 - p_i)(1 - p_j) (prod_a R_a ** shared_a(i, j, l) - 1),
    R_a = (1 - pi_a q (2 - q)) / (1 - pi_a q) ** 2

(zero for every other pair and lag; ``p_i (1 - p_i)`` on the diagonal at lag 0). See
:func:`assembly_covariance`.

Simulation is sparse and exact: the Bernoulli trials of a chunk of windows are laid end
to end on a line, each as long as its hazard ``-log(1 - p)``, and a trial succeeds if a
unit-rate Poisson process hits it (probability ``1 - exp(-hazard) = p``), so the cost is
proportional to the number of events, not of bins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from spikegan_tf.data.simulate.base import (
    _CHUNK_ELEMENTS,
    SimulatedData,
    _draw_around,
    _prob,
    _spread,
)
from spikegan_tf.errors import ConfigError
from spikegan_tf.params import Integer, Real, RuleError, check_param
from spikegan_tf.validation import check_positive_int, check_seed

__all__ = ["assemblies", "assembly_covariance"]


# background firing probabilities are clipped to at most this
_MAX_BACKGROUND = 0.5
# bins per chunk = _CHUNK_ELEMENTS * this: the temporaries scale with the events (a few %)
_CHUNK_FACTOR = 16
# refractory burn-in before the window, in refractory periods
_BURN_IN = 4
# pairs per block in assembly_covariance(pairs=...)
_PAIR_BLOCK = 1 << 16


def _dedupe_sorted(keys: np.ndarray) -> np.ndarray:
    """``keys`` (sorted) without repeats (``np.unique`` hashes in numpy 2.3+: 50x slower)."""
    keep = np.ones(keys.size, np.bool_)
    keep[1:] = keys[1:] != keys[:-1]
    return keys[keep]


def _bernoulli_successes(rng: np.random.Generator, hazard: np.ndarray, m: int,
                         length: int) -> np.ndarray:
    """Successful trials of independent Bernoulli trials on an ``(m, R, length)`` grid.

    Trial ``(w, r, t)`` succeeds with probability ``1 - exp(-hazard[r])``. The trials are
    laid end to end in C order on a line, trial ``(w, r, t)`` an interval of length
    ``hazard[r]``; a trial succeeds iff a unit-rate Poisson process has a point in it.
    Returns the sorted flat indices ``(w * R + r) * length + t`` of the successes.
    """
    n_rows = hazard.shape[0]
    per_row = hazard * length
    bounds = np.cumsum(per_row)  # end of row r within a window
    per_window = float(bounds[-1]) if n_rows else 0.0
    total = per_window * m
    if total <= 0.0:
        return np.empty(0, np.int64)
    pieces, pos = [], 0.0
    while pos < total:  # the points of the Poisson process on [0, total)
        need = total - pos
        c = pos + np.cumsum(rng.standard_exponential(int(need + 6.0 * math.sqrt(need) + 16)))
        pos = float(c[-1])
        pieces.append(c[c < total])
    c = np.concatenate(pieces)
    # window w = floor(c / per_window) (a product and truncation are 3x faster than //;
    # rounding may put a point one window off, at a boundary: fix it)
    w = (c * (1.0 / per_window)).astype(np.int64)
    rem = c - w * per_window
    over = rem >= per_window
    w[over] += 1
    rem[over] -= per_window
    under = rem < 0
    w[under] -= 1
    rem[under] += per_window
    w = np.minimum(w, m - 1)
    rem = np.clip(rem, 0.0, np.nextafter(per_window, 0.0))
    r = np.searchsorted(bounds, rem, side="right")  # bounds[r - 1] <= rem < bounds[r]
    start = np.concatenate(([0.0], bounds[:-1]))[r]
    with np.errstate(divide="ignore"):  # a row of hazard 0 is never hit
        inverse = 1.0 / hazard
    t = np.minimum(((rem - start) * inverse[r]).astype(np.int64), length - 1)
    flat = (w * n_rows + r) * length + t
    if flat.size > 1 and not (flat[1:] >= flat[:-1]).all():  # only from rounding, if ever
        flat.sort()
    return _dedupe_sorted(flat)  # several points in one trial: one success


def _refractory(rng: np.random.Generator, keys: np.ndarray, length: int, dead: int,
                drive: np.ndarray) -> np.ndarray:
    """Keep the spikes of a dead-time process among sorted unique candidate ``keys``.

    ``keys = row * length + t``; row ``row`` is neuron ``row % len(drive)``, whose
    candidates come independently in each bin with probability ``drive[n]``. A candidate
    is kept iff no kept spike of its row lies in the ``dead`` bins before it. Each row
    starts in the stationary state of its chain: silent until bin ``f`` with
    probability ``dead * h / (1 + dead * h)``, ``f`` uniform in ``1 .. dead`` (drawn only
    for rows whose first candidate falls in the first ``dead`` bins, where it matters).
    """
    if keys.size == 0:
        return keys
    row = keys // length
    t = keys - row * length
    n = keys.size
    new_cluster = np.ones(n, np.bool_)  # runs of candidates less than dead + 1 bins apart
    new_cluster[1:] = (row[1:] != row[:-1]) | (t[1:] - t[:-1] > dead)
    starts = np.flatnonzero(new_cluster)
    sizes = np.diff(np.append(starts, n))
    first_of_row = np.ones(starts.size, np.bool_)
    first_of_row[1:] = row[starts[1:]] != row[starts[:-1]]
    init = np.flatnonzero(first_of_row & (t[starts] < dead))
    h = drive[row[starts[init]] % drive.shape[0]]
    busy = rng.random(init.size) < dead * h / (1.0 + dead * h)
    free_from = rng.integers(1, dead + 1, size=init.size)
    # the first candidate of a cluster is kept (no candidate, so no spike, in the dead
    # bins before it) unless its row starts silent; resolve the clusters of several
    # candidates and those starting silent one position at a time
    keep = new_cluster
    silent_start = np.zeros(starts.size, np.bool_)
    silent_start[init[busy]] = True
    clusters = np.flatnonzero((sizes > 1) | silent_start)
    last = np.full(starts.size, -dead - 1, np.int64)  # last kept spike before the cluster
    last[init[busy]] = free_from[busy] - dead - 1  # as if it fired dead + 1 - f bins ago
    for k in range(int(sizes.max())):
        clusters = clusters[sizes[clusters] > k]
        idx = starts[clusters] + k
        kept = t[idx] - last[clusters] > dead
        keep[idx] = kept
        last[clusters] = np.where(kept, t[idx], last[clusters])
    return keys[keep]


def _log_ratios(activation: np.ndarray, q: float) -> np.ndarray:
    """``log R_a``: ``R_a = P(no event from a to i nor j) / P(none to i) P(none to j)``."""
    return np.log1p(-activation * q * (2.0 - q)) - 2.0 * np.log1p(-activation * q)


def assembly_covariance(ground_truth: Mapping[str, Any], lag: int = 0,
                        pairs: tuple[Any, Any] | None = None) -> np.ndarray:
    """Exact ``cov(x_i(t), x_j(t + lag))`` of an :func:`assemblies` dataset.

    Parameters
    ----------
    ground_truth : mapping
        ``SimulatedData.ground_truth`` of :func:`assemblies`, or the ``np.load`` of its
        file (needs ``member_lags``, ``activation_rates``, ``participation``,
        ``expected_rates`` and ``refractory_period``).
    lag : int
        Lag in bins, any sign (``cov(x_i(t), x_j(t + lag))``; ``lag < 0`` is the
        transpose of ``-lag``). Zero beyond ``sequence_length - 1`` (and at every lag
        ``!= 0`` on the diagonal).
    pairs : (array of int, array of int), optional
        Neurons ``i`` and ``j`` of the pairs wanted; default every pair.

    Returns
    -------
    numpy.ndarray
        float64 ``(n_neurons, n_neurons)``, or ``(len(i),)`` for ``pairs``.

    Raises
    ------
    ConfigError
        If the data set has a refractory period (no closed form then).

    Examples
    --------
    >>> sim = assemblies(10, 12, 16, n_assemblies=2, assembly_size=4, sequence_length=4,
    ...                  seed=0)
    >>> gt = sim.ground_truth
    >>> a_members = np.flatnonzero(gt["membership"][0])
    >>> i, j = a_members[np.argsort(gt["member_lags"][0, a_members])[[0, 1]]]  # lags 0, 1
    >>> bool(assembly_covariance(gt, 1, ([i], [j]))[0] > 0)
    True
    >>> float(assembly_covariance(gt, 2, ([i], [j]))[0])  # they do not share lag 2
    0.0
    >>> bool(np.allclose(assembly_covariance(gt, 0), gt["expected_covariance"], atol=1e-8))
    True
    """
    check_param("lag", lag, Integer())
    lag = int(lag)
    if int(ground_truth["refractory_period"]) != 0:
        raise ConfigError("The covariances of an assemblies data set are exact only without "
                          "a refractory period; this one has refractory_period "
                          f"{int(ground_truth['refractory_period'])}.")
    lags = np.asarray(ground_truth["member_lags"], np.int64)
    p = np.asarray(ground_truth["expected_rates"], np.float64)
    log_r = _log_ratios(np.asarray(ground_truth["activation_rates"], np.float64),
                        float(ground_truth["participation"]))
    n_neurons = p.shape[0]
    if pairs is not None:
        i_all, j_all = (np.asarray(x, np.int64).ravel() for x in pairs)
        if i_all.shape != j_all.shape:
            raise ConfigError(f"`pairs` must be two index arrays of one length. Received "
                              f"lengths {i_all.size} and {j_all.size}.")
        out = np.empty(i_all.size)
        for lo in range(0, i_all.size, _PAIR_BLOCK):
            i, j = i_all[lo : lo + _PAIR_BLOCK], j_all[lo : lo + _PAIR_BLOCK]
            li, lj = lags[:, i], lags[:, j]
            shared = (li >= 0) & (lj >= 0) & (lj - li == lag)
            cov = (1.0 - p[i]) * (1.0 - p[j]) * np.expm1(log_r @ shared)
            if lag == 0:
                same = i == j
                cov[same] = p[i[same]] * (1.0 - p[i[same]])
            out[lo : lo + i.size] = cov
        return out
    if lag < 0:
        return assembly_covariance(ground_truth, -lag).T
    n_lags = int(lags.max(initial=-1)) + 1
    g = np.zeros((n_neurons, n_neurons))
    if lag < n_lags:
        # h[a, d, n]: neuron n is the member of assembly a at lag d
        h = (lags[:, None, :] == np.arange(n_lags)[None, :, None]).astype(np.float64)
        x = (h[:, : n_lags - lag] * log_r[:, None, None]).reshape(-1, n_neurons)
        y = h[:, lag:].reshape(-1, n_neurons)
        g = x.T @ y  # sum of log R_a over the assemblies where j is lag bins after i
    cov = np.outer(1.0 - p, 1.0 - p) * np.expm1(g)
    if lag == 0:
        cov[np.diag_indices(n_neurons)] = p * (1.0 - p)
    return cov


def assemblies(
    n_samples: int,
    n_neurons: int = 1000,
    n_bins: int = 64,
    *,
    n_assemblies: int = 40,
    assembly_size: int = 50,
    sequence_length: int = 8,
    activation_rate: float = 0.01,
    participation: float = 0.5,
    background_rate: float = 0.01,
    rate_log_sd: float = 1.0,
    spread: float = 0.5,
    refractory_period: int = 0,
    population_seed: int | None = None,
    seed: int | None,
) -> SimulatedData:
    """A large population in overlapping assemblies firing sequences (see the module docstring).

    Parameters
    ----------
    n_samples, n_neurons, n_bins : int
        Output shape ``(n_samples, n_neurons, n_bins)``.
    n_assemblies : int
        Number of assemblies (0: independent neurons).
    assembly_size : int
        Members per assembly, at most ``n_neurons``; a neuron is in
        ``n_assemblies * assembly_size / n_neurons`` assemblies on average.
    sequence_length : int
        Bins a sequence spans (at most ``n_bins``): member lags ``0 ..
        sequence_length - 1``, about ``assembly_size / sequence_length`` members per lag.
        1: synchronous assemblies.
    activation_rate : float
        Mean probability per bin that an assembly starts its sequence; drawn per
        assembly within ``+-spread`` of it; ``activation_rate * (1 + spread) < 1``.
    participation : float
        Probability that a member fires at its lag when its assembly starts.
    background_rate : float
        Median background firing probability per bin, in ``[0, 0.5]`` (0: none).
    rate_log_sd : float
        Standard deviation of the natural log of the background probabilities, in
        ``[0, 5]`` (log-normal; 1: the middle 95 % span a factor of 50).
    spread : float
        Relative half-width of the activation-rate draws, in ``[0, 1)``.
    refractory_period : int
        Bins of silence after each spike (0: none, and exact covariances).
    population_seed : int, optional
        Seed of the population (rates, memberships, lags); default ``seed``. Same
        ``population_seed``, another ``seed``: held-out windows with the same ground truth.
    seed : int or None
        Seed of the windows (and of the population unless ``population_seed``).

    Returns
    -------
    SimulatedData
        ``spikes`` uint8 ``(n_samples, n_neurons, n_bins)`` and ``ground_truth``:

        - ``membership`` bool ``(n_assemblies, n_neurons)``: ``M[a, n]``, neuron ``n`` is
          in assembly ``a``;
        - ``member_lags`` int32 ``(n_assemblies, n_neurons)``: ``l[a, n]``, the bins from
          an onset of ``a`` to the spike of member ``n``; -1 for non-members;
        - ``activation_rates`` ``(n_assemblies,)``: ``pi_a``, onset probability per bin;
        - ``participation`` (0-d): ``q``; ``refractory_period`` (0-d int): ``d``;
        - ``background_rates`` ``(n_neurons,)``: ``b_n``;
        - ``drive_rates`` ``(n_neurons,)``: ``h_n``, the probability per bin of a spike
          before the refractory period (= ``expected_rates`` for ``d = 0``);
        - ``expected_rates`` ``(n_neurons,)``: exact firing probability per bin, in every
          bin of every window;
        - ``expected_covariance`` float32 ``(n_neurons, n_neurons)``, ``d = 0`` only:
          exact same-bin covariance ``cov(x_i(t), x_j(t))`` (diagonal ``p (1 - p)``);
          other lags from :func:`assembly_covariance`;
        - ``onsets`` int32 ``(n_onsets, 3)``: rows ``(sample, assembly, onset bin)`` of
          every onset whose sequence can reach the window (onset bins ``-(sequence_length
          - 1) .. n_bins - 1``), sorted by sample, bin and assembly.

    Examples
    --------
    >>> sim = assemblies(200, 60, 32, n_assemblies=6, assembly_size=20, seed=0)
    >>> sim.spikes.shape, sim.spikes.dtype.name
    ((200, 60, 32), 'uint8')
    >>> gt = sim.ground_truth
    >>> gt["membership"].sum(axis=1).tolist()
    [20, 20, 20, 20, 20, 20]
    >>> sorted(set(gt["member_lags"][0].tolist()))
    [-1, 0, 1, 2, 3, 4, 5, 6, 7]
    >>> p = gt["expected_rates"]   # exact
    >>> bool(abs(sim.spikes.mean() - p.mean()) < 0.005)
    True

    Held-out windows of the same population:

    >>> held_out = assemblies(200, 60, 32, n_assemblies=6, assembly_size=20, seed=1,
    ...                       population_seed=0)
    >>> bool(np.array_equal(held_out.ground_truth["expected_rates"], p))
    True
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    n_neurons = check_positive_int(n_neurons, "n_neurons")
    n_bins = check_positive_int(n_bins, "n_bins")
    n_assemblies = check_positive_int(n_assemblies, "n_assemblies", minimum=0)
    assembly_size = check_positive_int(assembly_size, "assembly_size")
    sequence_length = check_positive_int(sequence_length, "sequence_length")
    activation_rate = _prob(activation_rate, "activation_rate", allow_zero=True)
    participation = _prob(participation, "participation", allow_zero=True)
    check_param("background_rate", background_rate,
                Real(min=0, max=_MAX_BACKGROUND, kind="a probability"))
    background_rate = float(background_rate)
    check_param("rate_log_sd", rate_log_sd, Real(min=0, max=5))
    rate_log_sd = float(rate_log_sd)
    spread = _spread(spread)
    d = check_positive_int(refractory_period, "refractory_period", minimum=0)
    seed = check_seed(seed)
    population_seed = check_seed(population_seed, "population_seed")
    if assembly_size > n_neurons:
        raise RuleError(f"{{assembly_size}} ({assembly_size}) must be at most {{n_neurons}} "
                        f"({n_neurons}).", ("assembly_size", "n_neurons"))
    if sequence_length > n_bins:
        raise RuleError(f"{{sequence_length}} ({sequence_length}) must be at most {{n_bins}} "
                        f"({n_bins}).", ("sequence_length", "n_bins"))
    if activation_rate * (1 + spread) >= 1:
        raise RuleError(f"{{activation_rate}} * (1 + {{spread}}) must be < 1 so that every "
                        f"activation probability is below 1. Received {activation_rate} and "
                        f"{spread}.", ("activation_rate", "spread"))

    # population and windows from independent streams (as in `tuned`): the population
    # does not depend on n_samples; population_seed fixes it while seed draws new windows
    pop_ss, win_ss = np.random.SeedSequence(seed).spawn(2)
    if population_seed is not None:
        pop_ss = np.random.SeedSequence(population_seed).spawn(2)[0]
    pop_rng, rng = np.random.default_rng(pop_ss), np.random.default_rng(win_ss)

    n_a, size, n_lags = n_assemblies, assembly_size, sequence_length
    background = np.minimum(
        background_rate * np.exp(rate_log_sd * pop_rng.standard_normal(n_neurons)),
        _MAX_BACKGROUND)
    # members of each assembly in sequence order, and the lag of the k-th member
    members = np.argsort(pop_rng.random((n_a, n_neurons)), axis=1)[:, :size]  # (A, S)
    seq_lags = (np.arange(size) * n_lags) // size  # (S,)
    activation = _draw_around(pop_rng, activation_rate, spread, n_a)
    rows = np.arange(n_a)[:, None]
    membership = np.zeros((n_a, n_neurons), np.bool_)
    membership[rows, members] = True
    member_lags = np.full((n_a, n_neurons), -1, np.int32)
    member_lags[rows, members] = seq_lags

    q = participation
    log_silent = (np.log1p(-background)
                  + membership.T.astype(np.float64) @ np.log1p(-activation * q))
    drive = -np.expm1(log_silent)  # h_n
    expected = drive / (1.0 + d * drive)

    burn = _BURN_IN * d  # refractory burn-in (candidate bins before the window)
    n_cand = n_bins + burn  # candidate bins per window: burn-in + window
    n_on = n_cand + n_lags - 1  # onset bins: n_lags - 1 more before
    hazard_bg = -np.log1p(-background)
    hazard_on = -np.log1p(-activation)
    spikes = np.zeros((n_samples, n_neurons, n_bins), np.uint8)
    onset_rows = []
    chunk = max(1, (_CHUNK_ELEMENTS * _CHUNK_FACTOR) // (n_neurons * n_cand))
    for lo in range(0, n_samples, chunk):
        m = min(chunk, n_samples - lo)
        flat = spikes[lo : lo + m].reshape(-1)  # a view: (w * N + n) * n_bins + t
        background_keys = _bernoulli_successes(rng, hazard_bg, m, n_cand)
        onsets = _bernoulli_successes(rng, hazard_on, m, n_on)
        w_on, rest = np.divmod(onsets, n_a * n_on)
        a_on, i_on = np.divmod(rest, n_on)
        # member k of the assembly fires in candidate bin i - (n_lags - 1) + lag_k w.p. q
        t_member = i_on[:, None] - (n_lags - 1) + seq_lags  # (E, S)
        fire = (t_member >= 0) & (t_member < n_cand)
        if q < 1:
            fire &= rng.random(t_member.shape) < q
        member_keys = ((w_on[:, None] * n_neurons + members[a_on]) * n_cand + t_member)[fire]
        if d == 0:  # candidate bins are the window's bins
            flat[background_keys] = 1
            flat[member_keys] = 1
        else:
            keys = np.concatenate([background_keys, member_keys])
            keys.sort()
            keys = _refractory(rng, _dedupe_sorted(keys), n_cand, d, drive)
            row = keys // n_cand
            t = keys - row * n_cand
            inside = t >= burn
            flat[row[inside] * n_bins + (t[inside] - burn)] = 1
        s_on = i_on - (burn + n_lags - 1)  # onset bin relative to the window
        reach = s_on >= -(n_lags - 1)
        table = np.stack([w_on[reach] + lo, a_on[reach], s_on[reach]], axis=1)
        onset_rows.append(table[np.lexsort((table[:, 1], table[:, 2], table[:, 0]))])
    onset_table = np.concatenate(onset_rows).astype(np.int32)

    params = {
        "n_samples": n_samples,
        "n_neurons": n_neurons,
        "n_bins": n_bins,
        "n_assemblies": n_a,
        "assembly_size": size,
        "sequence_length": n_lags,
        "activation_rate": activation_rate,
        "participation": participation,
        "background_rate": background_rate,
        "rate_log_sd": rate_log_sd,
        "spread": spread,
        "refractory_period": d,
        "population_seed": population_seed,
        "seed": seed,
    }
    truth: dict[str, np.ndarray] = {
        "membership": membership,
        "member_lags": member_lags,
        "activation_rates": activation,
        "participation": np.array(q),
        "refractory_period": np.array(d, np.int64),
        "background_rates": background,
        "drive_rates": drive,
        "expected_rates": expected,
        "onsets": onset_table,
    }
    if d == 0:
        truth["expected_covariance"] = assembly_covariance(truth, 0).astype(np.float32)
    return SimulatedData(spikes, "assemblies", params, truth)

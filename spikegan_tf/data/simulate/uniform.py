"""The paper's ``uniform`` dataset: neurons with uniform firing probabilities, a refractory
period and correlated groups, with the exact stationary statistics of the output.
"""

from __future__ import annotations

import math

import numpy as np

from spikegan_tf.data.simulate.base import (
    _CHUNK_ELEMENTS,
    SimulatedData,
    _common,
    _draw_around,
    _fire,
    _prob,
    _spread,
    _stationary_next_free,
    _store,
)
from spikegan_tf.params import RuleError
from spikegan_tf.validation import check_positive_int

__all__ = ["uniform", "uniform_group_statistics"]


# ----------------------------------------------------------------------------- uniform


def uniform_group_statistics(
    rate: float, correlation: float, refractory_period: int
) -> tuple[float, float]:
    """Exact stationary firing probability and same-bin correlation of a ``uniform`` group.

    Solves the Markov chain of (reference train, neuron i, neuron j)
    refractory countdowns, ``(refractory_period + 1) ** 3`` states.

    Returns
    -------
    rate : float
        Probability that a neuron of the group fires in a bin.
    correlation : float
        Pearson correlation of two neurons of the group in the same bin.

    Examples
    --------
    >>> r, c = uniform_group_statistics(0.2, 0.5, 0)   # no refractory period: exact
    >>> round(r, 12), round(c, 12)
    (0.2, 0.5)
    >>> r, c = uniform_group_statistics(0.2, 0.5, 2)
    >>> bool(r < 0.2)
    True
    """
    d = int(refractory_period)
    q = math.sqrt(correlation)
    n = d + 1
    n_states = n**3
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    p_i = np.zeros(n_states)  # P(neuron i fires | state)
    p_ij = np.zeros(n_states)  # P(both fire | state)

    def nxt(c: int, fired: bool) -> int:
        return d if fired else max(c - 1, 0)

    for a in range(n):
        for b in range(n):
            for c in range(n):
                s = (a * n + b) * n + c
                for m, pm in ((1, rate if a == 0 else 0.0), (0, 1.0 - rate if a == 0 else 1.0)):
                    if pm == 0.0:
                        continue
                    p_raw = q * m + (1.0 - q) * rate
                    pi = p_raw if b == 0 else 0.0
                    pj = p_raw if c == 0 else 0.0
                    p_i[s] += pm * pi
                    p_ij[s] += pm * pi * pj
                    for xi, wi in ((1, pi), (0, 1.0 - pi)):
                        for xj, wj in ((1, pj), (0, 1.0 - pj)):
                            w = pm * wi * wj
                            if w:
                                t = (nxt(a, m == 1) * n + nxt(b, xi == 1)) * n + nxt(c, xj == 1)
                                rows.append(s)
                                cols.append(t)
                                vals.append(w)
    # stationary distribution: pi (T - I) = 0 with one equation replaced by sum(pi) = 1;
    # sparse (at most 8 successors per state), so no threaded BLAS on a dense matrix
    import scipy.sparse
    import scipy.sparse.linalg

    # duplicates (same s, t) are summed by coo -> csc
    trans_t = scipy.sparse.coo_matrix((vals, (cols, rows)), shape=(n_states, n_states))
    lhs = (trans_t.tocsc() - scipy.sparse.identity(n_states, format="csc")).tolil()
    lhs[n_states - 1, :] = 1.0
    rhs = np.zeros(n_states)
    rhs[-1] = 1.0
    pi = scipy.sparse.linalg.spsolve(lhs.tocsc(), rhs)
    mu = float(pi @ p_i)
    both = float(pi @ p_ij)
    var = mu * (1.0 - mu)
    corr = (both - mu * mu) / var if var > 0 else 0.0
    return mu, corr


def uniform(
    n_samples: int,
    n_neurons: int = 16,
    n_bins: int = 32,
    *,
    group_size: int = 4,
    firing_rate: float = 0.25,
    correlation: float = 0.9,
    refractory_period: int = 2,
    spread: float = 0.5,
    shuffle_neurons: bool = True,
    burn_in: int | None = None,
    seed: int | None,
) -> SimulatedData:
    """The paper's ``uniform`` dataset: correlated groups with a refractory period.

    Parameters
    ----------
    n_samples, n_neurons, n_bins : int
        Output shape ``(n_samples, n_neurons, n_bins)``.
    group_size : int
        Neurons per correlated group. When ``n_neurons`` is not a multiple of
        it, the last group is smaller (the remainder; a group of one neuron is
        an independent neuron), as ``ground_truth["group_sizes"]`` says.
    firing_rate : float
        Mean firing probability per bin (before the refractory period).
    correlation : float
        Mean within-group correlation parameter (``c_g``; ``sqrt(c_g)`` is the
        probability of copying the group's reference train in a bin).
    refractory_period : int
        Bins of silence after each spike (0: none).
    spread : float
        Relative half-width of the uniform draws of ``r_g`` and ``c_g`` around
        their means (0.5 in the paper).
    shuffle_neurons : bool
        Shuffle the neuron order (as in the paper), so groups are not adjacent.
    burn_in : int, optional
        Bins simulated and discarded before each window so that it starts in
        the stationary state. Default ``8 * (refractory_period + 1)`` (0 when
        there is no refractory period).
    seed : int or None
        Seed of ``np.random.default_rng``.

    Returns
    -------
    SimulatedData
        ``ground_truth`` holds ``neuron_order`` (output neuron ``i`` is
        simulated neuron ``neuron_order[i]``), ``group`` (group of each output
        neuron), ``group_sizes`` (neurons per group), ``group_rates`` and
        ``group_correlations`` (drawn parameters per group), ``expected_rates``
        and ``expected_correlations`` (exact stationary firing probability per
        bin and same-bin correlation of a group's neurons, see
        :func:`uniform_group_statistics`; NaN for a group of one neuron, which
        has no pair).

    Examples
    --------
    >>> sim = uniform(100, 8, 32, group_size=4, seed=0)
    >>> sim.spikes.shape, sim.ground_truth["group"].shape
    ((100, 8, 32), (8,))
    >>> uniform(10, 10, 8, group_size=4, seed=0).ground_truth["group_sizes"].tolist()
    [4, 4, 2]
    """
    n_samples, n_neurons, n_bins, d, seed = _common(
        n_samples, n_neurons, n_bins, refractory_period, seed
    )
    group_size = check_positive_int(group_size, "group_size")
    if group_size > n_neurons:
        raise RuleError(f"{{group_size}} ({group_size}) must be at most {{n_neurons}} "
                        f"({n_neurons}).", ("group_size", "n_neurons"))
    firing_rate = _prob(firing_rate, "firing_rate")
    correlation = _prob(correlation, "correlation", allow_zero=True)
    spread = _spread(spread)
    if firing_rate * (1 + spread) > 1:
        raise RuleError(f"{{firing_rate}} * (1 + {{spread}}) must be <= 1 so that every drawn "
                        f"rate is a probability. Received {firing_rate} and {spread}.",
                        ("firing_rate", "spread"))
    if burn_in is None:
        burn_in = 8 * (d + 1) if d else 0
    burn_in = check_positive_int(burn_in, "burn_in", minimum=0)

    rng = np.random.default_rng(seed)
    # full groups, then the remainder (if any) as a smaller last group
    sizes = [group_size] * (n_neurons // group_size) + (
        [n_neurons % group_size] if n_neurons % group_size else [])
    n_groups = len(sizes)
    rates = _draw_around(rng, firing_rate, spread, n_groups)
    corrs = np.clip(_draw_around(rng, correlation, spread, n_groups), 0.0, 1.0)
    order = rng.permutation(n_neurons) if shuffle_neurons else np.arange(n_neurons)

    group_sim = np.repeat(np.arange(n_groups), sizes)  # group of each simulated neuron
    # A neuron copies the reference bin with probability q = sqrt(c), else fires with
    # probability r: given the reference bin, it fires with probability q + (1 - q) r
    # (reference spike) or (1 - q) r (none), one uniform draw per neuron and bin.
    q = np.sqrt(corrs)
    p_if_ref = (q + (1.0 - q) * rates)[group_sim, None].astype(np.float32)
    p_if_not = ((1.0 - q) * rates)[group_sim, None].astype(np.float32)
    r_g = rates[:, None].astype(np.float32)

    # arrays are (units, samples) so that each comparison uses one threshold per row
    spikes = np.empty((n_samples, n_neurons, n_bins), np.uint8)
    chunk = max(1, _CHUNK_ELEMENTS // n_neurons)
    for lo in range(0, n_samples, chunk):
        m = min(chunk, n_samples - lo)
        free_ref = _stationary_next_free(rng, rates[:, None], d, (n_groups, m))
        free = _stationary_next_free(rng, rates[group_sim, None], d, (n_neurons, m))
        buf = np.empty((n_bins, n_neurons, m), np.bool_)
        for t in range(burn_in + n_bins):
            ref = rng.random((n_groups, m), dtype=np.float32) < r_g
            if d:
                ref &= free_ref <= t
                _fire(free_ref, ref, t, d)
            u = rng.random((n_neurons, m), dtype=np.float32)
            spk = (u < p_if_not) | (ref[group_sim] & (u < p_if_ref))
            if d:
                spk &= free <= t
                _fire(free, spk, t, d)
            if t >= burn_in:
                buf[t - burn_in] = spk
        _store(spikes, lo, buf, order)

    expected = [uniform_group_statistics(r, c, d) for r, c in zip(rates, corrs, strict=True)]
    params = {
        "n_samples": n_samples,
        "n_neurons": n_neurons,
        "n_bins": n_bins,
        "group_size": group_size,
        "firing_rate": firing_rate,
        "correlation": correlation,
        "refractory_period": d,
        "spread": spread,
        "shuffle_neurons": bool(shuffle_neurons),
        "burn_in": burn_in,
        "seed": seed,
    }
    truth = {
        "neuron_order": order.astype(np.int64),
        "group": group_sim[order].astype(np.int64),
        "group_rates": rates,
        "group_correlations": corrs,
        "expected_rates": np.array([e[0] for e in expected]),
        "expected_correlations": np.array([e[1] if size > 1 else np.nan
                                           for e, size in zip(expected, sizes, strict=True)]),
        "group_sizes": np.array(sizes, np.int64),
    }
    return SimulatedData(spikes, "uniform", params, truth)

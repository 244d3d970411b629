"""The paper's simulated datasets, seeded and vectorised, with their ground truth.

Two datasets of Molano-Mazon et al. (ICLR 2018), following the reference code
(manuelmolano/Spike-GAN, ``tflib/sim_pop_activity.py``):

``uniform``
    Neurons in groups of ``group_size``. Each group ``g`` has a firing
    probability ``r_g`` and a correlation ``c_g`` drawn uniformly within
    ``±spread`` (relative) of ``firing_rate`` and ``correlation``. Each group
    has a reference spike train (Bernoulli ``r_g`` per bin, refractory); in
    every bin each neuron copies the reference with probability
    ``sqrt(c_g)`` and otherwise fires on its own with probability ``r_g``;
    then the refractory period is imposed. Neuron order is shuffled.
``packets``
    Background firing (Bernoulli per bin, probability drawn within ``±spread``
    of ``firing_rate`` per neuron, refractory) plus *packets*: ``group_size``
    neurons firing in sequence, one per bin. With ``n_modes=1``, the neurons
    form ``n_neurons // group_size`` packet sets and each set starts a packet
    with probability ``packet_prob`` in any bin where it is free (packets of a
    set do not overlap); with ``n_modes=2``, each sample holds exactly one
    packet, from the first ``group_size`` neurons in order or the last
    ``group_size`` neurons in reverse order, with probability 1/2 each (the
    two sets overlap when ``2 * group_size > n_neurons``). Neuron order is
    shuffled.

Deliberate differences from the reference code, all documented in the ground
truth: the refractory period is *hard* (after a spike a neuron is silent for
``refractory_period`` bins; the reference removed close spikes at random, so
violations remained), it also holds around packet spikes (a background spike
is not drawn within ``refractory_period`` bins of a packet spike of the same
neuron), packets fit in the window (onsets ``0 .. n_bins - group_size``), and
the start of each window is drawn from the stationary state of the process
instead of a random history of ``2 * n_bins`` bins. Correlations drawn above 1
are clipped to 1.

Default parameters are the reference code's command-line defaults
(``main_conv.py``: ``firing_rate=0.25``, ``correlation=0.9``, ``group_size=4``,
``refractory_period=2``, ``packet_prob=0.05``) with 16 neurons x 32 bins.

Rates given as parameters are probabilities per bin *before* the refractory
period removes spikes, as in the paper; the ground truth also holds the exact
stationary statistics of the output (``expected_rates``,
``expected_correlations``, ``expected_packets_per_sample``), computed from the
Markov chain of the process, which is what the samples should show.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf._atomic import atomic_path
from spikegan_tf.errors import ConfigError
from spikegan_tf.validation import check_positive_int, check_seed

__all__ = ["SimulatedData", "uniform", "packets", "uniform_group_statistics"]

# rows (samples x neurons) simulated per chunk: bounds memory, keeps numpy calls large
_CHUNK_ELEMENTS = 1 << 20
FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class SimulatedData:
    """Simulated spikes and the ground truth they were drawn from.

    Attributes
    ----------
    spikes : numpy.ndarray
        ``uint8`` windows ``(n_samples, n_neurons, n_bins)``, or a raster
        ``(n_time_bins, n_neurons)`` (``states``).
    dataset : {"uniform", "packets", "states"}
        Which simulator produced them.
    params : dict
        The arguments of the call (JSON-serialisable scalars).
    ground_truth : dict of str to numpy.ndarray
        Numeric arrays, neuron indices in the (shuffled) order of ``spikes``:
        see :func:`uniform` and :func:`packets`.

    Examples
    --------
    >>> sim = uniform(8, 4, 16, group_size=2, seed=0)
    >>> sim.spikes.shape, sorted(sim.ground_truth)[:3]
    ((8, 4, 16), ['expected_correlations', 'expected_rates', 'group'])
    """

    spikes: np.ndarray
    dataset: str
    params: dict[str, Any] = field(default_factory=dict)
    ground_truth: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def packet_mask(self) -> np.ndarray | None:
        """``uint8`` mask of the packet spikes (packets dataset), else None."""
        return self.ground_truth.get("packet_mask")

    @property
    def n_neurons(self) -> int:
        """Number of neurons."""
        return int(self.spikes.shape[-1] if self.spikes.ndim == 2 else self.spikes.shape[1])

    def metadata(self) -> dict[str, Any]:
        """Dataset name, parameters and format version, as saved in the ``metadata`` entry."""
        return {
            "format": "spikegan_tf.data.simulate",
            "format_version": FORMAT_VERSION,
            "dataset": self.dataset,
            "params": self.params,
            "layout": ("spikes: raster (n_time_bins, n_neurons) uint8" if self.spikes.ndim == 2
                       else "spikes: (n_samples, n_neurons, n_bins) uint8"),
        }

    def save(self, path: str | os.PathLike[str], *, compress: bool = True) -> Path:
        """Write an ``.npz`` with ``spikes``, every ground-truth array and ``metadata``.

        ``metadata`` is a 0-d string array holding JSON (no pickle anywhere);
        read it back with ``json.loads(str(np.load(path)["metadata"]))``. The
        file is written atomically (temporary file, then rename).

        Examples
        --------
        >>> import tempfile, os
        >>> p = uniform(4, 4, 8, group_size=2, seed=1).save(
        ...     os.path.join(tempfile.mkdtemp(), "u.npz"))
        >>> sorted(np.load(p))[:4]
        ['expected_correlations', 'expected_rates', 'group', 'group_correlations']
        """
        path = Path(path)
        if path.suffix != ".npz":
            raise ConfigError(f"The output file must end in .npz. Received '{path}'.")
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"spikes": self.spikes, **self.ground_truth}
        arrays["metadata"] = np.array(json.dumps(self.metadata()))
        writer = np.savez_compressed if compress else np.savez
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            writer(fh, **arrays)
        return path


# ----------------------------------------------------------------------------- checks


def _prob(value: Any, name: str, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"`{name}` must be a probability. Received {value!r}.") from None
    low_ok = v >= 0 if allow_zero else v > 0
    if not (math.isfinite(v) and low_ok and v <= 1):
        rng = "[0, 1]" if allow_zero else "(0, 1]"
        raise ConfigError(f"`{name}` must be a probability in {rng}. Received {value!r}.")
    return v


def _spread(spread: Any) -> float:
    try:
        v = float(spread)
    except (TypeError, ValueError):
        v = float("nan")
    if not (math.isfinite(v) and 0 <= v < 1):
        raise ConfigError(f"`spread` must be in [0, 1). Received {spread!r}.")
    return v


def _common(n_samples: Any, n_neurons: Any, n_bins: Any, refractory_period: Any, seed: Any):
    n_samples = check_positive_int(n_samples, "n_samples")
    n_neurons = check_positive_int(n_neurons, "n_neurons")
    n_bins = check_positive_int(n_bins, "n_bins")
    refractory_period = check_positive_int(refractory_period, "refractory_period", minimum=0)
    seed = check_seed(seed)
    return n_samples, n_neurons, n_bins, refractory_period, seed


def _draw_around(rng: np.random.Generator, mean: float, spread: float, size: int) -> np.ndarray:
    """Uniform in ``[mean * (1 - spread), mean * (1 + spread)]`` (the paper's ``±50 %``)."""
    return mean * (1.0 + spread * (2.0 * rng.random(size) - 1.0))


def _stationary_next_free(
    rng: np.random.Generator, hazard: Any, dead: int, shape: tuple[int, ...]
) -> np.ndarray:
    """First bin (from bin 0) where a dead-time process may fire, in its stationary state.

    A process that fires with probability ``h`` when free and is then silent
    for ``dead`` bins is free with probability ``1 / (1 + dead * h)`` and
    otherwise in one of its ``dead`` silent bins, uniformly.
    """
    if dead == 0:
        return np.zeros(shape, np.int32)
    h = np.broadcast_to(hazard, shape)
    busy = rng.random(shape) < (dead * h) / (1.0 + dead * h)
    left = rng.integers(1, dead + 1, size=shape, dtype=np.int32)
    return np.where(busy, left, 0).astype(np.int32)


def _store(out: np.ndarray, lo: int, buf: np.ndarray, order: np.ndarray) -> None:
    """Write ``buf`` (bins, neurons, samples) into ``out[lo:]`` (samples, neurons, bins).

    Transposed in blocks of samples that fit in cache (10x faster than one transpose).
    """
    block = 1024
    for s in range(0, buf.shape[2], block):
        out[lo + s : lo + s + block] = buf[:, order, s : s + block].transpose(2, 1, 0)


def _fire(next_free: np.ndarray, spk: np.ndarray, t: int, dead: int) -> None:
    """Record spikes in bin ``t`` (in place): those units are silent until ``t + dead``."""
    # a unit that fires was free (next_free <= t), so the maximum sets it to t + dead + 1
    np.maximum(next_free, np.multiply(spk, t + dead + 1, dtype=np.int32), out=next_free)


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
        raise ConfigError(
            f"`group_size` ({group_size}) must be at most `n_neurons` ({n_neurons})."
        )
    firing_rate = _prob(firing_rate, "firing_rate")
    correlation = _prob(correlation, "correlation", allow_zero=True)
    spread = _spread(spread)
    if firing_rate * (1 + spread) > 1:
        raise ConfigError(
            f"`firing_rate` * (1 + spread) must be <= 1 so that every drawn rate is a "
            f"probability. Received firing_rate={firing_rate}, spread={spread}."
        )
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


# ----------------------------------------------------------------------------- packets


def packets(
    n_samples: int,
    n_neurons: int = 16,
    n_bins: int = 32,
    *,
    group_size: int = 4,
    packet_prob: float | None = None,
    firing_rate: float = 0.25,
    refractory_period: int = 2,
    n_modes: int = 1,
    spread: float = 0.5,
    shuffle_neurons: bool = True,
    seed: int | None,
) -> SimulatedData:
    """The paper's ``packets`` dataset: background firing plus sequences of spikes.

    Parameters
    ----------
    n_samples, n_neurons, n_bins : int
        Output shape ``(n_samples, n_neurons, n_bins)``.
    group_size : int
        Neurons per packet (a packet lasts ``group_size`` bins, neuron ``k``
        of the set firing in bin ``onset + k``); at most ``n_neurons`` and
        ``n_bins``.
    packet_prob : float, optional
        ``n_modes=1`` only (default 0.05): probability that a packet set
        starts a packet in a bin where it is free, i.e. more than
        ``max(group_size, refractory_period)`` bins after its last onset.
    firing_rate : float
        Mean background firing probability per bin (before the refractory
        period); per-neuron rates are drawn within ``±spread`` of it.
    refractory_period : int
        Bins of silence after every spike, packet spikes included.
    n_modes : {1, 2}
        1: every set of ``group_size`` consecutive (simulated) neurons fires
        packets at random times. 2: one packet per sample, from one of two
        sets chosen with probability 1/2 (the "stimulus" of the paper).
    spread : float
        Relative half-width of the background rate draws.
    shuffle_neurons : bool
        Shuffle the neuron order (as in the paper).
    seed : int or None
        Seed of ``np.random.default_rng``.

    Returns
    -------
    SimulatedData
        ``ground_truth`` holds ``neuron_order``, ``firing_rates`` (background
        probability of each output neuron), ``packet_mask`` (``uint8``, same
        shape as ``spikes``, 1 exactly on the packet spikes; every other spike
        is background), ``packet_neurons`` ``(n_sets, group_size)`` (output
        neurons of each packet set in firing order), ``packet_onsets``
        ``(n_packets, 3)`` rows ``(sample, set, onset_bin)``,
        ``expected_packets_per_sample`` (mean number of packets of one set in
        a window, exact) and, for ``n_modes=2``, ``packet_mode`` (set used by
        each sample).

    Examples
    --------
    >>> sim = packets(50, 8, 16, group_size=4, packet_prob=0.1, seed=0)
    >>> mask = sim.packet_mask
    >>> bool((mask <= sim.spikes).all())
    True
    >>> sim.ground_truth["packet_neurons"].shape
    (2, 4)
    """
    n_samples, n_neurons, n_bins, d, seed = _common(
        n_samples, n_neurons, n_bins, refractory_period, seed
    )
    group_size = check_positive_int(group_size, "group_size")
    if group_size > n_neurons or group_size > n_bins:
        raise ConfigError(
            f"`group_size` ({group_size}) must be at most `n_neurons` ({n_neurons}) and "
            f"`n_bins` ({n_bins}): a packet spans group_size neurons and bins."
        )
    if n_modes not in (1, 2) or isinstance(n_modes, bool):
        raise ConfigError(f"`n_modes` must be 1 or 2. Received {n_modes!r}.")
    if n_modes == 2 and packet_prob is not None:
        raise ConfigError(
            "`packet_prob` applies to n_modes=1; with n_modes=2 every sample holds exactly "
            "one packet. Remove packet_prob."
        )
    if n_modes == 1:
        packet_prob = _prob(0.05 if packet_prob is None else packet_prob, "packet_prob",
                            allow_zero=True)  # fmt: skip
    firing_rate = _prob(firing_rate, "firing_rate", allow_zero=True)
    spread = _spread(spread)
    if firing_rate * (1 + spread) > 1:
        raise ConfigError(
            f"`firing_rate` * (1 + spread) must be <= 1. Received firing_rate={firing_rate}, "
            f"spread={spread}."
        )

    rng = np.random.default_rng(seed)
    rates = _draw_around(rng, firing_rate, spread, n_neurons)  # per simulated neuron
    order = rng.permutation(n_neurons) if shuffle_neurons else np.arange(n_neurons)
    inverse = np.argsort(order)
    last_onset = n_bins - group_size
    dead_sets = max(group_size, d)

    if n_modes == 1:
        n_sets = n_neurons // group_size
        sets_sim = np.arange(n_sets * group_size).reshape(n_sets, group_size)
    else:
        n_sets = 2
        sets_sim = np.stack([np.arange(group_size), n_neurons - 1 - np.arange(group_size)])

    spikes = np.empty((n_samples, n_neurons, n_bins), np.uint8)
    mask = np.empty((n_samples, n_neurons, n_bins), np.uint8)
    onset_rows = []
    modes = np.empty(n_samples, np.int8) if n_modes == 2 else None
    r32 = rates[:, None].astype(np.float32)
    chunk = max(1, _CHUNK_ELEMENTS // n_neurons)
    for lo in range(0, n_samples, chunk):
        m = min(chunk, n_samples - lo)
        pk = np.zeros((n_bins, n_neurons, m), np.bool_)  # packet spikes (time, neuron, sample)
        if n_modes == 1:
            onsets = np.zeros((n_bins, n_sets, m), np.bool_)
            free = _stationary_next_free(rng, packet_prob, dead_sets, (n_sets, m))
            for t in range(last_onset + 1):
                on = rng.random((n_sets, m), dtype=np.float32) < packet_prob
                on &= free <= t
                _fire(free, on, t, dead_sets)
                onsets[t] = on
            for k in range(group_size):
                pk[k : last_onset + 1 + k, sets_sim[:, k], :] = onsets[: last_onset + 1]
            t_idx, set_idx, s_idx = np.nonzero(onsets)
        else:
            onset = rng.integers(0, last_onset + 1, size=m)
            mode = (rng.random(m) < 0.5).astype(np.int8)
            modes[lo : lo + m] = mode
            rows = np.arange(m)
            for k in range(group_size):
                pk[onset + k, sets_sim[mode, k], rows] = True
            t_idx, s_idx, set_idx = onset, rows, mode.astype(np.int64)
        onset_rows.append(np.stack([s_idx + lo, set_idx, t_idx], axis=1))

        # background: no spike within d bins before a packet spike (or on it)
        blocked = pk.copy()
        for j in range(1, d + 1):
            blocked[:-j] |= pk[j:]
        free = _stationary_next_free(rng, rates[:, None], d, (n_neurons, m))
        buf = np.empty((n_bins, n_neurons, m), np.bool_)
        for t in range(n_bins):
            spk = rng.random((n_neurons, m), dtype=np.float32) < r32
            spk &= ~blocked[t]
            if d:
                spk &= free <= t
            spk |= pk[t]
            if d:
                _fire(free, spk, t, d)
            buf[t] = spk
        _store(spikes, lo, buf, order)
        _store(mask, lo, pk, order)

    onset_table = np.concatenate(onset_rows).astype(np.int64)
    onset_table = onset_table[np.lexsort((onset_table[:, 2], onset_table[:, 1], onset_table[:, 0]))]
    if n_modes == 1:
        h = packet_prob
        expected = (last_onset + 1) * h / (1.0 + dead_sets * h)
    else:
        expected = 0.5
    params = {
        "n_samples": n_samples,
        "n_neurons": n_neurons,
        "n_bins": n_bins,
        "group_size": group_size,
        "packet_prob": packet_prob,
        "firing_rate": firing_rate,
        "refractory_period": d,
        "n_modes": n_modes,
        "spread": spread,
        "shuffle_neurons": bool(shuffle_neurons),
        "seed": seed,
    }
    truth = {
        "neuron_order": order.astype(np.int64),
        "firing_rates": rates[order],
        "packet_mask": mask,
        "packet_neurons": inverse[sets_sim].astype(np.int64),
        "packet_onsets": onset_table,
        "expected_packets_per_sample": np.array(expected),
    }
    if modes is not None:
        truth["packet_mode"] = modes
    return SimulatedData(spikes, "packets", params, truth)

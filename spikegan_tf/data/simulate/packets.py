"""The paper's ``packets`` dataset: background activity plus packets, sequences of spikes of
a group of neurons, with the packets' positions as ground truth.
"""

from __future__ import annotations

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
from spikegan_tf.params import Options, RuleError, check_param
from spikegan_tf.validation import check_positive_int

__all__ = ["packets"]


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
        raise RuleError(
            f"{{group_size}} ({group_size}) must be at most {{n_neurons}} ({n_neurons}) and "
            f"{{n_bins}} ({n_bins}): a packet spans group_size neurons and bins.",
            ("group_size", "n_neurons", "n_bins"))
    check_param("n_modes", n_modes, Options(1, 2))
    if n_modes == 2 and packet_prob is not None:
        raise RuleError("{packet_prob} applies to {n_modes} 1; with {n_modes} 2 every sample "
                        "holds exactly one packet. Remove {packet_prob}.",
                        ("packet_prob", "n_modes"))
    if n_modes == 1:
        packet_prob = _prob(0.05 if packet_prob is None else packet_prob, "packet_prob",
                            allow_zero=True)  # fmt: skip
    firing_rate = _prob(firing_rate, "firing_rate", allow_zero=True)
    spread = _spread(spread)
    if firing_rate * (1 + spread) > 1:
        raise RuleError(f"{{firing_rate}} * (1 + {{spread}}) must be <= 1. Received "
                        f"{firing_rate} and {spread}.", ("firing_rate", "spread"))

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

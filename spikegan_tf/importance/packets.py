"""Packet recovery (paper, figure 4): threshold the maps, align each sample's supra-threshold map
to its first supra-threshold bin, average, and cluster the neurons of one or more packet types.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from spikegan_tf.data import as_windows
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.validation import check_positive_int, check_seed

__all__ = ["PacketRecovery", "recover_packets"]


# --------------------------------------------------------------------------- packet recovery


@dataclass(frozen=True)
class PacketRecovery:
    """Packets recovered from importance maps (see :func:`recover_packets`).

    Attributes
    ----------
    threshold : float
        Importance threshold (the ``percentile`` of the maps' values at spikes).
    aligned : numpy.ndarray
        ``(n, neurons, bins)`` float32 supra-threshold maps, each shifted so
        that its first supra-threshold bin is bin 0 (zeros for samples without one).
    detected : numpy.ndarray
        ``(n,)`` bool, samples with at least one supra-threshold spike.
    average : numpy.ndarray
        ``(neurons, bins)`` mean of ``aligned`` over the detected samples: the
        packet's neurons and temporal shape (figure 4 of the paper).
    labels : numpy.ndarray
        ``(n,)`` packet type of each sample (0 when ``n_modes=1``), -1 for a
        sample without a supra-threshold spike (nothing detected to classify).
    mode_averages : numpy.ndarray
        ``(n_modes, neurons, bins)`` the average per packet type.
    neuron_importance : numpy.ndarray
        ``(n_modes, neurons)`` mean importance of a neuron's spikes in the
        samples of each type (0 for a neuron without spikes there).
    neuron_frequency : numpy.ndarray
        ``(n_modes, neurons)`` fraction of a type's samples in which the neuron
        has a supra-threshold spike.
    neuron_sets : tuple of numpy.ndarray
        Recovered neurons (sorted indices) of each packet type.
    """

    threshold: float
    aligned: np.ndarray
    detected: np.ndarray
    average: np.ndarray
    labels: np.ndarray
    mode_averages: np.ndarray
    neuron_importance: np.ndarray
    neuron_frequency: np.ndarray
    neuron_sets: tuple[np.ndarray, ...]


def recover_packets(
    maps: Any,
    spikes: Any,
    *,
    percentile: float = 95.0,
    n_modes: int = 1,
    seed: int | None = None,
) -> PacketRecovery:
    """Threshold, align and average importance maps to recover packets.

    1. The threshold is the ``percentile`` of the importance of all spikes;
       importance below it is set to 0 (as in the reference code).
    2. Each sample's thresholded map is shifted left so that its first
       supra-threshold bin becomes bin 0 (zero-padded on the right); their
       average shows the packet's neurons and temporal order.
    3. With ``n_modes > 1`` the samples with a supra-threshold spike are
       grouped into packet types by k-means on each neuron's largest importance
       in the sample; the others are labelled -1.
    4. For each type, the neurons whose spikes carry a high mean importance
       form the packet: Otsu's two-class split of the neurons' mean importance
       per spike (neurons without spikes are left out).

    Parameters
    ----------
    maps : array_like
        Importance maps ``(n, neurons, bins)`` from :func:`importance_maps`.
    spikes : array_like
        The windows the maps explain, same shape.
    percentile : float
        Percentile (0-100) of spike importance used as threshold.
    n_modes : int
        Number of packet types to separate.
    seed : int, optional
        Seed of the k-means initialisation (``n_modes > 1``).

    Returns
    -------
    PacketRecovery

    Examples
    --------
    >>> import numpy as np
    >>> spikes = np.zeros((2, 3, 6), "uint8")
    >>> spikes[0, [0, 1], [1, 2]] = 1; spikes[1, [0, 1], [3, 4]] = 1; spikes[:, 2, 0] = 1
    >>> maps = spikes * np.array([1.0, 1.0, 0.1])[:, None]
    >>> rec = recover_packets(maps, spikes, percentile=50)
    >>> rec.neuron_sets
    (array([0, 1]),)
    >>> rec.average
    array([[1., 0., 0., 0., 0., 0.],
           [0., 1., 0., 0., 0., 0.],
           [0., 0., 0., 0., 0., 0.]])
    """
    x = as_windows(spikes).astype(bool)
    v = np.asarray(maps, np.float64)
    if v.shape != x.shape:
        raise SpikeDataError(
            f"`maps` must have the shape of `spikes` {x.shape}. Received {v.shape}."
        )
    if not np.isfinite(v).all():
        raise SpikeDataError("`maps` must be finite.")
    if not isinstance(percentile, numbers.Real) or not 0 <= percentile <= 100:
        raise ConfigError(f"`percentile` must be in [0, 100]. Received {percentile!r}.")
    n_modes = check_positive_int(n_modes, "n_modes")
    seed = check_seed(seed)
    if not x.any():
        raise SpikeDataError("`spikes` has no spike: there is nothing to recover.")

    n, n_neurons, n_bins = x.shape
    threshold = float(np.percentile(v[x], percentile))
    supra = x & (v >= threshold) & (v > 0)
    thr = np.where(supra, v, 0.0)
    any_t = supra.any(1)  # (n, bins)
    detected = any_t.any(1)
    first = np.argmax(any_t, axis=1)  # first supra-threshold bin (0 when none)
    src = np.arange(n_bins)[None, :] + first[:, None]  # (n, bins)
    valid = src < n_bins
    gathered = np.take_along_axis(thr, np.minimum(src, n_bins - 1)[:, None, :], axis=2)
    aligned = np.where(valid[:, None, :], gathered, 0.0)
    average = aligned[detected].mean(0) if detected.any() else np.zeros((n_neurons, n_bins))

    # only samples with a supra-threshold spike carry a packet to classify
    labels = np.full(n, -1, np.int64)
    if detected.any():
        labels[detected] = _cluster(np.where(x, v, 0.0).max(2)[detected], n_modes, seed)
    k = max(int(labels.max()) + 1, 1)
    spike_imp = np.where(x, v, 0.0).sum(2)  # (n, neurons)
    n_spk = x.sum(2)
    present = supra.any(2)
    imp = np.zeros((k, n_neurons))
    freq = np.zeros((k, n_neurons))
    mode_avg = np.zeros((k, n_neurons, n_bins))
    sets = []
    for m in range(k):
        members = labels == m
        counts = n_spk[members].sum(0)
        imp[m] = spike_imp[members].sum(0) / np.maximum(counts, 1)
        freq[m] = present[members].mean(0)
        if (members & detected).any():
            mode_avg[m] = aligned[members & detected].mean(0)
        has = counts > 0
        cut = _otsu(imp[m][has]) if has.any() else np.inf
        sets.append(np.flatnonzero(has & (imp[m] >= cut) & (imp[m] > 0)))
    return PacketRecovery(threshold=threshold, aligned=aligned.astype(np.float32),
                          detected=detected, average=average, labels=labels,
                          mode_averages=mode_avg, neuron_importance=imp,
                          neuron_frequency=freq, neuron_sets=tuple(sets))


def _cluster(features: np.ndarray, n_modes: int, seed: int | None) -> np.ndarray:
    """k-means labels of samples ``(n, neurons)``, ordered by the types' centre neuron."""
    if n_modes == 1 or features.shape[0] <= n_modes:
        return np.zeros(features.shape[0], np.int64)
    from scipy.cluster.vq import kmeans, vq

    obs = np.asarray(features, np.float64)
    try:  # scipy >= 1.15 spells the generator `rng`
        codebook, _ = kmeans(obs, n_modes, iter=20, rng=np.random.default_rng(seed))
    except TypeError:  # pragma: no cover - older scipy
        codebook, _ = kmeans(obs, n_modes, iter=20, seed=np.random.default_rng(seed))
    labels, _ = vq(obs, codebook)
    # canonical order: by the importance-weighted centre of each type's neurons
    used = np.unique(labels)
    centre = [np.average(np.arange(obs.shape[1]), weights=obs[labels == c].sum(0) + 1e-12)
              for c in used]
    remap = np.empty(codebook.shape[0], np.int64)
    remap[used[np.argsort(centre)]] = np.arange(used.size)
    return remap[labels]


def _otsu(values: np.ndarray) -> float:
    """Threshold that best splits ``values`` in two classes (Otsu); inf if all equal.

    Examples
    --------
    >>> float(_otsu(np.array([0.0, 0.05, 0.3, 0.35, 0.4])))
    0.175
    """
    v = np.sort(np.asarray(values, np.float64))
    if v.size < 2 or v[0] == v[-1]:
        return float(v[-1]) if v.size and v[-1] > 0 else np.inf
    best, cut = -1.0, np.inf
    total = v.size
    for i in range(1, total):
        if v[i] == v[i - 1]:
            continue
        lo, hi = v[:i], v[i:]
        score = lo.size * hi.size / total**2 * (hi.mean() - lo.mean()) ** 2
        if score > best:
            best, cut = score, (v[i - 1] + v[i]) / 2
    return float(cut)

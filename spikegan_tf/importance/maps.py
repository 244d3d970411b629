"""Importance maps: which spikes make a window look real to a trained critic.

The paper's method (Molano-Mazon et al., ICLR 2018, section 4 and figure 4):
for every neuron and every sliding time window (``window`` bins, moved by
``step``), shuffle that neuron's spikes inside the window ``n_shuffles`` times,
take the mean absolute change of the critic's output, assign it to the spikes
in that window, and average over the overlapping windows that cover each spike.
Spikes the critic relies on get large values; bins without a spike get 0.

All perturbations of a block of samples are scored together, in large batched
calls of one ``tf.function`` (``chunk_size`` windows per call). Perturbations
that leave the window unchanged (a neuron with no spike, or only spikes, in the
window; a shuffle that happens to give back the same arrangement) change the
critic's output by exactly 0 and are not evaluated; identical shuffles of the
same window are evaluated once. The result is the same as scoring every
perturbation, only faster.

``method="gradient"`` is the cheap alternative: the absolute input gradient of
the critic times the input, ``|d critic / d x| * x`` (non-zero only at spikes,
like the shuffle map); ``method="saliency"`` is the plain absolute gradient
``|d critic / d x|`` at every bin.

:func:`recover_packets` thresholds the maps, aligns each sample's
supra-threshold map to its first supra-threshold bin and averages them, and
recovers the neurons of one or more packet types (figure 4 of the paper).
"""

from __future__ import annotations

import numbers
import weakref
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from spikegan_tf._progress import Progress
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.validation import check_binary, check_positive_int, check_seed, check_windows

__all__ = [
    "METHODS",
    "ImportanceConfig",
    "importance_maps",
    "evaluations_per_window",
    "window_starts",
    "roc_auc",
    "spike_auc",
    "PacketRecovery",
    "recover_packets",
    "plot_importance",
]

METHODS = ("shuffle", "gradient", "saliency")

# uniform random numbers drawn per block of samples are bounded by this many values
_DRAW_BUDGET = 4_000_000


@dataclass(frozen=True)
class ImportanceConfig:
    """Settings of an importance map.

    Parameters
    ----------
    method : {"shuffle", "gradient", "saliency"}
        ``"shuffle"``: the paper's shuffling method. ``"gradient"``:
        ``|d critic / d x| * x``. ``"saliency"``: ``|d critic / d x|``.
    window : int
        Width (bins) of the sliding window whose spikes are shuffled.
    step : int
        Shift (bins) between consecutive windows; at most ``window`` so that
        every bin is covered.
    n_shuffles : int
        Shuffles per neuron and window (the reference code used 5).
    chunk_size : int
        Windows per critic call.

    Examples
    --------
    >>> ImportanceConfig().window, ImportanceConfig().step
    (8, 2)
    >>> ImportanceConfig(window=4, step=5)
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.ConfigError: `step` must be <= `window` so that every bin is covered. Received step=5, window=4.
    """

    method: str = "shuffle"
    window: int = 8
    step: int = 2
    n_shuffles: int = 5
    chunk_size: int = 8192

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"`method` must be one of {METHODS}. Received {self.method!r}.")
        for name in ("window", "step", "n_shuffles", "chunk_size"):
            check_positive_int(getattr(self, name), name)
        if self.step > self.window:
            raise ConfigError(
                "`step` must be <= `window` so that every bin is covered. Received "
                f"step={self.step}, window={self.window}."
            )

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-serialisable dict."""
        return asdict(self)


def window_starts(n_bins: int, window: int = 8, step: int = 2) -> np.ndarray:
    """Return the first bin of every sliding window.

    Windows start at ``0, step, 2 * step, ...`` up to ``n_bins - window`` (as in
    the reference code), plus a last one at ``n_bins - window`` when the steps
    miss it, so that every bin is covered.

    Examples
    --------
    >>> window_starts(32, 8, 2)
    array([ 0,  2,  4,  6,  8, 10, 12, 14, 16, 18, 20, 22, 24])
    >>> window_starts(10, 4, 4)
    array([0, 4, 6])
    """
    n_bins = check_positive_int(n_bins, "n_bins")
    window = check_positive_int(window, "window")
    step = check_positive_int(step, "step")
    if window > n_bins:
        raise ConfigError(
            f"`window` must be at most the number of bins per sample ({n_bins}). "
            f"Received window={window}."
        )
    starts = np.arange(0, n_bins - window + 1, step)
    if starts[-1] != n_bins - window:
        starts = np.append(starts, n_bins - window)
    return starts


def importance_maps(
    critic: Any,
    spikes: Any,
    *,
    method: str = "shuffle",
    window: int = 8,
    step: int = 2,
    n_shuffles: int = 5,
    seed: int | None = None,
    chunk_size: int = 8192,
    verbose: int = 0,
) -> np.ndarray:
    """Compute importance maps of spike windows under a trained critic.

    Cost: ``method="shuffle"`` scores each spike window up to ``n_neurons x
    n_windows x n_shuffles`` times (``n_windows = len(window_starts(n_bins,
    window, step))``; 16 neurons x 13 x 5 = 1,040 critic evaluations for 32
    bins and the defaults); perturbations that change nothing are skipped.
    The gradient methods need one gradient per window.

    Parameters
    ----------
    critic : keras.Model or callable
        Maps float32 windows ``(batch, n_neurons, n_bins)`` to scores
        ``(batch, 1)`` or ``(batch,)``, e.g. ``spikegan_tf.gan.rundir.RunDir(run).load_critic()``.
    spikes : array_like
        Windows ``(n_samples, n_neurons, n_bins)`` of 0/1 values.
    method : {"shuffle", "gradient", "saliency"}
        See :class:`ImportanceConfig`.
    window, step, n_shuffles, chunk_size : int
        See :class:`ImportanceConfig`.
    verbose : int
        1: print progress (windows done, rate, ETA) on stderr; 0: silent.
    seed : int, optional
        Seed of the shuffles (``method="shuffle"`` only). Shuffle ``s`` of
        neuron ``j`` in window ``w`` of sample ``i`` is the permutation
        ``argsort(u[i, j, w, s])`` of the window's bins, where
        ``u = np.random.default_rng(seed).random((n_samples, n_neurons,
        n_windows, n_shuffles, window))``; so the maps depend on the seed only,
        not on ``chunk_size`` or on how the samples are batched.

    Returns
    -------
    numpy.ndarray
        float32 maps ``(n_samples, n_neurons, n_bins)`` aligned with ``spikes``.
        For ``"shuffle"`` and ``"gradient"`` bins without a spike are 0.

    Raises
    ------
    SpikeDataError
        If ``spikes`` is not binary ``(n, neurons, bins)`` or does not match the
        critic's input shape.
    ConfigError
        For invalid settings.

    Examples
    --------
    >>> import numpy as np, keras
    >>> x = keras.Input((2, 4))
    >>> critic = keras.Model(x, keras.layers.Dense(1)(keras.layers.Flatten()(x)))
    >>> critic.set_weights([np.arange(8, dtype="float32").reshape(8, 1), np.zeros(1, "float32")])
    >>> spikes = np.array([[[1, 0, 0, 0], [0, 0, 1, 1]]], dtype="uint8")
    >>> importance_maps(critic, spikes, method="gradient")[0]
    array([[0., 0., 0., 0.],
           [0., 0., 6., 7.]], dtype=float32)
    >>> importance_maps(critic, spikes, window=4, step=4, seed=0).shape
    (1, 2, 4)
    """
    cfg = ImportanceConfig(method=method, window=window, step=step, n_shuffles=n_shuffles,
                           chunk_size=chunk_size)
    seed = check_seed(seed)
    x = check_windows(spikes, "spikes")
    _check_critic_shape(critic, x.shape)
    scorer = _scorer(critic, (x.shape[1], x.shape[2]))
    progress = Progress(f"importance ({cfg.method})", x.shape[0], "windows",
                        enabled=bool(verbose))
    if cfg.method == "shuffle":
        starts = window_starts(x.shape[2], cfg.window, cfg.step)
        out = _shuffle_maps(scorer, x, starts, cfg, seed, progress)
    else:
        out = _gradient_maps(scorer, x, cfg, progress)
    progress.close()
    return out


def evaluations_per_window(n_neurons: int, n_bins: int, window: int = 8, step: int = 2,
                           n_shuffles: int = 5) -> int:
    """Most critic evaluations ``method="shuffle"`` spends on one spike window.

    Examples
    --------
    >>> evaluations_per_window(16, 32)   # 1 original + 16 neurons x 13 windows x 5 shuffles
    1041
    """
    return 1 + n_neurons * len(window_starts(n_bins, window, step)) * n_shuffles


def _check_critic_shape(critic: Any, shape: tuple[int, ...]) -> None:
    want = getattr(critic, "input_shape", None)
    if isinstance(want, list):  # multi-input models are not critics
        want = want[0] if len(want) == 1 else None
    if not want or len(want) != 3:
        return
    if tuple(want[1:]) != tuple(shape[1:]):
        raise SpikeDataError(
            f"`spikes` must be windows of the critic's shape (n, {want[1]} neurons, "
            f"{want[2]} bins). Received shape {tuple(shape)} "
            f"({shape[1]} neurons, {shape[2]} bins)."
        )


class _Scorer:
    """Traced ``tf.function`` pair scoring float32 windows ``(batch, neurons, bins)``.

    For a Keras critic, one per critic and window shape is cached while the
    critic lives (the functions hold only a weak reference to it), so repeated
    calls do not retrace.
    """

    def __init__(self, critic: Any, shape: tuple[int, int], *, weak: bool) -> None:
        import tensorflow as tf

        self._tf = tf
        ref = weakref.ref(critic) if weak else (lambda: critic)
        keras_model = _is_keras(critic)
        spec = [tf.TensorSpec([None, *shape], tf.float32)]

        def forward(x: tf.Tensor) -> tf.Tensor:
            model = ref()
            y = model(x, training=False) if keras_model else model(x)
            return tf.reshape(tf.cast(y, tf.float32), [tf.shape(x)[0], -1])[:, 0]

        @tf.function(input_signature=spec)
        def score(x: tf.Tensor) -> tf.Tensor:
            return forward(x)

        @tf.function(input_signature=spec)
        def grad(x: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape() as tape:
                tape.watch(x)
                total = tf.reduce_sum(forward(x))  # samples are independent
            return tf.abs(tape.gradient(total, x))

        self._score, self._grad = score, grad

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._score(self._tf.constant(x, dtype=self._tf.float32)).numpy()

    def abs_gradient(self, x: np.ndarray) -> np.ndarray:
        return self._grad(self._tf.constant(x, dtype=self._tf.float32)).numpy()


_SCORERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _scorer(critic: Any, shape: tuple[int, int]) -> _Scorer:
    if not _is_keras(critic):  # plain callables: traced afresh on every call
        return _Scorer(critic, shape, weak=False)
    cache = _SCORERS.setdefault(critic, {})
    if shape not in cache:
        cache[shape] = _Scorer(critic, shape, weak=True)
    return cache[shape]


def _is_keras(obj: Any) -> bool:
    import keras

    return isinstance(obj, keras.Model)


def _shuffle_maps(scorer: _Scorer, x: np.ndarray, starts: np.ndarray, cfg: ImportanceConfig,
                  seed: int | None, progress: Progress | None = None) -> np.ndarray:
    n, n_neurons, n_bins = x.shape
    w, n_sh, n_win = cfg.window, cfg.n_shuffles, starts.size
    rng = np.random.default_rng(seed)
    offsets = np.arange(w)
    cols = starts[:, None] + offsets  # (n_win, w) bins of each window
    cover = np.zeros((n_win, n_bins), np.float64)
    np.put_along_axis(cover, cols, 1.0, axis=1)
    coverage = cover.sum(0)  # windows covering each bin (>= 1, see window_starts)
    per_sample = n_neurons * n_win * n_sh * w
    block = max(1, min(n, _DRAW_BUDGET // per_sample))
    out = np.empty(x.shape, np.float32)
    for b0 in range(0, n, block):
        xb = x[b0:b0 + block]
        u = rng.random((xb.shape[0], n_neurons, n_win, n_sh, w))  # consumed in full, always
        def done(fraction: float, b0: int = b0, size: int = xb.shape[0]) -> None:
            if progress is not None:
                progress.update(b0 + round(size * fraction))

        imp = _block_window_importance(scorer, xb, u, starts, cols, cfg.chunk_size, done)
        maps = np.einsum("bjw,wt->bjt", imp, cover) / coverage
        out[b0:b0 + block] = (maps * xb).astype(np.float32)
        done(1.0)
    return out


def _block_window_importance(scorer: _Scorer, xb: np.ndarray, u: np.ndarray, starts: np.ndarray,
                             cols: np.ndarray, chunk_size: int,
                             done: Any = None) -> np.ndarray:
    """Mean |critic change| for every (sample, neuron, window) of a block.

    ``done(fraction)`` is called after each batch of critic calls.
    """
    b, n_neurons, n_win, n_sh, w = u.shape
    wins = xb[:, :, cols]  # (b, neurons, n_win, w)
    k = wins.sum(-1, dtype=np.int64)
    active = (k > 0) & (k < w)  # other windows cannot change under a shuffle
    imp = np.zeros((b, n_neurons, n_win), np.float64)
    if not active.any():
        return imp
    pair_s, pair_j, pair_w = np.nonzero(active)
    orig = wins[pair_s, pair_j, pair_w]  # (m, w)
    perm = np.argsort(u[pair_s, pair_j, pair_w], axis=-1)  # (m, n_sh, w)
    shuffled = np.take_along_axis(np.broadcast_to(orig[:, None, :], perm.shape), perm, axis=-1)
    changed = (shuffled != orig[:, None, :]).any(-1)  # (m, n_sh)
    pair_idx, sh_idx = np.nonzero(changed)
    if pair_idx.size == 0:
        return imp
    patterns = shuffled[pair_idx, sh_idx]  # (e, w)
    uniq, inverse = _unique_per_pair(pair_idx, patterns)
    # score the originals and every distinct perturbation in large batched calls
    xf = xb.astype(np.float32)
    base = _score_chunks(scorer, xf, chunk_size)
    u_pair = pair_idx[uniq]
    u_s, u_j, u_t0 = pair_s[u_pair], pair_j[u_pair], starts[pair_w[u_pair]]
    u_pat = patterns[uniq].astype(np.float32)
    diffs = np.empty(uniq.size, np.float64)
    for c0 in range(0, uniq.size, chunk_size):
        sl = slice(c0, c0 + chunk_size)
        s = u_s[sl]
        batch = xf[s]
        rows = np.arange(s.size)[:, None]
        batch[rows, u_j[sl, None], u_t0[sl, None] + np.arange(w)] = u_pat[sl]
        diffs[sl] = np.abs(scorer(batch).astype(np.float64) - base[s])
        if done is not None:
            done(min(c0 + chunk_size, uniq.size) / uniq.size)
    per_pair = np.bincount(pair_idx, weights=diffs[inverse], minlength=pair_s.size) / n_sh
    imp[pair_s, pair_j, pair_w] = per_pair
    return imp


def _unique_per_pair(pair_idx: np.ndarray, patterns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (first index of each distinct (pair, pattern), inverse map of every entry)."""
    w = patterns.shape[1]
    if w > 64:  # no compact key: evaluate every changed shuffle
        idx = np.arange(pair_idx.size)
        return idx, idx
    packed = np.packbits(patterns, axis=1)
    padded = np.zeros((packed.shape[0], 8), np.uint8)
    padded[:, :packed.shape[1]] = packed
    code = padded.view(np.uint64)[:, 0]
    order = np.lexsort((code, pair_idx))
    ps, cs = pair_idx[order], code[order]
    first = np.ones(order.size, bool)
    first[1:] = (ps[1:] != ps[:-1]) | (cs[1:] != cs[:-1])
    group = np.cumsum(first) - 1
    inverse = np.empty(order.size, np.int64)
    inverse[order] = group
    return order[first], inverse


def _score_chunks(scorer: _Scorer, xf: np.ndarray, chunk_size: int) -> np.ndarray:
    return np.concatenate([scorer(xf[i:i + chunk_size]).astype(np.float64)
                           for i in range(0, xf.shape[0], chunk_size)])


def _gradient_maps(scorer: _Scorer, x: np.ndarray, cfg: ImportanceConfig,
                   progress: Progress | None = None) -> np.ndarray:
    out = np.empty(x.shape, np.float32)
    for i in range(0, x.shape[0], cfg.chunk_size):
        xb = x[i:i + cfg.chunk_size].astype(np.float32)
        g = scorer.abs_gradient(xb)
        out[i:i + cfg.chunk_size] = g * xb if cfg.method == "gradient" else g
        if progress is not None:
            progress.update(i + xb.shape[0])
    return out


# --------------------------------------------------------------------------- evaluation


def roc_auc(scores: Any, labels: Any) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels`` (ties count 1/2).

    Rank-based (Mann-Whitney U / (n_pos * n_neg)) with average ranks for ties.

    Examples
    --------
    >>> roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.75
    >>> roc_auc([1, 1, 1], [0, 1, 1])
    0.5
    """
    from scipy.stats import rankdata

    s = np.asarray(scores, np.float64).ravel()
    y = check_binary(labels, "labels").ravel().astype(bool)
    if s.shape != y.shape:
        raise SpikeDataError(
            f"`scores` and `labels` must have the same size. Received {s.size} and {y.size}."
        )
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise SpikeDataError(
            f"ROC AUC needs both classes. Received {n_pos} positive and {n_neg} negative labels."
        )
    ranks = rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def spike_auc(maps: Any, spikes: Any, mask: Any) -> float:
    """ROC AUC of the importance of marked spikes (``mask``) against the other spikes.

    Only bins with a spike enter; ``mask`` marks e.g. the packet spikes of the
    ``packets`` simulation.

    Examples
    --------
    >>> import numpy as np
    >>> spikes = np.array([[[1, 1, 0, 1]]])
    >>> maps = np.array([[[0.9, 0.1, 0.0, 0.5]]])
    >>> spike_auc(maps, spikes, np.array([[[1, 0, 0, 0]]]))
    1.0
    """
    x = check_windows(spikes, "spikes").astype(bool)
    m = check_binary(mask, "mask").astype(bool)
    v = np.asarray(maps, np.float64)
    if v.shape != x.shape or m.shape != x.shape:
        raise SpikeDataError(
            f"`maps`, `spikes` and `mask` must have the same shape. Received {v.shape}, "
            f"{x.shape} and {m.shape}."
        )
    return roc_auc(v[x], m[x])


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
    x = check_windows(spikes, "spikes").astype(bool)
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


# --------------------------------------------------------------------------- plotting


def plot_importance(maps: Any, spikes: Any, path: Any, *, n_examples: int = 4,
                    percentile: float = 95.0, title: str | None = None) -> None:
    """Save a figure of importance maps to ``path`` (needs matplotlib).

    Top row: the first ``n_examples`` maps, spikes outlined. Bottom row: the
    thresholded maps aligned and averaged (:func:`recover_packets`), and the
    mean importance per neuron and per time bin.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> spikes = np.eye(4, 8, dtype="uint8")[None].repeat(2, 0)
    >>> path = os.path.join(tempfile.mkdtemp(), "maps.png")
    >>> plot_importance(spikes * 0.5, spikes, path)
    >>> os.path.getsize(path) > 0
    True
    """
    from matplotlib.figure import Figure  # no pyplot: leaves the user's backend alone

    x = check_windows(spikes, "spikes")
    v = np.asarray(maps, np.float64)
    if v.shape != x.shape:
        raise SpikeDataError(f"`maps` must have the shape of `spikes` {x.shape}. Received {v.shape}.")
    k = int(min(max(n_examples, 1), x.shape[0]))
    at_spikes = v[x.astype(bool)]
    vmax = float(np.percentile(at_spikes, 99)) if at_spikes.size else 0.0
    vmax = vmax if vmax > 0 else max(float(v.max()), 1.0)
    spikes_only = not v[x == 0].any()  # shuffle/gradient maps: colour the spikes
    fig = Figure(figsize=(3.2 * max(k, 3), 6.0))
    axes = fig.subplots(2, max(k, 3), squeeze=False)
    for i in range(axes.shape[1]):
        ax = axes[0, i]
        if i >= k:
            ax.axis("off")
            continue
        jj, tt = np.nonzero(x[i])
        if spikes_only:
            im = ax.scatter(tt, jj, c=v[i][jj, tt], cmap="viridis", vmin=0, vmax=vmax, s=22,
                            edgecolors="black", linewidths=0.4)
            ax.set_xlim(-0.5, x.shape[2] - 0.5)
            ax.set_ylim(x.shape[1] - 0.5, -0.5)
        else:
            im = ax.imshow(v[i], aspect="auto", interpolation="nearest", cmap="viridis", vmin=0,
                           vmax=vmax)
            ax.scatter(tt, jj, s=8, facecolors="none", edgecolors="white", linewidths=0.6)
        ax.set_title(f"sample {i}")
        ax.set_xlabel("time bin")
        ax.set_ylabel("neuron")
    fig.colorbar(im, ax=axes[0, k - 1], label="importance")
    for ax in axes[1, 3:]:
        ax.axis("off")
    if x.any():
        rec = recover_packets(v, x, percentile=percentile)
        axes[1, 0].imshow(rec.average, aspect="auto", interpolation="nearest", cmap="viridis")
        axes[1, 0].set_title(f"aligned average (>{percentile:g}th pct)")
        axes[1, 0].set_xlabel("time from first supra-threshold bin")
        axes[1, 0].set_ylabel("neuron")
    counts = np.maximum(x.sum((0, 2)), 1)
    axes[1, 1].bar(np.arange(x.shape[1]), v.sum((0, 2)) / counts)
    axes[1, 1].set_title("mean importance per spike")
    axes[1, 1].set_xlabel("neuron")
    counts_t = np.maximum(x.sum((0, 1)), 1)
    axes[1, 2].plot(np.arange(x.shape[2]), v.sum((0, 1)) / counts_t, marker=".")
    axes[1, 2].set_title("mean importance per spike")
    axes[1, 2].set_xlabel("time bin")
    from matplotlib.ticker import MaxNLocator

    for ax in fig.axes:  # neurons and bins are whole numbers: no "2.5" ticks
        if ax.get_ylabel() == "neuron":
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if ax.get_xlabel() in ("neuron", "time bin"):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)

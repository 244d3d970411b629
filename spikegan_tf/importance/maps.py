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

import weakref
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from spikegan_tf._progress import Progress
from spikegan_tf.data import as_windows
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.validation import check_positive_int, check_seed

__all__ = [
    "METHODS",
    "ImportanceConfig",
    "importance_maps",
    "evaluations_per_window",
    "window_starts",
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
    x = as_windows(spikes)
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
    inputs = getattr(critic, "inputs", None) if _is_keras(critic) else None
    if inputs is not None and len(inputs) > 1:  # a conditional critic: windows + conditions
        raise ConfigError(
            f"`critic` must score windows alone (one input); this one takes {len(inputs)} "
            f"inputs ({', '.join(getattr(i, 'name', '?') for i in inputs)}): importance maps "
            "of conditional models are not supported.")
    want = getattr(critic, "input_shape", None)
    if isinstance(want, list):
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

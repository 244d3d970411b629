"""Spike history: a per-neuron post-spike filter, drawn bin after bin.

A window generator gives every (neuron, bin) a firing probability ``p`` and
the bins are drawn independently given the latent draw. Its probabilities are
smooth in time (adjacent bins' logits correlate at 0.97-0.99 on the retina,
``benchmarks/results/lrdecay_screen/acg.json``), so a spike makes the next bins
*more* likely for every neuron: no such model can make a refractory neuron, or
the dip-then-rebound of a bursting one (``benchmarks/acg_diagnosis.py``). The
published generator can carry a filter ``h`` of ``L`` lags per neuron, a
generalised linear model's post-spike term (Pillow et al. 2008), and its spikes
are drawn in time order::

    drive[n, t] = sum_{l = min(L, t)..1} h[n, l - 1] * x[n, t - l]   (summed in this order)
    q[n, t] = p[n, t]                                  where drive == 0
            = 1 / (1 + exp(-(logit p[n, t] + drive)))  elsewhere
    x[n, t] = u[n, t] < q[n, t]

with the window's uniforms ``u`` of the ordinary protocol, so a model without
history (or a window without a spike in reach) draws exactly ``u < p``. The
filter is not trained: :func:`spikegan_tf.gan.history_fit.fit_history` solves it
after training, with the positional offsets, so that each neuron's rate in each
bin and its autocorrelogram at lags ``1..L`` are the training windows' (like the
rate calibration, a correction the critic cannot ask for, stated as such wherever
a result uses it).

A generator may also carry a lag-1 *coupling* ``W (N, N)`` (zero diagonal), the
GLM's coupling term: a spike of neuron ``j`` at bin ``t - 1`` adds ``W[n, j]`` to
neuron ``n``'s drive at ``t``, on top of the filter's (added last, after the
filter's lag-1 term). Its entries are multiples of :data:`COUPLING_STEP` no larger
than :data:`COUPLING_BOUND`, so its sums are exact in float32 in any order and
every runtime (a BLAS product, TensorFlow's, ONNX's) draws the same spikes.
A coupling ``(2, N, N)`` holds a *same-bin* coupling ``W0`` (strictly lower
triangular, entries up to :data:`SAME_BIN_BOUND`, for at most
:data:`MAX_SAME_BIN_NEURONS` neurons) before the lag-1 one: the neurons of a bin are then
drawn in index order, neuron ``j < n``'s spike in the bin adding ``W0[n, j]`` to neuron ``n``'s
drive, last (:func:`split_coupling`). The draw finds that order's spikes as the
fixed point of whole-bin draws (each from the previous one's spikes; with a
triangular ``W0`` the first ``k`` neurons are final after ``k`` rounds and the
fixed point is unique), so every runtime keeps its matrix products.

The filter lives in the generator as the bias of a frozen ``Dense`` layer
(:data:`HISTORY_LAYER`, fed the positional offsets' exact zero, its output
multiplied back to zero), so the model keeps built-in layers only and loads in
safe mode; :func:`draw_spikes` (numpy, no TensorFlow: the rig runtime's protocol) and
:func:`history_spikes_tf` (the exported graphs) compute the same recursion in float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["HISTORY_LAYER", "COUPLING_LAYER", "COUPLING_STEP", "COUPLING_BOUND",
           "MAX_COUPLED_NEURONS", "SAME_BIN_BOUND", "MAX_SAME_BIN_NEURONS",
           "SAME_BIN_DEFAULT_NEURONS", "encode_coupling",
           "decode_coupling", "split_coupling",
           "DEFAULT_HISTORY_LAGS", "history_filter", "history_coupling", "quantize_coupling",
           "draws_in_order", "draw_spikes", "RasterHistory", "history_spikes_tf", "neuron_autocorrelation",
           "neuron_coincidences"]

#: Name of the frozen layer whose bias holds the filter ``(lags * n_neurons,)``, lag-major.
HISTORY_LAYER = "spike_history"
#: Name of the frozen layer whose bias holds the lag-1 coupling ``(n_neurons * n_neurons,)``,
#: row-major ``W[n, j]`` (the effect of ``j``'s spike on ``n`` one bin later).
COUPLING_LAYER = "spike_coupling"
#: The coupling's grid and bound: with at most MAX_COUPLED_NEURONS (2**11) neurons, any partial
#: sum of a bin's terms is a multiple of 2**-10 below 2**14 in magnitude (24 bits), exact in
#: float32 whatever the order; each entry is an int16 times the step.
COUPLING_STEP, COUPLING_BOUND, MAX_COUPLED_NEURONS = 2.0 ** -10, 8.0, 2048
#: The same-bin coupling's bound, and the most neurons that may carry one (its sums exact as
#: above: N * 16 <= 2**14). Neurons that always fire together (``uniform``'s groups, same-bin
#: correlation 1) need a later member silenced unless an earlier one fired and then driven to
#: fire: with 8, the second member of a group, one coupling long, could not do both (a 16-neuron
#: fit on synthetic logits split 3% of bins' groups against the data's 0.19%; with 16, 0.23%).
SAME_BIN_BOUND, MAX_SAME_BIN_NEURONS = 16.0, 1024
#: Largest population that gets a same-bin coupling by default (``TrainConfig.calibrate_same_bin``):
#: its draw repeats a bin's ``N x N`` product until the bin's spikes settle (a few rounds).
SAME_BIN_DEFAULT_NEURONS = 256
#: Lags of the filter when a calibration asks for one: those of the autocorrelogram statistic.
DEFAULT_HISTORY_LAGS = 10


def history_filter(generator: Any) -> np.ndarray | None:
    """The generator's filter ``h (n_neurons, lags)`` in float32, or ``None`` without one.

    Examples
    --------
    >>> from spikegan_tf.gan.config import ModelConfig
    >>> from spikegan_tf.gan.networks import build_generator
    >>> history_filter(build_generator(ModelConfig(n_neurons=2, n_bins=8, num_features=4))) is None
    True
    """
    rows = _frozen_bias(generator, HISTORY_LAYER)
    return None if rows is None else np.ascontiguousarray(rows.T)


def _frozen_bias(generator: Any, name: str) -> np.ndarray | None:
    """The bias of the generator's frozen layer ``name`` as rows of ``n_neurons`` (a copy)."""
    try:
        layer = generator.get_layer(name)
    except (ValueError, AttributeError):  # no such layer, or not a Keras model
        return None
    n_neurons = int(generator.outputs[0].shape[1])
    return np.asarray(layer.bias, dtype=np.float32).reshape(-1, n_neurons).copy()


def history_coupling(generator: Any) -> np.ndarray | None:
    """The generator's coupling float32 or ``None``: ``(N, N)`` lag-1, ``(2, N, N)`` same-bin first.

    Examples
    --------
    >>> from spikegan_tf.gan.config import ModelConfig
    >>> from spikegan_tf.gan.networks import build_generator
    >>> from spikegan_tf.gan.positions import with_position_offsets
    >>> cfg = ModelConfig(n_neurons=2, n_bins=8, num_features=4)
    >>> coupled = with_position_offsets(build_generator(cfg), cfg, history_lags=1, coupling=True)
    >>> history_coupling(coupled).tolist(), history_coupling(build_generator(cfg))
    ([[0.0, 0.0], [0.0, 0.0]], None)
    >>> both = with_position_offsets(build_generator(cfg), cfg, history_lags=1, coupling=True,
    ...                              same_bin=True)
    >>> history_coupling(both).shape
    (2, 2, 2)
    """
    rows = _frozen_bias(generator, COUPLING_LAYER)
    if rows is None or rows.shape[0] == rows.shape[1]:
        return rows
    return rows.reshape(-1, rows.shape[1], rows.shape[1])


def split_coupling(coupling: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(same_bin, lag1)`` float32 parts of a coupling ``(N, N)`` or ``(2, N, N)``.

    A part that is absent or all zero is ``None`` (it changes no spike).

    Examples
    --------
    >>> w = np.zeros((2, 2, 2), np.float32); w[0, 1, 0] = 0.5
    >>> same, lag1 = split_coupling(w)
    >>> same.tolist(), lag1
    ([[0.0, 0.0], [0.5, 0.0]], None)
    >>> split_coupling(np.eye(2)[::-1])[0] is None
    True
    """
    if coupling is None:
        return None, None
    w = np.asarray(coupling, np.float32)
    parts = (None, w) if w.ndim == 2 else (w[0], w[1])
    return tuple(None if p is None or not np.any(p) else p for p in parts)  # type: ignore[return-value]


def quantize_coupling(w: Any) -> np.ndarray:
    """``w`` on the coupling's grid: multiples of :data:`COUPLING_STEP` in
    ``[-COUPLING_BOUND, COUPLING_BOUND]``, zero diagonal, float32.

    A ``(2, N, N)`` coupling's same-bin part (``w[0]``) keeps its strictly lower triangle only,
    in ``[-SAME_BIN_BOUND, SAME_BIN_BOUND]``.

    Examples
    --------
    >>> quantize_coupling([[5.0, 0.1234], [-9.0, 1.0]]).tolist()
    [[0.0, 0.123046875], [-8.0, 0.0]]
    >>> quantize_coupling(np.full((2, 2, 2), 20.0))[:, 1, 0].tolist()   # same bin, lag 1
    [16.0, 8.0]
    """
    w = np.asarray(w, dtype=np.float64)
    q = np.round(w / COUPLING_STEP) * COUPLING_STEP
    if q.ndim == 3:
        q[0] = np.tril(np.clip(q[0], -SAME_BIN_BOUND, SAME_BIN_BOUND), -1)
        q[1] = np.clip(q[1], -COUPLING_BOUND, COUPLING_BOUND)
        np.fill_diagonal(q[1], 0.0)
    else:
        q = np.clip(q, -COUPLING_BOUND, COUPLING_BOUND)
        np.fill_diagonal(q, 0.0)
    return q.astype(np.float32)


def encode_coupling(w: np.ndarray) -> str:
    """The coupling as text: base64 of its grid steps, little-endian int16, row-major.

    Exact (every entry is an integer number of :data:`COUPLING_STEP`) and about 2.7
    characters per entry, where a JSON list of floats takes about 20.

    Examples
    --------
    >>> w = quantize_coupling([[0.0, 1.5], [-0.25, 0.0]])
    >>> encode_coupling(w)
    'AAAABgD/AAA='
    >>> bool(np.array_equal(decode_coupling(encode_coupling(w), 2), w))
    True
    """
    import base64

    steps = np.round(np.asarray(w, np.float64) / COUPLING_STEP).astype("<i2")
    return base64.b64encode(steps.tobytes()).decode("ascii")


def decode_coupling(text: str, n_neurons: int) -> np.ndarray:
    """:func:`encode_coupling` undone: ``(n_neurons, n_neurons)`` or ``(2, n_neurons, n_neurons)`` float32."""
    import base64

    steps = np.frombuffer(base64.b64decode(text), dtype="<i2")
    if steps.size not in (n_neurons ** 2, 2 * n_neurons ** 2):
        raise ValueError(f"a coupling of {n_neurons} neurons has {n_neurons ** 2} entries "
                         f"(lag 1) or {2 * n_neurons ** 2} (same bin and lag 1); the text holds "
                         f"{steps.size}.")
    shape = (-1, n_neurons, n_neurons) if steps.size > n_neurons ** 2 else (n_neurons, n_neurons)
    return (steps.astype(np.float32) * np.float32(COUPLING_STEP)).reshape(shape)


def draws_in_order(h: np.ndarray | None, coupling: np.ndarray | None = None) -> bool:
    """Whether spikes are drawn bin after bin: a nonzero filter ``h`` or ``coupling``.

    Otherwise every draw is the plain ``u < probs`` (an all-zero filter or coupling
    changes no spike, and every runtime skips it).

    Examples
    --------
    >>> draws_in_order(None), draws_in_order(np.zeros((2, 3))), draws_in_order(None, np.eye(2))
    (False, False, True)
    """
    return (h is not None and h.size > 0 and bool(np.any(h))) or (
        coupling is not None and bool(np.any(coupling)))


def _filter_or_zero(h: np.ndarray | None, n_neurons: int) -> np.ndarray:
    """``h`` as float32, or a one-lag zero filter when only a coupling draws bin after bin."""
    if h is None or h.size == 0:
        return np.zeros((n_neurons, 1), np.float32)
    return np.asarray(h, dtype=np.float32)


def _logits32(probs: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(probs) - np.log(np.float32(1) - probs)


def draw_spikes(probs: Any, u: Any, h: np.ndarray | None, *, coupling: np.ndarray | None = None,
                return_q: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Spikes ``(n, N, T)`` uint8 from probabilities and uniforms, with the filter ``h``.

    ``h`` is ``(N, L)`` (``None``: plain ``u < probs``); ``coupling`` (optional)
    the lag-1 coupling ``(N, N)`` on its grid (:func:`quantize_coupling`). With
    ``return_q``, also the probabilities the spikes were drawn with ``(n, N, T)`` float32.

    Examples
    --------
    >>> p = np.full((1, 1, 4), 0.5, np.float32)
    >>> u = np.array([[[0.1, 0.55, 0.4, 0.6]]], np.float32)
    >>> draw_spikes(p, u, None)[0, 0].tolist()
    [1, 0, 1, 0]
    >>> draw_spikes(p, u, np.array([[-10.0]], np.float32))[0, 0].tolist()  # refractory
    [1, 0, 1, 0]
    >>> draw_spikes(p, u, np.array([[10.0]], np.float32))[0, 0].tolist()  # bursty
    [1, 1, 1, 1]
    >>> p2, u2 = np.full((1, 2, 3), 0.5, np.float32), np.full((1, 2, 3), 0.3, np.float32)
    >>> w = quantize_coupling([[0.0, -10.0], [0.0, 0.0]])  # neuron 1 silences neuron 0
    >>> draw_spikes(p2, u2, None, coupling=w)[0].tolist()
    [[1, 0, 0], [1, 1, 1]]
    """
    p = np.asarray(probs, dtype=np.float32)
    u = np.asarray(u, dtype=np.float32)
    if not draws_in_order(h, coupling):
        spikes = (u < p).view(np.uint8)
        return (spikes, p) if return_q else spikes
    p_t = np.ascontiguousarray(np.moveaxis(p, 2, 0))  # time-major: each bin's rows contiguous
    u_t = np.ascontiguousarray(np.moveaxis(u, 2, 0))
    spikes, q = _draw_time_major(p_t, u_t, _filter_or_zero(h, p.shape[1]), return_q=return_q,
                                 coupling=coupling)
    spikes = np.ascontiguousarray(np.moveaxis(spikes, 0, 2))
    return (spikes, np.ascontiguousarray(np.moveaxis(q, 0, 2))) if return_q else spikes


def _draw_time_major(p: np.ndarray, u: np.ndarray, h: np.ndarray, *, logit: Any = None,
                     return_q: bool = True, carry: np.ndarray | None = None,
                     coupling: np.ndarray | None = None,
                     ) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`draw_spikes` on time-major float32 arrays ``(T, n, N)``: ``(spikes, q)``.

    ``coupling`` (optional, ``(N, N)``) adds ``spikes[t] @ coupling.T`` to the
    next bin's drive after the filter's terms.

    ``logit`` (optional) are the logits of ``p``, where the caller has them.
    ``carry`` (optional, ``(L, n, N)`` float32) is the drive the bins before
    these left on the next ``L`` bins; it is replaced by the drive these bins
    leave on the ``L`` after them, so consecutive calls continue one sequence
    exactly (:class:`RasterHistory`).
    """
    n_bins, lags = p.shape[0], h.shape[1]
    logit = _logits32(p) if logit is None else logit
    spikes = np.zeros(p.shape, np.uint8)
    q = np.empty(p.shape, np.float32) if return_q else None
    # each spike adds its filter to the next bins' drive, in time order: the sum over lags
    # from the longest to the shortest, as history_spikes_tf adds them (skipped zeros are exact)
    future = np.zeros((n_bins + lags, *p.shape[1:]), np.float32)
    if carry is not None:
        future[:lags] = carry
    h_by_lag = np.ascontiguousarray(h.T)  # (L, N)
    same, lag1 = split_coupling(coupling)
    w_t = None if lag1 is None else np.ascontiguousarray(lag1.T)
    same_t = None if same is None else np.ascontiguousarray(same.T)
    one = np.float32(1)

    def bin_draw(t: int, drive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(over="ignore"):
            qt = np.where(drive == 0, p[t], one / (one + np.exp(-(logit[t] + drive))))
        return u[t] < qt, qt

    for t in range(n_bins):
        fired, qt = bin_draw(t, future[t])
        if same_t is not None:  # the fixed point of the bin's draws in index order
            for _ in range(p.shape[2]):
                again, qt = bin_draw(t, future[t] + fired.astype(np.float32) @ same_t)
                if np.array_equal(again, fired):
                    break
                fired = again
        spikes[t] = fired
        rows, cols = np.nonzero(fired)
        future[t + 1:t + 1 + lags, rows, cols] += h_by_lag[:, cols]
        if w_t is not None and rows.size:  # exact: the coupling's sums lie on its grid
            future[t + 1] += fired.astype(np.float32) @ w_t
        if q is not None:
            q[t] = qt
    if carry is not None:
        carry[...] = future[n_bins:]
    return spikes, q


class RasterHistory:
    """Where the draw of one continuous raster stands: its next bin and the drive it carries.

    A raster drawn with a filter ``h (n_neurons, L)`` continues across chunks:
    :meth:`draw` draws the next bins with the drive the earlier bins' spikes
    left on them (the recursion of :func:`draw_spikes`, never reset), so the
    raster is the same however it is chunked. Used by
    :func:`spikegan_tf.gan.sampling.iter_raster_chunks` in every runtime.

    Examples
    --------
    >>> h = np.array([[-10.0]], np.float32)           # refractory for one bin
    >>> state = RasterHistory(h)
    >>> p, u = np.full((2, 1), 0.5, np.float32), np.full((2, 1), 0.1, np.float32)
    >>> state.draw(p, u)[:, 0].tolist(), state.draw(p, u)[:, 0].tolist(), state.position
    ([1, 0], [1, 0], 4)
    """

    def __init__(self, h: np.ndarray | None, coupling: np.ndarray | None = None) -> None:
        self.coupling = None if coupling is None else np.asarray(coupling, np.float32)
        self.filter = (np.ascontiguousarray(h, dtype=np.float32) if coupling is None
                       else _filter_or_zero(h, self.coupling.shape[-1]))
        self.reset()

    def reset(self) -> None:
        """Back to bin 0, no spikes before it."""
        self.position = 0
        self.drive = np.zeros((self.filter.shape[1], 1, self.filter.shape[0]), np.float32)

    def copy(self) -> RasterHistory:
        """An independent copy (same position and drive)."""
        other = RasterHistory(self.filter, self.coupling)
        other.position, other.drive = self.position, self.drive.copy()
        return other

    def draw(self, probs: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Spikes ``(m, n_neurons)`` uint8 of the next ``m`` bins from their probabilities and uniforms."""
        p = np.asarray(probs, np.float32)[:, None, :]
        spikes, _ = _draw_time_major(p, np.asarray(u, np.float32)[:, None, :], self.filter,
                                     return_q=False, carry=self.drive, coupling=self.coupling)
        self.position += len(p)
        return spikes[:, 0, :]


def history_spikes_tf(probs: Any, u: Any, h: np.ndarray | None,
                      coupling: np.ndarray | None = None) -> Any:
    """:func:`draw_spikes` in TensorFlow ops (unrolled over the window's bins): uint8 spikes.

    With ``coupling`` ``(N, N)``, each bin's spikes add ``x @ coupling.T`` to the
    next bin's drive after the filter's terms, as :func:`draw_spikes` does.

    Examples
    --------
    >>> import tensorflow as tf
    >>> p = np.full((1, 1, 4), 0.5, np.float32)
    >>> u = np.array([[[0.1, 0.55, 0.4, 0.6]]], np.float32)
    >>> history_spikes_tf(tf.constant(p), tf.constant(u), np.array([[10.0]], np.float32)).numpy()
    array([[[1, 1, 1, 1]]], dtype=uint8)
    """
    import tensorflow as tf

    h = _filter_or_zero(h, int(probs.shape[1]))
    same, lag1 = split_coupling(coupling)  # as draw_spikes: a zero part adds nothing
    w_t = None if lag1 is None else tf.constant(lag1.T)
    same_t = None if same is None else tf.constant(same.T)
    n_bins, lags = int(probs.shape[-1]), h.shape[1]
    logit = tf.math.log(probs) - tf.math.log(1.0 - probs)
    # the next `lags` bins' drive (batch, N, lags), shifted by one bin per step; each spike adds
    # its filter in time order, the longest lag first, as draw_spikes scatters it
    future = tf.zeros(tf.concat([tf.shape(probs)[:2], [lags]], axis=0), probs.dtype)
    pad = future[:, :, :1]
    xs: list[Any] = []
    for t in range(n_bins):
        p_t, logit_t, u_t = probs[:, :, t], logit[:, :, t], u[:, :, t]
        drive = future[:, :, 0]

        def bin_draw(drive: Any, p_t: Any = p_t, logit_t: Any = logit_t, u_t: Any = u_t) -> Any:
            q = tf.where(tf.equal(drive, 0.0), p_t, 1.0 / (1.0 + tf.exp(-(logit_t + drive))))
            return tf.cast(u_t < q, tf.float32)

        x = bin_draw(drive)
        if same_t is not None:  # the fixed point of the bin's draws, as draw_spikes
            x = _same_bin_fixed_point(x, drive, same_t, bin_draw)
        xs.append(x)
        future = tf.concat([future[:, :, 1:], pad], axis=2) + x[:, :, None] * h
        if w_t is not None:  # the next bin's slot, after the filter (exact sums)
            next_bin = future[:, :, :1] + tf.matmul(x, w_t)[:, :, None]
            future = tf.concat([next_bin, future[:, :, 1:]], axis=2)
    return tf.cast(tf.stack(xs, axis=-1), tf.uint8)


def _same_bin_fixed_point(x: Any, drive: Any, same_t: Any, bin_draw: Any) -> Any:
    """Redraw a bin from its previous draw's same-bin drive until its spikes stop changing."""
    import tensorflow as tf

    def step(_: Any, x: Any) -> tuple[Any, Any]:
        again = bin_draw(drive + tf.matmul(x, same_t))
        return tf.reduce_any(tf.not_equal(again, x)), again

    _, x = tf.while_loop(lambda changed, _: changed, step, (tf.constant(True), x),
                         maximum_iterations=int(same_t.shape[0]))
    return x


def neuron_autocorrelation(windows: np.ndarray, lags: int, *, chunk: int = 4096) -> np.ndarray:
    """Per neuron, coincidences at lags ``1..lags`` inside windows over its spikes ``(N, lags)``.

    The per-neuron terms of :func:`spikegan_tf.statistics.autocorrelogram`
    (``"counts"`` summed over neurons, divided by the spikes). A neuron without
    spikes gets 0.

    Examples
    --------
    >>> x = np.array([[[1, 1, 0, 1], [0, 0, 0, 0]]], np.uint8)
    >>> neuron_autocorrelation(x, 2).tolist()
    [[0.3333333333333333, 0.3333333333333333], [0.0, 0.0]]
    """
    coinc, spikes = neuron_coincidences(windows, lags, chunk=chunk)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(spikes[:, None] > 0, coinc / spikes[:, None], 0.0)


def neuron_coincidences(windows: np.ndarray, lags: int, *,
                        chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Per neuron, ``(coincidences (N, lags), spikes (N,))`` inside windows ``(n, N, T)``.

    Examples
    --------
    >>> x = np.array([[[1, 1, 0, 1]]], np.uint8)
    >>> [a.tolist() for a in neuron_coincidences(x, 2)]
    [[[1.0, 1.0]], [3.0]]
    """
    n, n_neurons, n_bins = windows.shape
    coinc = np.zeros((n_neurons, lags))
    spikes = np.zeros(n_neurons)
    for i in range(0, n, chunk):
        x = np.asarray(windows[i:i + chunk], dtype=np.float32)
        spikes += x.sum(axis=(0, 2))
        for lag in range(1, lags + 1):
            coinc[:, lag - 1] += (x[:, :, :-lag] * x[:, :, lag:]).sum(axis=(0, 2))
    return coinc, spikes

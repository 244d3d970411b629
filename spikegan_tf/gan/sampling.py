"""Drawing binary spike windows from a generator.

The sampling protocol is shared by every runtime (Keras, SavedModel, ONNX, the
TF-free rig runtime), so that the same seed gives the same spikes everywhere::

    z_rng, u_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    z = z_rng.standard_normal((n, latent_dim), dtype=np.float32)
    u = u_rng.random((n, n_neurons, n_bins), dtype=np.float32)
    spikes = (u < generator(z)).astype(np.uint8)

The two streams are independent of the chunk size: drawing 10 windows then 20
gives the same windows as drawing 30 at once.

Continuous rasters (the ``temporal`` generator) have a protocol of their own,
keyed by *position* so that any chunking gives the same raster: latent step
``t`` and the uniforms of output bin ``t`` come from block ``t // RASTER_BLOCK``
of two streams, each block a fresh generator::

    block_rng(seed, stream, b) = np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(stream, b)))
    z[t] = block_rng(seed, 0, b).standard_normal((RASTER_BLOCK, channels), float32)[t % B]
    u[t] = block_rng(seed, 1, b).random((RASTER_BLOCK, n_neurons), float32)[t % B]
    spikes[t] = u[t] < p[t],  p[t] = f(z[t], ..., z[t + receptive_field - 1])

(with a spike-history filter, ``u[t] < q[t]`` drawn in time order with the
drive of the raster's earlier spikes, :class:`~spikegan_tf.gan.history.RasterHistory`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from spikegan_tf.errors import ConfigError
from spikegan_tf.gan.history import (
    RasterHistory,
    draw_spikes,
    draws_in_order,
    history_coupling,
    history_filter,
)
from spikegan_tf.validation import check_positive_int, check_seed

__all__ = ["sample", "sampling_streams", "default_chunk", "iter_sample_chunks", "raster_block",
           "raster_draws", "iter_raster_chunks", "resolve_seed", "output_array", "fill",
           "cached_on"]

DEFAULT_CHUNK = 8192
#: at most this many spike bins (windows x neurons x bins) per default chunk: 64 MB of float32
#: probabilities, so a large population is sampled in bounded memory
CHUNK_ELEMENTS = 1 << 24


def default_chunk(n_neurons: int, n_bins: int) -> int:
    """Windows per generator call: ``DEFAULT_CHUNK``, fewer for large windows.

    Examples
    --------
    >>> default_chunk(50, 32), default_chunk(512, 128), default_chunk(1024, 64)
    (8192, 256, 256)
    """
    return max(1, min(DEFAULT_CHUNK, CHUNK_ELEMENTS // (n_neurons * n_bins)))
RASTER_BLOCK = 1024
RASTER_CHUNK = 4096


def resolve_seed(seed: int | None) -> int:
    """``seed`` checked, or fresh OS entropy when ``None`` (to record and replay).

    Examples
    --------
    >>> resolve_seed(7)
    7
    >>> isinstance(resolve_seed(None), int)
    True
    """
    seed = check_seed(seed)
    return int(np.random.SeedSequence().entropy % 2**63) if seed is None else seed


def raster_block(seed: int, stream: int, block: int, width: int) -> np.ndarray:
    """Block ``block`` of raster stream ``stream`` (0: latent normals, 1: uniforms).

    ``(RASTER_BLOCK, width)`` float32; a pure function of its arguments.

    Examples
    --------
    >>> raster_block(0, 0, 3, 2).shape
    (1024, 2)
    >>> bool((raster_block(0, 1, 3, 2) == raster_block(0, 1, 3, 2)).all())
    True
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, block)))
    if stream == 0:
        return rng.standard_normal((RASTER_BLOCK, width), dtype=np.float32)
    return rng.random((RASTER_BLOCK, width), dtype=np.float32)


def raster_draws(seed: int, stream: int, start: int, stop: int, width: int) -> np.ndarray:
    """Rows ``start:stop`` of raster stream ``stream`` (see the module docstring).

    Examples
    --------
    >>> whole = raster_draws(5, 0, 0, 3000, 4)
    >>> bool((raster_draws(5, 0, 1000, 2100, 4) == whole[1000:2100]).all())
    True
    """
    first, last = start // RASTER_BLOCK, (stop - 1) // RASTER_BLOCK
    rows = np.concatenate([raster_block(seed, stream, b, width) for b in range(first, last + 1)])
    offset = first * RASTER_BLOCK
    return rows[start - offset:stop - offset]


def iter_raster_chunks(
    predict: Any,
    n_time_bins: int,
    seed: int,
    *,
    latent_channels: int,
    n_neurons: int,
    receptive_field: int,
    start: int = 0,
    chunk: int = RASTER_CHUNK,
    threshold: float | None = None,
    history: np.ndarray | None = None,
    state: RasterHistory | None = None,
    coupling: np.ndarray | None = None,
) -> Iterator[np.ndarray]:
    """Yield a continuous raster ``(m, n_neurons)`` uint8, chunk after chunk.

    ``predict`` maps a latent slice ``(1, m + receptive_field - 1,
    latent_channels)`` to probabilities ``(1, m, n_neurons)`` (any runtime's
    raster model). Bins ``start .. start + n_time_bins - 1`` of the raster of
    ``seed`` are produced; the chunking changes nothing, so pieces drawn in
    separate calls join seamlessly. Memory is a few chunks whatever the length.

    With a spike-history filter ``history (n_neurons, L)``
    (:mod:`spikegan_tf.gan.history`) the bins are drawn in time order, each
    with the drive of the raster's earlier spikes: ``state``
    (a :class:`~spikegan_tf.gan.history.RasterHistory`, updated in place)
    carries it from one call to the next; ``coupling`` (optional) is the
    coupling between neurons drawn with it. A state that is not at ``start``
    is brought there by drawing the bins in between again (from bin 0 when it
    is past ``start``), so ``start`` stays exact at the cost of the bins before it.

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda z: 1 / (1 + np.exp(-z[:, 1:, :2] - z[:, :-1, :2]))  # receptive field 2
    >>> kw = dict(latent_channels=2, n_neurons=2, receptive_field=2)
    >>> a = np.concatenate(list(iter_raster_chunks(f, 5000, 0, chunk=700, **kw)))
    >>> b = np.concatenate(list(iter_raster_chunks(f, 5000, 0, chunk=4096, **kw)))
    >>> a.shape, bool((a == b).all())
    ((5000, 2), True)
    >>> h = np.array([[-3.0, -1.0], [2.0, 0.0]], np.float32)       # with spike history
    >>> whole = np.concatenate(list(iter_raster_chunks(f, 5000, 0, history=h, **kw)))
    >>> tail = np.concatenate(list(iter_raster_chunks(f, 1300, 0, start=3700, history=h, **kw)))
    >>> bool((tail == whole[3700:]).all()), bool((whole == a).all())
    (True, False)
    """
    n_time_bins = check_positive_int(n_time_bins, "n_time_bins")
    chunk = check_positive_int(chunk, "chunk")
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise ConfigError(f"`threshold` must be in [0, 1] or None. Received {threshold}.")
    if draws_in_order(history, coupling):
        state = RasterHistory(history, coupling) if state is None else state
        if state.position > start:
            state.reset()
        for _ in _raster_pieces(predict, state.position, start, seed, latent_channels,
                                n_neurons, receptive_field, chunk, threshold, state):
            pass  # the bins before `start`: their spikes set its drive
    else:
        state = None
    yield from _raster_pieces(predict, int(start), int(start) + n_time_bins, seed,
                              latent_channels, n_neurons, receptive_field, chunk, threshold,
                              state)


def _raster_pieces(predict: Any, t: int, stop: int, seed: int, latent_channels: int,
                   n_neurons: int, receptive_field: int, chunk: int, threshold: float | None,
                   state: RasterHistory | None) -> Iterator[np.ndarray]:
    """Bins ``t .. stop - 1`` of the raster, ``chunk`` at a time (see :func:`iter_raster_chunks`)."""
    while t < stop:
        m = min(chunk, stop - t)
        z = raster_draws(seed, 0, t, t + m + receptive_field - 1, latent_channels)
        probs = np.asarray(predict(z[None]), dtype=np.float32)[0]
        if probs.shape != (m, n_neurons):
            raise ConfigError(f"The raster model returned {probs.shape} for {m} bins; "
                              f"expected {(m, n_neurons)}.")
        u = (raster_draws(seed, 1, t, t + m, n_neurons) if threshold is None
             else np.full(probs.shape, threshold, np.float32))
        if state is not None:
            spikes = state.draw(probs, u)
        elif threshold is None:
            spikes = (u < probs).view(np.uint8)
        else:
            spikes = (probs > threshold).view(np.uint8)
        yield spikes
        t += m


def sampling_streams(seed: int | None) -> tuple[np.random.Generator, np.random.Generator]:
    """Return the ``(z_rng, u_rng)`` pair of the sampling protocol for ``seed``.

    Examples
    --------
    >>> z_rng, u_rng = sampling_streams(0)
    >>> z_rng.standard_normal(2, dtype="float32").dtype
    dtype('float32')
    """
    ss = np.random.SeedSequence(check_seed(seed))
    z_ss, u_ss = ss.spawn(2)
    return np.random.default_rng(z_ss), np.random.default_rng(u_ss)


def _window_shape(generator: Any) -> tuple[int, int]:
    shape = tuple(generator.outputs[0].shape)
    return int(shape[-2]), int(shape[-1])


def output_array(out: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """``out`` checked to be uint8 of ``shape``, or a new such array when ``None``.

    Examples
    --------
    >>> output_array(None, (2, 3)).shape
    (2, 3)
    """
    if out is None:
        return np.empty(shape, dtype=np.uint8)
    if out.shape != shape or out.dtype != np.uint8:
        raise ConfigError(
            f"`out` must be a uint8 array of shape {shape}. Received {out.dtype} {out.shape}."
        )
    return out


def fill(out: np.ndarray, pieces: Iterator[np.ndarray]) -> np.ndarray:
    """Write consecutive ``pieces`` (along the first axis) into ``out``; return ``out``.

    Examples
    --------
    >>> fill(np.zeros(5, np.uint8), iter([np.ones(2, np.uint8), np.full(3, 2, np.uint8)]))
    array([1, 1, 2, 2, 2], dtype=uint8)
    """
    t = 0
    for piece in pieces:
        out[t:t + len(piece)] = piece
        t += len(piece)
    return out


def cached_on(model: Any, attr: str, make: Any) -> Any:
    """``model.<attr>``, made by ``make()`` and kept on the model the first time."""
    fn = getattr(model, attr, None)
    if fn is None:
        fn = make()
        try:
            setattr(model, attr, fn)
        except AttributeError:  # pragma: no cover - exotic model wrappers
            pass
    return fn


def _predict(generator: Any) -> Any:
    def make() -> Any:
        import tensorflow as tf

        return tf.function(lambda z: generator(z, training=False), reduce_retracing=True)

    return cached_on(generator, "_spikegan_predict", make)


def _condition_inputs(generator: Any, conditions: Any, n_samples: int) -> list[np.ndarray]:
    """The generator's condition inputs for ``n_samples`` windows (checked), or ``[]``."""
    wanted = [t.name for t in generator.inputs[1:]]
    if conditions is None:
        if wanted:
            raise ConfigError(f"This generator is conditional (inputs {wanted}): pass "
                              "`conditions=` (labels and/or covariates, one per window).")
        return []
    if not wanted:
        raise ConfigError("This generator is unconditional: it takes no `conditions`.")
    arrays = [np.asarray(a, np.float32) for a in conditions.model_inputs()]
    shapes = [tuple(int(d) for d in t.shape[1:]) for t in generator.inputs[1:]]
    if [a.shape[1:] for a in arrays] != shapes:
        raise ConfigError(f"`conditions` give inputs of shapes {[a.shape[1:] for a in arrays]} "
                          f"per window; this generator takes {dict(zip(wanted, shapes, strict=True))}.")
    if len(conditions) != n_samples:
        raise ConfigError(f"`conditions` hold {len(conditions)} windows' conditions for "
                          f"n_samples={n_samples}. Expected one per window.")
    return arrays


def iter_sample_chunks(
    generator: Any,
    n_samples: int,
    seed: int | None = None,
    *,
    chunk_size: int | None = None,
    threshold: float | None = None,
    return_probs: bool = False,
    conditions: Any = None,
) -> Iterator[np.ndarray | tuple[np.ndarray, np.ndarray]]:
    """Yield consecutive chunks of :func:`sample` (uint8 windows; probabilities too if asked)."""
    n_samples = check_positive_int(n_samples, "n_samples")
    extra = _condition_inputs(generator, conditions, n_samples)
    n_neurons, n_bins = _window_shape(generator)
    chunk_size = (default_chunk(n_neurons, n_bins) if chunk_size is None
                  else check_positive_int(chunk_size, "chunk_size"))
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise ConfigError(f"`threshold` must be in [0, 1] or None. Received {threshold}.")
    latent_dim = int(generator.inputs[0].shape[-1])
    z_rng, u_rng = sampling_streams(seed)
    predict = _predict(generator)
    history = history_filter(generator)  # spikes drawn bin after bin with it
    coupling = history_coupling(generator)
    done = 0
    while done < n_samples:
        m = min(chunk_size, n_samples - done)
        z = z_rng.standard_normal((m, latent_dim), dtype=np.float32)
        inputs = [z, *(a[done:done + m] for a in extra)] if extra else z
        probs = np.asarray(predict(inputs), dtype=np.float32)
        if threshold is None:
            u = u_rng.random((m, n_neurons, n_bins), dtype=np.float32)
        else:  # u = threshold everywhere: without history, spikes = probs > threshold
            u = np.full(probs.shape, threshold, np.float32)
        spikes = draw_spikes(probs, u, history, coupling=coupling)
        yield (spikes, probs) if return_probs else spikes
        done += m


def sample(
    generator: Any,
    n_samples: int,
    seed: int | None = None,
    *,
    chunk_size: int | None = None,
    threshold: float | None = None,
    out: np.ndarray | None = None,
    conditions: Any = None,
) -> np.ndarray:
    """Draw ``n_samples`` binary windows ``(n, n_neurons, n_bins)`` from a generator.

    Spikes are Bernoulli draws from the generator's firing probabilities
    (``u < p`` with ``u`` uniform; bin after bin with the filter of a generator
    that has one, :mod:`spikegan_tf.gan.history`), computed ``chunk_size`` windows at a time,
    so the working memory is a few chunks whatever ``n_samples`` is.

    Parameters
    ----------
    generator : keras.Model
        Maps ``z (batch, latent_dim)`` to probabilities ``(batch, n_neurons, n_bins)``.
    n_samples : int
        Number of windows.
    seed : int, optional
        Seed of the sampling protocol (see the module docstring); same seed, same spikes.
    chunk_size : int, optional
        Windows generated per generator call (default: :func:`default_chunk`,
        8192 windows or fewer, so that a chunk holds at most 2**24 bins).
    threshold : float, optional
        Deterministic spikes ``p > threshold`` instead of Bernoulli draws
        (with a spike-history filter: ``q > threshold``, ``q`` drawn bin after bin).
    out : numpy.ndarray, optional
        Preallocated uint8 array (e.g. ``np.lib.format.open_memmap``) to fill;
        lets a million windows go straight to disk.
    conditions : Conditions, optional
        A conditional generator's conditions, one per window
        (:func:`spikegan_tf.data.conditions.make_conditions`); the latent and
        uniform streams are those of the unconditional protocol.

    Returns
    -------
    numpy.ndarray
        uint8 windows (``out`` when given).

    Examples
    --------
    >>> from spikegan_tf.gan.config import ModelConfig
    >>> from spikegan_tf.gan.networks import build_generator
    >>> g = build_generator(ModelConfig(n_neurons=3, n_bins=8, num_features=4))
    >>> x = sample(g, 5, seed=0)
    >>> x.shape, x.dtype
    ((5, 3, 8), dtype('uint8'))
    >>> bool((sample(g, 5, seed=0) == x).all())
    True
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    n_neurons, n_bins = _window_shape(generator)
    shape = (n_samples, n_neurons, n_bins)
    return fill(output_array(out, shape),
                iter_sample_chunks(generator, n_samples, seed, chunk_size=chunk_size,
                                   threshold=threshold, conditions=conditions))

"""Continuous rasters from a ``temporal`` generator (Keras side of the raster protocol).

The protocol itself -- position-keyed latent and uniform draws, chunked
generation from overlapping latent slices -- is numpy-only and lives in
:mod:`spikegan_tf.gan.sampling`, shared with the TF-free rig runtime
(:mod:`spikegan_tf.export.raster_runtime`), so the same seed gives the same
raster in both.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spikegan_tf.errors import ConfigError
from spikegan_tf.gan.history import (
    RasterHistory,
    draws_in_order,
    history_coupling,
    history_filter,
)
from spikegan_tf.gan.sampling import (
    RASTER_CHUNK,
    cached_on,
    fill,
    iter_raster_chunks,
    output_array,
    resolve_seed,
)
from spikegan_tf.validation import check_positive_int

__all__ = ["sample_raster", "MAX_KEPT_STATES"]

#: Seeds whose raster's end a generator remembers (its spike-history drive, a few kB each).
MAX_KEPT_STATES = 8


def _raster_predict(generator: Any, config: Any) -> Any:
    def make() -> Any:
        import tensorflow as tf

        from spikegan_tf.gan.networks import build_raster_generator

        raster = build_raster_generator(generator, config)
        spec = tf.TensorSpec((1, None, config.latent_channels), tf.float32)
        return tf.function(lambda z: raster(z, training=False), input_signature=[spec])

    return cached_on(generator, "_spikegan_raster_predict", make)


def _weights_digest(generator: Any) -> str:
    """A digest of the generator's weights (a remembered raster end belongs to one set)."""
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    for w in generator.get_weights():
        digest.update(np.ascontiguousarray(w).tobytes())
    return digest.hexdigest()


def sample_raster(
    generator: Any,
    config: Any,
    n_time_bins: int,
    seed: int | None = None,
    *,
    start: int = 0,
    chunk: int = RASTER_CHUNK,
    threshold: float | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Draw one continuous raster ``(n_time_bins, n_neurons)`` uint8 from a temporal generator.

    Every bin is the same function of the latent noise around it (no window
    boundaries, so no seams); the raster is generated ``chunk`` bins at a time
    from overlapping latent slices under the position-keyed protocol of the
    module docstring, so memory stays bounded and ``start`` continues a raster
    drawn earlier with the same seed exactly. A generator with a spike-history
    filter (:mod:`spikegan_tf.gan.history`) draws its bins in time order, each
    with the drive of the raster's earlier spikes; its ``start`` is exact too:
    the generator remembers where the last raster of each seed ended (for up to
    :data:`MAX_KEPT_STATES` seeds, with its weights as they were), so continuing
    from there costs nothing, and
    any other ``start`` draws the bins before it again (from the last end, or
    from bin 0 when it lies before that).

    Parameters
    ----------
    generator : keras.Model
        A ``temporal`` generator from :func:`spikegan_tf.gan.networks.build_generator`.
    config : ModelConfig
        Its configuration.
    n_time_bins : int
        Length ``T`` of the raster.
    seed : int, optional
        Seed of the protocol (``None``: fresh entropy).
    start : int
        First bin (continue an earlier raster of the same seed).
    chunk : int
        Bins generated per model call.
    threshold : float, optional
        Deterministic spikes ``p > threshold`` instead of Bernoulli draws.
    out : numpy.ndarray, optional
        Preallocated uint8 ``(n_time_bins, n_neurons)`` array to fill, e.g. a
        ``np.lib.format.open_memmap`` for hours of activity.

    Examples
    --------
    >>> from spikegan_tf.gan.config import ModelConfig
    >>> from spikegan_tf.gan.networks import build_generator
    >>> cfg = ModelConfig(n_neurons=3, n_bins=8, architecture="temporal", temporal_layers=2)
    >>> g = build_generator(cfg, seed=0)
    >>> r = sample_raster(g, cfg, 5000, seed=0, chunk=1000)
    >>> r.shape, r.dtype
    ((5000, 3), dtype('uint8'))
    >>> tail = sample_raster(g, cfg, 1500, seed=0, start=3500)
    >>> bool((tail == r[3500:]).all())
    True
    """
    if getattr(config, "architecture", None) != "temporal":
        raise ConfigError(
            "Continuous rasters need the temporal architecture (a stationary generator); "
            f"this model's architecture is {getattr(config, 'architecture', None)!r}, which "
            "generates independent windows. Train with architecture='temporal'."
        )
    n_time_bins = check_positive_int(n_time_bins, "n_time_bins")
    start = check_positive_int(start, "start", minimum=0)
    seed = resolve_seed(seed)
    history, coupling = history_filter(generator), history_coupling(generator)
    state = None
    if draws_in_order(history, coupling):  # where the last raster of this seed ended
        states = cached_on(generator, "_spikegan_raster_states", dict)
        key = (seed, threshold, _weights_digest(generator))  # new weights: a new raster
        state = states.pop(key, None) or RasterHistory(history, coupling)
        while len(states) >= MAX_KEPT_STATES:
            states.pop(next(iter(states)))
        states[key] = state
    pieces = iter_raster_chunks(_raster_predict(generator, config), n_time_bins, seed,
                                latent_channels=config.latent_channels,
                                n_neurons=config.n_neurons,
                                receptive_field=config.receptive_field, start=start,
                                chunk=chunk, threshold=threshold, history=history, state=state,
                                coupling=coupling)
    return fill(output_array(out, (n_time_bins, config.n_neurons)), pieces)

"""Drawing binary spike windows from a generator.

The sampling protocol is shared by every runtime (Keras, SavedModel, ONNX, the
TF-free rig runtime), so that the same seed gives the same spikes everywhere::

    z_rng, u_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    z = z_rng.standard_normal((n, latent_dim), dtype=np.float32)
    u = u_rng.random((n, n_neurons, n_bins), dtype=np.float32)
    spikes = (u < generator(z)).astype(np.uint8)

The two streams are independent of the chunk size: drawing 10 windows then 20
gives the same windows as drawing 30 at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from spikegan_tf.errors import ConfigError
from spikegan_tf.validation import check_positive_int, check_seed

__all__ = ["sample", "sampling_streams", "iter_sample_chunks"]

DEFAULT_CHUNK = 8192


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


def _predict(generator: Any) -> Any:
    import tensorflow as tf

    fn = getattr(generator, "_spikegan_predict", None)
    if fn is None:
        @tf.function(reduce_retracing=True)
        def fn(z):
            return generator(z, training=False)

        try:
            generator._spikegan_predict = fn
        except AttributeError:  # pragma: no cover - exotic model wrappers
            pass
    return fn


def iter_sample_chunks(
    generator: Any,
    n_samples: int,
    seed: int | None = None,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    threshold: float | None = None,
    return_probs: bool = False,
) -> Iterator[np.ndarray | tuple[np.ndarray, np.ndarray]]:
    """Yield consecutive chunks of :func:`sample` (uint8 windows; probabilities too if asked)."""
    n_samples = check_positive_int(n_samples, "n_samples")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise ConfigError(f"`threshold` must be in [0, 1] or None. Received {threshold}.")
    latent_dim = int(generator.inputs[0].shape[-1])
    n_neurons, n_bins = _window_shape(generator)
    z_rng, u_rng = sampling_streams(seed)
    predict = _predict(generator)
    done = 0
    while done < n_samples:
        m = min(chunk_size, n_samples - done)
        z = z_rng.standard_normal((m, latent_dim), dtype=np.float32)
        probs = np.asarray(predict(z), dtype=np.float32)
        if threshold is None:
            u = u_rng.random((m, n_neurons, n_bins), dtype=np.float32)
            spikes = (u < probs).view(np.uint8)
        else:
            spikes = (probs > threshold).view(np.uint8)
        yield (spikes, probs) if return_probs else spikes
        done += m


def sample(
    generator: Any,
    n_samples: int,
    seed: int | None = None,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    threshold: float | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Draw ``n_samples`` binary windows ``(n, n_neurons, n_bins)`` from a generator.

    Spikes are Bernoulli draws from the generator's firing probabilities
    (``u < p`` with ``u`` uniform), computed ``chunk_size`` windows at a time,
    so the working memory is a few chunks whatever ``n_samples`` is.

    Parameters
    ----------
    generator : keras.Model
        Maps ``z (batch, latent_dim)`` to probabilities ``(batch, n_neurons, n_bins)``.
    n_samples : int
        Number of windows.
    seed : int, optional
        Seed of the sampling protocol (see the module docstring); same seed, same spikes.
    chunk_size : int
        Windows generated per generator call.
    threshold : float, optional
        Deterministic spikes ``p > threshold`` instead of Bernoulli draws.
    out : numpy.ndarray, optional
        Preallocated uint8 array (e.g. ``np.lib.format.open_memmap``) to fill;
        lets a million windows go straight to disk.

    Returns
    -------
    numpy.ndarray
        uint8 windows (``out`` when given).

    Examples
    --------
    >>> from spikegan_tf.config import ModelConfig
    >>> from spikegan_tf.models import build_generator
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
    if out is None:
        out = np.empty(shape, dtype=np.uint8)
    elif out.shape != shape or out.dtype != np.uint8:
        raise ConfigError(
            f"`out` must be a uint8 array of shape {shape}. Received {out.dtype} {out.shape}."
        )
    start = 0
    for chunk in iter_sample_chunks(generator, n_samples, seed, chunk_size=chunk_size,
                                    threshold=threshold):
        out[start:start + len(chunk)] = chunk
        start += len(chunk)
    return out

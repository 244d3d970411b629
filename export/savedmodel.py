"""SavedModel export for TensorFlow Serving.

The SavedModel has two signatures:

``serving_default``
    inputs ``z`` float32 ``(batch, latent_dim)`` and ``u`` float32
    ``(batch, n_neurons, n_bins)`` (the caller's uniform draws); outputs
    ``probs`` float32 and ``spikes`` uint8 ``(batch, n_neurons, n_bins)``.
    Callers that draw ``z`` and ``u`` with the package's sampling protocol get
    exactly the spikes of :func:`spikegan_tf.gan.sampling.sample`.
``sample``
    inputs ``num_samples`` int32 and ``seed`` int64 scalars; the server draws
    ``z`` and ``u`` with TensorFlow's stateless RNG
    (``tf.random.stateless_normal``/``stateless_uniform``, seeds ``[seed, 0]``
    and ``[seed, 1]``), so the same seed always gives the same spikes (but not
    the numpy protocol's spikes). Outputs ``probs`` and ``spikes``.

``raster`` (``temporal`` generators only)
    input ``z_sequence`` float32 ``(batch, time + receptive_field - 1,
    latent_channels)``; output ``probs`` float32 ``(batch, time, n_neurons)``:
    one continuous raster (see :mod:`.raster`).

The generator is the Keras model itself (TensorFlow's own kernels), and the
metadata is the asset ``assets/spikegan_metadata.json``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf.gan.config import ModelConfig

from .errors import ExportError
from .metadata import ASSET_NAME
from .parity import Parity, measure_parity

__all__ = ["write_savedmodel", "verify_savedmodel", "verify_savedmodel_raster", "sample_seeds"]


def sample_seeds(seed: Any) -> tuple[Any, Any]:
    """Return the stateless seeds ``([seed, 0], [seed, 1])`` of ``z`` and ``u``."""
    import tensorflow as tf

    seed = tf.cast(seed, tf.int64)
    return tf.stack([seed, tf.constant(0, tf.int64)]), tf.stack([seed, tf.constant(1, tf.int64)])


def _servable(generator: Any, config: ModelConfig, metadata_path: str) -> Any:
    import tensorflow as tf

    from .graph import float32_generator, spike_function

    model = float32_generator(generator, config)
    spikes_of = spike_function(generator)
    latent, neurons, bins = int(model.inputs[0].shape[-1]), config.n_neurons, config.n_bins
    module = tf.Module()
    module.generator = model
    # track the variables explicitly: the Keras 3 model's own tracking is not relied on
    module.generator_variables = [getattr(v, "value", v) for v in model.weights]
    module.metadata_file = tf.saved_model.Asset(metadata_path)

    def probs_and_spikes(z, u, conditions=()):
        probs = tf.cast(model([z, *conditions] if conditions else z, training=False), tf.float32)
        return {"probs": probs, "spikes": spikes_of(probs, u)}

    module.serving_default = _serving_default(config, latent, probs_and_spikes)
    if config.conditional:
        module.sample = _conditional_sample(config, latent, probs_and_spikes)
        return module

    @tf.function(input_signature=[
        tf.TensorSpec([], tf.int32, name="num_samples"),
        tf.TensorSpec([], tf.int64, name="seed"),
    ])
    def sample(num_samples, seed):
        tf.debugging.assert_positive(num_samples, message="`num_samples` must be >= 1")
        tf.debugging.assert_non_negative(seed, message="`seed` must be >= 0")
        z_seed, u_seed = sample_seeds(seed)
        z = tf.random.stateless_normal(tf.stack([num_samples, latent]), z_seed)
        u = tf.random.stateless_uniform(tf.stack([num_samples, neurons, bins]), u_seed)
        return probs_and_spikes(z, u)

    module.sample = sample
    if config.architecture == "temporal":
        from .raster import raster_function

        module.raster = raster_function(model, config)
    return module


def _serving_default(config: ModelConfig, latent: int, probs_and_spikes: Any) -> Any:
    """``serving_default``: ``(z, u[, label][, covariates]) -> {probs, spikes}``."""
    import tensorflow as tf

    from .graph import condition_specs

    signature = [tf.TensorSpec([None, latent], tf.float32, name="z"),
                 tf.TensorSpec([None, config.n_neurons, config.n_bins], tf.float32, name="u"),
                 *condition_specs(config)]

    @tf.function(input_signature=signature)
    def serving_default(z, u, *conditions):
        return probs_and_spikes(z, u, conditions)

    return serving_default


def _conditional_sample(config: ModelConfig, latent: int, probs_and_spikes: Any) -> Any:
    """``sample`` of a conditional model: ``(seed, label[, covariates])``, one window per row."""
    import tensorflow as tf

    from .graph import condition_specs

    specs = condition_specs(config)

    @tf.function(input_signature=[tf.TensorSpec([], tf.int64, name="seed"), *specs])
    def sample(seed, *conditions):
        tf.debugging.assert_non_negative(seed, message="`seed` must be >= 0")
        n = tf.shape(conditions[0])[0]
        z_seed, u_seed = sample_seeds(seed)
        z = tf.random.stateless_normal(tf.stack([n, latent]), z_seed)
        u = tf.random.stateless_uniform(tf.stack([n, config.n_neurons, config.n_bins]), u_seed)
        return probs_and_spikes(z, u, conditions)

    return sample


def write_savedmodel(generator: Any, config: ModelConfig, path: str | os.PathLike,
                     metadata: dict[str, Any]) -> Path:
    """Write the generator as a SavedModel into the (new or empty) directory ``path``.

    Parameters
    ----------
    generator : keras.Model
        ``z -> probs (batch, n_neurons, n_bins)``.
    config : ModelConfig
        The generator's configuration (window shape).
    path : path-like
        Version directory, e.g. ``models/retina/1`` (TF Serving's layout).
    metadata : dict
        Written as ``assets/spikegan_metadata.json``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import tensorflow as tf

    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="spikegan-meta-") as tmp:
        meta_file = Path(tmp) / ASSET_NAME
        meta_file.write_text(json.dumps(metadata, indent=2, sort_keys=True, default=str) + "\n")
        module = _servable(generator, config, str(meta_file))
        try:
            signatures = {"serving_default": module.serving_default.get_concrete_function(),
                          "sample": module.sample.get_concrete_function()}
            if hasattr(module, "raster"):
                signatures["raster"] = module.raster.get_concrete_function()
            tf.saved_model.save(module, str(path), signatures=signatures)
        except Exception as exc:  # conversion/serialisation failure, not user input
            raise ExportError(f"Writing the SavedModel to '{path}' failed: {exc}") from exc
    return path


def verify_savedmodel(path: str | os.PathLike, ref_probs: np.ndarray, z: np.ndarray,
                      u: np.ndarray, conditions: dict[str, np.ndarray] | None = None, *,
                      history: np.ndarray | None = None,
                      coupling: np.ndarray | None = None) -> Parity:
    """Reload the SavedModel, call both signatures and measure parity.

    ``serving_default`` on the protocol draws ``(z, u)`` is compared with the
    Keras probabilities ``ref_probs``; ``sample`` is called twice with one
    seed and must return identical uint8 spikes of the right shape.

    Raises
    ------
    ExportError
        If the model does not load, a signature is missing, or ``sample`` is
        not reproducible.
    """
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(path))
        serve = loaded.signatures["serving_default"]
        sample = loaded.signatures["sample"]
    except Exception as exc:
        raise ExportError(f"The SavedModel written to '{path}' does not load: {exc}") from exc
    cond = {k: tf.constant(v) for k, v in (conditions or {}).items()}
    out = serve(z=tf.constant(z), u=tf.constant(u), **cond)
    parity = measure_parity("savedmodel", ref_probs, out["probs"].numpy(),
                            out["spikes"].numpy(), u, history=history, coupling=coupling)
    n = min(4, len(z))
    if cond:  # a conditional model samples one window per row of its conditions
        first = {k: v[:n] for k, v in cond.items()}
        a = sample(seed=tf.constant(7, tf.int64), **first)
        b = sample(seed=tf.constant(7, tf.int64), **first)
    else:
        a = sample(num_samples=tf.constant(n, tf.int32), seed=tf.constant(7, tf.int64))
        b = sample(num_samples=tf.constant(n, tf.int32), seed=tf.constant(7, tf.int64))
    sa, sb = a["spikes"].numpy(), b["spikes"].numpy()
    if sa.shape != (n, *ref_probs.shape[1:]) or sa.dtype != np.uint8 or not (sa == sb).all():
        raise ExportError(f"The SavedModel's `sample` signature is not reproducible or has the "
                          f"wrong shape/dtype: {sa.shape} {sa.dtype}.")
    return parity


def verify_savedmodel_raster(path: str | os.PathLike, ref_probs: np.ndarray, z: np.ndarray,
                             u: np.ndarray, history: np.ndarray | None = None,
                             coupling: np.ndarray | None = None) -> Parity:
    """Reload the SavedModel and compare its ``raster`` signature with the Keras raster model."""
    import tensorflow as tf

    try:
        raster = tf.saved_model.load(str(path)).signatures["raster"]
    except Exception as exc:
        raise ExportError(f"The SavedModel written to '{path}' has no loadable `raster` "
                          f"signature: {exc}") from exc
    probs = raster(z_sequence=tf.constant(z))["probs"].numpy()
    from .raster import raster_parity

    return raster_parity("savedmodel-raster", ref_probs, probs, u, history, coupling)

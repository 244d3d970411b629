"""The continuous-raster model of a ``temporal`` generator, exported for rigs.

A ``temporal`` generator is stationary: output bin ``t`` is one function of
the latent steps ``t .. t + receptive_field - 1``. Its raster model
(:func:`spikegan_tf.gan.networks.build_raster_generator`) is exported beside the
window model as ``raster.onnx`` (and as the SavedModel signature ``raster``):

input ``z_sequence``
    float32 ``(batch, latent_time, latent_channels)`` standard-normal draws,
    ``latent_time = time + receptive_field - 1`` (symbolic dimensions
    ``batch``, ``latent_time``).
output ``probs``
    float32 ``(batch, time, n_neurons)`` firing probabilities, raster layout.

Spikes are ``u < probs`` with the uniforms of the raster protocol
(:mod:`spikegan_tf.gan.sampling`: position-keyed blocks, so any chunking gives the
same raster); consecutive chunks overlap by ``receptive_field - 1`` latent
steps and join without a seam. The metadata's ``raster`` section carries
``receptive_field``, ``latent_channels`` and the protocol.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf.gan.config import ModelConfig
from spikegan_tf.gan.sampling import RASTER_BLOCK, raster_draws

from .errors import ExportError
from .parity import Parity, measure_parity

__all__ = ["RASTER_FILE", "RASTER_PROTOCOL", "raster_metadata", "raster_function",
           "raster_inputs", "raster_parity", "write_raster_onnx", "verify_raster_onnx"]

RASTER_FILE = "raster.onnx"
RASTER_PROTOCOL = (
    f"block_rng(stream, b) = numpy.random.default_rng(numpy.random.SeedSequence(seed, "
    f"spawn_key=(stream, b))); z[t] = block_rng(0, t // {RASTER_BLOCK}).standard_normal("
    f"({RASTER_BLOCK}, latent_channels), float32)[t % {RASTER_BLOCK}]; u[t] = block_rng(1, "
    f"t // {RASTER_BLOCK}).random(({RASTER_BLOCK}, n_neurons), float32)[t % {RASTER_BLOCK}]; "
    "probs[t] = model(z[t : t + receptive_field]); spikes[t] = uint8(u[t] < probs[t]); "
    "with a spike_history section: spikes[t] = uint8(u[t] < q[t]) by its rule, t counted from "
    "the raster's bin 0 and the drive carried across chunks (never reset)"
)
PARITY_BINS = 512  # raster bins compared, in two chunks and whole


def raster_metadata(metadata: dict[str, Any], config: ModelConfig) -> dict[str, Any]:
    """``metadata`` with the ``raster`` section of a temporal generator.

    Examples
    --------
    >>> cfg = ModelConfig(n_neurons=3, n_bins=8, architecture="temporal")
    >>> raster_metadata({}, cfg)["raster"]["receptive_field"]
    61
    """
    return {**metadata, "raster": {
        "file": RASTER_FILE,
        "receptive_field": config.receptive_field,
        "latent_channels": config.latent_channels,
        "n_neurons": config.n_neurons,
        "layout": "(batch, time, n_neurons)",
        "inputs": {"z_sequence": "float32 (batch, time + receptive_field - 1, "
                                 "latent_channels) standard-normal draws"},
        "outputs": {"probs": "float32 (batch, time, n_neurons) firing probabilities"},
        "protocol": RASTER_PROTOCOL,
    }}


def raster_function(generator: Any, config: ModelConfig) -> Any:
    """The ``tf.function`` ``z_sequence -> {"probs"}`` of the raster exports."""
    import tensorflow as tf

    from spikegan_tf.gan.networks import build_raster_generator

    from .graph import float32_generator

    model = build_raster_generator(float32_generator(generator, config), config)

    @tf.function(input_signature=[
        tf.TensorSpec([None, None, config.latent_channels], tf.float32, name="z_sequence")])
    def raster(z_sequence):
        return {"probs": tf.cast(model(z_sequence, training=False), tf.float32)}

    raster.captured_variables = [getattr(v, "value", v) for v in model.weights]
    return raster


def raster_inputs(config: ModelConfig, n_time_bins: int, seed: int,
                  start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The raster protocol's ``(z_sequence (1, T + rf - 1, C), u (1, T, n_neurons))``.

    Examples
    --------
    >>> cfg = ModelConfig(n_neurons=3, n_bins=8, architecture="temporal", temporal_layers=2)
    >>> z, u = raster_inputs(cfg, 100, seed=0)
    >>> z.shape, u.shape
    ((1, 112, 8), (1, 100, 3))
    """
    z = raster_draws(seed, 0, start, start + n_time_bins + config.receptive_field - 1,
                     config.latent_channels)
    u = raster_draws(seed, 1, start, start + n_time_bins, config.n_neurons)
    return z[None], u[None]


def write_raster_onnx(generator: Any, config: ModelConfig, path: str | os.PathLike,
                      metadata: dict[str, Any], *, opset: int = 17) -> Path:
    """Convert the raster model with tf2onnx and write ``path`` (not yet verified)."""
    from .onnx_export import _require, convert_function, finish_onnx

    onnx = _require("onnx")
    model = convert_function(raster_function(generator, config), opset, "the raster model")
    names = ([i.name for i in model.graph.input], [o.name for o in model.graph.output])
    if names != (["z_sequence"], ["probs"]):
        raise ExportError(f"tf2onnx produced inputs/outputs {names}; expected "
                          "(['z_sequence'], ['probs']).")
    for value, dims in ((model.graph.input[0], ("batch", "latent_time")),
                        (model.graph.output[0], ("batch", "time"))):
        for i, name in enumerate(dims):
            value.type.tensor_type.shape.dim[i].dim_param = name
    finish_onnx(model, raster_metadata(metadata, config), "The converted raster ONNX model",
                "Spike-GAN temporal generator, raster model: z_sequence (batch, time + "
                "receptive_field - 1, latent_channels) -> probs (batch, time, n_neurons). "
                "Metadata key 'spikegan' holds the JSON description.")
    path = Path(path)
    onnx.save(model, str(path))
    return path


def reference_probs(generator: Any, config: ModelConfig, z: np.ndarray) -> np.ndarray:
    """The Keras raster model's probabilities for ``z`` (the parity reference)."""
    return np.asarray(raster_function(generator, config)(z)["probs"])


def raster_parity(fmt: str, ref_probs: np.ndarray, probs: np.ndarray, u: np.ndarray,
                  history: np.ndarray | None = None,
                  coupling: np.ndarray | None = None) -> Parity:
    """Parity of a raster export's ``probs`` ``(1, T, N)`` with the Keras raster model's.

    The export's spikes are drawn as the rig runtime draws them: ``u < probs``,
    or in time order with the spike-history filter ``history``
    (:class:`~spikegan_tf.gan.history.RasterHistory`, with the ``coupling`` if
    any), compared as :func:`~.parity.measure_parity` compares windows.

    Examples
    --------
    >>> p = np.full((1, 4, 1), 0.5, np.float32)
    >>> u = np.full((1, 4, 1), 0.1, np.float32)
    >>> raster_parity("x", p, p, u, np.array([[-9.0]], np.float32)).spikes_compared
    4
    """
    from spikegan_tf.gan.history import RasterHistory, draws_in_order

    if history is None or not draws_in_order(history, coupling):
        return measure_parity(fmt, ref_probs, probs, (u < probs).view(np.uint8), u)
    spikes = RasterHistory(history, coupling).draw(np.asarray(probs, np.float32)[0], u[0])[None]
    t = [np.moveaxis(np.asarray(a), 1, 2) for a in (ref_probs, probs, spikes, u)]
    return measure_parity(fmt, *t, history=history, coupling=coupling)


def verify_raster_onnx(path: str | os.PathLike, ref_probs: np.ndarray, z: np.ndarray,
                       u: np.ndarray, receptive_field: int,
                       history: np.ndarray | None = None,
                       coupling: np.ndarray | None = None) -> Parity:
    """Run ``path`` in ONNX Runtime on the whole slice and on two chunks; measure parity.

    The two chunks (overlapping by ``receptive_field - 1`` latent steps) must
    join into the whole raster: the exported model is seamless too.
    """
    from .onnx_export import _require

    ort = _require("onnxruntime")
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        probs = session.run(["probs"], {"z_sequence": z})[0]
        half = u.shape[1] // 2
        parts = [session.run(["probs"], {"z_sequence": z[:, a:b + receptive_field - 1]})[0]
                 for a, b in ((0, half), (half, u.shape[1]))]
    except Exception as exc:
        raise ExportError(f"ONNX Runtime cannot run the exported '{path}': {exc}") from exc
    if not np.allclose(np.concatenate(parts, axis=1), probs, rtol=0, atol=1e-6):
        raise ExportError(f"'{path}': two chunks of the raster do not join into the whole.")
    return raster_parity("onnx-raster", ref_probs, probs, u, history, coupling)

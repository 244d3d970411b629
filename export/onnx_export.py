"""ONNX export (tf2onnx) for ONNX Runtime on lab rigs.

The ONNX model has inputs ``z`` float32 ``(batch, latent_dim)`` and ``u``
float32 ``(batch, n_neurons, n_bins)`` (a conditional model also ``label``
float32 one-hot ``(batch, n_classes)`` and/or ``covariates`` float32
``(batch, n_bins, n_covariates)``) and outputs ``probs`` float32 and
``spikes`` uint8 ``(batch, n_neurons, n_bins)``; the batch dimension is the
symbolic ``batch``. The metadata (:mod:`.metadata`) is stored in
``metadata_props``.

The graph converted is the polyphase expression of :mod:`.graph` (``Gather``
+ one matrix product per upsampling block, no ``ConvTranspose``, ``Tile`` or
transpose chains), which ONNX Runtime fuses into a few ``FusedGemm`` nodes.
The file is not declared written until ONNX Runtime has loaded it and its
outputs match the Keras model (tf2onnx can exit cleanly with a file that ONNX
Runtime refuses).

Requires the ``export`` extra (``onnx``, ``tf2onnx``, ``onnxruntime``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf.gan.config import ModelConfig

from .errors import ExportError
from .metadata import to_onnx_props
from .parity import Parity, measure_parity

__all__ = ["DEFAULT_OPSET", "BATCH_DIM", "to_onnx_model", "write_onnx", "verify_onnx"]

DEFAULT_OPSET = 17
BATCH_DIM = "batch"


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ExportError(
            f"ONNX export needs the '{module}' package: pip install 'spikegan-tf[export]' "
            f"({exc})."
        ) from None


def convert_function(fn: Any, opset: int, what: str) -> Any:
    """``tf2onnx.convert.from_function`` on a ``tf.function`` with its signature, quietly.

    Raises :class:`ExportError` naming ``what`` when tf2onnx fails.
    """
    tf2onnx = _require("tf2onnx")
    logger = logging.getLogger("tf2onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        model, _ = tf2onnx.convert.from_function(fn, input_signature=fn.input_signature,
                                                 opset=opset)
    except Exception as exc:
        raise ExportError(f"tf2onnx could not convert {what}: {exc}") from exc
    finally:
        logger.setLevel(level)
    return model


def to_onnx_model(generator: Any, config: ModelConfig, metadata: dict[str, Any], *,
                  opset: int = DEFAULT_OPSET, lean: bool = True) -> Any:
    """Convert the generator to an in-memory ``onnx.ModelProto`` (not yet verified).

    Parameters
    ----------
    generator : keras.Model
        ``z -> probs``.
    config : ModelConfig
        Its configuration.
    metadata : dict
        Stored as ``metadata_props``.
    opset : int
        ONNX opset (>= 17).
    lean : bool
        Convert the polyphase graph (default) rather than the Keras call.
    """
    _require("onnx")  # a clear error before converting when onnx is missing
    from .graph import condition_names, serving_function

    if opset < 17:
        raise ExportError(f"`opset` must be >= 17. Received {opset}.")
    model = convert_function(serving_function(generator, config, lean=lean), opset,
                             "the generator")

    names = {"inputs": [i.name for i in model.graph.input],
             "outputs": [o.name for o in model.graph.output]}
    expected = {"inputs": ["z", "u", *condition_names(config)], "outputs": ["probs", "spikes"]}
    if names != expected:
        raise ExportError(f"tf2onnx produced unexpected inputs/outputs {names}; expected "
                          f"{expected}.")
    for value in [*model.graph.input, *model.graph.output]:
        value.type.tensor_type.shape.dim[0].dim_param = BATCH_DIM
    return finish_onnx(model, metadata, "The converted ONNX model", (
        "Spike-GAN generator. Inputs z (batch, latent_dim) standard normal and u "
        "(batch, n_neurons, n_bins) uniform; outputs probs and spikes = u < probs (uint8). "
        "Metadata key 'spikegan' holds the JSON description."))


def finish_onnx(model: Any, metadata: dict[str, Any], what: str, doc: str) -> Any:
    """Replace a converted model's metadata with ``metadata``, describe it, and check it.

    Raises :class:`ExportError` naming ``what`` when the ONNX checker rejects the model.
    """
    onnx = _require("onnx")
    del model.metadata_props[:]
    for key, value in to_onnx_props(metadata).items():
        model.metadata_props.add(key=key, value=value)
    model.producer_name = "spikegan_tf (tf2onnx)"
    model.doc_string = doc
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise ExportError(f"{what} is invalid: {exc}") from exc
    return model


def write_onnx(generator: Any, config: ModelConfig, path: str | os.PathLike,
               metadata: dict[str, Any], *, opset: int = DEFAULT_OPSET,
               lean: bool = True) -> Path:
    """Convert the generator and write ``path`` (e.g. ``.../1/model.onnx``).

    Callers that need the file verified use :func:`verify_onnx` (the bundle
    exporter :func:`spikegan_tf.export.export_run` always does).
    """
    onnx = _require("onnx")
    model = to_onnx_model(generator, config, metadata, opset=opset, lean=lean)
    path = Path(path)
    onnx.save(model, str(path))
    return path


def verify_onnx(path: str | os.PathLike, ref_probs: np.ndarray, z: np.ndarray,
                u: np.ndarray, conditions: dict[str, np.ndarray] | None = None, *,
                history: np.ndarray | None = None,
                coupling: np.ndarray | None = None) -> Parity:
    """Load ``path`` in ONNX Runtime, run it at two batch sizes and measure parity.

    Raises
    ------
    ExportError
        If ONNX Runtime refuses the file, a name or the symbolic batch
        dimension is wrong, or a batch of one disagrees with the full batch.
    """
    ort = _require("onnxruntime")
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        cond = conditions or {}
        probs, spikes = session.run(["probs", "spikes"], {"z": z, "u": u, **cond})
        one = session.run(["probs"], {"z": z[:1], "u": u[:1],
                                      **{k: v[:1] for k, v in cond.items()}})[0]
    except Exception as exc:
        raise ExportError(f"ONNX Runtime cannot run the exported '{path}': {exc}") from exc
    for value in session.get_inputs() + session.get_outputs():
        if value.shape[0] != BATCH_DIM:
            raise ExportError(f"'{path}': {value.name} has batch dimension {value.shape[0]!r}, "
                              f"expected {BATCH_DIM!r}.")
    if not np.allclose(one, probs[:1], rtol=0, atol=1e-6):
        raise ExportError(f"'{path}': a batch of one gives different probabilities.")
    return measure_parity("onnx", ref_probs, probs, spikes, u, history=history,
                          coupling=coupling)

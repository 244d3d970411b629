"""Optional TensorFlow Lite export with the same signature as the others.

``model.tflite`` has one signature, ``serving_default``: inputs ``z``
``(batch, latent_dim)`` and ``u`` ``(batch, n_neurons, n_bins)`` float32,
outputs ``probs`` float32 and ``spikes`` uint8. The converted graph is the same
polyphase expression as the ONNX export (built-in TFLite ops only: fully
connected, gather, pad, reshape, transpose, logistic, less, cast). The
metadata travels in ``export.json`` beside the file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf.gan.config import ModelConfig

from .errors import ExportError
from .parity import Parity, measure_parity

__all__ = ["write_tflite", "verify_tflite", "tflite_runner"]


def write_tflite(generator: Any, config: ModelConfig, path: str | os.PathLike, *,
                 lean: bool = True) -> Path:
    """Convert the generator to ``path`` (float32, no quantisation)."""
    import tensorflow as tf

    from .graph import serving_function

    fn = serving_function(generator, config, lean=lean)
    module = tf.Module()
    module.serve = fn
    module.captured_variables = list(fn.captured_variables)
    try:
        # via a scratch SavedModel: the converter keeps its signature and output names
        with tempfile.TemporaryDirectory(prefix="spikegan-tflite-") as tmp:
            tf.saved_model.save(module, tmp, signatures={"serving_default": fn})
            converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
            flat = converter.convert()
    except Exception as exc:
        raise ExportError(f"TFLite conversion failed: {exc}") from exc
    path = Path(path)
    path.write_bytes(flat)
    return path


def tflite_runner(path: str | os.PathLike, num_threads: int = 1) -> Any:
    """Return the ``serving_default`` signature runner of a ``.tflite`` file.

    Called as ``runner(z=z, u=u)`` -> ``{"probs": ..., "spikes": ...}``.
    """
    import warnings

    try:  # LiteRT, tf.lite.Interpreter's successor, when installed
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():  # tf.lite.Interpreter announces its move to LiteRT
        warnings.simplefilter("ignore")
        interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
    return interpreter.get_signature_runner("serving_default")


def verify_tflite(path: str | os.PathLike, ref_probs: np.ndarray, z: np.ndarray,
                  u: np.ndarray, *, history: np.ndarray | None = None,
                  coupling: np.ndarray | None = None) -> Parity:
    """Run the ``.tflite`` file in the TFLite interpreter and measure parity."""
    try:
        runner = tflite_runner(path)
        out = runner(z=z, u=u)
    except Exception as exc:
        raise ExportError(f"The TFLite interpreter cannot run '{path}': {exc}") from exc
    return measure_parity("tflite", ref_probs, out["probs"], out["spikes"], u, history=history,
                          coupling=coupling)

"""Exporters (SavedModel for TF Serving, ONNX, TFLite) and the TF-free rig runtime.

Installed as ``spikegan_tf.export`` (see ``setup.cfg``'s ``package_dir``).
Importing this package does not import TensorFlow: names are loaded on first
use, the exporters import TensorFlow when called, and
:mod:`spikegan_tf.export.runtime` needs only numpy and onnxruntime.

Main entry points
-----------------
``export_run(run_dir, out, formats)``
    Write ``<out>/<name>/<version>/`` (SavedModel, ``model.onnx``,
    ``model.tflite``, ``export.json``) atomically, after checking parity with
    the Keras generator.
``Sampler(path, seed=...)``
    Draw windows from ``model.onnx`` with ONNX Runtime, following the
    package's sampling protocol.
``RasterSampler(path, seed=...)``
    Draw one continuous raster from ``raster.onnx`` (``temporal`` runs).
``ConditionalSampler(path, seed=...)``
    Draw windows for given labels/covariates from a conditional ``model.onnx``.
"""

from __future__ import annotations

from spikegan_tf._lazy import lazy_names

# public name -> module that defines it (imported on first use)
_LAZY = {
    "export_run": "bundle",
    "ExportResult": "bundle",
    "parse_formats": "bundle",
    "FORMATS": "bundle",
    "ExportError": "errors",
    "Sampler": "runtime",
    "RasterSampler": "raster_runtime",
    "ConditionalSampler": "conditional_runtime",
    "build_metadata": "metadata",
    "Parity": "parity",
    "write_savedmodel": "savedmodel",
    "write_onnx": "onnx_export",
    "write_tflite": "tflite",
    "serving_function": "graph",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_names(__name__, {k: f"{__name__}.{v}" for k, v in _LAZY.items()})

"""Exporters (SavedModel for TF Serving, ONNX, TFLite) and the TF-free rig runtime.

Installed as ``spikegan_tf.export`` (see ``setup.cfg``'s ``package_dir``).
Importing this package does not import TensorFlow: the exporters import it
when called, and :mod:`spikegan_tf.export.runtime` needs only numpy and
onnxruntime.
"""

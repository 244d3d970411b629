"""Spike-GAN: networks, losses, the sampling protocols, the trainer and the estimator.

* :mod:`~spikegan_tf.gan.config`: ``ModelConfig``; :mod:`~spikegan_tf.gan.train_config`:
  ``TrainConfig``, recipes and resume rules (frozen dataclasses);
* :mod:`~spikegan_tf.gan.networks`: the Keras generator and critic;
* :mod:`~spikegan_tf.gan.losses`: pure WGAN-GP loss functions;
* :mod:`~spikegan_tf.gan.sampling`: the sampling protocols shared by every runtime
  (numpy only) and :func:`sample`; :mod:`~spikegan_tf.gan.raster`: continuous rasters;
* :mod:`~spikegan_tf.gan.step`: the WGAN-GP step as a ``tf.function``;
  :mod:`~spikegan_tf.gan.trainer`: the networks, the run directory and the loop;
* :mod:`~spikegan_tf.gan.callbacks`: the loop's side jobs (validation, logging,
  TensorBoard, checkpoints, progress, signals) and :mod:`~spikegan_tf.gan.held_out`
  (the validation callback);
* :mod:`~spikegan_tf.gan.rundir`: ``RunDir``, the one owner of a run's files;
  :mod:`~spikegan_tf.gan.multiworker`: training across machines (``TF_CONFIG``, the chief);
* :mod:`~spikegan_tf.gan.estimator`: ``SpikeGAN`` (fit / sample / save / load).

Importing this package does not import TensorFlow (the rig runtime uses the
sampling protocol); the names below load their module on first use.
"""

from __future__ import annotations

from spikegan_tf._lazy import lazy_names

_LAZY = {
    "SpikeGAN": "spikegan_tf.gan.estimator",
    "ModelConfig": "spikegan_tf.gan.config",
    "TrainConfig": "spikegan_tf.gan.train_config",
    "Trainer": "spikegan_tf.gan.trainer",
    "build_generator": "spikegan_tf.gan.networks",
    "build_critic": "spikegan_tf.gan.networks",
    "sample": "spikegan_tf.gan.sampling",
    "sample_raster": "spikegan_tf.gan.raster",
    "RunDir": "spikegan_tf.gan.rundir",
    "Callback": "spikegan_tf.gan.callbacks",
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_names(__name__, _LAZY)

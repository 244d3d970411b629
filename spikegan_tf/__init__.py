"""spikegan_tf: realistic synthetic spike trains of neural populations.

Spike-GAN (Molano-Mazon et al., ICLR 2018) in TensorFlow 2 / Keras 3.

Importing the package is cheap: TensorFlow is imported only when a name that
needs it (``SpikeGAN``, ``build_generator``...) is first used, so the TF-free
rig runtime ``spikegan_tf.export.runtime`` works on machines without it.

TensorFlow's oneDNN kernels are switched on for every x86 CPU, not only for
those TensorFlow picks (``spikegan_tf._tf_cpu``; ``TF_ENABLE_ONEDNN_OPTS=0``
keeps Eigen's).

TensorFlow's C++ start-up lines (CUDA probing, oneDNN notice) are silenced
wherever TensorFlow is first imported after this package (set
``SPIKEGAN_TF_LOGS=1`` to keep them).

Windows are ``(n_samples, n_neurons, n_bins)`` uint8 0/1 arrays; rasters are
``(n_time_bins, n_neurons)``.
"""

from __future__ import annotations

from spikegan_tf import _tf_cpu, _tf_quiet
from spikegan_tf._lazy import lazy_names
from spikegan_tf._version import __version__

_tf_cpu.prefer_onednn()  # before TensorFlow loads: it reads the variable once
_tf_quiet.install()

# public name -> module that defines it (imported on first use)
_LAZY = {
    "ModelConfig": "spikegan_tf.gan.config",
    "build_generator": "spikegan_tf.gan.networks",
    "build_critic": "spikegan_tf.gan.networks",
    "TrainConfig": "spikegan_tf.gan.train_config",
    "Trainer": "spikegan_tf.gan.trainer",
    "sample": "spikegan_tf.gan.sampling",
    "SpikeGAN": "spikegan_tf.gan.estimator",
    "compute_statistics": "spikegan_tf.statistics",
    "compare": "spikegan_tf.evaluation.compare",
    "evaluate": "spikegan_tf.evaluation.report",
    "load_spikes": "spikegan_tf.data",
    "IndependentBernoulli": "spikegan_tf.baselines",
    "DichotomizedGaussian": "spikegan_tf.baselines",
    "KPairwiseMaxEnt": "spikegan_tf.baselines",
    "importance_maps": "spikegan_tf.importance",
    "SpikeGANError": "spikegan_tf.errors",
    "SpikeDataError": "spikegan_tf.errors",
    "ConfigError": "spikegan_tf.errors",
}

__all__ = ["__version__", *_LAZY]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, also=__all__)

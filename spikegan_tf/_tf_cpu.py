"""TensorFlow's fast CPU kernels on every x86 CPU, not only on the newest.

TensorFlow's Linux wheels run convolutions, matmuls and their gradients on
oneDNN only on CPUs with AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX
(``DefaultOneDnnPolicy`` in ``tensorflow/core/util/util.cc``); other x86 CPUs --
AVX2-only Intel cores before Alder Lake, AMD Zen 1-3 -- fall back to Eigen. On
Spike-GAN's training step that fallback costs about 2x per core
(``benchmarks/bench_onednn.py``: oneDNN capped at AVX2 against Eigen, on the
same cores). :func:`prefer_onednn` (called by ``import spikegan_tf``) therefore
sets ``TF_ENABLE_ONEDNN_OPTS=1`` unless the user has set it; TensorFlow reads it
once, when it loads, so it acts only if TensorFlow is imported after the
package. ``TF_ENABLE_ONEDNN_OPTS=0`` keeps Eigen (for example to compare
numerics: the two give results that differ in the last bits).
"""

from __future__ import annotations

import os

__all__ = ["prefer_onednn", "VARIABLE"]

VARIABLE = "TF_ENABLE_ONEDNN_OPTS"


def prefer_onednn() -> str:
    """Set ``TF_ENABLE_ONEDNN_OPTS=1`` unless it is set; return the value in force.

    Examples
    --------
    >>> import os
    >>> from spikegan_tf._tf_cpu import prefer_onednn
    >>> prefer_onednn() == os.environ["TF_ENABLE_ONEDNN_OPTS"]
    True
    """
    return os.environ.setdefault(VARIABLE, "1")

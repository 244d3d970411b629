"""Shared test set-up.

TensorFlow is configured once, before any test builds a model: logs are quiet
and the host CPU is split into 2 logical devices so that ``MirroredStrategy``
can be tested on a machine without GPUs.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
try:
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )
except RuntimeError:  # already initialised (e.g. by a plugin); distributed test will skip
    pass


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded numpy Generator (tests never use the global RNG)."""
    return np.random.default_rng(12345)

"""The exporters' error type."""

from __future__ import annotations

from spikegan_tf.errors import SpikeGANError

__all__ = ["ExportError"]


class ExportError(SpikeGANError, RuntimeError):
    """An export could not be written or failed its own verification.

    Raised when a converter fails, when a runtime refuses the written model,
    or when the exported model's outputs differ from the Keras model's beyond
    the tolerances (nothing is left in the output directory then).
    """

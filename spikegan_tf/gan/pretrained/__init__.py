"""Pretrained Spike-GAN generators shipped with the package.

Each entry is a small run directory (``config.json`` and ``generator.keras``)
with a ``README.md`` that gives its training, its evaluation against the
data's noise floor and the data's citation. Load one with
:meth:`spikegan_tf.SpikeGAN.pretrained`.

Examples
--------
>>> sorted(MODELS)
['retina50']
>>> path("retina50").name
'retina50'
"""

from __future__ import annotations

from pathlib import Path

from spikegan_tf.errors import ConfigError

__all__ = ["MODELS", "path", "describe"]

#: name -> one-line description
MODELS = {
    "retina50": "50 salamander retinal ganglion cells, 32-bin windows (Marre et al. 2014 "
                "recording, natural movie); trained on the first 80% of the recording",
}


def path(name: str) -> Path:
    """The directory of the pretrained model ``name`` (see :data:`MODELS`)."""
    if name not in MODELS:
        raise ConfigError(f"`name` must be one of {sorted(MODELS)}. Received {name!r}.")
    return Path(__file__).resolve().parent / name


def describe(name: str) -> str:
    """The model's ``README.md``: training, evaluation and the data's citation."""
    return (path(name) / "README.md").read_text()

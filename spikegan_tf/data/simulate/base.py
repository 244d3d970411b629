"""What every simulated dataset returns (:class:`SimulatedData`: spikes plus ground truth,
saved as ``.npz`` without pickle) and the checks and helpers the simulators share.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf._atomic import atomic_path
from spikegan_tf.errors import ConfigError
from spikegan_tf.params import Real, check_param
from spikegan_tf.validation import check_positive_int, check_seed

__all__ = ["SimulatedData", "FORMAT_VERSION"]


# rows (samples x neurons) simulated per chunk: bounds memory, keeps numpy calls large
_CHUNK_ELEMENTS = 1 << 20
FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class SimulatedData:
    """Simulated spikes and the ground truth they were drawn from.

    Attributes
    ----------
    spikes : numpy.ndarray
        ``uint8`` windows ``(n_samples, n_neurons, n_bins)``, or a raster
        ``(n_time_bins, n_neurons)`` (``states``).
    dataset : {"uniform", "packets", "states"}
        Which simulator produced them.
    params : dict
        The arguments of the call (JSON-serialisable scalars).
    ground_truth : dict of str to numpy.ndarray
        Numeric arrays, neuron indices in the (shuffled) order of ``spikes``:
        see :func:`~spikegan_tf.data.simulate.uniform` and
        :func:`~spikegan_tf.data.simulate.packets`.

    Examples
    --------
    >>> from spikegan_tf.data.simulate import uniform
    >>> sim = uniform(8, 4, 16, group_size=2, seed=0)
    >>> sim.spikes.shape, sorted(sim.ground_truth)[:3]
    ((8, 4, 16), ['expected_correlations', 'expected_rates', 'group'])
    """

    spikes: np.ndarray
    dataset: str
    params: dict[str, Any] = field(default_factory=dict)
    ground_truth: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def packet_mask(self) -> np.ndarray | None:
        """``uint8`` mask of the packet spikes (packets dataset), else None."""
        return self.ground_truth.get("packet_mask")

    @property
    def n_neurons(self) -> int:
        """Number of neurons."""
        return int(self.spikes.shape[-1] if self.spikes.ndim == 2 else self.spikes.shape[1])

    def metadata(self) -> dict[str, Any]:
        """Dataset name, parameters and format version, as saved in the ``metadata`` entry."""
        return {
            "format": "spikegan_tf.data.simulate",
            "format_version": FORMAT_VERSION,
            "dataset": self.dataset,
            "params": self.params,
            "layout": ("spikes: raster (n_time_bins, n_neurons) uint8" if self.spikes.ndim == 2
                       else "spikes: (n_samples, n_neurons, n_bins) uint8"),
        }

    def save(self, path: str | os.PathLike[str], *, compress: bool = True) -> Path:
        """Write an ``.npz`` with ``spikes``, every ground-truth array and ``metadata``.

        ``metadata`` is a 0-d string array holding JSON (no pickle anywhere);
        read it back with ``json.loads(str(np.load(path)["metadata"]))``. The
        file is written atomically (temporary file, then rename).

        Examples
        --------
        >>> import tempfile, os
        >>> from spikegan_tf.data.simulate import uniform
        >>> p = uniform(4, 4, 8, group_size=2, seed=1).save(
        ...     os.path.join(tempfile.mkdtemp(), "u.npz"))
        >>> sorted(np.load(p))[:4]
        ['expected_correlations', 'expected_rates', 'group', 'group_correlations']
        """
        path = Path(path)
        if path.suffix != ".npz":
            raise ConfigError(f"The output file must end in .npz. Received '{path}'.")
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"spikes": self.spikes, **self.ground_truth}
        arrays["metadata"] = np.array(json.dumps(self.metadata()))
        writer = np.savez_compressed if compress else np.savez
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            writer(fh, **arrays)
        return path


# ----------------------------------------------------------------------------- checks


def _prob(value: Any, name: str, *, allow_zero: bool = False) -> float:
    check_param(name, value, Real(min=0, max=1, min_open=not allow_zero, kind="a probability"))
    return float(value)


def _spread(spread: Any) -> float:
    check_param("spread", spread, Real(min=0, max=1, max_open=True))
    return float(spread)


def _common(n_samples: Any, n_neurons: Any, n_bins: Any, refractory_period: Any, seed: Any):
    n_samples = check_positive_int(n_samples, "n_samples")
    n_neurons = check_positive_int(n_neurons, "n_neurons")
    n_bins = check_positive_int(n_bins, "n_bins")
    refractory_period = check_positive_int(refractory_period, "refractory_period", minimum=0)
    seed = check_seed(seed)
    return n_samples, n_neurons, n_bins, refractory_period, seed


def _draw_around(rng: np.random.Generator, mean: float, spread: float, size: int) -> np.ndarray:
    """Uniform in ``[mean * (1 - spread), mean * (1 + spread)]`` (the paper's ``±50 %``)."""
    return mean * (1.0 + spread * (2.0 * rng.random(size) - 1.0))


def _stationary_next_free(
    rng: np.random.Generator, hazard: Any, dead: int, shape: tuple[int, ...]
) -> np.ndarray:
    """First bin (from bin 0) where a dead-time process may fire, in its stationary state.

    A process that fires with probability ``h`` when free and is then silent
    for ``dead`` bins is free with probability ``1 / (1 + dead * h)`` and
    otherwise in one of its ``dead`` silent bins, uniformly.
    """
    if dead == 0:
        return np.zeros(shape, np.int32)
    h = np.broadcast_to(hazard, shape)
    busy = rng.random(shape) < (dead * h) / (1.0 + dead * h)
    left = rng.integers(1, dead + 1, size=shape, dtype=np.int32)
    return np.where(busy, left, 0).astype(np.int32)


def _store(out: np.ndarray, lo: int, buf: np.ndarray, order: np.ndarray) -> None:
    """Write ``buf`` (bins, neurons, samples) into ``out[lo:]`` (samples, neurons, bins).

    Transposed in blocks of samples that fit in cache (10x faster than one transpose).
    """
    block = 1024
    for s in range(0, buf.shape[2], block):
        out[lo + s : lo + s + block] = buf[:, order, s : s + block].transpose(2, 1, 0)


def _fire(next_free: np.ndarray, spk: np.ndarray, t: int, dead: int) -> None:
    """Record spikes in bin ``t`` (in place): those units are silent until ``t + dead``."""
    # a unit that fires was free (next_free <= t), so the maximum sets it to t + dead + 1
    np.maximum(next_free, np.multiply(spk, t + dead + 1, dtype=np.int32), out=next_free)

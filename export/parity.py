"""Parity of an exported model with the Keras generator (TF-free).

Every exporter runs its model on the same protocol draws ``(z, u)`` as the
Keras generator and compares: firing probabilities within ``atol`` (1e-5) and
identical spikes wherever ``|p - u| > margin`` (1e-6), i.e. wherever float
round-off cannot flip a Bernoulli draw.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from spikegan_tf.gan.sampling import sampling_streams

from .errors import ExportError

__all__ = ["PROBS_ATOL", "SPIKE_MARGIN", "CheckedResult", "Parity", "protocol_inputs",
           "protocol_conditions", "measure_parity"]

PROBS_ATOL = 1e-5
SPIKE_MARGIN = 1e-6


def protocol_inputs(n: int, latent_dim: int, n_neurons: int, n_bins: int,
                    seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(z, u)`` drawn by the sampling protocol (see :mod:`spikegan_tf.gan.sampling`).

    Examples
    --------
    >>> z, u = protocol_inputs(2, 4, 3, 8, seed=0)
    >>> z.shape, u.shape, u.dtype
    ((2, 4), (2, 3, 8), dtype('float32'))
    """
    z_rng, u_rng = sampling_streams(seed)
    z = z_rng.standard_normal((n, latent_dim), dtype=np.float32)
    u = u_rng.random((n, n_neurons, n_bins), dtype=np.float32)
    return z, u


def protocol_conditions(n: int, config: Any, seed: int | None) -> dict[str, np.ndarray]:
    """Condition inputs for parity checks: labels cycling through the classes, normal covariates.

    Examples
    --------
    >>> from spikegan_tf.gan.config import ModelConfig
    >>> c = protocol_conditions(3, ModelConfig(n_neurons=2, n_bins=8, n_classes=2), 0)
    >>> c["label"].tolist()
    [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    """
    out = {}
    if config.n_classes:
        out["label"] = np.eye(config.n_classes, dtype=np.float32)[
            np.arange(n) % config.n_classes]
    if config.n_covariates:
        rng = np.random.default_rng(np.random.SeedSequence(seed or 0, spawn_key=(2,)))
        out["covariates"] = rng.standard_normal((n, config.n_bins, config.n_covariates),
                                                dtype=np.float32)
    return out


class CheckedResult:
    """What an export check shares: ``to_dict`` and ``check`` (raise unless ``ok``).

    A subclass is a dataclass with an ``ok`` property, ``summary()`` and the
    ``failure`` sentence that opens the error.
    """

    failure = "The exported model does not match the Keras generator"

    def to_dict(self) -> dict[str, Any]:
        """The fields and ``ok``, JSON-ready."""
        return {**asdict(self), "ok": self.ok}  # type: ignore[call-overload, attr-defined]

    def check(self) -> Any:
        """Return ``self`` if ``ok``, else raise :class:`ExportError`."""
        if not self.ok:  # type: ignore[attr-defined]
            raise ExportError(f"{self.failure}: {self.summary()}.")  # type: ignore[attr-defined]
        return self


@dataclass(frozen=True)
class Parity(CheckedResult):
    """Differences between one exported format and the Keras generator."""

    format: str
    n_windows: int
    probs_max_abs_diff: float
    spikes_compared: int
    spikes_mismatched: int
    probs_atol: float = PROBS_ATOL
    spike_margin: float = SPIKE_MARGIN

    @property
    def ok(self) -> bool:
        """Whether both tolerances hold."""
        return self.probs_max_abs_diff <= self.probs_atol and self.spikes_mismatched == 0

    def summary(self) -> str:
        """One line, e.g. ``onnx: probs max |diff| 4.8e-07 (<= 1e-05), spikes 0/6400 differ``."""
        return (f"{self.format}: probs max |diff| {self.probs_max_abs_diff:.2g} "
                f"(<= {self.probs_atol:g}), spikes {self.spikes_mismatched}/"
                f"{self.spikes_compared} differ where |p - u| > {self.spike_margin:g}")


def measure_parity(fmt: str, ref_probs: np.ndarray, probs: np.ndarray, spikes: np.ndarray,
                   u: np.ndarray, *, atol: float = PROBS_ATOL,
                   margin: float = SPIKE_MARGIN, history: np.ndarray | None = None,
                   coupling: np.ndarray | None = None) -> Parity:
    """Compare an export's ``probs``/``spikes`` on draws ``u`` with the Keras ``ref_probs``.

    With a spike-history filter ``history`` (:mod:`spikegan_tf.gan.history`),
    the expected spikes are drawn bin after bin from ``ref_probs``; a bin is
    compared where ``|q - u| > margin`` for it and for every earlier bin of its
    (window, neuron) row, since one spike decided by rounding changes the
    probabilities after it. With a ``coupling`` between neurons as well, a
    bin is compared only if no bin before it in its window, of any neuron, was
    decided by rounding (and with a same-bin coupling, only up to the first neuron of
    its bin that was).

    Examples
    --------
    >>> p = np.array([[[0.2, 0.7]]], np.float32)
    >>> u = np.array([[[0.5, 0.5]]], np.float32)
    >>> measure_parity("x", p, p, (u < p).astype(np.uint8), u).ok
    True
    >>> measure_parity("x", p, p, np.ones_like(p, np.uint8), u).spikes_mismatched
    1
    """
    ref_probs = np.asarray(ref_probs, np.float32)
    probs = np.asarray(probs, np.float32)
    spikes = np.asarray(spikes)
    if probs.shape != ref_probs.shape or spikes.shape != ref_probs.shape:
        raise ExportError(f"The {fmt} export returned probs {probs.shape} and spikes "
                          f"{spikes.shape}; expected {ref_probs.shape}.")
    if spikes.dtype != np.uint8:
        raise ExportError(f"The {fmt} export returned spikes of dtype {spikes.dtype}; "
                          "expected uint8.")
    diff = float(np.max(np.abs(probs - ref_probs))) if probs.size else 0.0
    if not np.isfinite(diff):
        diff = float("inf")
    from spikegan_tf.gan.history import draw_spikes, draws_in_order

    expected, q = draw_spikes(ref_probs, u, history, coupling=coupling, return_q=True)
    clear = np.abs(q - u) > margin
    if draws_in_order(None, coupling):  # a spike reaches every neuron's next bin
        if np.ndim(coupling) == 3:  # and the later neurons of its own bin
            clear = np.logical_and.accumulate(clear, axis=1)
        whole = np.logical_and.accumulate(clear.all(axis=1), axis=-1)  # (window, bin)
        before = np.concatenate([np.ones_like(whole[:, :1]), whole[:, :-1]], axis=-1)
        clear = clear & before[:, None, :]
    elif draws_in_order(history):  # as draw_spikes: a zero filter draws u < p
        clear = np.logical_and.accumulate(clear, axis=-1)
    mismatched = int(np.count_nonzero((spikes != expected) & clear))
    return Parity(fmt, int(ref_probs.shape[0]), diff, int(clear.sum()), mismatched, atol, margin)

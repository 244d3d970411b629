"""Lighter-precision ONNX models, checked by statistical parity with the float32 model.

Two opt-in variants of ``model.onnx``, written beside it:

* ``float16`` (``model-float16.onnx``): weights and activations in half
  precision (onnxconverter-common), inputs/outputs and the final ``u < p``
  comparison in float32; half the file size.
* ``int8`` (``model-int8.onnx``): ONNX Runtime's dynamic quantisation --
  int8 weights per output channel, activations quantised per call -- of every
  matrix product but the output layer's, which sets the firing probabilities
  directly (quantising it shifted per-neuron rates 13x more: 1.3e-3 against
  1e-4 on the demo model); about a third of the file size.

Bit parity cannot hold for them, so the check is *statistical*: both models
run on the same sampling-protocol draws, and the error of every headline
statistic of the variant's windows against the float32 model's must stay within
``limit`` (0.5) times the noise floor of the training data (held-out against
training part, :func:`training_floor`). The per-element probability error is
reported beside it.

Requires the ``export`` extra (``onnxconverter-common`` for float16,
``onnxruntime`` for int8).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf.errors import ConfigError

from .errors import ExportError
from .metadata import METADATA_KEY
from .parity import CheckedResult

__all__ = ["PRECISIONS", "FILES", "StatisticalParity", "parse_precisions", "convert",
           "training_floor", "statistical_parity"]

PRECISIONS = ("float16", "int8")
FILES = {p: f"model-{p}.onnx" for p in PRECISIONS}
PARITY_LIMIT = 0.5


def parse_precisions(precisions: str | Sequence[str] | None) -> tuple[str, ...]:
    """Return the requested lighter precisions in canonical order.

    Examples
    --------
    >>> parse_precisions("int8,float16")
    ('float16', 'int8')
    >>> parse_precisions(None)
    ()
    >>> parse_precisions("bf16")
    Traceback (most recent call last):
    ...
    spikegan_tf.errors.ConfigError: Unknown `precision` 'bf16'. Choose from float16, int8 (comma-separated; float32 is always written).
    """
    if precisions is None:
        return ()
    items = precisions.split(",") if isinstance(precisions, str) else list(precisions)
    items = [str(p).strip().lower() for p in items if str(p).strip()]
    for p in items:
        if p not in PRECISIONS and p != "float32":
            raise ConfigError(f"Unknown `precision` {p!r}. Choose from {', '.join(PRECISIONS)} "
                              "(comma-separated; float32 is always written).")
    return tuple(p for p in PRECISIONS if p in items)


def _tag(model: Any, precision: str) -> None:
    """Record the precision in the model's ``spikegan`` metadata JSON."""
    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            meta = json.loads(prop.value)
            meta["precision"] = precision
            prop.value = json.dumps(meta, sort_keys=True, default=str)


def convert(src: str | os.PathLike, dst: str | os.PathLike, precision: str) -> Path:
    """Write the ``precision`` variant of the float32 ONNX model ``src`` to ``dst``."""
    import onnx

    if precision == "float16":
        try:
            from onnxconverter_common import float16
        except ImportError:
            raise ExportError("A float16 export needs onnxconverter-common: pip install "
                              "'spikegan-tf[export]'.") from None
        # `u < p` stays in float32: the comparison's inputs must share one type
        model = float16.convert_float_to_float16(
            onnx.load(str(src)), keep_io_types=True,
            op_block_list=[*float16.DEFAULT_OP_BLOCK_LIST, "Less"])
    elif precision == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        matmuls = [n.name for n in onnx.load(str(src)).graph.node if n.op_type == "MatMul"]
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # quantize_dynamic logs advice on pre-processing
        try:  # the nodes are in topological order: the last product is the output layer's
            quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                             nodes_to_exclude=matmuls[-1:])
        finally:
            root.setLevel(level)
        model = onnx.load(str(dst))
    else:
        raise ConfigError(f"Unknown `precision` {precision!r}. Choose from "
                          f"{', '.join(PRECISIONS)}.")
    _tag(model, precision)
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise ExportError(f"The {precision} model is invalid: {exc}") from exc
    onnx.save(model, str(dst))
    return Path(dst)


def training_floor(train: Any, held_out: Any, n_bins: int) -> dict[str, float]:
    """Mean absolute error of each headline statistic, held-out data against training data.

    ``train`` and ``held_out`` are windows ``(n, n_neurons, n_bins)`` or rasters.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = (rng.random((4000, 3)) < 0.2).astype(np.uint8)
    >>> floor = training_floor(x[:3000], x[3000:], 8)
    >>> sorted(floor)[:2], floor["firing_probability"] > 0
    (['autocorrelogram', 'covariance'], True)
    """
    from spikegan_tf.evaluation.compare import HEADLINE, compare

    res = compare(train, {"held-out": held_out}, n_bins=n_bins, statistics=HEADLINE)
    return {name: float(m.mae) for name, m in res.metrics["held-out"].items()}


@dataclass(frozen=True)
class StatisticalParity(CheckedResult):
    """A lighter-precision model's windows against the float32 model's."""

    precision: str
    n_windows: int
    ratios: dict[str, float]
    probs_max_abs_diff: float
    probs_mean_abs_diff: float
    spikes_differing: float
    limit: float = PARITY_LIMIT
    floor: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every ratio is within :attr:`limit` (a NaN ratio fails)."""
        return all(r <= self.limit for r in self.ratios.values())

    @property
    def failure(self) -> str:  # type: ignore[override]
        """The sentence that opens a failed check's error."""
        return f"The {self.precision} model is not statistically equivalent to the float32 model"

    def summary(self) -> str:
        """One line: the ratio of every headline statistic and the probability errors."""
        ratios = ", ".join(f"{k} {v:.2f}" for k, v in self.ratios.items())
        return (f"{self.precision}: error / training floor {ratios} (limit {self.limit:g}); "
                f"probs |diff| max {self.probs_max_abs_diff:.2g}, mean "
                f"{self.probs_mean_abs_diff:.2g}; {100 * self.spikes_differing:.3f}% of spikes "
                f"differ on {self.n_windows} windows")


def statistical_parity(reference: str | os.PathLike, candidate: str | os.PathLike,
                       precision: str, floor: Mapping[str, float], *, n_windows: int = 8192,
                       seed: int = 0, limit: float = PARITY_LIMIT) -> StatisticalParity:
    """Sample both ONNX models on the same draws and compare their statistics.

    Parameters
    ----------
    reference, candidate : path-like
        The float32 ``model.onnx`` and the lighter-precision variant.
    precision : str
        The variant's name (for the report).
    floor : mapping
        Noise floor per headline statistic (:func:`training_floor`).
    n_windows : int
        Windows drawn from each model.
    seed : int
        Seed of the sampling protocol (the same draws for both models).
    limit : float
        Largest accepted ``error / floor``.
    """
    from spikegan_tf.evaluation.compare import HEADLINE, compare

    from .runtime import Sampler

    ref_spikes, ref_probs = Sampler(reference, seed=seed).sample(n_windows, return_probs=True)
    spikes, probs = Sampler(candidate, seed=seed).sample(n_windows, return_probs=True)
    res = compare(ref_spikes, {precision: spikes}, statistics=HEADLINE)
    ratios = {}
    for name in HEADLINE:
        mae, base = res.metrics[precision][name].mae, floor[name]
        ratios[name] = float(mae / base) if base > 0 else (0.0 if mae == 0 else float("inf"))
    diff = np.abs(probs - ref_probs)
    return StatisticalParity(precision, int(n_windows), ratios, float(diff.max()),
                             float(diff.mean()), float(np.mean(spikes != ref_spikes)), limit,
                             {k: float(floor[k]) for k in HEADLINE})

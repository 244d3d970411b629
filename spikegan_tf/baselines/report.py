"""What a baseline's fit saw and how long it took (:class:`FitReport`), and its JSON form in
model files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

__all__ = ["FitReport"]


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return value.to_dict()  # type: ignore[union-attr]
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None if np.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _unjson(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_unjson(v) for v in value)
    if value in ("inf", "-inf"):
        return float(value)
    return value


@dataclass(frozen=True)
class FitReport:
    """What a fit saw and how long it took (subclasses add model-specific fields).

    Attributes
    ----------
    kind : str
        Model kind (``"independent"``, ``"dg"``, ``"kpairwise"``).
    n_neurons, n_bins : int
        Window shape of the fitted model.
    data_kind : {"raster", "windows"}
        What ``fit`` received.
    n_windows : int
        Windows in the training data (for a raster: windows of ``stride``).
    n_time_bins : int
        Single bins the statistics were pooled over.
    stride : int
        Window stride (1 for windows).
    seed : int or None
        Seed of the fit.
    fit_seconds : float
        Wall-clock time of the fit.
    """

    kind: str
    n_neurons: int
    n_bins: int
    data_kind: str
    n_windows: int
    n_time_bins: int
    stride: int
    seed: int | None
    fit_seconds: float

    _nested: ClassVar[dict[str, type]] = {}

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON dictionary of every field (nested reports included)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FitReport:
        """Inverse of :meth:`to_dict` (unknown keys are ignored)."""
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            nested = cls._nested.get(f.name)
            if nested is not None and isinstance(value, Mapping):
                value = nested.from_dict(value)
            elif value is None and f.name != "seed":
                value = float("nan")
            else:
                value = _unjson(value)
            kwargs[f.name] = value
        return cls(**kwargs)

    def summary(self) -> str:
        """A few human-readable lines (printed by ``spikegan baseline fit``)."""
        return (
            f"{self.kind}: {self.n_neurons} neurons x {self.n_bins} bins, fitted on "
            f"{self.n_windows} windows ({self.n_time_bins} bins, {self.data_kind}) "
            f"in {self.fit_seconds:.2f} s"
        )

"""The interface every baseline shares with the GAN, and model files.

A baseline is fitted to windows ``(n, neurons, bins)`` or to a raster
``(time_bins, neurons)`` cut into ``n_bins``-bin windows, and then draws windows
of the same shape::

    model = DichotomizedGaussian().fit(raster, n_bins=32, seed=0)
    windows = model.sample(1000, seed=1)          # uint8 (1000, neurons, 32)
    model.save("dg.npz")
    same = spikegan_tf.baselines.load("dg.npz")   # same samples for the same seed

Model files are ``.npz`` archives of numeric arrays plus one entry ``metadata``
holding a JSON string (kind, options, sizes, fit report); they are read with
``allow_pickle=False``. Fitting records a frozen :class:`FitReport` in
``model.fit_report_``.
"""

from __future__ import annotations

import abc
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from spikegan_tf._atomic import atomic_path
from spikegan_tf._version import __version__
from spikegan_tf.baselines._moments import prepare
from spikegan_tf.baselines.report import FitReport, _jsonable
from spikegan_tf.data import WindowedSpikes
from spikegan_tf.errors import ConfigError, SpikeDataError
from spikegan_tf.validation import check_positive_int, check_seed, check_windows

__all__ = ["Baseline", "FitReport", "load", "FORMAT_VERSION"]


FORMAT_VERSION = 1
_REGISTRY: dict[str, type[Baseline]] = {}


class Baseline(abc.ABC):
    """Base class of the baseline models (fit, sample, save/load, log_prob).

    Subclasses set ``kind``, implement ``_fit``, ``_sample_into``,
    ``_get_params``/``_set_params`` and ``get_options``, and may implement
    ``_log_prob``.
    """

    kind: ClassVar[str] = ""
    report_class: ClassVar[type[FitReport]] = FitReport
    #: why ``log_prob`` is unavailable, or ``""`` when it is implemented
    log_prob_unavailable: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _REGISTRY[cls.kind] = cls

    def __init__(self) -> None:
        self.n_neurons_: int | None = None
        self.n_bins_: int | None = None
        self.fit_report_: FitReport | None = None

    # ------------------------------------------------------------------ API
    def get_options(self) -> dict[str, Any]:
        """Constructor options (JSON-serialisable); ``type(self)(**options)`` rebuilds it."""
        return {}

    @property
    def is_fitted(self) -> bool:
        return self.n_neurons_ is not None

    def fit(
        self,
        data: Any,
        *,
        n_bins: int | None = None,
        stride: int = 1,
        seed: int | None = None,
    ) -> Baseline:
        """Fit the model to spike data.

        Parameters
        ----------
        data : array_like or SpikeRecording
            Windows ``(n, neurons, bins)`` or a raster ``(time_bins, neurons)``.
        n_bins : int, optional
            Window length; required for a raster, must match (or be left out) for windows.
        stride : int
            Stride of the windows cut from a raster.
        seed : int, optional
            Seed of any randomness in the fit (Monte-Carlo fits).

        Returns
        -------
        self
        """
        d = prepare(data, n_bins=n_bins, stride=stride)
        seed = check_seed(seed)
        start = time.perf_counter()
        details = self._fit(d, seed)
        seconds = time.perf_counter() - start
        self.n_neurons_, self.n_bins_ = d.n_neurons, d.n_bins
        self.fit_report_ = self.report_class(
            kind=self.kind,
            n_neurons=d.n_neurons,
            n_bins=d.n_bins,
            data_kind=d.kind,
            n_windows=d.n_windows,
            n_time_bins=d.n_time_bins,
            stride=d.stride,
            seed=seed,
            fit_seconds=seconds,
            **details,
        )
        return self

    def sample(self, n_samples: int, seed: int | None = None) -> np.ndarray:
        """Draw windows from the fitted model.

        Parameters
        ----------
        n_samples : int
            Number of windows.
        seed : int, optional
            Seed of ``numpy.random.default_rng``; the same seed gives the same
            windows (also after ``save``/``load``).

        Returns
        -------
        numpy.ndarray
            uint8 windows ``(n_samples, n_neurons, n_bins)``.
        """
        self._check_fitted("sample")
        n_samples = check_positive_int(n_samples, "n_samples")
        rng = np.random.default_rng(check_seed(seed))
        out = np.empty((n_samples, self.n_neurons_, self.n_bins_), dtype=np.uint8)
        self._sample_into(out, rng)
        return out

    def log_prob(self, windows: Any) -> np.ndarray:
        """Natural-log probability of each window ``(n,)`` float64, where tractable.

        Raises
        ------
        NotImplementedError
            When the model's likelihood is intractable (the message says why).
        """
        self._check_fitted("log_prob")
        if self.log_prob_unavailable:
            raise NotImplementedError(
                f"{type(self).__name__}.log_prob is not available: {self.log_prob_unavailable}"
            )
        return self._log_prob(self._check_sample_shape(windows, "windows"))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted model to ``path`` (``.npz``; written atomically)."""
        self._check_fitted("save")
        path = Path(path)
        arrays = {k: np.ascontiguousarray(v) for k, v in self._get_params().items()}
        meta = {
            "format": "spikegan_tf.baseline",
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "class": type(self).__name__,
            "spikegan_tf_version": __version__,
            "n_neurons": self.n_neurons_,
            "n_bins": self.n_bins_,
            "options": _jsonable(self.get_options()),
            "fit_report": self.fit_report_.to_dict() if self.fit_report_ else None,
        }
        if "metadata" in arrays:  # pragma: no cover - programming error
            raise RuntimeError("parameter name 'metadata' is reserved")
        directory = path.parent if str(path.parent) else Path(".")
        if not directory.is_dir():
            raise FileNotFoundError(2, "No such directory", str(directory))
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # a handle: no ".npz" appended
            np.savez(fh, metadata=np.array(json.dumps(meta)), **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Baseline:
        """Read a model written by :meth:`save` (no pickle).

        Called on :class:`Baseline` it returns whichever kind the file holds;
        called on a subclass it also checks that the file holds that kind.
        """
        meta, arrays = _read_model_file(path)
        kind = meta.get("kind")
        target = _REGISTRY.get(kind)
        if target is None:
            known = ", ".join(sorted(_REGISTRY))
            raise ConfigError(
                f"File '{path}' holds a baseline of unknown kind {kind!r}; expected one of "
                f"{known}."
            )
        if cls is not Baseline and not issubclass(target, cls):
            raise ConfigError(
                f"File '{path}' holds a {target.__name__} ({kind!r}), not a {cls.__name__}."
            )
        try:
            model = target(**dict(meta.get("options") or {}))
            model.n_neurons_ = check_positive_int(meta["n_neurons"], "n_neurons")
            model.n_bins_ = check_positive_int(meta["n_bins"], "n_bins")
            model._set_params(arrays)
            report = meta.get("fit_report")
            model.fit_report_ = target.report_class.from_dict(report) if report else None
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"File '{path}' is not a valid {target.__name__} model file: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        return model

    # ------------------------------------------------------------- helpers
    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.get_options().items())
        shape = f"fitted {self.n_neurons_}x{self.n_bins_}" if self.is_fitted else "not fitted"
        return f"{type(self).__name__}({opts}) [{shape}]"

    def _check_fitted(self, what: str) -> None:
        if not self.is_fitted:
            raise ConfigError(
                f"{type(self).__name__} is not fitted: call fit() or load() before {what}()."
            )

    def _check_sample_shape(self, windows: Any, name: str) -> np.ndarray:
        arr = check_windows(windows, name)
        want = (self.n_neurons_, self.n_bins_)
        if arr.shape[1:] != want:
            raise SpikeDataError(
                f"`{name}` must have shape (n, {want[0]}, {want[1]}) to match the fitted "
                f"model (neurons, bins). Received shape {arr.shape}."
            )
        return arr

    @staticmethod
    def _require(arrays: Mapping[str, np.ndarray], name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in arrays:
            raise KeyError(f"missing array {name!r}")
        arr = np.asarray(arrays[name], dtype=np.float64)
        if arr.shape != tuple(shape):
            raise ValueError(f"array {name!r} has shape {arr.shape}, expected {tuple(shape)}")
        if not np.all(np.isfinite(arr) | np.isinf(arr)):
            raise ValueError(f"array {name!r} holds NaN")
        return arr

    # ------------------------------------------------- subclass obligations
    @abc.abstractmethod
    def _fit(self, d: WindowedSpikes, seed: int | None) -> dict[str, Any]:
        """Fit to ``d``; return the extra fields of ``report_class``."""

    @abc.abstractmethod
    def _sample_into(self, out: np.ndarray, rng: np.random.Generator) -> None:
        """Fill ``out`` (uint8 ``(n, neurons, bins)``) with samples."""

    @abc.abstractmethod
    def _get_params(self) -> dict[str, np.ndarray]:
        """Numeric arrays that define the fitted model."""

    @abc.abstractmethod
    def _set_params(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Restore the arrays of :meth:`_get_params` (validate shapes; raise on mismatch)."""

    def _log_prob(self, windows: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract-ish
        raise NotImplementedError


def _read_model_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(21, "Is a directory", path)
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic[:4] != b"PK\x03\x04":
        kind = "a single .npy array" if magic == b"\x93NUMPY" else "not a .npz (zip) archive"
        raise ConfigError(
            f"File '{path}' is {kind}, not a spikegan baseline model (.npz written by "
            "Baseline.save / `spikegan baseline fit`)."
        )
    try:
        npz = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise ConfigError(
            f"File '{path}' is not a spikegan baseline model (.npz written by "
            f"Baseline.save): {exc}"
        ) from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ConfigError(
            f"File '{path}' holds a single array, not a spikegan baseline model (.npz "
            "written by Baseline.save / `spikegan baseline fit`)."
        )
    try:
        with npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, EOFError) as exc:
        raise ConfigError(f"File '{path}' is not a readable .npz archive: {exc}") from None
    if "metadata" not in arrays:
        raise ConfigError(
            f"File '{path}' is not a spikegan baseline model: it has no 'metadata' entry "
            f"(entries: {sorted(arrays)})."
        )
    try:
        meta = json.loads(str(arrays.pop("metadata")))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"File '{path}' has unreadable metadata: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != "spikegan_tf.baseline":
        raise ConfigError(f"File '{path}' is not a spikegan baseline model (wrong 'format').")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ConfigError(
            f"File '{path}' has baseline format version {version!r}; this spikegan_tf "
            f"({__version__}) reads versions up to {FORMAT_VERSION}."
        )
    return meta, arrays


def load(path: str | os.PathLike[str]) -> Baseline:
    """Read any baseline model file; the stored ``kind`` picks the class.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from spikegan_tf.baselines import IndependentBernoulli, load
    >>> m = IndependentBernoulli().fit(np.eye(4, dtype=np.uint8), n_bins=2)
    >>> p = os.path.join(tempfile.mkdtemp(), "m.npz")
    >>> _ = m.save(p)
    >>> type(load(p)).__name__
    'IndependentBernoulli'
    """
    return Baseline.load(path)

"""Rig runtime for conditional models: windows for the condition of each tick (no TensorFlow).

A conditional export (``spikegan train --condition-key ...``, then ``spikegan
export``) has the inputs ``z``, ``u`` and ``label`` (one-hot) and/or
``covariates``. :class:`ConditionalSampler` keeps the sampling protocol of
:class:`~spikegan_tf.export.runtime.Sampler` (same seed, same ``z`` and ``u``
streams), and takes the condition with each request::

    from spikegan_tf.export.conditional_runtime import ConditionalSampler
    sampler = ConditionalSampler("models/tuned/1/model.onnx", seed=1234)
    windows = sampler.sample(labels=["grating_45"] * 100)   # (100, n_neurons, n_bins)
    for tick in rig:                                          # closed loop, one window a tick
        window = sampler.next(label=tick.stimulus, covariates=tick.speed_trace)

The labels are the values the model was trained on (``sampler.classes``).
For one seed the runtime gives the Keras model's spikes for the same
conditions (:meth:`spikegan_tf.gan.estimator.SpikeGAN.sample`), wherever float
round-off cannot flip a draw.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf.errors import RunDirError, SpikeGANError
from spikegan_tf.gan.sampling import default_chunk
from spikegan_tf.validation import check_positive_int

from .onnx_session import WindowSession, _model_file

__all__ = ["ConditionalSampler"]


class ConditionalSampler(WindowSession):
    """Draw windows for given conditions from a conditional ``model.onnx`` (no TensorFlow).

    Parameters
    ----------
    path : path-like
        The conditional ``model.onnx`` (or its version directory).
    seed : int, optional
        Seed of the sampling protocol (``None``: fresh, recorded in :attr:`seed`).
    intra_op_threads : int
        ONNX Runtime threads per operator.
    providers : list of str, optional
        ONNX Runtime execution providers (default: CPU).

    Attributes
    ----------
    classes : list or None
        The label values, in the order of the one-hot ``label`` input.
    n_covariates : int
        Covariates per bin (0: none).
    """

    def __init__(self, path: str | os.PathLike, seed: int | None = None, *,
                 intra_op_threads: int = 1, providers: list[str] | None = None) -> None:
        super().__init__(_model_file(Path(path)), seed, intra_op_threads, False, providers)
        inputs = self._input_shapes()
        if not {"z", "u"} <= set(inputs) or set(inputs) == {"z", "u"}:
            raise RunDirError(f"'{self._path}' has inputs {sorted(inputs)}: not a conditional "
                              "model (expected z, u and label and/or covariates); use "
                              "spikegan_tf.export.runtime.Sampler for unconditional models.")
        self._set_window_shape(inputs)
        self.n_classes = int(inputs["label"][1]) if "label" in inputs else 0
        self.n_covariates = int(inputs["covariates"][2]) if "covariates" in inputs else 0
        self.classes = (self.metadata.get("conditions") or {}).get("classes")
        if self.n_classes and (self.classes is None or len(self.classes) != self.n_classes):
            raise RunDirError(f"'{self._path}': its metadata lists the classes {self.classes} "
                              f"but the graph takes {self.n_classes} classes.")
        self._index = {c: i for i, c in enumerate(self.classes or ())}
        self.reset()

    @property
    def chunk_size(self) -> int:
        """Windows per ONNX Runtime call that keep a chunk at most 2**24 bins."""
        return default_chunk(self._neurons, self._bins)

    def reset(self) -> None:
        """Restart the session's random streams at :attr:`seed`."""
        self._restart_streams()

    def record(self) -> dict[str, Any]:
        """What a session log needs to replay the session (with the conditions the rig logged)."""
        return {**self._record(), "classes": self.classes, "n_covariates": self.n_covariates}

    def _feeds(self, n: int, labels: Any, covariates: Any) -> dict[str, np.ndarray]:
        feeds: dict[str, np.ndarray] = {}
        if self.n_classes:
            if labels is None:
                raise SpikeGANError(f"This model is conditioned on a label: give `labels` "
                                    f"(one of {self.classes} per window).")
            values = list(labels)
            if len(values) != n:
                raise SpikeGANError(f"`labels` has {len(values)} values for {n} windows.")
            onehot = np.zeros((n, self.n_classes), np.float32)
            for i, v in enumerate(values):
                key = v.item() if isinstance(v, np.generic) else v
                if key not in self._index:
                    raise SpikeGANError(f"`labels` holds {key!r}, which is not one of the "
                                        f"model's classes {self.classes}.")
                onehot[i, self._index[key]] = 1.0
            feeds["label"] = onehot
        elif labels is not None:
            raise SpikeGANError("This model takes no label: leave `labels` out.")
        if self.n_covariates:
            if covariates is None:
                raise SpikeGANError(f"This model is conditioned on covariates: give "
                                    f"`covariates` ({n}, {self._bins}, {self.n_covariates}).")
            cov = np.asarray(covariates, np.float32)
            if cov.ndim == 2 and self.n_covariates == 1:
                cov = cov[..., None]
            if cov.shape != (n, self._bins, self.n_covariates):
                raise SpikeGANError(f"`covariates` must have shape ({n}, {self._bins}, "
                                    f"{self.n_covariates}). Received {cov.shape}.")
            if not np.isfinite(cov).all():
                raise SpikeGANError("`covariates` holds NaN or infinite values.")
            feeds["covariates"] = np.ascontiguousarray(cov)
        elif covariates is not None:
            raise SpikeGANError("This model takes no covariates: leave `covariates` out.")
        return feeds

    def run(self, z: np.ndarray, u: np.ndarray, *, labels: Any = None,
            covariates: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Run the model on given draws and conditions; return ``(probs, spikes)``."""
        z = np.ascontiguousarray(z, np.float32)
        u = np.ascontiguousarray(u, np.float32)
        feeds = self._feeds(len(z), labels, covariates)
        probs, spikes = self._session.run(["probs", "spikes"], {"z": z, "u": u, **feeds})
        return probs, spikes

    def sample(self, n: int | None = None, *, labels: Any = None, covariates: Any = None,
               return_probs: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """The session's next windows, one per condition given.

        ``n`` defaults to the number of labels (or covariate rows); the random
        streams advance as :func:`spikegan_tf.gan.sampling.sample` advances them,
        so ``sample(labels=a)`` then ``sample(labels=b)`` equals
        ``sample(labels=a + b)``.
        """
        if n is None:
            given = labels if labels is not None else covariates
            if given is None:
                raise SpikeGANError("Give the conditions (`labels` and/or `covariates`).")
            n = len(given)
        n = check_positive_int(n, "n")
        feeds = self._feeds(n, labels, covariates)
        z = self._z_rng.standard_normal((n, self._latent), dtype=np.float32)
        u = self._u_rng.random((n, self._neurons, self._bins), dtype=np.float32)
        probs, spikes = self._session.run(["probs", "spikes"], {"z": z, "u": u, **feeds})
        self._drawn += n
        return (spikes, probs) if return_probs else spikes

    def next(self, label: Any = None, covariates: Any = None) -> np.ndarray:
        """One window ``(n_neurons, n_bins)`` for this tick's condition (continues the session).

        ``label`` is one class value; ``covariates`` ``(n_bins, n_covariates)``
        (or ``(n_bins,)`` for one covariate).
        """
        cov = None if covariates is None else np.asarray(covariates, np.float32)[None]
        return self.sample(1, labels=None if label is None else [label], covariates=cov)[0]

"""Rig runtime: draw spike windows from an exported ``.onnx`` generator.

Needs only numpy and onnxruntime -- importing this module never imports
TensorFlow -- so it runs on lab-rig computers that drive closed-loop
stimulation::

    from spikegan_tf.export.runtime import Sampler

    sampler = Sampler("models/retina/1/model.onnx", seed=1234)
    windows = sampler.sample(100)          # (100, n_neurons, n_bins) uint8
    for window in sampler.stream():        # one (1, n_neurons, n_bins) window at a time
        ...

``z`` and ``u`` are drawn exactly as :func:`spikegan_tf.sampling.sample` draws
them (the package's sampling protocol), so for one seed the rig produces the
Keras model's spikes (wherever float round-off cannot flip a draw,
``|p - u| > 1e-6``). The seed is recorded: ``Sampler(path, seed=sampler.seed)``
replays a session window for window, and :meth:`Sampler.record` returns what a
session log needs.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf.errors import RunDirError, SpikeGANError
from spikegan_tf.sampling import DEFAULT_CHUNK, sampling_streams
from spikegan_tf.validation import check_positive_int, check_seed

from .metadata import from_onnx_props

__all__ = ["Sampler", "session_options"]


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise SpikeGANError(
            "The rig runtime needs onnxruntime: pip install onnxruntime "
            "(or 'spikegan-tf[export]')."
        ) from None
    return onnxruntime


def session_options(intra_op_threads: int = 1) -> Any:
    """Return the ``onnxruntime.SessionOptions`` the rig runtime uses.

    All graph optimisations (operator fusion: ``MatMul + Add + LeakyRelu`` into
    one ``FusedGemm``), ``intra_op_threads`` threads for one operator,
    sequential execution and no inter-operator pool -- the low-jitter
    set-up for one window at a time.

    Examples
    --------
    >>> session_options(2).intra_op_num_threads
    2
    """
    ort = _ort()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = check_positive_int(intra_op_threads, "intra_op_threads")
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return opts


_EXPECTED = "the model.onnx written by `spikegan export --format onnx`"


def _model_file(path: Path) -> Path:
    """``path`` itself, or the ``model.onnx`` inside an export's version directory."""
    if path.is_dir():
        if (path / "model.onnx").is_file():
            return path / "model.onnx"
        raise RunDirError(f"'{path}' is a directory without a model.onnx; pass {_EXPECTED}.")
    if not path.is_file():
        raise RunDirError(f"ONNX model '{path}' does not exist (expected {_EXPECTED}).")
    return path


class Sampler:
    """Draw binary spike windows from an exported ONNX generator (no TensorFlow).

    Parameters
    ----------
    path : path-like
        ``model.onnx`` written by ``spikegan export --format onnx``, or the export's
        version directory holding it.
    seed : int, optional
        Seed of the sampling protocol. ``None`` draws a fresh one from the OS;
        either way it is recorded in :attr:`seed` so the session can be replayed.
    intra_op_threads : int
        ONNX Runtime threads per operator (1 for the lowest single-window latency).
    chunk_size : int
        Windows per ONNX Runtime call in :meth:`sample`.
    providers : list of str, optional
        ONNX Runtime execution providers (default: CPU).

    Attributes
    ----------
    metadata : dict
        The export's metadata (``n_neurons``, ``n_bins``, ``bin_width``,
        training-data summary, package version...), read from the file.

    Examples
    --------
    >>> sampler = Sampler(onnx_path, seed=7)          # doctest: +SKIP
    >>> sampler.sample(3).shape                       # doctest: +SKIP
    (3, 50, 32)
    >>> replay = Sampler(onnx_path, seed=sampler.seed)  # same windows again  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, seed: int | None = None, *,
                 intra_op_threads: int = 1, chunk_size: int = DEFAULT_CHUNK,
                 providers: list[str] | None = None) -> None:
        self._path = _model_file(Path(path))
        self._chunk = check_positive_int(chunk_size, "chunk_size")
        ort = _ort()
        try:
            self._session = ort.InferenceSession(
                str(self._path), session_options(intra_op_threads),
                providers=providers or ["CPUExecutionProvider"])
        except Exception as exc:  # not an ONNX file, unsupported ops...
            detail = " ".join(str(exc).split())  # ONNX Runtime's messages span lines
            raise RunDirError(f"ONNX Runtime cannot load '{self._path}' (expected {_EXPECTED}): "
                              f"{detail}") from None
        meta = self._session.get_modelmeta().custom_metadata_map
        self.metadata: dict[str, Any] = from_onnx_props(meta, source=str(self._path))
        inputs = {i.name: i.shape for i in self._session.get_inputs()}
        outputs = [o.name for o in self._session.get_outputs()]
        if set(inputs) != {"z", "u"} or set(outputs) != {"probs", "spikes"}:
            raise RunDirError(f"'{self._path}' has inputs {sorted(inputs)} and outputs "
                              f"{outputs}; expected inputs ['u', 'z'] and outputs "
                              "['probs', 'spikes'].")
        self._latent = int(inputs["z"][1])
        self._neurons, self._bins = int(inputs["u"][1]), int(inputs["u"][2])
        if (self.metadata.get("n_neurons"), self.metadata.get("n_bins")) != (self._neurons,
                                                                             self._bins):
            raise RunDirError(f"'{self._path}': metadata says {self.metadata.get('n_neurons')} "
                              f"neurons x {self.metadata.get('n_bins')} bins but the graph "
                              f"takes {self._neurons} x {self._bins}.")
        self._sha256 = hashlib.sha256(self._path.read_bytes()).hexdigest()
        if seed is None:
            seed = int(np.random.SeedSequence().entropy)
        self._seed = check_seed(seed)
        self.reset()

    # -- description ---------------------------------------------------------------
    @property
    def seed(self) -> int:
        """The seed of this session (pass it back to replay the session)."""
        return self._seed

    @property
    def path(self) -> Path:
        """The ONNX file."""
        return self._path

    @property
    def n_neurons(self) -> int:
        """Neurons per window."""
        return self._neurons

    @property
    def n_bins(self) -> int:
        """Time bins per window."""
        return self._bins

    @property
    def latent_dim(self) -> int:
        """Dimension of the latent vector ``z``."""
        return self._latent

    @property
    def bin_width(self) -> float | None:
        """Bin width (seconds) of the training data, if it was known."""
        return self.metadata.get("bin_width")

    @property
    def windows_drawn(self) -> int:
        """Windows drawn since construction or the last :meth:`reset`."""
        return self._drawn

    def record(self) -> dict[str, Any]:
        """Return what a session log needs to replay this session.

        Keys: ``model`` (path), ``sha256`` (of the file), ``seed``,
        ``windows_drawn``, ``n_neurons``, ``n_bins``, ``bin_width``,
        ``package_version`` (of the exporter).
        """
        return {
            "model": str(self._path),
            "sha256": self._sha256,
            "seed": self._seed,
            "windows_drawn": self._drawn,
            "n_neurons": self._neurons,
            "n_bins": self._bins,
            "bin_width": self.bin_width,
            "package_version": self.metadata.get("package_version"),
        }

    def __repr__(self) -> str:
        return (f"Sampler('{self._path}', seed={self._seed}, {self._neurons} neurons x "
                f"{self._bins} bins, {self._drawn} windows drawn)")

    # -- sampling ------------------------------------------------------------------
    def reset(self) -> None:
        """Restart the session's random streams at :attr:`seed`."""
        self._z_rng, self._u_rng = sampling_streams(self._seed)
        self._drawn = 0

    def run(self, z: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the model on given draws; return ``(probs, spikes)``.

        ``z`` is float32 ``(n, latent_dim)``, ``u`` float32 ``(n, n_neurons, n_bins)``.
        Does not advance the session's random streams.
        """
        z = np.ascontiguousarray(z, dtype=np.float32)
        u = np.ascontiguousarray(u, dtype=np.float32)
        n = z.shape[0] if z.ndim == 2 else -1
        if z.shape != (n, self._latent) or u.shape != (n, self._neurons, self._bins):
            raise SpikeGANError(
                f"`z` must be (n, {self._latent}) and `u` (n, {self._neurons}, {self._bins}). "
                f"Received z {z.shape} and u {u.shape}.")
        probs, spikes = self._session.run(["probs", "spikes"], {"z": z, "u": u})
        return probs, spikes

    def _draw(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        z = self._z_rng.standard_normal((n, self._latent), dtype=np.float32)
        u = self._u_rng.random((n, self._neurons, self._bins), dtype=np.float32)
        return z, u

    def sample(self, n: int, *, return_probs: bool = False
               ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Draw the session's next ``n`` windows.

        Parameters
        ----------
        n : int
            Number of windows.
        return_probs : bool
            Also return the firing probabilities.

        Returns
        -------
        numpy.ndarray or tuple
            uint8 spikes ``(n, n_neurons, n_bins)`` (and float32 probabilities).
            Consecutive calls continue the session: ``sample(10)`` then
            ``sample(20)`` equals ``sample(30)`` of a fresh sampler.
        """
        n = check_positive_int(n, "n")
        if n <= self._chunk:
            z, u = self._draw(n)
            probs, spikes = self._session.run(["probs", "spikes"], {"z": z, "u": u})
            self._drawn += n
            return (spikes, probs) if return_probs else spikes
        shape = (n, self._neurons, self._bins)
        spikes = np.empty(shape, np.uint8)
        probs = np.empty(shape, np.float32) if return_probs else None
        for start in range(0, n, self._chunk):
            m = min(self._chunk, n - start)
            z, u = self._draw(m)
            p, s = self._session.run(["probs", "spikes"], {"z": z, "u": u})
            spikes[start:start + m] = s
            if probs is not None:
                probs[start:start + m] = p
            self._drawn += m
        return (spikes, probs) if return_probs else spikes

    def stream(self, batch: int = 1) -> Iterator[np.ndarray]:
        """Yield the session's consecutive windows, ``batch`` at a time, forever.

        Each item is uint8 ``(batch, n_neurons, n_bins)``; the stream continues
        the session's random streams like :meth:`sample`.
        """
        batch = check_positive_int(batch, "batch")
        # The loop reuses bound buffers: the draws are written in place into the
        # arrays ONNX Runtime reads, and the outputs land in preallocated arrays
        # (about 10% less per-window overhead than `session.run` for one window).
        z = np.empty((batch, self._latent), np.float32)
        u = np.empty((batch, self._neurons, self._bins), np.float32)
        probs = np.empty(u.shape, np.float32)
        spikes = np.empty(u.shape, np.uint8)
        binding = self._session.io_binding()
        binding.bind_cpu_input("z", z)
        binding.bind_cpu_input("u", u)
        binding.bind_output("probs", "cpu", 0, np.float32, probs.shape, probs.ctypes.data)
        binding.bind_output("spikes", "cpu", 0, np.uint8, spikes.shape, spikes.ctypes.data)
        while True:
            self._z_rng.standard_normal(dtype=np.float32, out=z)
            self._u_rng.random(dtype=np.float32, out=u)
            self._session.run_with_iobinding(binding)
            self._drawn += batch
            yield spikes.copy()

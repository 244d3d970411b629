"""Rig runtime: draw spike windows from an exported ``.onnx`` generator.

Needs only numpy and onnxruntime -- importing this module never imports
TensorFlow -- so it runs on lab-rig computers that drive closed-loop
stimulation::

    from spikegan_tf.export.runtime import Sampler

    sampler = Sampler("models/retina/1/model.onnx", seed=1234)
    windows = sampler.sample(100)          # (100, n_neurons, n_bins) uint8
    with sampler.stream(prefetch=1024) as windows:   # made ahead by a producer thread
        for window in windows:                       # one (1, n_neurons, n_bins) window
            ...

``z`` and ``u`` are drawn exactly as :func:`spikegan_tf.gan.sampling.sample` draws
them (the package's sampling protocol), so for one seed the rig produces the
Keras model's spikes (wherever float round-off cannot flip a draw,
``|p - u| > 1e-6``). The seed is recorded: ``Sampler(path, seed=sampler.seed)``
replays a session window for window, and :meth:`Sampler.record` returns what a
session log needs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf.errors import RunDirError, SpikeGANError
from spikegan_tf.gan.sampling import default_chunk, sampling_streams
from spikegan_tf.validation import check_positive_int

from .onnx_session import OnnxSession, WindowSession, _model_file, session_options
from .stream import PrefetchStream

__all__ = ["Sampler", "OnnxSession", "session_options"]


class Sampler(WindowSession):
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
    spin : bool
        Let ONNX Runtime's operator threads busy-wait between calls (see
        :func:`session_options`; off by default).
    chunk_size : int, optional
        Windows per ONNX Runtime call in :meth:`sample` (default:
        :func:`spikegan_tf.gan.sampling.default_chunk`, at most 2**24 bins).
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
                 intra_op_threads: int = 1, chunk_size: int | None = None,
                 providers: list[str] | None = None, spin: bool = False) -> None:
        super().__init__(_model_file(Path(path)), seed, intra_op_threads, spin, providers)
        inputs = self._input_shapes()
        outputs = self._names()[1]
        if {"z", "u"} < set(inputs):
            raise RunDirError(f"'{self._path}' is a conditional model (inputs "
                              f"{sorted(inputs)}): draw from it with "
                              "spikegan_tf.export.ConditionalSampler.")
        if set(inputs) != {"z", "u"} or set(outputs) != {"probs", "spikes"}:
            raise RunDirError(f"'{self._path}' has inputs {sorted(inputs)} and outputs "
                              f"{outputs}; expected inputs ['u', 'z'] and outputs "
                              "['probs', 'spikes'].")
        self._set_window_shape(inputs)
        self._chunk = (default_chunk(self._neurons, self._bins) if chunk_size is None
                       else check_positive_int(chunk_size, "chunk_size"))
        if (self.metadata.get("n_neurons"), self.metadata.get("n_bins")) != (self._neurons,
                                                                             self._bins):
            raise RunDirError(f"'{self._path}': metadata says {self.metadata.get('n_neurons')} "
                              f"neurons x {self.metadata.get('n_bins')} bins but the graph "
                              f"takes {self._neurons} x {self._bins}.")
        self.reset()

    # -- description ---------------------------------------------------------------
    @property
    def chunk_size(self) -> int:
        """Windows per ONNX Runtime call in :meth:`sample`."""
        return self._chunk

    def record(self) -> dict[str, Any]:
        """Return what a session log needs to replay this session.

        Keys: ``model`` (path), ``sha256`` (of the file), ``seed``,
        ``windows_drawn``, ``n_neurons``, ``n_bins``, ``bin_width``,
        ``package_version`` (of the exporter).
        """
        return {**self._record(), "package_version": self.metadata.get("package_version")}

    def __repr__(self) -> str:
        return (f"Sampler('{self._path}', seed={self._seed}, {self._neurons} neurons x "
                f"{self._bins} bins, {self.windows_drawn} windows drawn)")

    # -- sampling ------------------------------------------------------------------
    def reset(self) -> None:
        """Restart the session's random streams at :attr:`seed`."""
        self._check_no_prefetch("reset")
        self._restart_streams()
        self._ahead = False

    def _resync(self) -> None:
        """After a prefetching stream: move the random streams back to :attr:`windows_drawn`.

        The producer drew windows that were never handed out; redrawing the
        handed-out ones from the seed (without running the model) puts the
        streams where :meth:`sample` continues the session.
        """
        self._z_rng, self._u_rng = sampling_streams(self._seed)
        left = self._drawn
        while left:
            m = min(self._chunk, left)
            self._draw(m)
            left -= m
        self._ahead = False

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
        self._check_no_prefetch("sample")
        if self._ahead:
            self._resync()
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

    def stream(self, batch: int = 1, *, prefetch: int | None = None, chunk: int = 256,
               producer_threads: int = 1, pin: set[int] | None = None
               ) -> Iterator[np.ndarray]:
        """Yield the session's consecutive windows, ``batch`` at a time, forever.

        Each item is uint8 ``(batch, n_neurons, n_bins)``; the stream continues
        the session's random streams like :meth:`sample` (same windows, same order).

        Parameters
        ----------
        batch : int
            Windows per item.
        prefetch : int, optional
            ``None``: compute each item on demand (tens of microseconds). An
            integer: return a :class:`~spikegan_tf.export.stream.PrefetchStream`
            whose background producer keeps up to ``prefetch`` windows ready, so
            taking the next one costs about a microsecond (the rig set-up;
            close it, or use it in a ``with`` block, when done).
        chunk : int
            Windows the producer makes per ONNX Runtime call (with ``prefetch``).
        producer_threads : int
            ONNX Runtime threads of the producer (with ``prefetch``).
        pin : set of int, optional
            CPUs the producer may run on (with ``prefetch``; Linux).

        Examples
        --------
        >>> with sampler.stream(prefetch=1024) as windows:    # doctest: +SKIP
        ...     window = next(windows)[0]                      # (n_neurons, n_bins)
        """
        batch = check_positive_int(batch, "batch")
        self._check_no_prefetch("open a stream")
        if self._ahead:
            self._resync()
        if prefetch is not None:
            return self._prefetch_stream(batch, check_positive_int(prefetch, "prefetch"),
                                         check_positive_int(chunk, "chunk"),
                                         check_positive_int(producer_threads, "producer_threads"),
                                         pin)
        return self._on_demand(batch)

    def _prefetch_stream(self, batch: int, prefetch: int, chunk: int, threads: int,
                         pin: set[int] | None) -> PrefetchStream:
        if pin is not None:
            if not hasattr(os, "sched_setaffinity"):
                raise SpikeGANError("`pin` needs Linux (os.sched_setaffinity); leave it out.")
            pin = {int(c) for c in pin}
            allowed = os.sched_getaffinity(0)
            if not pin or not pin <= allowed:
                raise SpikeGANError(f"`pin` must be a non-empty set of this process's CPUs "
                                    f"{sorted(allowed)}. Received {sorted(pin)}.")
        session = self._new_session(threads)

        def produce(m: int) -> np.ndarray:  # the session's streams, as sample() draws them
            z, u = self._draw(m)
            return session.run(["spikes"], {"z": z, "u": u})[0]

        def on_close(handed_out: int) -> None:
            self._drawn += handed_out
            self._prefetching = None
            self._ahead = True  # the producer drew past the last window handed out

        prefetch = max(prefetch, batch)
        stream = PrefetchStream(produce, batch=batch, prefetch=prefetch,
                                chunk=min(chunk, prefetch), pin=pin, on_close=on_close)
        self._prefetching = stream
        return stream

    def _on_demand(self, batch: int) -> Iterator[np.ndarray]:
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

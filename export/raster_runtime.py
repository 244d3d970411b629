"""Rig runtime for continuous rasters: one seamless raster from ``raster.onnx`` (no TensorFlow).

A ``temporal`` run's export holds ``raster.onnx`` beside ``model.onnx``
(see :mod:`.raster`). :class:`RasterSampler` draws the raster of a seed bin
after bin, under the position-keyed protocol of :mod:`spikegan_tf.gan.sampling`,
so for one seed it gives the raster of :meth:`spikegan_tf.SpikeGAN.sample_raster`
(wherever float round-off cannot flip a draw) however it is chunked::

    from spikegan_tf.export.raster_runtime import RasterSampler

    sampler = RasterSampler("models/retina_temporal/1", seed=7)
    first = sampler.sample(1000)                 # bins 0..999, (1000, n_neurons) uint8
    with sampler.stream(bins=1, prefetch=4096) as raster:   # made ahead by a producer
        for spikes in raster:                    # (1, n_neurons): the next bin
            ...
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from spikegan_tf.errors import RunDirError
from spikegan_tf.gan.history import RasterHistory, decode_coupling
from spikegan_tf.gan.sampling import RASTER_CHUNK, fill, iter_raster_chunks, output_array
from spikegan_tf.validation import check_positive_int

from .onnx_session import OnnxSession
from .stream import PrefetchStream

__all__ = ["RasterSampler"]

_EXPECTED = "the raster.onnx that `spikegan export --format onnx` writes for a temporal run"


def _raster_file(path: Path) -> Path:
    if path.is_dir():
        if (path / "raster.onnx").is_file():
            return path / "raster.onnx"
        raise RunDirError(f"'{path}' is a directory without a raster.onnx; pass {_EXPECTED} "
                          "(only runs of the temporal architecture have one).")
    if not path.is_file():
        raise RunDirError(f"ONNX raster model '{path}' does not exist (expected {_EXPECTED}).")
    return path


class RasterSampler(OnnxSession):
    """Draw one continuous spike raster ``(time, n_neurons)`` from an exported raster model.

    Parameters
    ----------
    path : path-like
        ``raster.onnx`` or the export's version directory holding it.
    seed : int, optional
        Seed of the raster (``None``: fresh entropy, recorded in :attr:`seed`).
    intra_op_threads : int
        ONNX Runtime threads per operator.
    chunk : int
        Bins per ONNX Runtime call in :meth:`sample`.
    spin : bool
        Let ONNX Runtime's threads busy-wait (see
        :func:`~spikegan_tf.export.runtime.session_options`).

    Examples
    --------
    >>> sampler = RasterSampler(raster_path, seed=7)       # doctest: +SKIP
    >>> sampler.sample(100).shape                          # doctest: +SKIP
    (100, 50)
    >>> sampler.bins_drawn                                 # doctest: +SKIP
    100
    """

    _expected = _EXPECTED

    def __init__(self, path: str | os.PathLike, seed: int | None = None, *,
                 intra_op_threads: int = 1, chunk: int = RASTER_CHUNK,
                 spin: bool = False) -> None:
        super().__init__(_raster_file(Path(path)), seed, intra_op_threads, spin)
        self._chunk = check_positive_int(chunk, "chunk")
        raster = self.metadata.get("raster")
        names = self._names()
        if not isinstance(raster, dict) or names != (["z_sequence"], ["probs"]):
            raise RunDirError(f"'{self._path}' is not a raster model (inputs/outputs {names}, "
                              f"expected (['z_sequence'], ['probs']) and a 'raster' metadata "
                              f"section); pass {_EXPECTED}.")
        self._rf = int(raster["receptive_field"])
        self._channels = int(raster["latent_channels"])
        self._neurons = int(raster["n_neurons"])
        history = self.metadata.get("spike_history")
        self._history = (None if not isinstance(history, dict)
                         else np.asarray(history["filter"], np.float32))
        self._coupling = (None if not isinstance(history, dict) or "coupling" not in history
                          else decode_coupling(history["coupling"], self._neurons))
        # where the spike-history drive stands (None: no filter); seek() leaves it behind
        self._state = (None if self._history is None
                       else RasterHistory(self._history, self._coupling))
        self._t = 0

    @property
    def n_neurons(self) -> int:
        """Neurons of the raster."""
        return self._neurons

    @property
    def receptive_field(self) -> int:
        """Latent steps behind one bin."""
        return self._rf

    @property
    def bins_drawn(self) -> int:
        """Bins handed out so far (the next bin's index)."""
        live = self._prefetching
        return self._t + (live.handed_out if live is not None else 0)

    def record(self) -> dict[str, Any]:
        """What a session log needs to replay the raster: model, hash, seed, position."""
        return {"model": str(self._path), "sha256": self._sha256, "seed": self._seed,
                "bins_drawn": self.bins_drawn, "n_neurons": self._neurons,
                "bin_width": self.metadata.get("bin_width")}

    def __repr__(self) -> str:
        return (f"RasterSampler('{self._path}', seed={self._seed}, {self._neurons} neurons, "
                f"{self.bins_drawn} bins drawn)")

    def _predict(self, session: Any) -> Any:
        return lambda z: session.run(["probs"], {"z_sequence": z})[0]

    def _chunks(self, session: Any, start: int, n: int, chunk: int,
                state: RasterHistory | None = None) -> Iterator[np.ndarray]:
        return iter_raster_chunks(self._predict(session), n, self._seed,
                                  latent_channels=self._channels, n_neurons=self._neurons,
                                  receptive_field=self._rf, start=start, chunk=chunk,
                                  history=self._history, coupling=self._coupling,
                                  state=self._state if state is None else state)

    def _piece(self, session: Any, start: int, m: int,
               state: RasterHistory | None = None) -> np.ndarray:
        """Bins ``start .. start + m - 1`` in one model call."""
        return next(self._chunks(session, start, m, m, state))

    def seek(self, t: int) -> None:
        """Continue the raster from bin ``t`` (0 restarts it).

        With a spike-history filter (the metadata's ``spike_history``), the
        next draw first draws the bins between the last one drawn and ``t``
        again (from bin 0 when seeking back), since their spikes set the drive
        at ``t``.
        """
        self._check_no_prefetch("seek")
        self._t = check_positive_int(t, "t", minimum=0)

    def sample(self, n: int, *, out: np.ndarray | None = None) -> np.ndarray:
        """The raster's next ``n`` bins, uint8 ``(n, n_neurons)`` (into ``out`` if given).

        Consecutive calls continue the raster: ``sample(10)`` then
        ``sample(20)`` equals ``sample(30)`` of a fresh sampler.
        """
        n = check_positive_int(n, "n")
        self._check_no_prefetch("sample")
        out = fill(output_array(out, (n, self._neurons)),
                   self._chunks(self._session, self._t, n, self._chunk))
        self._t += n
        return out

    def stream(self, bins: int = 1, *, prefetch: int | None = None, chunk: int = 1024,
               producer_threads: int = 1) -> Iterator[np.ndarray]:
        """Yield the raster's consecutive bins, ``bins`` at a time, forever.

        Each item is uint8 ``(bins, n_neurons)``, continuing the raster like
        :meth:`sample`. ``prefetch=N`` returns a
        :class:`~spikegan_tf.export.stream.PrefetchStream` whose producer thread
        keeps up to ``N`` bins ready (about a microsecond per item; close it or
        use ``with`` when done); ``None`` computes ``chunk`` bins whenever the
        last are used up.
        """
        bins = check_positive_int(bins, "bins")
        chunk = bins * max(1, check_positive_int(chunk, "chunk") // bins)
        self._check_no_prefetch("open a stream")
        if prefetch is None:
            return self._on_demand(bins, chunk)
        prefetch = max(check_positive_int(prefetch, "prefetch"), bins)
        session = self._new_session(check_positive_int(producer_threads, "producer_threads"))
        position = [self._t]
        state = None if self._state is None else self._state.copy()  # the producer's own

        def produce(m: int) -> np.ndarray:
            piece = self._piece(session, position[0], m, state)
            position[0] += m
            return piece

        def on_close(handed_out: int) -> None:
            self._t += handed_out
            self._prefetching = None

        stream = PrefetchStream(produce, batch=bins, prefetch=prefetch,
                                chunk=min(chunk, prefetch), pin=None, on_close=on_close)
        self._prefetching = stream
        return stream

    def _on_demand(self, bins: int, chunk: int) -> Iterator[np.ndarray]:
        while True:
            piece = self._piece(self._session, self._t, chunk)
            for i in range(0, chunk, bins):
                self._t += bins
                yield piece[i:i + bins]

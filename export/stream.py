"""A stream of windows that is never late: a background producer fills a bounded buffer.

A closed-loop rig asks for the next window at every tick. Computing it on
demand costs tens of microseconds with a tail set by the operating system; but
the generator is unconditional, so windows can be made ahead of time, in
batches, by a producer thread, and the loop only takes the next one from
memory. :class:`PrefetchStream` is that buffer (``Sampler.stream(prefetch=...)``
builds it):

* the producer makes ``chunk`` windows per ONNX Runtime call and blocks --
  using no CPU -- once ``prefetch`` windows are waiting, so the buffer never
  grows without bound and a paused loop costs nothing;
* taking a window is a slice of a ready array (no lock, no copy) except once
  per chunk, when the next chunk is taken from a :class:`queue.Queue`;
* windows come in the order of :meth:`Sampler.sample` for the same seed, so a
  session is replayed by ``Sampler(path, seed).sample(windows_drawn)``;
* :attr:`PrefetchStream.underruns` counts the times the loop found the buffer
  empty and had to wait.

Needs only numpy (the producer's callable runs ONNX Runtime).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from spikegan_tf.errors import SpikeGANError

__all__ = ["PrefetchStream"]

_DONE = object()  # what the producer leaves in the queue when it stops on an error


class PrefetchStream(Iterator[np.ndarray]):
    """Iterator over ``(batch, n_neurons, n_bins)`` uint8 windows made ahead of time.

    Parameters
    ----------
    produce : callable
        ``produce(m)`` returns the session's next ``m`` windows (uint8
        ``(m, n_neurons, n_bins)``); called only from the producer thread.
    batch : int
        Windows per item.
    prefetch : int
        Most windows waiting in the buffer (the producer blocks beyond it).
    chunk : int
        Windows per ``produce`` call (rounded to a multiple of ``batch``).
    pin : set of int, optional
        CPUs the producer thread may run on (Linux ``sched_setaffinity``).
    on_close : callable, optional
        Called once with the number of windows handed out when the stream closes.

    Notes
    -----
    Items are read-only views into the producer's arrays; copy one to modify it.
    Use the stream as a context manager (or call :meth:`close`) to stop the
    producer.
    """

    def __init__(self, produce: Callable[[int], np.ndarray], *, batch: int, prefetch: int,
                 chunk: int, pin: set[int] | None = None,
                 on_close: Callable[[int], None] | None = None) -> None:
        self._produce = produce
        self._batch = batch
        self._chunk = batch * max(1, chunk // batch)
        self.prefetch = prefetch
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, prefetch // self._chunk))
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._block: np.ndarray | None = None
        self._pos = self._len = 0
        self._pin = pin
        self._on_close = on_close
        self._closed = False
        self.underruns = 0
        self.handed_out = 0
        self._thread = threading.Thread(target=self._run, name="spikegan-producer", daemon=True)
        self._thread.start()

    # -- producer ------------------------------------------------------------------
    def _run(self) -> None:
        try:
            if self._pin is not None:
                os.sched_setaffinity(0, self._pin)  # 0: this thread (Linux)
            while not self._stop.is_set():
                block = self._produce(self._chunk)
                block.flags.writeable = False
                self._queue.put(block)  # blocks (no CPU) while the buffer is full
        except BaseException as exc:  # handed to the consumer, raised at its next take
            self._error = exc
            self._queue.put(_DONE)

    # -- consumer ------------------------------------------------------------------
    def __iter__(self) -> PrefetchStream:
        return self

    def __next__(self) -> np.ndarray:
        pos = self._pos
        if pos >= self._len:
            self._take()
            pos = 0
        self._pos = pos + self._batch
        self.handed_out += self._batch
        return self._block[pos:pos + self._batch]  # type: ignore[index]

    def _take(self) -> None:
        if self._closed:
            raise StopIteration
        try:
            block = self._queue.get_nowait()
        except queue.Empty:
            self.underruns += 1
            block = self._queue.get()
        if block is _DONE:
            self.close()
            raise SpikeGANError(f"The stream's producer failed: {self._error}") from self._error
        self._block, self._len = block, len(block)

    def fill(self, timeout: float | None = None) -> PrefetchStream:
        """Wait until the buffer is full (call it before the loop starts); return ``self``.

        Raises
        ------
        SpikeGANError
            If the producer failed, or ``timeout`` seconds passed first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._queue.full():
            if self._error is not None or not self._thread.is_alive():
                raise SpikeGANError(f"The stream's producer failed: {self._error}")
            if deadline is not None and time.monotonic() > deadline:
                raise SpikeGANError(f"The stream's buffer did not fill within {timeout:g} s.")
            time.sleep(0.001)
        return self

    @property
    def buffered(self) -> int:
        """Windows ready now (in the buffer and in the chunk being handed out)."""
        return self._queue.qsize() * self._chunk + (self._len - self._pos)

    def close(self) -> None:
        """Stop the producer and release the buffer (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        while self._thread.is_alive():  # free a slot so a blocked put returns
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._block, self._pos, self._len = None, 0, 0
        if self._on_close is not None:
            self._on_close(self.handed_out)

    def __enter__(self) -> PrefetchStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        try:
            self._stop.set()
        except Exception:
            pass

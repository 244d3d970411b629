"""A stream of windows that is never late: a background producer fills a bounded buffer.

A closed-loop rig asks for the next window at every tick. Computing it on
demand costs tens to hundreds of microseconds with a tail set by the operating
system; but the generator is unconditional, so windows can be made ahead of
time, in batches, by a producer thread, and the loop only takes the next one
from memory. :class:`PrefetchStream` is that buffer (``Sampler.stream(prefetch=...)``
builds it):

* the producer makes ``chunk`` windows per ONNX Runtime call, cuts them into
  read-only items, and sleeps once ``prefetch`` windows are waiting, looking
  again after a quarter of the time the loop needs to drain the buffer at the
  rate it has been taking windows (1 ms to 100 ms), so the buffer never grows
  without bound and a paused loop costs the process ten short wake-ups a second;
* taking an item runs no Python code: the stream is an :class:`itertools.chain`
  over the producer's lists of items, so ``next(stream)`` is a C-level list step,
  except once per chunk, when the next list is popped from a
  :class:`collections.deque`. The consumer never wakes the producer and never
  frees a chunk (the producer does both): on this 2-core VM, waking the
  producer from the loop (a :class:`queue.Queue` notifying the blocked thread)
  cost that one get 110-190 us, and freeing a spent chunk's 256 item objects
  about 34 us, against 1-6 us for the other gets;
* windows come in the order of ``Sampler.sample`` for the same seed, so a
  session is replayed by ``Sampler(path, seed).sample(windows_drawn)``;
* :attr:`PrefetchStream.underruns` counts the times the loop found the buffer
  empty and had to wait.

Needs only numpy (the producer's callable runs ONNX Runtime).
"""

from __future__ import annotations

import itertools
import operator
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from spikegan_tf.errors import SpikeGANError

__all__ = ["PrefetchStream"]

POLL_S = (1e-3, 0.1)  # shortest and longest sleep of a producer whose buffer is full


class _Producer:
    """The background thread, the bounded queue and the consumer-side counters."""

    def __init__(self, produce: Callable[[int], np.ndarray], batch: int, prefetch: int,
                 chunk: int, pin: set[int] | None) -> None:
        self.produce, self.batch, self.pin = produce, batch, pin
        self.chunk = batch * max(1, chunk // batch)
        self.maxsize = max(1, prefetch // self.chunk)  # lists of items in the buffer
        self.buffer: deque[list[np.ndarray]] = deque()
        self.spent: deque[list[np.ndarray]] = deque()  # freed by the producer, not the loop
        self.items: list[np.ndarray] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.underruns = 0
        self.taken = 0  # items in the lists taken so far
        self.current: Iterator[np.ndarray] = iter(())
        self.closed = False
        self.thread = threading.Thread(target=self.run, name="spikegan-producer", daemon=True)

    def run(self) -> None:
        try:
            if self.pin is not None:
                os.sched_setaffinity(0, self.pin)  # 0: this thread (Linux)
            taken, when = self.taken, time.monotonic()
            while not self.stop.is_set():
                self.spent.clear()
                if len(self.buffer) >= self.maxsize:
                    now = time.monotonic()
                    rate = (self.taken - taken) * self.batch / max(now - when, 1e-6)
                    taken, when = self.taken, now
                    drain = self.maxsize * self.chunk / max(rate, 1e-9)
                    time.sleep(min(POLL_S[1], max(POLL_S[0], drain / 4)))
                    continue
                block = self.produce(self.chunk)
                block.flags.writeable = False
                items = list(block.reshape(-1, self.batch, *block.shape[1:]))  # views
                self.buffer.append(items)  # deque: atomic, needs no lock
        except BaseException as exc:  # handed to the consumer, raised when the buffer is dry
            self.error = exc

    def failed(self) -> SpikeGANError | None:
        if self.error is not None or not self.thread.is_alive():
            return SpikeGANError(f"The stream's producer failed: {self.error}")
        return None

    def lists(self) -> Iterator[Iterator[np.ndarray]]:
        """The consumer's side: one list iterator per chunk, in order."""
        while not self.closed:
            try:
                items = self.buffer.popleft()
            except IndexError:
                self.underruns += 1
                while not self.buffer:
                    error = self.failed()
                    if error is not None:
                        raise error from self.error
                    time.sleep(50e-6)
                items = self.buffer.popleft()
            self.spent.append(self.items)  # keeps the finished chunk alive for the producer
            self.items = items
            self.current = iter(items)
            self.taken += len(items)
            yield self.current

    def handed_out(self) -> int:
        return (self.taken - operator.length_hint(self.current)) * self.batch


class PrefetchStream(itertools.chain):
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

    def __new__(cls, produce: Callable[[int], np.ndarray], *, batch: int, prefetch: int,
                chunk: int, pin: set[int] | None = None,
                on_close: Callable[[int], None] | None = None) -> PrefetchStream:
        state = _Producer(produce, batch, prefetch, chunk, pin)
        self = super().from_iterable(state.lists())
        self._state, self._on_close, self._final = state, on_close, None
        self.prefetch = prefetch
        state.thread.start()
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # all done in __new__
        pass

    @property
    def underruns(self) -> int:
        """Times the loop found the buffer empty and had to wait for the producer."""
        return self._state.underruns

    @property
    def handed_out(self) -> int:
        """Windows handed out so far."""
        return self._final if self._final is not None else self._state.handed_out()

    @property
    def buffered(self) -> int:
        """Windows ready now (in the buffer and in the chunk being handed out)."""
        s = self._state
        return (len(s.buffer) * s.chunk
                + operator.length_hint(s.current) * s.batch) if not s.closed else 0

    def fill(self, timeout: float | None = None) -> PrefetchStream:
        """Wait until the buffer is full (call it before the loop starts); return ``self``.

        Raises
        ------
        SpikeGANError
            If the producer failed, or ``timeout`` seconds passed first.
        """
        s = self._state
        deadline = None if timeout is None else time.monotonic() + timeout
        while len(s.buffer) < s.maxsize:
            error = s.failed()
            if error is not None:
                raise error
            if deadline is not None and time.monotonic() > deadline:
                raise SpikeGANError(f"The stream's buffer did not fill within {timeout:g} s.")
            time.sleep(0.001)
        return self

    def close(self) -> None:
        """Stop the producer and release the buffer (idempotent)."""
        s = self._state
        if s.closed:
            return
        self._final = s.handed_out()
        s.closed = True
        s.stop.set()
        s.thread.join()
        s.buffer.clear()
        for _ in s.current:  # nothing more is handed out
            pass
        if self._on_close is not None:
            self._on_close(self._final)

    def __enter__(self) -> PrefetchStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        try:
            self._state.stop.set()
        except Exception:
            pass
